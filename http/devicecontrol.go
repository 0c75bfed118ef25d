package http

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/joule-site/joule"
)

// maxSelectionBodyBytes fits a selection of joule.MaxActionDevices addresses of about
// 25 bytes of JSON each.
const maxSelectionBodyBytes = 4 << 20

// DeviceFilter selects devices as the device table's search does: q (a substring, and
// "tag:key=value" words) and state.
type DeviceFilter struct {
	Q     string            `json:"q,omitempty"`
	State joule.DeviceState `json:"state,omitempty"`
}

// DeviceSelection names devices by their addresses, or by a filter that selects, at
// the time of the request, the devices of the table it keeps: one of the two.
type DeviceSelection struct {
	Addresses []string      `json:"addresses,omitempty"`
	Filter    *DeviceFilter `json:"filter,omitempty"`
}

// TagsRequest is the body of PUT and DELETE /api/v1/sites/{name}/tags: tags to set on
// a selection, or keys to remove from it (none: every tag set live).
type TagsRequest struct {
	DeviceSelection
	Tags map[string]string `json:"tags,omitempty"`
	Keys []string          `json:"keys,omitempty"`
}

// ActionRequest is the body of POST /api/v1/sites/{name}/actions.
type ActionRequest struct {
	DeviceSelection
	Action   joule.DeviceActionKind `json:"action"`
	LimitW   joule.Watts            `json:"limit_w,omitempty"`
	PoolURL  string                 `json:"pool_url,omitempty"`
	PoolUser string                 `json:"pool_user,omitempty"`
}

// deviceControlRoutes registers device tags and bulk actions: the operator tags
// devices and asks actions of them, viewers read the actions, and the site's agent
// fetches those it has to carry out and reports what became of them.
func (s *Server) deviceControlRoutes() {
	viewer, agent := joule.RoleViewer, joule.RoleAgent
	big := admits().limit(maxSelectionBodyBytes)
	s.handle("PUT /api/v1/sites/{name}/tags", big, s.handleSetTags)
	s.handle("DELETE /api/v1/sites/{name}/tags", big, s.handleDeleteTags)
	s.handle("PUT /api/v1/sites/{name}/devices/{address}/tags", admits(), s.handleSetDeviceTags)
	s.handle("DELETE /api/v1/sites/{name}/devices/{address}/tags", admits(), s.handleDeleteDeviceTags)
	s.handle("POST /api/v1/sites/{name}/actions", big, s.handleCreateAction)
	s.handle("GET /api/v1/sites/{name}/actions", admits(viewer), s.handleActions)
	s.handle("GET /api/v1/sites/{name}/actions/{id}", admits(viewer), s.handleAction)
	s.handle("GET /api/v1/sites/{name}/actions/pending", admits(agent), s.handlePendingActions)
	s.handle("POST /api/v1/sites/{name}/actions/{id}/result", admits(agent), s.handleActionResult)
}

// control returns the server's device control, or replies not_found.
func (s *Server) control(w http.ResponseWriter, r *http.Request) (joule.DeviceControlService, bool) {
	if s.DeviceControl == nil {
		writeError(w, r, s.Logger, joule.Errorf(joule.ENOTFOUND, "this server keeps no device tags or actions"))
		return nil, false
	}
	return s.DeviceControl, true
}

// resolve turns a selection into addresses: as given, or the devices the filter keeps
// in the device table now, at most joule.MaxActionDevices.
func (s *Server) resolve(ctx context.Context, site string, sel DeviceSelection) ([]string, error) {
	switch {
	case sel.Filter != nil && len(sel.Addresses) > 0:
		return nil, joule.Errorf(joule.EINVALID, "addresses: give addresses or a filter, not both")
	case sel.Filter == nil:
		return sel.Addresses, nil
	case s.Telemetry == nil:
		return nil, joule.Errorf(joule.EINVALID, "filter: this server keeps no device table to filter")
	}
	var out []string
	q := joule.DeviceQuery{Site: site, Q: sel.Filter.Q, State: sel.Filter.State, Limit: joule.MaxDevicePage}
	for {
		page, err := s.Telemetry.Devices(ctx, q)
		if err != nil {
			return nil, err
		}
		if page.Total > joule.MaxActionDevices {
			return nil, joule.Errorf(joule.EINVALID, "filter: it keeps %d devices, at most %d at once", page.Total, joule.MaxActionDevices)
		}
		for _, d := range page.Devices {
			out = append(out, d.Address)
		}
		if len(page.Devices) < q.Limit {
			break
		}
		q.Offset += q.Limit
	}
	if len(out) == 0 {
		return nil, joule.Errorf(joule.EINVALID, "filter: it keeps no device")
	}
	return out, nil
}

// auditChange records a change an operator made to a site's devices.
func (s *Server) auditChange(r *http.Request, site, reason, detail string) {
	if s.Live == nil {
		return
	}
	e := &joule.Audit{Site: site, At: s.now(), Kind: joule.AuditChange, Outcome: joule.OutcomeOK, Reason: reason, Actor: actor(r), Detail: detail}
	if err := s.Live.AppendAudit(context.WithoutCancel(r.Context()), e); err != nil {
		s.Logger.Error("a device change is not in the audit log", "site", site, "actor", actor(r), "err", err)
	}
}

// countOf says how many devices a selection named, with the first few.
func countOf(addrs []string) string {
	n := len(addrs)
	if n <= 3 {
		return fmt.Sprintf("%d device(s): %s", n, strings.Join(addrs, ", "))
	}
	return fmt.Sprintf("%d devices: %s, …", n, strings.Join(addrs[:3], ", "))
}

func (s *Server) handleSetTags(w http.ResponseWriter, r *http.Request) {
	var req TagsRequest
	if !decodeBody(w, r, s, &req) {
		return
	}
	s.setTags(w, r, req.DeviceSelection, req.Tags)
}

func (s *Server) handleSetDeviceTags(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Tags map[string]string `json:"tags"`
	}
	if !decodeBody(w, r, s, &req) {
		return
	}
	s.setTags(w, r, DeviceSelection{Addresses: []string{r.PathValue("address")}}, req.Tags)
}

func (s *Server) setTags(w http.ResponseWriter, r *http.Request, sel DeviceSelection, tags map[string]string) {
	control, ok := s.control(w, r)
	if !ok {
		return
	}
	site := r.PathValue("name")
	addrs, err := s.resolve(r.Context(), site, sel)
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	n, err := control.SetDeviceTags(r.Context(), site, addrs, tags)
	if err == nil {
		var kv []string
		for k, v := range tags {
			kv = append(kv, k+"="+v)
		}
		s.auditChange(r, site, "devices tagged", strings.Join(kv, " ")+" on "+countOf(addrs))
	}
	s.reply(w, r, http.StatusOK, map[string]int{"devices": n}, err)
}

func (s *Server) handleDeleteTags(w http.ResponseWriter, r *http.Request) {
	var req TagsRequest
	if !decodeBody(w, r, s, &req) {
		return
	}
	s.deleteTags(w, r, req.DeviceSelection, req.Keys)
}

func (s *Server) handleDeleteDeviceTags(w http.ResponseWriter, r *http.Request) {
	s.deleteTags(w, r, DeviceSelection{Addresses: []string{r.PathValue("address")}}, r.URL.Query()["key"])
}

func (s *Server) deleteTags(w http.ResponseWriter, r *http.Request, sel DeviceSelection, keys []string) {
	control, ok := s.control(w, r)
	if !ok {
		return
	}
	site := r.PathValue("name")
	addrs, err := s.resolve(r.Context(), site, sel)
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	n, err := control.DeleteDeviceTags(r.Context(), site, addrs, keys)
	if err == nil && n > 0 {
		what := "every live tag"
		if len(keys) > 0 {
			what = "tags " + strings.Join(keys, ", ")
		}
		s.auditChange(r, site, "device tags removed", what+" of "+countOf(addrs))
	}
	s.reply(w, r, http.StatusOK, map[string]int{"removed": n}, err)
}

func (s *Server) handleCreateAction(w http.ResponseWriter, r *http.Request) {
	control, ok := s.control(w, r)
	if !ok {
		return
	}
	var req ActionRequest
	if !decodeBody(w, r, s, &req) {
		return
	}
	site := r.PathValue("name")
	addrs, err := s.resolve(r.Context(), site, req.DeviceSelection)
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	a := &joule.DeviceAction{Site: site, Kind: req.Action, Addresses: addrs, LimitW: req.LimitW, PoolURL: req.PoolURL, PoolUser: req.PoolUser, By: actor(r)}
	err = control.CreateDeviceAction(r.Context(), a)
	if err == nil {
		s.auditChange(r, site, "device action "+string(a.Kind), fmt.Sprintf("action %d: %s of %s", a.ID, a.Kind, countOf(a.Addresses)))
	}
	s.reply(w, r, http.StatusCreated, a, err)
}

// actionsLimit reads ?limit (default 50, at most 1,000).
func actionsLimit(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 50, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return 0, joule.Errorf(joule.EINVALID, "limit: %q is not a whole number from 1 to 1000", v)
	}
	return n, nil
}

func (s *Server) handleActions(w http.ResponseWriter, r *http.Request) {
	control, ok := s.control(w, r)
	if !ok {
		return
	}
	limit, err := actionsLimit(r)
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	list, err := control.DeviceActions(r.Context(), r.PathValue("name"), false, limit)
	if err == nil {
		for _, a := range list {
			a.Addresses = a.Addresses[:min(len(a.Addresses), 20)] // the list says how many; GET …/actions/{id} names them all
		}
	}
	s.reply(w, r, http.StatusOK, map[string]any{"actions": list}, err)
}

// actionID reads the {id} of the path.
func actionID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, joule.Errorf(joule.EINVALID, "id: %q is not an action's number", r.PathValue("id"))
	}
	return id, nil
}

func (s *Server) handleAction(w http.ResponseWriter, r *http.Request) {
	control, ok := s.control(w, r)
	if !ok {
		return
	}
	id, err := actionID(r)
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	a, err := control.DeviceAction(r.Context(), r.PathValue("name"), id)
	s.reply(w, r, http.StatusOK, a, err)
}

func (s *Server) handlePendingActions(w http.ResponseWriter, r *http.Request) {
	control, ok := s.control(w, r)
	if !ok {
		return
	}
	site := r.PathValue("name")
	list, err := control.DeviceActions(r.Context(), site, true, 100)
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	holds, err := control.DeviceHolds(r.Context(), site)
	s.reply(w, r, http.StatusOK, &joule.PendingActions{Actions: list, Holds: holds}, err)
}

func (s *Server) handleActionResult(w http.ResponseWriter, r *http.Request) {
	control, ok := s.control(w, r)
	if !ok {
		return
	}
	id, err := actionID(r)
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	var res joule.DeviceActionResult
	if !decodeBody(w, r, s, &res) {
		return
	}
	a, err := control.CompleteDeviceAction(r.Context(), r.PathValue("name"), id, res)
	s.reply(w, r, http.StatusOK, a, err)
}

// SetTags sets tags on a selection of site's devices and returns how many it tagged.
func (c *Client) SetTags(ctx context.Context, site string, sel DeviceSelection, tags map[string]string) (int, error) {
	body, err := json.Marshal(TagsRequest{DeviceSelection: sel, Tags: tags})
	if err != nil {
		return 0, err
	}
	var out map[string]int
	err = c.do(ctx, http.MethodPut, "/api/v1/sites/"+url.PathEscape(site)+"/tags", nil, body, &out)
	return out["devices"], err
}

// DeleteTags removes tags set live (of keys; none: all) from a selection and returns
// how many it removed.
func (c *Client) DeleteTags(ctx context.Context, site string, sel DeviceSelection, keys []string) (int, error) {
	body, err := json.Marshal(TagsRequest{DeviceSelection: sel, Keys: keys})
	if err != nil {
		return 0, err
	}
	var out map[string]int
	err = c.do(ctx, http.MethodDelete, "/api/v1/sites/"+url.PathEscape(site)+"/tags", nil, body, &out)
	return out["removed"], err
}

// CreateAction asks a bulk action of site's devices.
func (c *Client) CreateAction(ctx context.Context, site string, req ActionRequest) (*joule.DeviceAction, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var out joule.DeviceAction
	return &out, c.do(ctx, http.MethodPost, "/api/v1/sites/"+url.PathEscape(site)+"/actions", nil, body, &out)
}

// Actions returns site's newest bulk actions, newest first.
func (c *Client) Actions(ctx context.Context, site string, limit int) ([]*joule.DeviceAction, error) {
	var out struct {
		Actions []*joule.DeviceAction `json:"actions"`
	}
	return out.Actions, c.do(ctx, http.MethodGet, "/api/v1/sites/"+url.PathEscape(site)+"/actions", url.Values{"limit": {strconv.Itoa(limit)}}, nil, &out)
}

// Action returns one of site's bulk actions.
func (c *Client) Action(ctx context.Context, site string, id int64) (*joule.DeviceAction, error) {
	var out joule.DeviceAction
	return &out, c.do(ctx, http.MethodGet, "/api/v1/sites/"+url.PathEscape(site)+"/actions/"+strconv.FormatInt(id, 10), nil, nil, &out)
}

// PendingActions returns the actions site's agent has to carry out, and the holds.
func (c *Client) PendingActions(ctx context.Context, site string) (*joule.PendingActions, error) {
	var out joule.PendingActions
	return &out, c.do(ctx, http.MethodGet, "/api/v1/sites/"+url.PathEscape(site)+"/actions/pending", nil, nil, &out)
}

// ReportAction posts what became of an action the agent carried out.
func (c *Client) ReportAction(ctx context.Context, site string, id int64, r joule.DeviceActionResult) error {
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	var out joule.DeviceAction
	return c.do(ctx, http.MethodPost, "/api/v1/sites/"+url.PathEscape(site)+"/actions/"+strconv.FormatInt(id, 10)+"/result", nil, body, &out)
}

// applyTags makes each site the manifest declares carry exactly its fleets' tags (a
// fleet's devices at its control port: the miner API's, or a GPU server's API), once
// the manifest is applied.
func (s *Server) applyTags(ctx context.Context, m *joule.Manifest) error {
	if s.DeviceControl == nil {
		return nil
	}
	bySite := map[string][]joule.DeviceTags{}
	for _, site := range m.Sites {
		bySite[site.Name] = nil
	}
	for _, f := range m.Fleets {
		port := joule.MinerAPIPort
		if f.Kind == joule.KindGPUServer {
			port = joule.GPUServerAPIPort
		}
		tags, err := joule.ExpandTagRanges(port, f.Tags)
		if err != nil {
			return err
		}
		bySite[f.Site] = append(bySite[f.Site], tags...)
	}
	for site, tags := range bySite {
		if err := s.DeviceControl.ReplaceManifestTags(ctx, site, tags); err != nil {
			return fmt.Errorf("the manifest's device tags of %s: %w", site, err)
		}
	}
	return nil
}
