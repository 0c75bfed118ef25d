package backtest_test

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/backtest"
	"github.com/joule-site/joule/dispatch"
	"github.com/joule-site/joule/forecast"
	"github.com/joule-site/joule/history"
)

func config(t testing.TB, from, to string) backtest.Config {
	t.Helper()
	h, err := history.Default()
	if err != nil {
		t.Fatal(err)
	}
	gpu, err := backtest.DefaultPricePath("h100-sxm")
	if err != nil {
		t.Fatal(err)
	}
	f, _ := time.Parse(time.DateOnly, from)
	e, _ := time.Parse(time.DateOnly, to)
	return backtest.Config{
		Site: backtest.WestTexasForTest(t), From: f, To: e, History: h, GPUPrice: gpu, Utilization: 0.85,
		Hysteresis: dispatch.DefaultHysteresis, HybridShare: 0.5, GPULifeYears: 5,
	}
}

// The must-hold result: over 2023 on LZ_WEST, Joule's policy earns at least 95% of the
// hindsight optimum and more than always-mine and the strike-price rule.
func TestWestTexas2023(t *testing.T) {
	if testing.Short() {
		t.Skip("a year of hourly history")
	}
	r, err := backtest.Run(t.Context(), config(t, "2023-01-01", "2023-12-31"))
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string) *backtest.Result {
		s, ok := r.Strategy(name)
		if !ok {
			t.Fatalf("no %s in %+v", name, r.Strategies)
		}
		return s
	}
	jl, always, strike, opt := get(backtest.Joule), get(backtest.AlwaysMine), get(backtest.StrikePrice), get(backtest.Optimum)
	for _, s := range r.Strategies {
		pct := "n/a"
		if s.PctOfOptimum != nil {
			pct = strconv.FormatFloat(*s.PctOfOptimum, 'f', 2, 64)
		}
		t.Logf("%-18s margin $%14.0f  revenue $%14.0f  energy $%12.0f  curtailed %9.0f MWh  %s%% of optimum", s.Name, s.MarginUSD, s.RevenueUSD, s.EnergyUSD, s.CurtailedMWh, pct)
	}
	if r.Intervals != 8760 {
		t.Errorf("%d intervals in 2023, want 8760", r.Intervals)
	}
	if *jl.PctOfOptimum < 95 {
		t.Errorf("Joule's policy earns %.2f%% of the optimum, want ≥ 95%%", *jl.PctOfOptimum)
	}
	if jl.MarginUSD <= always.MarginUSD || jl.MarginUSD <= strike.MarginUSD {
		t.Errorf("Joule %.0f must beat always-mine %.0f and strike-price %.0f", jl.MarginUSD, always.MarginUSD, strike.MarginUSD)
	}
	// The plans decided on what was known (the default forecaster); the report gives
	// the perfect-foresight figure beside the causal one and the loss between them.
	fs := get(backtest.JouleForesight)
	if r.Forecaster != forecast.Default().Name() || r.ForecastLossUSD != fs.MarginUSD-jl.MarginUSD || !(r.ForecastLossUSD > 0) {
		t.Errorf("forecaster %q, forecast loss %.0f; foresight %.0f, joule %.0f", r.Forecaster, r.ForecastLossUSD, fs.MarginUSD, jl.MarginUSD)
	}
	if opt.MarginUSD < jl.MarginUSD {
		t.Errorf("the bound %.0f is below Joule's %.0f", opt.MarginUSD, jl.MarginUSD)
	}
}

func TestMissingDataIsNamed(t *testing.T) {
	tests := []struct {
		from, to string
		want     []string
	}{
		{"2021-03-01", "2021-03-05", []string{"energy price at ERCOT:LZ_WEST for 2021-03-01..2021-03-05", "2019-01-01..2019-12-31, 2023-01-01..2023-12-31"}},
		{"2008-01-01", "2008-01-02", []string{"no BTC price for 2007-12-31..2008-01-03", "no difficulty"}},
		{"2023-12-30", "2024-01-02", []string{"energy price at ERCOT:LZ_WEST for 2024-01-01..2024-01-02"}},
	}
	for _, tt := range tests {
		_, err := backtest.Run(t.Context(), config(t, tt.from, tt.to))
		if joule.ErrorCode(err) != joule.EINVALID {
			t.Fatalf("%s..%s: err %v", tt.from, tt.to, err)
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s..%s: %q lacks %q", tt.from, tt.to, err, w)
			}
		}
	}
}

// Five-minute prices where the data has them: ERCOT HB_WEST real-time dispatch prices
// over 2024 replay at 288 intervals a day, and the policy still beats the baselines.
func TestFiveMinutePrices2024(t *testing.T) {
	if testing.Short() {
		t.Skip("a year of five-minute history")
	}
	cfg := config(t, "2024-01-01", "2024-12-31")
	site := *cfg.Site.Site
	site.Energy = joule.EnergyPriceModel{Kind: joule.EnergyWholesale, Node: "ERCOT:HB_WEST", AdderUSDPerMWh: 4.5}
	cfg.Site.Site = &site
	r, err := backtest.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.IntervalSec != 300 || r.Intervals != 366*288 {
		t.Errorf("%d intervals of %d s, want %d of 300 s", r.Intervals, r.IntervalSec, 366*288)
	}
	jl, _ := r.Strategy(backtest.Joule)
	always, _ := r.Strategy(backtest.AlwaysMine)
	strike, _ := r.Strategy(backtest.StrikePrice)
	fs, _ := r.Strategy(backtest.JouleForesight)
	t.Logf("joule %.2f%% (with foresight %.2f%%), strike-price %.2f%%, always-mine %.2f%% of the bound", *jl.PctOfOptimum, *fs.PctOfOptimum, *strike.PctOfOptimum, *always.PctOfOptimum)
	if !(r.ForecastLossUSD > 0) {
		t.Errorf("forecast loss %.0f: five-minute plans decided on the interval's own price", r.ForecastLossUSD)
	}
	if *jl.PctOfOptimum < 95 || jl.MarginUSD <= strike.MarginUSD || jl.MarginUSD <= always.MarginUSD {
		t.Errorf("joule %.2f%% of the bound, margin %.0f; strike %.0f, always %.0f", *jl.PctOfOptimum, jl.MarginUSD, strike.MarginUSD, always.MarginUSD)
	}
}

// On a site whose cap binds (20 MW for 35 MW of machines), the report carries the
// Lagrangian bound, and no strategy earns more than it.
func TestCongestedSiteGetsABound(t *testing.T) {
	if testing.Short() {
		t.Skip("a year of hourly history")
	}
	cfg := config(t, "2023-01-01", "2023-12-31")
	site := *cfg.Site.Site
	site.PowerCapW = 20_000_000
	cfg.Site.Site = &site
	r, err := backtest.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	opt, ok := r.Strategy(backtest.Optimum)
	if !ok || !strings.Contains(opt.Description, "Lagrangian") {
		t.Fatalf("no bound in %+v", r.Strategies)
	}
	for _, s := range r.Strategies {
		if s.PctOfOptimum != nil {
			t.Logf("%-18s %.2f%% of the bound", s.Name, *s.PctOfOptimum)
			if *s.PctOfOptimum > 100+1e-9 {
				t.Errorf("%s earns %.4f%% of the bound", s.Name, *s.PctOfOptimum)
			}
		}
	}
}

// A backtest whose caller goes stops within the batch of intervals it is in: the
// progress callback cancels at the first batch, and no further batch is simulated.
func TestBacktestStopsWhenCancelled(t *testing.T) {
	cfg := config(t, "2023-01-01", "2023-12-31")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var calls, lastDone, total int
	cfg.Progress = func(done, all int) {
		calls, lastDone, total = calls+1, done, all
		cancel()
	}
	r, err := backtest.Run(ctx, cfg)
	if !errors.Is(err, context.Canceled) || r != nil {
		t.Fatalf("Run after cancel: %v, %v; want context.Canceled", r, err)
	}
	if calls != 1 || lastDone >= total {
		t.Errorf("%d progress calls after the cancel at the first, the last at %d of %d intervals; want one", calls, lastDone, total)
	}
}

// The conversions' costs by hand, over January 2023 (744 hours) with the default
// costs: every miner of the example site (6000 × 3500 W + 4000 × 3068 W = 33.272 MW of
// IT power, × PUE 1.05 = 34.9356 MW of facility power) becomes as many H100 servers as
// that feeds at 10,200 W in a GPU hall of PUE 1.3: floor(34,935,600 / 13,260) = 2634 at
// $269,000, plus 10% for network and storage, plus $4M per facility MW converted.
func TestConversionCostsByHand(t *testing.T) {
	r, err := backtest.Run(t.Context(), config(t, "2023-01-01", "2023-01-31"))
	if err != nil {
		t.Fatal(err)
	}
	all, ok := r.Strategy(backtest.AllGPU)
	if !ok {
		t.Fatal("no all-gpu")
	}
	const servers = 2634
	serversUSD := servers * 269_000 * 1.10
	conversionUSD := 4_000_000 * 33.272 * 1.05
	years := 744.0 / (365.25 * 24)
	near := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-6*math.Abs(want) {
			t.Errorf("%s = %.2f, want %.2f", what, got, want)
		}
	}
	near("capex", all.CapexUSD, serversUSD+conversionUSD)
	near("depreciation", all.DepreciationUSD, serversUSD/5*years+conversionUSD/15*years)
	near("opex", all.OpexUSD, servers*1.00*744)
	near("net margin", all.NetMarginUSD, all.MarginUSD-all.DepreciationUSD-all.OpexUSD)
	jl, _ := r.Strategy(backtest.Joule)
	if jl.NetMarginUSD != jl.MarginUSD || jl.CapexUSD != 0 {
		t.Errorf("the declared site's net margin %v differs from its margin %v", jl.NetMarginUSD, jl.MarginUSD)
	}
	names := map[string]string{}
	for _, a := range r.Assumptions {
		if a.Source == "" {
			t.Errorf("assumption %s has no source or label", a.Name)
		}
		names[a.Name] = a.Source
	}
	for _, n := range []string{"band_usd_mwh", "min_on_s", "warmup_s", "utilization", "gpu_pue", "gpu_life_years", "conversion_usd_per_mw", "gpu_opex_usd_per_server_hour"} {
		if names[n] == "" {
			t.Errorf("the report does not state %s: %v", n, names)
		}
	}
	if !strings.Contains(names["gpu_pue"], "Uptime") {
		t.Errorf("GPU hall PUE source %q", names["gpu_pue"])
	}
	if !strings.Contains(names["conversion_usd_per_mw"], "Sabre56") {
		t.Errorf("conversion capex source %q", names["conversion_usd_per_mw"])
	}
}
