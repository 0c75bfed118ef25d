package http

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/reports"
)

// Reporter runs the reports the dashboard's Economics page shows, a backtest or a
// conversion plan of a site in this server's store (reports.Service).
type Reporter interface {
	Backtest(ctx context.Context, site string, req *reports.BacktestRequest) (*reports.Report, error)
	Pivot(ctx context.Context, site string, req *reports.PivotRequest) (*reports.Report, error)
}

// Report kinds, as the routes name them.
const (
	ReportBacktest = "backtest"
	ReportPlan     = "plan"
)

// reportCache keeps the newest reports, so that a page's chart requests do not run
// the report again, and runs one report once however many ask for it at a time. A run
// goes on while anyone waits for it, and is cancelled when the last has gone.
type reportCache struct {
	mu      sync.Mutex
	entries map[string]*reportEntry
	order   []string // keys, oldest first
}

type reportEntry struct {
	done    chan struct{} // closed, under the cache's lock, once r and err are set
	r       *reports.Report
	err     error
	waiters int                // requests waiting for the run, under the cache's lock
	cancel  context.CancelFunc // stops the run
}

const reportsKept = 8

// get returns the report of key, running run for it unless it is kept or running.
func (c *reportCache) get(ctx context.Context, key string, run func(context.Context) (*reports.Report, error)) (*reports.Report, error) {
	c.mu.Lock()
	if c.entries == nil {
		c.entries = make(map[string]*reportEntry)
	}
	e, ok := c.entries[key]
	if !ok {
		// The run belongs to every request that waits for it, not to this one: it keeps
		// this request's values, and is cancelled by the last waiter to leave.
		runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		e = &reportEntry{done: make(chan struct{}), cancel: cancel}
		c.add(key, e)
		go func() {
			r, err := run(runCtx)
			cancel()
			c.mu.Lock()
			defer c.mu.Unlock()
			e.r, e.err = r, err
			if err != nil {
				c.remove(key, e) // a failure runs again when asked again
			}
			close(e.done)
		}()
	}
	e.waiters++
	c.mu.Unlock()
	select {
	case <-e.done:
		c.mu.Lock()
		e.waiters--
		c.mu.Unlock()
		return e.r, e.err
	case <-ctx.Done():
		c.mu.Lock()
		defer c.mu.Unlock()
		if e.waiters--; e.waiters == 0 && !closed(e.done) {
			e.cancel()
			c.remove(key, e) // the next request starts a run of its own
		}
		return nil, ctx.Err()
	}
}

// add keeps e under key, and forgets the oldest entry beyond reportsKept.
func (c *reportCache) add(key string, e *reportEntry) {
	c.entries[key] = e
	c.order = append(c.order, key)
	if len(c.order) > reportsKept {
		delete(c.entries, c.order[0])
		c.order = c.order[1:]
	}
}

// remove forgets key if e is still what it holds.
func (c *reportCache) remove(key string, e *reportEntry) {
	if c.entries[key] == e {
		delete(c.entries, key)
		c.order = slices.DeleteFunc(c.order, func(k string) bool { return k == key })
	}
}

func closed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// report parses the request's query as a report of kind and returns the report, or
// writes the error and returns false.
func (s *Server) report(w http.ResponseWriter, r *http.Request, kind string) (*reports.Report, bool) {
	if s.Reports == nil {
		writeError(w, r, s.Logger, joule.Errorf(joule.ENOTFOUND, "this server runs no reports"))
		return nil, false
	}
	site, ok := s.pathSite(w, r)
	if !ok {
		return nil, false
	}
	q := r.URL.Query()
	var run func(context.Context) (*reports.Report, error)
	switch kind {
	case ReportBacktest:
		req, err := reports.ParseBacktestQuery(q)
		if err != nil {
			writeError(w, r, s.Logger, err)
			return nil, false
		}
		run = func(ctx context.Context) (*reports.Report, error) { return s.Reports.Backtest(ctx, site.Name, req) }
	default:
		req, err := reports.ParsePivotQuery(q)
		if err != nil {
			writeError(w, r, s.Logger, err)
			return nil, false
		}
		run = func(ctx context.Context) (*reports.Report, error) { return s.Reports.Pivot(ctx, site.Name, req) }
	}
	// A report may run longer than the server's WriteTimeout allows an answer: this one
	// may take ReportWriteTimeout. (An in-process request has no deadline to extend.)
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(ReportWriteTimeout))
	rep, err := s.reports.get(r.Context(), kind+"\x00"+site.Name+"\x00"+q.Encode(), run)
	switch {
	case err != nil && errors.Is(err, r.Context().Err()):
		return nil, false // the caller has gone: no one to answer
	case err != nil: // a full queue is EUNAVAILABLE: writeError says when to retry
		writeError(w, r, s.Logger, err)
		return nil, false
	}
	return rep, true
}

func (s *Server) reportJSON(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if rep, ok := s.report(w, r, kind); ok {
			writeJSON(w, http.StatusOK, rep.Data)
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
