package http

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/joule-site/joule"
)

// maxTelemetryBodyBytes is the most a batch of samples may have: MaxTelemetryBatch
// samples of about 450 bytes of JSON each, with room to spare.
const maxTelemetryBodyBytes = 12 << 20

// TelemetryBatch is the body of POST /api/v1/sites/{name}/telemetry: the samples an
// agent read in one step, at most joule.MaxTelemetryBatch.
type TelemetryBatch struct {
	Samples []joule.TelemetrySample `json:"samples"`
}

// telemetryRoutes registers the telemetry history: the site's agent (and the
// operator) appends, viewers read the device table and a device's history.
func (s *Server) telemetryRoutes() {
	viewer, agent := joule.RoleViewer, joule.RoleAgent
	s.handle("POST /api/v1/sites/{name}/telemetry", admits(agent).limit(maxTelemetryBodyBytes), s.handleAppendTelemetry)
	s.handle("GET /api/v1/sites/{name}/telemetry", admits(viewer), s.handleDeviceTable)
	s.handle("GET /api/v1/sites/{name}/devices/{address}/history", admits(viewer), s.handleDeviceHistory)
}

// telemetry returns the server's telemetry history, or replies not_found.
func (s *Server) telemetry(w http.ResponseWriter, r *http.Request) (joule.TelemetryService, bool) {
	if s.Telemetry == nil {
		writeError(w, r, s.Logger, joule.Errorf(joule.ENOTFOUND, "this server keeps no telemetry history"))
		return nil, false
	}
	return s.Telemetry, true
}

func (s *Server) handleAppendTelemetry(w http.ResponseWriter, r *http.Request) {
	store, ok := s.telemetry(w, r)
	if !ok {
		return
	}
	var req TelemetryBatch
	if !decodeBody(w, r, s, &req) {
		return
	}
	err := store.AppendTelemetry(r.Context(), r.PathValue("name"), req.Samples)
	if err == nil {
		s.judgeTelemetry(r, req.Samples)
		if s.ServiceRecorder != nil {
			s.ServiceRecorder.Observe(r.PathValue("name"), req.Samples)
		}
	}
	s.reply(w, r, http.StatusOK, map[string]int{"samples": len(req.Samples)}, err)
}

// DeviceTableQuery encodes a device-table query as the route's parameters: page
// (from 1), limit, sort, order (asc or desc), q and state.
func DeviceTableQuery(q joule.DeviceQuery) url.Values {
	v := url.Values{}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
		v.Set("page", strconv.Itoa(q.Offset/q.Limit+1))
	}
	if q.Sort != "" {
		v.Set("sort", string(q.Sort))
	}
	if q.Desc {
		v.Set("order", "desc")
	}
	if q.Q != "" {
		v.Set("q", q.Q)
	}
	if q.State != "" {
		v.Set("state", string(q.State))
	}
	return v
}

// parseDeviceQuery reads a device-table query from the route's parameters.
func parseDeviceQuery(r *http.Request) (joule.DeviceQuery, error) {
	v := r.URL.Query()
	q := joule.DeviceQuery{Site: r.PathValue("name"), Sort: joule.DeviceSort(v.Get("sort")), Q: v.Get("q"), State: joule.DeviceState(v.Get("state")), Limit: 100}
	page := 1
	for _, p := range []struct {
		name string
		to   *int
	}{{"limit", &q.Limit}, {"page", &page}} {
		if s := v.Get(p.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				return q, joule.Errorf(joule.EINVALID, "%s: %q is not a whole number from 1", p.name, s)
			}
			*p.to = n
		}
	}
	switch v.Get("order") {
	case "", "asc":
	case "desc":
		q.Desc = true
	default:
		return q, joule.Errorf(joule.EINVALID, "order: %q is not asc or desc", v.Get("order"))
	}
	if page > 1_000_000 {
		return q, joule.Errorf(joule.EINVALID, "page: %d is past any table", page)
	}
	q.Offset = (page - 1) * q.Limit
	return q, q.Check()
}

func (s *Server) handleDeviceTable(w http.ResponseWriter, r *http.Request) {
	store, ok := s.telemetry(w, r)
	if !ok {
		return
	}
	q, err := parseDeviceQuery(r)
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	page, err := store.Devices(r.Context(), q)
	s.reply(w, r, http.StatusOK, page, err)
}

// parseHistoryQuery reads a history query from the route's path and parameters: from
// and to as RFC 3339 times (to defaults to now, from to a day before to), resolution
// raw, 5m or 1h (default raw).
func (s *Server) parseHistoryQuery(r *http.Request) (joule.HistoryQuery, error) {
	v := r.URL.Query()
	q := joule.HistoryQuery{Site: r.PathValue("name"), Address: r.PathValue("address"), Resolution: joule.Resolution(v.Get("resolution")), To: s.now()}
	if q.Resolution == "" {
		q.Resolution = joule.ResolutionRaw
	}
	for _, p := range []struct {
		name string
		to   *time.Time
	}{{"to", &q.To}, {"from", &q.From}} {
		if s := v.Get(p.name); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return q, joule.Errorf(joule.EINVALID, "%s: %q is not an RFC 3339 time", p.name, s)
			}
			*p.to = t
		} else if p.name == "from" {
			q.From = q.To.Add(-24 * time.Hour)
		}
	}
	return q, q.Check()
}

func (s *Server) handleDeviceHistory(w http.ResponseWriter, r *http.Request) {
	store, ok := s.telemetry(w, r)
	if !ok {
		return
	}
	q, err := s.parseHistoryQuery(r)
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	h, err := store.DeviceHistory(r.Context(), q)
	s.reply(w, r, http.StatusOK, h, err)
}

// AppendTelemetry posts a batch of samples of site's devices.
func (c *Client) AppendTelemetry(ctx context.Context, site string, samples []joule.TelemetrySample) error {
	body, err := json.Marshal(TelemetryBatch{Samples: samples})
	if err != nil {
		return err
	}
	var out map[string]int
	return c.do(ctx, http.MethodPost, "/api/v1/sites/"+url.PathEscape(site)+"/telemetry", nil, body, &out)
}

// DeviceTable returns a page of site's device table (q.Site is ignored).
func (c *Client) DeviceTable(ctx context.Context, site string, q joule.DeviceQuery) (*joule.DevicePage, error) {
	var out joule.DevicePage
	return &out, c.do(ctx, http.MethodGet, "/api/v1/sites/"+url.PathEscape(site)+"/telemetry", DeviceTableQuery(q), nil, &out)
}

// DeviceHistory returns a device's history between two times at a resolution.
func (c *Client) DeviceHistory(ctx context.Context, site, address string, from, to time.Time, res joule.Resolution) (*joule.DeviceHistory, error) {
	v := url.Values{"from": {from.Format(time.RFC3339Nano)}, "to": {to.Format(time.RFC3339Nano)}, "resolution": {string(res)}}
	var out joule.DeviceHistory
	return &out, c.do(ctx, http.MethodGet, "/api/v1/sites/"+url.PathEscape(site)+"/devices/"+url.PathEscape(address)+"/history", v, nil, &out)
}
