package http

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/drreport"
)

// DRReporter builds a demand-response event's evidence report (drreport.Reporter).
type DRReporter interface {
	Report(ctx context.Context, site string, id int64, window time.Duration) (*drreport.Report, error)
}

// drReportRoutes registers the evidence report of an event: operators and viewers
// read it, tenants and agents do not.
func (s *Server) drReportRoutes() {
	s.handle("GET /api/v1/sites/{name}/dr/{id}/report", admits(joule.RoleViewer), s.handleDRReport)
}

// handleDRReport answers an event's report as JSON, or its series as CSV for
// ?format=csv or an Accept header that prefers text/csv. ?baseline=DURATION sets the
// baseline's window (default drreport.DefaultBaselineWindow).
func (s *Server) handleDRReport(w http.ResponseWriter, r *http.Request) {
	if s.DRReports == nil {
		writeError(w, r, s.Logger, joule.Errorf(joule.ENOTFOUND, "this server keeps no demand-response evidence"))
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, r, s.Logger, joule.Errorf(joule.EINVALID, "demand response %q: an event's id is a positive whole number", r.PathValue("id")))
		return
	}
	q := r.URL.Query()
	var window time.Duration
	if v := q.Get("baseline"); v != "" {
		if window, err = time.ParseDuration(v); err != nil || window <= 0 {
			writeError(w, r, s.Logger, joule.Errorf(joule.EINVALID, "baseline: a duration such as 10m, not %q", v))
			return
		}
	}
	csv := strings.Contains(r.Header.Get("Accept"), "text/csv")
	switch f := q.Get("format"); f {
	case "":
	case "json", "csv":
		csv = f == "csv"
	default:
		writeError(w, r, s.Logger, joule.Errorf(joule.EINVALID, "format: json or csv, not %q", f))
		return
	}
	if _, err := s.Sites.Site(r.Context(), r.PathValue("name")); err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	rep, err := s.DRReports.Report(r.Context(), r.PathValue("name"), id, window)
	if err != nil || !csv {
		s.reply(w, r, http.StatusOK, rep, err)
		return
	}
	var buf bytes.Buffer
	if err := drreport.WriteCSV(&buf, rep); err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="dr-`+strconv.FormatInt(id, 10)+`.csv"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// DemandResponseReport returns the evidence report of the site's event id, its baseline
// averaged over window before notice (0: the server's default).
func (c *Client) DemandResponseReport(ctx context.Context, site string, id int64, window time.Duration) (*drreport.Report, error) {
	var out drreport.Report
	return &out, c.do(ctx, http.MethodGet, drReportPath(site, id), drReportQuery(window, ""), nil, &out)
}

// DemandResponseReportCSV returns the report's series as CSV (drreport.WriteCSV).
func (c *Client) DemandResponseReportCSV(ctx context.Context, site string, id int64, window time.Duration) ([]byte, error) {
	return c.send(ctx, http.MethodGet, drReportPath(site, id), drReportQuery(window, "csv"), nil, nil)
}

func drReportPath(site string, id int64) string {
	return "/api/v1/sites/" + url.PathEscape(site) + "/dr/" + strconv.FormatInt(id, 10) + "/report"
}

func drReportQuery(window time.Duration, format string) url.Values {
	q := url.Values{}
	if window > 0 {
		q.Set("baseline", window.String())
	}
	if format != "" {
		q.Set("format", format)
	}
	return q
}

// drPage renders a demand-response event's report page; its script reads the report
// from the API as the signed-in reader.
func (d *dashboard) drPage(w http.ResponseWriter, r *http.Request) {
	d.render(w, http.StatusOK, pageData{Page: "dr", Title: "Demand response " + r.PathValue("id"), Site: r.PathValue("name")})
}
