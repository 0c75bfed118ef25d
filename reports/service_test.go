package reports

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/backtest"
	"github.com/joule-site/joule/catalog"
	"github.com/joule-site/joule/history"
	"github.com/joule-site/joule/manifest"
)

// exampleSites holds the example manifest's site as a store would.
type exampleSites struct {
	site   *joule.Site
	fleets []*joule.Fleet
}

func (s *exampleSites) loader() joule.SiteLoader {
	return joule.SiteLoader{Sites: s, Fleets: s, Models: s}
}

func newExampleSites(t *testing.T) *exampleSites {
	t.Helper()
	data, err := os.ReadFile("../examples/west-texas.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Parse("west-texas.yaml", data, catalog.Lookup)
	if err != nil {
		t.Fatal(err)
	}
	return &exampleSites{site: m.Sites[0], fleets: m.Fleets}
}

func (s *exampleSites) Sites(context.Context) ([]*joule.Site, error) {
	return []*joule.Site{s.site}, nil
}

func (s *exampleSites) Site(_ context.Context, name string) (*joule.Site, error) {
	if name != s.site.Name {
		return nil, joule.Errorf(joule.ENOTFOUND, "no site %q", name)
	}
	return s.site, nil
}

func (s *exampleSites) Fleets(ctx context.Context, site string) ([]*joule.Fleet, error) {
	if _, err := s.Site(ctx, site); err != nil {
		return nil, err
	}
	return s.fleets, nil
}

func (s *exampleSites) AllModels(ctx context.Context) ([]*joule.HardwareModel, error) {
	return catalog.Models{}.AllModels(ctx)
}

// threeDays is a short backtest: the first days of 2023, which the example site's
// hourly prices cover.
func threeDays() *BacktestRequest {
	r := NewBacktestRequest()
	r.From, r.To = time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2023, 1, 3, 0, 0, 0, 0, time.UTC)
	return r
}

func TestServiceRunsABacktestOfAStoredSite(t *testing.T) {
	var drawn *backtest.Report
	svc := NewService(Config{Sites: newExampleSites(t).loader(), BacktestCharts: func(r *backtest.Report) (map[string][]byte, error) {
		drawn = r
		return map[string][]byte{"power": []byte("power of " + r.Site)}, nil
	}})
	rep, err := svc.Backtest(t.Context(), "west-texas", threeDays())
	if err != nil {
		t.Fatal(err)
	}
	r, ok := rep.Data.(*backtest.Report)
	if !ok || r != drawn || r.Site != "west-texas" || r.From != "2023-01-01" || r.To != "2023-01-03" || r.Intervals != 72 {
		t.Fatalf("report %T %+v", rep.Data, rep.Data)
	}
	if _, ok := r.Strategy(backtest.Hybrid); !ok {
		t.Errorf("no hybrid strategy, though the site runs GPU servers: %+v", r.Strategies)
	}
	if string(rep.Charts["power"]) != "power of west-texas" {
		t.Errorf("charts %q", rep.Charts)
	}

	for _, tc := range []struct {
		site string
		req  func(*BacktestRequest)
		code string
	}{
		{"nowhere", func(*BacktestRequest) {}, joule.ENOTFOUND},
		{"../etc", func(*BacktestRequest) {}, joule.EINVALID},
		{"west-texas", func(r *BacktestRequest) { r.GPU = "s21" }, joule.EINVALID}, // an ASIC, not a GPU server
		{"west-texas", func(r *BacktestRequest) { r.Utilization = 2 }, joule.EINVALID},
	} {
		req := threeDays()
		tc.req(req)
		if _, err := svc.Backtest(t.Context(), tc.site, req); joule.ErrorCode(err) != tc.code {
			t.Errorf("%s %+v: %v, want %s", tc.site, req, err, tc.code)
		}
	}
}

func TestServiceBoundsPlanPaths(t *testing.T) {
	plan := func(paths int) *PivotRequest {
		r := NewPivotRequest()
		r.ConvertMW, r.GPU, r.At, r.Years, r.Paths = 2, "h100-sxm", time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC), 1, paths
		return r
	}
	svc := NewService(Config{Sites: newExampleSites(t).loader()})
	if _, err := svc.Pivot(t.Context(), "west-texas", plan(ServerMaxPaths+1)); joule.ErrorCode(err) != joule.EINVALID || !strings.HasPrefix(joule.ErrorMessage(err), "paths: at most 2000 on this server") {
		t.Errorf("a plan beyond the server's paths: %v", err)
	}
	small := NewService(Config{Sites: newExampleSites(t).loader(), MaxPaths: 10})
	if _, err := small.Pivot(t.Context(), "west-texas", plan(11)); joule.ErrorCode(err) != joule.EINVALID || !strings.HasPrefix(joule.ErrorMessage(err), "paths: at most 10") {
		t.Errorf("a plan beyond a configured bound: %v", err)
	}
	// A plan whose caller has gone runs no path.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := small.Pivot(ctx, "west-texas", plan(10)); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled plan: %v, want context.Canceled", err)
	}
}

// waitQueued waits until n requests wait for a turn.
func waitQueued(t *testing.T, g *gate, n int) {
	t.Helper()
	for g.inQueue() != n {
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

// With one report running and one waiting, a third is refused at once; a waiting
// request whose caller goes leaves the queue, and makes room for another.
func TestQueueRefusesBeyondItsBound(t *testing.T) {
	started, release := make(chan struct{}, 4), make(chan struct{})
	svc := NewService(Config{Sites: newExampleSites(t).loader(), Running: 1, Queued: 1, BacktestCharts: func(*backtest.Report) (map[string][]byte, error) {
		started <- struct{}{}
		<-release // the running report holds its turn until the test lets it go
		return nil, nil
	}})
	backtestIn := func(ctx context.Context) chan error {
		done := make(chan error, 1)
		go func() {
			_, err := svc.Backtest(ctx, "west-texas", threeDays())
			done <- err
		}()
		return done
	}

	first := backtestIn(t.Context())
	<-started
	queuedCtx, leave := context.WithCancel(t.Context())
	queued := backtestIn(queuedCtx)
	waitQueued(t, svc.gate, 1)
	if _, err := svc.Backtest(t.Context(), "west-texas", threeDays()); joule.ErrorCode(err) != joule.EUNAVAILABLE {
		t.Fatalf("a report beyond the queue: %v, want %s", err, joule.EUNAVAILABLE)
	}

	leave()
	if err := <-queued; !errors.Is(err, context.Canceled) {
		t.Errorf("a queued report whose caller went: %v, want context.Canceled", err)
	}
	waitQueued(t, svc.gate, 0)
	next := backtestIn(t.Context())
	waitQueued(t, svc.gate, 1)

	close(release)
	if err := <-first; err != nil {
		t.Errorf("the running report: %v", err)
	}
	<-started
	if err := <-next; err != nil {
		t.Errorf("the report queued after the other left: %v", err)
	}
}

// The service runs each report on the history its Config gives: here the embedded one
// with a made-up node's prices imported, which a backtest may price the site at.
func TestServiceRunsOnTheConfiguredHistory(t *testing.T) {
	var csv strings.Builder
	csv.WriteString("time,usd_per_mwh\n")
	for i := range 72 {
		fmt.Fprintf(&csv, "%s,%d\n", time.Date(2023, 1, 1, i, 0, 0, 0, time.UTC).Format(time.RFC3339), 20+i%24)
	}
	s, err := history.ParseImport(joule.DataEnergy, "TEST:NODE", "made-up test prices", []byte(csv.String()))
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	svc := NewService(Config{Sites: newExampleSites(t).loader(), History: func(context.Context) (*history.History, error) {
		calls++
		base, err := history.Default()
		if err != nil {
			return nil, err
		}
		return base.With(s)
	}})
	req := threeDays()
	req.Node = "TEST:NODE"
	rep, err := svc.Backtest(t.Context(), "west-texas", req)
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Data.(*backtest.Report); r.Node != "TEST:NODE" || calls != 1 {
		t.Errorf("node %q after %d calls, want TEST:NODE after 1", r.Node, calls)
	}
}
