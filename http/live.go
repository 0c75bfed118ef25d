package http

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/live"
)

// Operations is live operations (live.Operations): demand-response events, the
// audit rows agents report and the census of each site's devices. The handlers decode,
// call it and reply; the rules are its.
type Operations interface {
	CreateDemandResponse(ctx context.Context, site string, req live.DemandResponseRequest) (*joule.DemandResponse, error)
	DemandResponses(ctx context.Context, site string) ([]*joule.DemandResponse, error)
	DemandResponseHistory(ctx context.Context, site string, n int) ([]*joule.DemandResponse, error)
	CancelDemandResponse(ctx context.Context, site string, id int64, actor string) (*joule.DemandResponse, error)
	AppendAgentAudit(ctx context.Context, site, actor string, events []*joule.Audit) error
	ReportDevices(ctx context.Context, site string, r *joule.DeviceReport) error
	Devices(ctx context.Context, site string) (*joule.DeviceReport, error)
}

// drRequest is the body of POST /api/v1/sites/{name}/dr: a level, either a deadline
// or a lead time (neither: at once), either an end or a duration (one is required), and
// whether the event may shed firm GPU load. A field it does not name is refused.
type drRequest struct {
	ReduceToW int64     `json:"reduce_to_w"`
	Deadline  time.Time `json:"deadline,omitzero"`
	WithinS   int64     `json:"within_s,omitempty"`
	End       time.Time `json:"end,omitzero"`
	ForS      int64     `json:"for_s,omitempty"`
	ShedFirm  bool      `json:"shed_firm,omitempty"`
}

// ops returns the server's live operations, or answers not_found when it runs none.
func (s *Server) ops(w http.ResponseWriter, r *http.Request) (Operations, bool) {
	if s.Ops == nil {
		writeError(w, r, s.Logger, joule.Errorf(joule.ENOTFOUND, "this server runs no live operations"))
		return nil, false
	}
	return s.Ops, true
}

func (s *Server) handleCreateDR(w http.ResponseWriter, r *http.Request) {
	ops, ok := s.ops(w, r)
	if !ok {
		return
	}
	var req drRequest
	if !decodeBody(w, r, s, &req) {
		return
	}
	// Seconds beyond what a Duration holds are clamped; the service refuses them.
	secs := func(n int64) time.Duration {
		return time.Duration(max(min(n, math.MaxInt64/int64(time.Second)), math.MinInt64/int64(time.Second))) * time.Second
	}
	dr, err := ops.CreateDemandResponse(r.Context(), r.PathValue("name"), live.DemandResponseRequest{Actor: actor(r),
		ReduceToW: joule.Watts(req.ReduceToW), Deadline: req.Deadline, Within: secs(req.WithinS), End: req.End, For: secs(req.ForS),
		ShedFirm: req.ShedFirm})
	s.reply(w, r, http.StatusCreated, dr, err)
}

// handleDemandResponses returns the site's events that have not ended.
func (s *Server) handleDemandResponses(w http.ResponseWriter, r *http.Request) {
	ops, ok := s.ops(w, r)
	if !ok {
		return
	}
	var events []*joule.DemandResponse
	var err error
	if v := r.URL.Query().Get("history"); v != "" { // the newest N, ended or not
		n, perr := strconv.Atoi(v)
		if perr != nil { // its range is the store's to check
			writeError(w, r, s.Logger, joule.Errorf(joule.EINVALID, "history: a whole number, not %q", v))
			return
		}
		events, err = ops.DemandResponseHistory(r.Context(), r.PathValue("name"), n)
	} else {
		events, err = ops.DemandResponses(r.Context(), r.PathValue("name"))
	}
	if events == nil {
		events = []*joule.DemandResponse{}
	}
	s.reply(w, r, http.StatusOK, map[string]any{"events": events}, err)
}

func (s *Server) handleCancelDR(w http.ResponseWriter, r *http.Request) {
	ops, ok := s.ops(w, r)
	if !ok {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, r, s.Logger, joule.Errorf(joule.EINVALID, "demand response %q: an event's id is a positive whole number", r.PathValue("id")))
		return
	}
	dr, err := ops.CancelDemandResponse(r.Context(), r.PathValue("name"), id, actor(r))
	s.reply(w, r, http.StatusOK, dr, err)
}

func (s *Server) handlePlan(w http.ResponseWriter, r *http.Request) {
	p, err := s.Live.LatestPlan(r.Context(), r.PathValue("name"))
	s.reply(w, r, http.StatusOK, p, err)
}

func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) {
	q, err := parseAuditQuery(r.URL.Query())
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	q.Site = r.PathValue("name")
	log, err := s.Live.Audit(r.Context(), q)
	s.reply(w, r, http.StatusOK, map[string]any{"audit": log}, err)
}

// parseAuditQuery reads which audit events a request asks for: after=ID and limit=N
// (the oldest N after ID), or tail=N (the newest N, after ID), kind=K[,K…] and
// device=ADDR.
func parseAuditQuery(v url.Values) (joule.AuditQuery, error) {
	var q joule.AuditQuery
	p := &params{v: v}
	q.After = int64(p.int("after", 0))
	if v.Has("limit") {
		if q.Limit = p.int("limit", 0); q.Limit <= 0 && p.err == nil {
			p.err = joule.Errorf(joule.EINVALID, "limit: a whole number from 1 to %d", joule.MaxAuditQuery)
		}
	}
	if v.Has("tail") {
		if q.Limit = p.int("tail", 0); q.Limit <= 0 && p.err == nil {
			p.err = joule.Errorf(joule.EINVALID, "tail: a whole number from 1 to %d", joule.MaxAuditQuery)
		}
		q.Tail = true
	}
	for _, k := range strings.Split(v.Get("kind"), ",") {
		if k = strings.TrimSpace(k); k != "" {
			q.Kinds = append(q.Kinds, joule.AuditKind(k))
		}
	}
	q.Device = v.Get("device")
	if p.err != nil {
		return q, p.err
	}
	return q, q.Validate()
}

// handleAppendAudit takes the events an agent reports: commands, acknowledgements,
// verifications and measured power, recorded as the account that posts them.
func (s *Server) handleAppendAudit(w http.ResponseWriter, r *http.Request) {
	ops, ok := s.ops(w, r)
	if !ok {
		return
	}
	var events []*joule.Audit
	if err := json.NewDecoder(r.Body).Decode(&events); err != nil { // the guard limits the body
		writeError(w, r, s.Logger, bodyError(r, "audit: bad JSON body", err))
		return
	}
	err := ops.AppendAgentAudit(r.Context(), r.PathValue("name"), actor(r), events)
	if err == nil {
		s.metrics.countCommands(r.PathValue("name"), events)
	}
	s.reply(w, r, http.StatusOK, map[string]int{"appended": len(events)}, err)
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// handleReportDevices keeps an agent's newest census of the site's devices.
func (s *Server) handleReportDevices(w http.ResponseWriter, r *http.Request) {
	ops, ok := s.ops(w, r)
	if !ok {
		return
	}
	var rep joule.DeviceReport
	if err := json.NewDecoder(r.Body).Decode(&rep); err != nil { // the guard limits the body
		writeError(w, r, s.Logger, bodyError(r, "devices: bad JSON body", err))
		return
	}
	err := ops.ReportDevices(r.Context(), r.PathValue("name"), &rep)
	if err == nil {
		s.judgeCensus(r, &rep)
	}
	s.reply(w, r, http.StatusOK, map[string]int{"fleets": len(rep.Fleets)}, err)
}

// handleDevices returns the site's newest census, or not_found before the first. A
// census reported without fleets or problems lists none ([], not null).
func (s *Server) handleDevices(w http.ResponseWriter, r *http.Request) {
	ops, ok := s.ops(w, r)
	if !ok {
		return
	}
	rep, err := ops.Devices(r.Context(), r.PathValue("name"))
	if rep != nil && rep.Fleets == nil {
		rep.Fleets = []joule.FleetCensus{}
	}
	if rep != nil && rep.Problems == nil {
		rep.Problems = []joule.DeviceStatus{}
	}
	s.reply(w, r, http.StatusOK, rep, err)
}
