package http

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/joule-site/joule"
)

// Reporter runs the reports the dashboard's Economics page shows: a backtest or a
// plan of a site, with the query's parameters (the CLI's flags, underscores for
// dashes). cmd/joule runs its own commands for it.
type Reporter interface {
	Report(ctx context.Context, kind, site string, q url.Values) (*Report, error)
}

// Report kinds.
const (
	ReportBacktest = "backtest"
	ReportPlan     = "plan"
)

// Report is a finished report: its JSON, and its charts as PNG by name ("power",
// "margin" for a backtest; "npv", "cashflow" for a plan).
type Report struct {
	JSON   json.RawMessage
	Charts map[string][]byte
}

// reportCache keeps the newest reports, so that a page's chart requests do not run
// the report again, and runs one report once however many ask for it at a time.
type reportCache struct {
	mu      sync.Mutex
	entries map[string]*reportEntry
	order   []string
}

type reportEntry struct {
	done chan struct{}
	r    *Report
	err  error
}

const reportsKept = 8

func (c *reportCache) get(ctx context.Context, key string, run func(context.Context) (*Report, error)) (*Report, error) {
	c.mu.Lock()
	if c.entries == nil {
		c.entries = make(map[string]*reportEntry)
	}
	e, ok := c.entries[key]
	if !ok {
		e = &reportEntry{done: make(chan struct{})}
		c.entries[key] = e
		c.order = append(c.order, key)
		if len(c.order) > reportsKept {
			delete(c.entries, c.order[0])
			c.order = c.order[1:]
		}
		c.mu.Unlock()
		// The report runs to its end even if this request goes away: others may wait.
		e.r, e.err = run(context.WithoutCancel(ctx))
		close(e.done)
		if e.err != nil {
			c.forget(key, e)
		}
		return e.r, e.err
	}
	c.mu.Unlock()
	select {
	case <-e.done:
		return e.r, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *reportCache) forget(key string, e *reportEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries[key] == e {
		delete(c.entries, key)
	}
}

func (s *Server) report(w http.ResponseWriter, r *http.Request, kind string) (*Report, bool) {
	if s.Reports == nil {
		writeError(w, r, s.Logger, joule.Errorf(joule.ENOTFOUND, "this server runs no reports"))
		return nil, false
	}
	site, ok := s.pathSite(w, r)
	if !ok {
		return nil, false
	}
	q := r.URL.Query()
	rep, err := s.reports.get(r.Context(), kind+"\x00"+site.Name+"\x00"+q.Encode(), func(ctx context.Context) (*Report, error) {
		return s.Reports.Report(ctx, kind, site.Name, q)
	})
	if err != nil {
		writeError(w, r, s.Logger, err)
		return nil, false
	}
	return rep, true
}

func (s *Server) reportJSON(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if rep, ok := s.report(w, r, kind); ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(rep.JSON)
		}
	}
}

func (s *Server) reportChart(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rep, ok := s.report(w, r, kind)
		if !ok {
			return
		}
		name := strings.TrimSuffix(r.PathValue("chart"), ".png")
		png, ok := rep.Charts[name]
		if !ok {
			writeError(w, r, s.Logger, joule.Errorf(joule.ENOTFOUND, "a %s report has no chart %q", kind, name))
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Cache-Control", "private, max-age=300")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(png)
	}
}
