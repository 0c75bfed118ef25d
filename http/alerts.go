package http

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/joule-site/joule"
)

// AlertRules judges the alert rules on what agents send (alerts.Evaluator).
type AlertRules interface {
	Telemetry(ctx context.Context, site string, samples []joule.TelemetrySample) error
	Census(ctx context.Context, site string, r *joule.DeviceReport) error
}

// AlertList is the body of GET /api/v1/sites/{name}/alerts.
type AlertList struct {
	Alerts []*joule.Alert `json:"alerts"`
}

// alertRoutes registers the alerts: viewers read them, operators acknowledge.
func (s *Server) alertRoutes() {
	s.handle("GET /api/v1/sites/{name}/alerts", admits(joule.RoleViewer), s.handleAlerts)
	s.handle("POST /api/v1/sites/{name}/alerts/{id}/ack", admits(), s.handleAckAlert)
}

// alerts returns the server's alerts, or replies not_found.
func (s *Server) alerts(w http.ResponseWriter, r *http.Request) (joule.AlertService, bool) {
	if s.Alerts == nil {
		writeError(w, r, s.Logger, joule.Errorf(joule.ENOTFOUND, "this server keeps no alerts"))
		return nil, false
	}
	return s.Alerts, true
}

// judgeTelemetry runs the alert rules on a batch the history took. A failure is
// logged: the batch is stored, and the next one is judged again.
func (s *Server) judgeTelemetry(r *http.Request, samples []joule.TelemetrySample) {
	if s.AlertRules == nil {
		return
	}
	if err := s.AlertRules.Telemetry(r.Context(), r.PathValue("name"), samples); err != nil {
		s.Logger.Warn("alert rules", "site", r.PathValue("name"), "err", err)
	}
}

// judgeCensus runs the meter's alert rule on a census that was stored.
func (s *Server) judgeCensus(r *http.Request, rep *joule.DeviceReport) {
	if s.AlertRules == nil {
		return
	}
	if err := s.AlertRules.Census(r.Context(), r.PathValue("name"), rep); err != nil {
		s.Logger.Warn("alert rules", "site", r.PathValue("name"), "err", err)
	}
}

func (s *Server) handleAlerts(w http.ResponseWriter, r *http.Request) {
	store, ok := s.alerts(w, r)
	if !ok {
		return
	}
	q := joule.AlertQuery{Site: r.PathValue("name"), State: joule.AlertState(r.URL.Query().Get("state"))}
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, r, s.Logger, joule.Errorf(joule.EINVALID, "limit: %q is not a whole number from 1", v))
			return
		}
		q.Limit = n
	}
	if err := q.Check(); err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	if _, err := s.Sites.Site(r.Context(), q.Site); err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	list, err := store.Alerts(r.Context(), q)
	s.reply(w, r, http.StatusOK, AlertList{Alerts: list}, err)
}

func (s *Server) handleAckAlert(w http.ResponseWriter, r *http.Request) {
	store, ok := s.alerts(w, r)
	if !ok {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		writeError(w, r, s.Logger, joule.Errorf(joule.EINVALID, "alert id %q is not a whole number from 1", r.PathValue("id")))
		return
	}
	who := actor(r)
	if who == "" {
		who = joule.ActorOperator
	}
	a, err := store.AckAlert(r.Context(), r.PathValue("name"), id, who, s.now())
	s.reply(w, r, http.StatusOK, a, err)
}

// Alerts returns a site's alerts, of one state ("" any).
func (c *Client) Alerts(ctx context.Context, site string, state joule.AlertState) ([]*joule.Alert, error) {
	v := url.Values{}
	if state != "" {
		v.Set("state", string(state))
	}
	var out AlertList
	return out.Alerts, c.do(ctx, http.MethodGet, "/api/v1/sites/"+url.PathEscape(site)+"/alerts", v, nil, &out)
}

// AckAlert acknowledges a site's alert as the client's principal.
func (c *Client) AckAlert(ctx context.Context, site string, id int64) (*joule.Alert, error) {
	var out joule.Alert
	return &out, c.do(ctx, http.MethodPost, "/api/v1/sites/"+url.PathEscape(site)+"/alerts/"+strconv.FormatInt(id, 10)+"/ack", nil, []byte("{}"), &out)
}
