package reports

import (
	"context"
	"runtime"
	"sync"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/backtest"
	"github.com/joule-site/joule/history"
)

// ServerMaxPaths bounds the paths of a plan a Service runs unless its Config says
// otherwise: a page waits for its plan, and the CLI runs more.
const ServerMaxPaths = 2000

// Config is what a Service needs.
type Config struct {
	// Sites reads the store's sites and the models a request may name.
	Sites joule.SiteLoader
	// BacktestCharts and PivotCharts draw a report's charts as PNG, by name ("power",
	// "margin"; "npv", "cashflow"); nil: the report has no charts.
	BacktestCharts func(*backtest.Report) (map[string][]byte, error)
	PivotCharts    func(*backtest.PivotReport) (map[string][]byte, error)
	// Running is how many reports run at once; 0: one per CPU.
	Running int
	// Queued is how many more may wait for a turn; beyond them a request is refused at
	// once. 0: four per running report; negative: none wait.
	Queued int
	// MaxPaths bounds a plan's paths; 0: ServerMaxPaths.
	MaxPaths int
	// History returns the market history a report runs on: the embedded one overlaid
	// with the operator's imports, as they are when the report starts. nil: the
	// embedded history alone (history.Default).
	History func(context.Context) (*history.History, error)
}

// Service runs the backtests and plans a server's users ask for, of the sites in its
// store: at most Config.Running at once and Config.Queued waiting, each stopped when
// its caller goes.
type Service struct {
	cfg  Config
	gate *gate
}

// Report is a finished report and its charts.
type Report struct {
	Data   any               // *backtest.Report or *backtest.PivotReport, as its JSON shows
	Charts map[string][]byte // PNG by name
}

// NewService returns a service with cfg's bounds, defaults filled in.
func NewService(cfg Config) *Service {
	if cfg.Running <= 0 {
		cfg.Running = max(1, runtime.NumCPU())
	}
	switch {
	case cfg.Queued == 0:
		cfg.Queued = 4 * cfg.Running
	case cfg.Queued < 0:
		cfg.Queued = 0
	}
	if cfg.MaxPaths <= 0 {
		cfg.MaxPaths = ServerMaxPaths
	}
	return &Service{cfg: cfg, gate: newGate(cfg.Running, cfg.Queued)}
}

// Backtest runs req on the named site, when its turn comes.
func (s *Service) Backtest(ctx context.Context, site string, req *BacktestRequest) (*Report, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	return s.run(ctx, site, func(site *Site, hist *history.History) (*Report, error) {
		r, err := Backtest(ctx, site, req, hist, nil)
		if err != nil {
			return nil, err
		}
		return charted(r, s.cfg.BacktestCharts)
	})
}

// Pivot runs req on the named site, when its turn comes; its paths are bounded by
// Config.MaxPaths.
func (s *Service) Pivot(ctx context.Context, site string, req *PivotRequest) (*Report, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	if req.Paths > s.cfg.MaxPaths {
		return nil, fieldError("paths", "at most %d on this server, got %d (joule plan runs more)", s.cfg.MaxPaths, req.Paths)
	}
	if req.Workers == 0 {
		// Reports run side by side: each takes its share of the cores, so that a full
		// gate does not put a core's worth of paths on every core per report.
		r := *req
		r.Workers = max(1, runtime.NumCPU()/s.cfg.Running)
		req = &r
	}
	return s.run(ctx, site, func(site *Site, hist *history.History) (*Report, error) {
		r, err := Pivot(ctx, site, req, hist, nil)
		if err != nil {
			return nil, err
		}
		return charted(r, s.cfg.PivotCharts)
	})
}

// run resolves the site, then waits for a turn and runs the report in it.
func (s *Service) run(ctx context.Context, name string, report func(*Site, *history.History) (*Report, error)) (*Report, error) {
	site, err := s.site(ctx, name)
	if err != nil {
		return nil, err
	}
	load := s.cfg.History
	if load == nil {
		load = func(context.Context) (*history.History, error) { return history.Default() } // loaded once, then shared
	}
	hist, err := load(ctx)
	if err != nil {
		return nil, err
	}
	leave, err := s.gate.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	return report(site, hist)
}

// site reads the named site, its fleets and the models from the store and resolves
// them.
func (s *Service) site(ctx context.Context, name string) (*Site, error) {
	if !joule.ValidSlug(name) {
		return nil, joule.Errorf(joule.EINVALID, "site %q: not a site name", name)
	}
	rs, models, err := s.cfg.Sites.LoadWithModels(ctx, name)
	if err != nil {
		return nil, err
	}
	return &Site{Spec: rs, Lookup: models.Lookup}, nil
}

// charted draws the report's charts.
func charted[R any](r R, draw func(R) (map[string][]byte, error)) (*Report, error) {
	rep := &Report{Data: r, Charts: map[string][]byte{}}
	if draw == nil {
		return rep, nil
	}
	charts, err := draw(r)
	if err != nil {
		return nil, err
	}
	rep.Charts = charts
	return rep, nil
}

// gate lets a bounded number of reports run at once and a bounded number wait for a
// turn; a report beyond both is refused at once, since a page that waits behind many
// others would rather hear so and retry.
type gate struct {
	turns   chan struct{} // one token per running report
	mu      sync.Mutex
	waiting int // requests waiting for a turn, at most queued
	queued  int
}

func newGate(running, queued int) *gate {
	return &gate{turns: make(chan struct{}, running), queued: queued}
}

// enter waits for a turn and returns the function that gives it back. It fails at
// once with EUNAVAILABLE when the queue is full, and with ctx.Err() when ctx is done
// first: a request whose caller goes leaves the queue.
func (g *gate) enter(ctx context.Context) (leave func(), err error) {
	leave = func() { <-g.turns }
	select {
	case g.turns <- struct{}{}:
		return leave, nil
	default:
	}
	g.mu.Lock()
	if g.waiting >= g.queued {
		g.mu.Unlock()
		return nil, joule.Errorf(joule.EUNAVAILABLE, "reports: %d running and %d waiting, the most this server takes: retry in a while", cap(g.turns), g.queued)
	}
	g.waiting++
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.waiting--
		g.mu.Unlock()
	}()
	select {
	case g.turns <- struct{}{}:
		return leave, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// inQueue is how many requests wait for a turn.
func (g *gate) inQueue() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.waiting
}
