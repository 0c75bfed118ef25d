package http

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/joule-site/joule"
)

// Planner plans a site now (the live loop); the server asks it when a demand-response
// event arrives.
type Planner interface {
	Trigger(site string)
}

// drRequest is the body of POST /api/v1/sites/{name}/dr: a level and either a
// deadline or a lead time, and either an end or a duration (none: until cancelled).
type drRequest struct {
	ReduceToW int64     `json:"reduce_to_w"`
	Deadline  time.Time `json:"deadline"`
	WithinS   int64     `json:"within_s"`
	End       time.Time `json:"end"`
	ForS      int64     `json:"for_s"`
}

func (s *Server) handleCreateDR(w http.ResponseWriter, r *http.Request) {
	site := r.PathValue("name")
	var req drRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
		writeError(w, r, s.Logger, joule.Errorf(joule.EINVALID, "demand response: bad JSON body: %v", err))
		return
	}
	now := s.now()
	dr := &joule.DemandResponse{Site: site, ReduceToW: joule.Watts(req.ReduceToW), Deadline: req.Deadline, End: req.End}
	switch {
	case req.ReduceToW < 0:
		writeError(w, r, s.Logger, joule.Errorf(joule.EINVALID, "demand response: reduce_to_w must not be negative"))
		return
	case req.Deadline.IsZero() && req.WithinS < 0:
		writeError(w, r, s.Logger, joule.Errorf(joule.EINVALID, "demand response: within_s must not be negative"))
		return
	case req.Deadline.IsZero():
		dr.Deadline = now.Add(time.Duration(req.WithinS) * time.Second)
	}
	if dr.End.IsZero() && req.ForS > 0 {
		dr.End = dr.Deadline.Add(time.Duration(req.ForS) * time.Second)
	}
	if err := s.Live.CreateDemandResponse(r.Context(), dr); err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	detail := fmt.Sprintf("demand response %d: at most %s by %s", dr.ID, dr.ReduceToW, dr.Deadline.UTC().Format(time.RFC3339))
	if !dr.End.IsZero() {
		detail += " until " + dr.End.UTC().Format(time.RFC3339)
	}
	if err := s.Live.AppendAudit(r.Context(), &joule.Audit{Site: site, At: now, Kind: joule.AuditEvent, Detail: detail}); err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	if s.Planner != nil {
		s.Planner.Trigger(site)
	}
	writeJSON(w, http.StatusCreated, dr)
}

func (s *Server) handlePlan(w http.ResponseWriter, r *http.Request) {
	p, err := s.Live.LatestPlan(r.Context(), r.PathValue("name"))
	s.reply(w, r, http.StatusOK, p, err)
}

func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if v := q.Get("tail"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 10000 {
			writeError(w, r, s.Logger, joule.Errorf(joule.EINVALID, "tail %q: a whole number from 1 to 10000", v))
			return
		}
		log, err := s.Live.AuditTail(r.Context(), r.PathValue("name"), n)
		s.reply(w, r, http.StatusOK, map[string]any{"audit": log}, err)
		return
	}
	after, _ := strconv.ParseInt(q.Get("after"), 10, 64)
	limit, _ := strconv.Atoi(q.Get("limit"))
	log, err := s.Live.AuditLog(r.Context(), r.PathValue("name"), after, limit)
	s.reply(w, r, http.StatusOK, map[string]any{"audit": log}, err)
}

// handleAppendAudit takes the events an agent reports: commands, acknowledgements,
// verifications and measured power.
func (s *Server) handleAppendAudit(w http.ResponseWriter, r *http.Request) {
	site := r.PathValue("name")
	var events []*joule.Audit
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8<<20)).Decode(&events); err != nil {
		writeError(w, r, s.Logger, joule.Errorf(joule.EINVALID, "audit: bad JSON body: %v", err))
		return
	}
	for _, e := range events {
		e.Site, e.ID = site, 0
		switch e.Kind {
		case joule.AuditCommand, joule.AuditAck, joule.AuditVerify, joule.AuditReport, joule.AuditEvent:
		default:
			writeError(w, r, s.Logger, joule.Errorf(joule.EINVALID, "audit: an agent may not report kind %q", e.Kind))
			return
		}
	}
	if err := s.Live.AppendAudit(r.Context(), events...); err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int{"appended": len(events)})
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// handleReportDevices keeps an agent's newest census of the site's devices. It is
// live state, kept in memory: a restarted server shows devices again at the agent's
// next report.
func (s *Server) handleReportDevices(w http.ResponseWriter, r *http.Request) {
	var rep joule.DeviceReport
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<20)).Decode(&rep); err != nil {
		writeError(w, r, s.Logger, joule.Errorf(joule.EINVALID, "devices: bad JSON body: %v", err))
		return
	}
	site, ok := s.pathSite(w, r)
	if !ok {
		return
	}
	rep.Site = site.Name
	if rep.At.IsZero() {
		rep.At = s.now()
	}
	if len(rep.Problems) > joule.MaxReportedProblems {
		rep.Problems = rep.Problems[:joule.MaxReportedProblems]
	}
	s.devicesMu.Lock()
	if s.devices == nil {
		s.devices = make(map[string]*joule.DeviceReport)
	}
	s.devices[site.Name] = &rep
	s.devicesMu.Unlock()
	writeJSON(w, http.StatusOK, map[string]int{"fleets": len(rep.Fleets)})
}

// handleDevices returns the site's newest census, or not_found before the first.
func (s *Server) handleDevices(w http.ResponseWriter, r *http.Request) {
	site := r.PathValue("name")
	rep := s.deviceReport(site)
	if rep == nil {
		writeError(w, r, s.Logger, joule.Errorf(joule.ENOTFOUND, "site %s: no agent has reported its devices yet", site))
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
