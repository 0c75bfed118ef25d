package http_test

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/joule-site/joule"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/reports"
	"github.com/joule-site/joule/sqlite"
)

// fixedMarket is a market whose prices do not move.
type fixedMarket struct {
	hashprice, energy, gpu, util, btc float64
}

func (m fixedMarket) Hashprice(time.Time) (float64, bool)           { return m.hashprice, true }
func (m fixedMarket) Energy(*joule.Site, time.Time) (float64, bool) { return m.energy, true }
func (m fixedMarket) GPU(time.Time) (float64, float64)              { return m.gpu, m.util }
func (m fixedMarket) BTCUSD(time.Time) (float64, bool)              { return m.btc, true }

// getJSON fetches path and decodes its JSON into out, returning the status.
func getJSON(t *testing.T, s *jhttp.Server, path string, out any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+opToken(s))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("%s: %v: %s", path, err, body)
		}
	}
	return resp.StatusCode
}

func TestDashboardViews(t *testing.T) {
	now := time.Date(2024, 8, 20, 18, 0, 0, 0, time.UTC)
	market := fixedMarket{hashprice: 50, energy: 30, gpu: 2, util: 0.85, btc: 60_000}
	s := openServer(t, func(s *jhttp.Server, db *sqlite.DB) {
		s.Prices = market
		s.Now = func() time.Time { return now }
	})
	ctx := context.Background()

	var empty jhttp.Overview
	if code := getJSON(t, s, "/api/v1/overview", &empty); code != 200 || len(empty.Sites) != 0 || empty.Demo || empty.Market.BTCUSD != 60_000 {
		t.Fatalf("overview of an empty store: %d %+v", code, empty)
	}

	c := client(s)
	if _, err := c.Apply(ctx, "west-texas.yaml", example(t)); err != nil {
		t.Fatal(err)
	}
	for i, draw := range []joule.Watts{30_000_000, 20_000_000} {
		p := &joule.SitePlan{Site: "west-texas", At: now.Add(time.Duration(i-1) * time.Minute), CapW: 50_000_000, DrawW: draw,
			Use: joule.PowerUse{MiningW: draw - 1_000_000, FirmGPUW: 1_000_000}, RevenueUSDPerHour: 1000}
		if err := s.Live.SavePlan(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	rep := &joule.DeviceReport{Fleets: []joule.FleetCensus{{Fleet: "hall-a-s21", Kind: joule.KindASIC, Machines: 6000, Found: 6000, Running: 5000, Sleeping: 1000, PowerW: 17_500_000, Reported: 6000}, {Fleet: "h100-pod-1", Kind: joule.KindGPUServer, Machines: 16, Found: 16, Running: 16, PowerW: 160_000, Reported: 16}}}
	if err := c.ReportDevices(ctx, "west-texas", rep); err != nil {
		t.Fatal(err)
	}
	if err := c.ReportDevices(ctx, "nowhere", rep); joule.ErrorCode(err) != joule.ENOTFOUND {
		t.Errorf("a census of a site that does not exist: %v", err)
	}

	var o jhttp.Overview
	getJSON(t, s, "/api/v1/overview", &o)
	if len(o.Sites) != 1 || o.Sites[0].Plan == nil || o.Sites[0].Plan.Seq != 2 || o.Sites[0].Plan.Use.MiningW != 19_000_000 {
		t.Fatalf("overview: %+v", o)
	}
	if o.Sites[0].MeasuredW == nil || *o.Sites[0].MeasuredW != 17_660_000 || !o.Sites[0].EnergyFresh || o.Sites[0].EnergyUSDPerMWh != 30 {
		t.Errorf("overview site: %+v", o.Sites[0])
	}

	var plans struct{ Plans []joule.SitePlan }
	if code := getJSON(t, s, "/api/v1/sites/west-texas/plans", &plans); code != 200 || len(plans.Plans) != 2 || plans.Plans[0].Seq != 1 || plans.Plans[1].DrawW != 20_000_000 {
		t.Errorf("plans: %d %+v", code, plans)
	}
	getJSON(t, s, "/api/v1/sites/west-texas/plans?since="+url.QueryEscape(now.Format(time.RFC3339)), &plans)
	if len(plans.Plans) != 1 || plans.Plans[0].Seq != 2 {
		t.Errorf("plans since the second's time: %+v", plans)
	}
	for path, want := range map[string]int{
		"/api/v1/sites/west-texas/plans?limit=0":         400,
		"/api/v1/sites/west-texas/plans?since=yesterday": 400,
		"/api/v1/sites/nowhere/plans":                    404,
		"/api/v1/sites/nowhere/next-mw":                  404,
		"/api/v1/sites/nowhere/dr":                       404,
		"/api/v1/sites/west-texas/audit?tail=-1":         400,
		"/api/v1/demo":                                   404,
		"/api/v1/sites/west-texas/backtest":              404, // no reporter on this server
	} {
		if code := getJSON(t, s, path, nil); code != want {
			t.Errorf("GET %s: %d, want %d", path, code, want)
		}
	}

	var devices joule.DeviceReport
	if code := getJSON(t, s, "/api/v1/sites/west-texas/devices", &devices); code != 200 || len(devices.Fleets) != 2 || devices.Site != "west-texas" || !devices.At.Equal(now) {
		t.Errorf("devices: %d %+v", code, devices)
	}

	// The next megawatt: the site's S21 at hashprice 50 against its H100 servers at $2 × 85%,
	// at PUE 1.05. By hand: an S21 (17.5 J/TH) earns $0.050/TH/day over 0.42 kWh/TH/day =
	// $119.05 per MWh it draws, $113.38 per facility MWh. An 8×H100 server sells $13.60 of
	// GPU-hours an hour while drawing 0.85 × 10.2 + 0.15 × 1.7 = 8.925 kW, × 1.05 = 9.371 kW
	// at the facility: $1,451.25 per facility MWh.
	var next jhttp.NextMW
	getJSON(t, s, "/api/v1/sites/west-texas/next-mw", &next)
	if next.Mining == nil || next.Mining.Model != "s21" || math.Abs(next.Mining.USDPerMWh-113.38) > 0.005 {
		t.Errorf("mining value %+v, want s21 at $113.38", next.Mining)
	}
	if next.GPU == nil || next.GPU.Model != "h100-sxm" || next.Better != "lease" || math.Abs(next.GPU.USDPerMWh-1451.25) > 0.005 {
		t.Errorf("GPU value %+v, better %q; want h100-sxm at $1,451.25, lease", next.GPU, next.Better)
	}

	if _, err := c.DemandResponse(ctx, "west-texas", 5_000_000, 10*time.Minute, time.Hour); err != nil {
		t.Fatal(err)
	}
	var drs struct{ Events []joule.DemandResponse }
	if getJSON(t, s, "/api/v1/sites/west-texas/dr", &drs); len(drs.Events) != 1 || drs.Events[0].ReduceToW != 5_000_000 {
		t.Errorf("demand responses: %+v", drs)
	}
	var tail struct{ Audit []joule.Audit }
	if getJSON(t, s, "/api/v1/sites/west-texas/audit?tail=1", &tail); len(tail.Audit) != 1 || !strings.Contains(tail.Audit[0].Detail, "demand response") {
		t.Errorf("audit tail: %+v", tail)
	}
}

// countingReporter makes a report with one chart and counts the runs.
type countingReporter struct {
	runs atomic.Int32
	fail bool
}

func (r *countingReporter) Backtest(_ context.Context, site string, req *reports.BacktestRequest) (*reports.Report, error) {
	return r.report(jhttp.ReportBacktest, site, req.From)
}

func (r *countingReporter) Pivot(_ context.Context, site string, req *reports.PivotRequest) (*reports.Report, error) {
	return r.report(jhttp.ReportPlan, site, req.At)
}

func (r *countingReporter) report(kind, site string, day time.Time) (*reports.Report, error) {
	r.runs.Add(1)
	time.Sleep(50 * time.Millisecond) // long enough for the requests to overlap
	if r.fail {
		return nil, joule.Errorf(joule.EINVALID, "no data for %s", day.Format(time.DateOnly))
	}
	return &reports.Report{Data: map[string]string{"kind": kind, "site": site}, Charts: map[string][]byte{"power": []byte("\x89PNG")}}, nil
}

func TestReportsRunOnceForPageAndCharts(t *testing.T) {
	rep := &countingReporter{}
	s := openServer(t, func(s *jhttp.Server, _ *sqlite.DB) { s.Reports = rep })
	if _, err := client(s).Apply(context.Background(), "west-texas.yaml", example(t)); err != nil {
		t.Fatal(err)
	}
	q := "?from=2023-01-01&to=2023-01-31"
	done := make(chan int, 3)
	for _, p := range []string{"", "/power.png", "/power.png"} {
		go func() { done <- getJSON(t, s, "/api/v1/sites/west-texas/backtest"+p+q, nil) }()
	}
	for range 3 {
		if code := <-done; code != 200 {
			t.Errorf("status %d", code)
		}
	}
	if n := rep.runs.Load(); n != 1 {
		t.Errorf("the report ran %d times for a page and its charts, want once", n)
	}
	if code := getJSON(t, s, "/api/v1/sites/west-texas/backtest/margin.png"+q, nil); code != 404 {
		t.Errorf("a chart the report lacks: %d", code)
	}
	var out map[string]string
	if getJSON(t, s, "/api/v1/sites/west-texas/planreport?convert_mw=2&gpu=h100-sxm&at=2024-06-01", &out); out["kind"] != jhttp.ReportPlan || rep.runs.Load() != 2 {
		t.Errorf("a plan is another report: %v after %d runs", out, rep.runs.Load())
	}

	rep.fail = true
	for range 2 {
		if code := getJSON(t, s, "/api/v1/sites/west-texas/backtest?from=1999-01-01&to=1999-01-02", nil); code != 400 {
			t.Errorf("failing report: %d", code)
		}
	}
	if n := rep.runs.Load(); n != 4 {
		t.Errorf("a failed report is kept: %d runs, want 4 (failures run again)", n)
	}
}
