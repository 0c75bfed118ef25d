package backtest

import (
	"context"
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/catalog"
	"github.com/joule-site/joule/dispatch"
	"github.com/joule-site/joule/econ"
	"github.com/joule-site/joule/history"
)

// planExampleConfig converts 20 MW of the example site to 8×H100 servers on 2024-06-01.
func planExampleConfig(t testing.TB, paths, years int) PivotConfig {
	t.Helper()
	h, err := history.Default()
	if err != nil {
		t.Fatal(err)
	}
	gpu, ok := catalog.Lookup("h100-sxm")
	if !ok {
		t.Fatal("no h100-sxm in the catalog")
	}
	return PivotConfig{
		Site: WestTexasForTest(t), ConvertMW: 20, GPU: gpu,
		At:    time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC),
		Years: years, Paths: paths, Seed: 42, History: h,
		PoolFee: 0.02, DiscountRate: 0.10, GPUUSDPerHour: 2,
		Utilization: 0.775, UtilizationSpread: 0.175, DemandElasticity: 1, GPUPriceDriftPerYear: [2]float64{-0.35, 0.05},
		Hysteresis: dispatch.DefaultHysteresis,
	}
}

func runPlan(t *testing.T, cfg PivotConfig) *PivotReport {
	t.Helper()
	r, err := RunPivot(t.Context(), cfg)
	if err != nil {
		t.Fatalf("RunPivot: %v", err)
	}
	return r
}

func TestPlanConversionRetiresLeastEfficientFirst(t *testing.T) {
	site := WestTexasForTest(t)
	gpu, _ := catalog.Lookup("h100-sxm")
	tests := []struct {
		mw      float64
		retired []retired // fleet name and count, in order
		servers int
	}{
		// 4000 S19j Pro (29.5 J/TH) are 12.886 MW at PUE 1.05; the rest comes from the
		// S21 hall (17.5 J/TH) at 3675 W each: ⌈7.114 MW / 3675 W⌉ = 1936.
		{mw: 20, retired: []retired{{count: 4000}, {count: 1936}}},
		// Less than the S19j Pro hall: only S19j Pros, ⌈5 MW / 3221.4 W⌉ = 1553.
		{mw: 5, retired: []retired{{count: 1553}}},
		// Every miner.
		{mw: 34.9356, retired: []retired{{count: 4000}, {count: 6000}}},
	}
	names := []string{"hall-b-s19j-pro", "hall-a-s21"}
	for _, tt := range tests {
		c, err := convert(site, tt.mw*1e6, gpu, 1.3, 300, econ.Costs{})
		if err != nil {
			t.Fatalf("%v MW: %v", tt.mw, err)
		}
		if len(c.retired) != len(tt.retired) {
			t.Fatalf("%v MW: retired %d fleets, want %d", tt.mw, len(c.retired), len(tt.retired))
		}
		var it float64
		asics := 0
		for i, r := range c.retired {
			if r.fleet.Name != names[i] || r.count != tt.retired[i].count {
				t.Errorf("%v MW: retired %d of %s, want %d of %s", tt.mw, r.count, r.fleet.Name, tt.retired[i].count, names[i])
			}
			it += float64(r.count) * float64(r.fleet.Model.PowerW)
			asics += r.count
		}
		servers := int(it * 1.05 / (1.3 * 10200)) // the facility power freed, in a hall of PUE 1.3
		if c.servers != servers || c.asics != asics {
			t.Errorf("%v MW: %d servers for %d miners, want %d for %d", tt.mw, c.servers, c.asics, servers, asics)
		}
		if want := float64(servers)*gpu.PriceUSD - float64(asics)*300; c.capexUSD != want {
			t.Errorf("%v MW: capex %v, want %v", tt.mw, c.capexUSD, want)
		}
		if c.facilityW < tt.mw*1e6-1e-3 {
			t.Errorf("%v MW: converted only %v W", tt.mw, c.facilityW)
		}
	}

	// The report says the same for 20 MW: 4000×3068 + 1936×3500 W of IT power, × 1.05
	// = 20,000,400 W of facility power, feeds 1508 servers of 10200 W at PUE 1.3
	// (13,260 W each) at $269,000.
	r := runPlan(t, planExampleConfig(t, 4, 1))
	if r.ASICsRetired != 5936 || r.GPUServers != 1508 || r.CapexUSD != 1508*269000 {
		t.Errorf("report: %d miners retired, %d servers, capex %v", r.ASICsRetired, r.GPUServers, r.CapexUSD)
	}
}

func TestPlanDeterministicAcrossWorkers(t *testing.T) {
	cfg := planExampleConfig(t, 200, 1)
	cfg.Workers = 1
	one := runPlan(t, cfg)
	cfg.Workers = 2
	two := runPlan(t, cfg)
	if !reflect.DeepEqual(one, two) {
		t.Errorf("1 worker and 2 workers differ:\n%+v\n%+v", one.NPVUSD, two.NPVUSD)
	}
	cfg.Seed++
	other := runPlan(t, cfg)
	if reflect.DeepEqual(one.NPVs, other.NPVs) {
		t.Error("another seed gave the same paths")
	}
}

func TestPlanQuantilesAreOrdered(t *testing.T) {
	r := runPlan(t, planExampleConfig(t, 200, 2))
	ordered := func(what string, q Quantiles) {
		t.Helper()
		if !(q.P10 <= q.P50 && q.P50 <= q.P90) {
			t.Errorf("%s: %+v not ordered", what, q)
		}
	}
	ordered("npv", r.NPVUSD)
	ordered("payback", r.PaybackMonths)
	if len(r.YearlyCashFlowUSD) != 2 || len(r.NPVs) != 200 {
		t.Fatalf("%d years of cash flow, %d NPVs", len(r.YearlyCashFlowUSD), len(r.NPVs))
	}
	for _, q := range r.YearlyCashFlowUSD {
		ordered("yearly cash flow", q)
	}
	if r.NPVUSD.P10 == r.NPVUSD.P90 {
		t.Error("every path has the same NPV: nothing is sampled")
	}
	if !slices.ContainsFunc(r.Assumptions, func(s string) bool { return len(s) > 0 }) || len(r.Assumptions) < 8 {
		t.Errorf("assumptions: %q", r.Assumptions)
	}
}

// With GPU-hours worth nothing, converting only loses: the capex and the margin the
// miners would have earned (the servers even pay for their idle draw).
func TestPlanFreeGPUsLoseCapexAndMining(t *testing.T) {
	cfg := planExampleConfig(t, 50, 1)
	cfg.GPUUSDPerHour = 0
	r := runPlan(t, cfg)
	if r.ProbPositive != 0 || r.NeverPaidBack != 1 {
		t.Errorf("P(NPV > 0) = %v, never paid back = %v", r.ProbPositive, r.NeverPaidBack)
	}
	for i, npv := range r.NPVs {
		if npv > -r.CapexUSD {
			t.Errorf("path %d: NPV %v above −capex %v", i, npv, -r.CapexUSD)
		}
	}
	if !math.IsInf(r.PaybackMonths.P10, 1) {
		t.Errorf("payback %v, want +Inf", r.PaybackMonths)
	}
	// The loss beyond capex is the retired miners' margin (some $10M in the year after
	// the 2024 halving) and the idle draw of servers that sell nothing.
	lost := -r.CapexUSD - r.NPVUSD.P50
	if lost < 5e6 || lost > 80e6 {
		t.Errorf("lost margin %v over a year; want the retired miners' tens of millions", lost)
	}
	if q := r.YearlyCashFlowUSD[0]; q.P90 >= 0 {
		t.Errorf("yearly cash flow %+v, want negative", q)
	}
}

func TestPlanExpensiveGPUsPayBackFast(t *testing.T) {
	cfg := planExampleConfig(t, 50, 1)
	cfg.GPUUSDPerHour = 200
	r := runPlan(t, cfg)
	if r.ProbPositive != 1 || r.NeverPaidBack != 0 {
		t.Errorf("P(NPV > 0) = %v, never paid back = %v", r.ProbPositive, r.NeverPaidBack)
	}
	if r.PaybackMonths.P90 > 2 {
		t.Errorf("payback %+v months; at $200/GPU-hour it should take a month or two", r.PaybackMonths)
	}
}

func TestPlanHoardChangesTheResult(t *testing.T) {
	cfg := planExampleConfig(t, 100, 2)
	sold := runPlan(t, cfg)
	cfg.Hoard = true
	kept := runPlan(t, cfg)
	if !kept.Hoard || reflect.DeepEqual(sold.NPVs, kept.NPVs) {
		t.Fatal("hoarding changed nothing")
	}
	// Hoarding moves the baseline's mining revenue to the horizon end: the first year
	// no longer pays it, so converting looks better then.
	if !(kept.YearlyCashFlowUSD[0].P50 > sold.YearlyCashFlowUSD[0].P50) {
		t.Errorf("first-year cash flow %v hoarding, %v selling", kept.YearlyCashFlowUSD[0], sold.YearlyCashFlowUSD[0])
	}
}

func TestPlanProgress(t *testing.T) {
	cfg := planExampleConfig(t, 30, 1)
	cfg.Workers = 2
	var calls, last, total int
	monotonic := true
	cfg.Progress = func(done, n int) {
		calls++
		if done <= last {
			monotonic = false
		}
		last, total = done, n
	}
	runPlan(t, cfg)
	if calls != 30 || last != 30 || total != 30 || !monotonic {
		t.Errorf("progress: %d calls, last %d of %d, monotonic %v", calls, last, total, monotonic)
	}
}

func TestPlanRejectsBadConfigs(t *testing.T) {
	asic, _ := catalog.Lookup("s21")
	bad := map[string]func(*PivotConfig){
		"no site":             func(c *PivotConfig) { c.Site = nil },
		"no history":          func(c *PivotConfig) { c.History = nil },
		"no gpu":              func(c *PivotConfig) { c.GPU = nil },
		"asic as gpu":         func(c *PivotConfig) { c.GPU = asic },
		"zero MW":             func(c *PivotConfig) { c.ConvertMW = 0 },
		"negative MW":         func(c *PivotConfig) { c.ConvertMW = -1 },
		"NaN MW":              func(c *PivotConfig) { c.ConvertMW = math.NaN() },
		"more MW than miners": func(c *PivotConfig) { c.ConvertMW = 40 },
		"zero years":          func(c *PivotConfig) { c.Years = 0 },
		"zero paths":          func(c *PivotConfig) { c.Paths = 0 },
		"negative workers":    func(c *PivotConfig) { c.Workers = -1 },
		"pool fee 1":          func(c *PivotConfig) { c.PoolFee = 1 },
		"discount -1":         func(c *PivotConfig) { c.DiscountRate = -1 },
		"negative gpu price":  func(c *PivotConfig) { c.GPUUSDPerHour = -1 },
		"negative resale":     func(c *PivotConfig) { c.ASICResaleUSD = -1 },
		"utilization above 1": func(c *PivotConfig) { c.Utilization = 1.5 },
		"utilization unset":   func(c *PivotConfig) { c.Utilization = 0 },
		"spread negative":     func(c *PivotConfig) { c.UtilizationSpread = -0.1 },
		"elasticity negative": func(c *PivotConfig) { c.DemandElasticity = -1 },
		"opex negative":       func(c *PivotConfig) { c.Costs.GPUOpexUSDPerServerHour = -1 },
		"drift with history":  func(c *PivotConfig) { c.BTCModel, c.BTCDriftPerYear = BTCBootstrapDrift, 0.1 },
		"unknown BTC model":   func(c *PivotConfig) { c.BTCModel = "tea-leaves" },
		"drift reversed":      func(c *PivotConfig) { c.GPUPriceDriftPerYear = [2]float64{0.1, -0.1} },
		"drift NaN":           func(c *PivotConfig) { c.GPUPriceDriftPerYear = [2]float64{math.NaN(), 0} },
		"before the history":  func(c *PivotConfig) { c.At = time.Date(2005, 1, 1, 0, 0, 0, 0, time.UTC) },
		"after the history":   func(c *PivotConfig) { c.At = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) },
		"too little history":  func(c *PivotConfig) { c.At = time.Date(2010, 9, 1, 0, 0, 0, 0, time.UTC) },
		"no energy before At": func(c *PivotConfig) {
			c.At = time.Date(2018, 6, 1, 0, 0, 0, 0, time.UTC)
		},
		"less than a server": func(c *PivotConfig) { c.ConvertMW = 0.005 },
	}
	for name, mutate := range bad {
		t.Run(name, func(t *testing.T) {
			cfg := planExampleConfig(t, 2, 1)
			mutate(&cfg)
			_, err := RunPivot(t.Context(), cfg)
			if code := joule.ErrorCode(err); code != joule.EINVALID {
				t.Errorf("error %v (code %q), want EINVALID", err, code)
			}
		})
	}
}

func TestPlanFixedEnergyPrice(t *testing.T) {
	cfg := planExampleConfig(t, 20, 1)
	site := *cfg.Site.Site
	site.Energy = joule.EnergyPriceModel{Kind: joule.EnergyFixed, FixedUSDPerMWh: 45}
	cfg.Site = &joule.ResolvedSite{Site: &site, Fleets: cfg.Site.Fleets}
	r := runPlan(t, cfg)
	if !slices.ContainsFunc(r.Assumptions, func(s string) bool { return s == "Energy: the site's fixed price, every hour." }) {
		t.Errorf("assumptions do not name the fixed price: %q", r.Assumptions)
	}
}

func TestQuantile(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		sorted []float64
		want   Quantiles
	}{
		{[]float64{7}, Quantiles{7, 7, 7}},
		{[]float64{0, 10}, Quantiles{1, 5, 9}},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, Quantiles{2, 6, 10}},
		{[]float64{1, 2, inf, inf}, Quantiles{1.3, inf, inf}},
	}
	for _, tt := range tests {
		if got := quantiles(tt.sorted); math.Abs(got.P10-tt.want.P10) > 1e-12 || got.P50 != tt.want.P50 || math.Abs(got.P90-tt.want.P90) > 1e-12 {
			t.Errorf("quantiles(%v) = %+v, want %+v", tt.sorted, got, tt.want)
		}
	}
}

func TestPlanUSD(t *testing.T) {
	for v, want := range map[float64]string{0: "$0", 999: "$999", 1000: "$1,000", 502223000: "$502,223,000", -1234567.4: "-$1,234,567"} {
		if got := planUSD(v); got != want {
			t.Errorf("planUSD(%v) = %q, want %q", v, got, want)
		}
	}
}

// The fitted model draws other prices than the bootstrap, from the same history, and is
// as deterministic.
func TestPlanGBM(t *testing.T) {
	boot := planExampleConfig(t, 60, 1)
	gbm := boot
	gbm.BTCModel = BTCGBM
	a, err := RunPivot(t.Context(), boot)
	if err != nil {
		t.Fatal(err)
	}
	b, err := RunPivot(t.Context(), gbm)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := RunPivot(t.Context(), gbm)
	if slices.Equal(a.NPVs, b.NPVs) {
		t.Error("the fitted model gave the bootstrap's NPVs")
	}
	if !slices.Equal(b.NPVs, again.NPVs) {
		t.Error("the fitted model is not deterministic")
	}
	if !strings.Contains(strings.Join(b.Assumptions, "\n"), "geometric Brownian motion") {
		t.Error("the assumptions do not say the price model")
	}
	bad := boot
	bad.BTCModel = "tea-leaves"
	if _, err := RunPivot(t.Context(), bad); joule.ErrorCode(err) != joule.EINVALID {
		t.Errorf("unknown model: %v", err)
	}
}

// A plan whose caller goes stops: once the context is cancelled (here by the first
// finished path) no further path starts, and RunPivot says why it stopped.
func TestPlanStopsWhenCancelled(t *testing.T) {
	cfg := planExampleConfig(t, 10_000, 5)
	cfg.Workers = 2
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var finished atomic.Int64
	cfg.Progress = func(done, total int) {
		finished.Store(int64(done))
		cancel()
	}
	r, err := RunPivot(ctx, cfg)
	if !errors.Is(err, context.Canceled) || r != nil {
		t.Fatalf("RunPivot after cancel: %v, %v; want context.Canceled", r, err)
	}
	// Each worker finishes the path it holds: at most one per worker runs on.
	if n := finished.Load(); n < 1 || n > int64(cfg.Workers) {
		t.Errorf("%d of %d paths ran after the cancel at the first, want at most %d", n, cfg.Paths, cfg.Workers)
	}
}
