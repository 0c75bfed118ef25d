package reports_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/backtest"
	"github.com/joule-site/joule/dispatch"
	"github.com/joule-site/joule/econ"
	"github.com/joule-site/joule/reports"
)

// A query names its fields as the dashboard sends them; what it leaves out keeps the
// defaults the CLI's flags show.
func TestParseQueries(t *testing.T) {
	bt, err := reports.ParseBacktestQuery(url.Values{"from": {"2023-01-01"}, "to": {"2023-01-31"}, "gpu_usd_hour": {"2.5"}, "hybrid_share": {"0.25"},
		"conversion_usd_per_mw": {"3500000"}, "gpu_opex_usd_per_server_hour": {"1.4"}})
	if err != nil {
		t.Fatal(err)
	}
	want := reports.NewBacktestRequest()
	want.From, want.To = time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2023, 1, 31, 0, 0, 0, 0, time.UTC)
	want.GPUUSDPerHour, want.HybridShare = 2.5, 0.25
	want.Costs.ConversionUSDPerMW, want.Costs.GPUOpexUSDPerServerHour = 3_500_000, 1.4
	if *bt != *want {
		t.Errorf("backtest request\n got %+v\nwant %+v", bt, want)
	}
	if bt.Utilization != 0.85 || bt.GPULifeYears != 5 || bt.Hysteresis != dispatch.DefaultHysteresis {
		t.Errorf("backtest defaults: %+v", bt)
	}

	pl, err := reports.ParsePivotQuery(url.Values{"convert_mw": {"2"}, "gpu": {"h100-sxm"}, "at": {"2024-06-01"}, "hoard": {"true"}, "seed": {"7"}})
	if err != nil {
		t.Fatal(err)
	}
	if pl.ConvertMW != 2 || pl.GPU != "h100-sxm" || !pl.At.Equal(time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)) || !pl.Hoard || pl.Seed != 7 {
		t.Errorf("plan request %+v", pl)
	}
	if pl.Paths != reports.QueryPaths || pl.Years != 5 || pl.DiscountRate != 0.12 || pl.BTCModel != backtest.BTCBootstrap ||
		pl.Utilization != 0.85 || pl.UtilizationSpread != 0.10 || pl.DemandElasticity != 1 || pl.GPUDriftRange != [2]float64{-0.35, 0.05} ||
		pl.GPUPricePath != backtest.PricePathMarket || pl.Costs != econ.DefaultCosts() {
		t.Errorf("plan defaults: %+v", pl)
	}
	if cli := reports.NewPivotRequest(); cli.Paths != 10_000 {
		t.Errorf("the CLI's default paths: %d", cli.Paths)
	}
}

// A bad request is refused, invalid, with the name of the field at fault.
func TestRequestErrorsNameTheField(t *testing.T) {
	const bt = "from=2023-01-01&to=2023-01-31"
	const pl = "convert_mw=2&gpu=h100-sxm&at=2024-06-01"
	tests := []struct {
		kind, query, want string
	}{
		{"backtest", "from=2023-13-01&to=2023-01-31", `from: want YYYY-MM-DD, got "2023-13-01"`},
		{"backtest", "from=2023-01-01&to=nope", `to: want YYYY-MM-DD, got "nope"`},
		{"backtest", "to=2023-01-31", "from: required"},
		{"backtest", "from=2023-01-01&to=2023-01-31&network_storage_fraction=-0.1", "network_storage_fraction: "},
		{"backtest", "from=2023-01-01&to=2023-01-31&gpu_pue=0.9", "gpu_pue: "},
		{"backtest", "from=2023-01-01&to=2023-01-31&install_lag_months=3", `backtest: unknown parameter "install_lag_months"`},
		{"backtest", "from=2023-01-01", "to: required"},
		{"backtest", "from=2023-02-01&to=2023-01-31", "to: 2023-01-31 is before from 2023-02-01"},
		{"backtest", bt + "&utilization=1.5", "utilization: want a fraction in [0, 1]"},
		{"backtest", bt + "&utilization=NaN", `utilization: want a number, got "NaN"`},
		{"backtest", bt + "&pool_fee=1", "pool_fee: want a fraction in [0, 1)"},
		{"backtest", bt + "&hybrid_share=0", "hybrid_share: want a fraction in (0, 1]"},
		{"backtest", bt + "&gpu_life_years=-1", "gpu_life_years: want a positive number"},
		{"backtest", bt + "&gpu_usd_hour=-2", "gpu_usd_hour: must not be negative"},
		{"backtest", bt + "&rm=1", `backtest: unknown parameter "rm" (known: from, to, node, gpu, gpu_usd_hour, pool_fee, utilization, hybrid_share, gpu_life_years, forecast, gpu_price_path, gpu_pue, gpu_opex_usd_per_server_hour, network_storage_fraction, conversion_usd_per_mw)`},
		{"backtest", bt + "&paths=10", `backtest: unknown parameter "paths"`},
		{"plan", pl + "&paths=0", "paths: want 1 to 100000, got 0"},
		{"plan", pl + "&paths=100001", "paths: want 1 to 100000, got 100001"},
		{"plan", pl + "&paths=many", `paths: want a whole number, got "many"`},
		{"plan", pl + "&years=0", "years: want 1 to 30, got 0"},
		{"plan", pl + "&years=31", "years: want 1 to 30, got 31"},
		{"plan", pl + "&seed=-1", `seed: want a whole number, got "-1"`},
		{"plan", pl + "&hoard=maybe", `hoard: want true or false, got "maybe"`},
		{"plan", pl + "&btc_model=dice", `btc_model: want one of bootstrap, bootstrap-drift, gbm, got "dice"`},
		{"plan", pl + "&discount_rate=-1", "discount_rate: want a rate above -1"},
		{"plan", pl + "&asic_resale_usd=-5", "asic_resale_usd: must not be negative"},
		{"plan", "gpu=h100-sxm&at=2024-06-01", "convert_mw: want a positive number of megawatts, got 0"},
		{"plan", "convert_mw=2&at=2024-06-01", "gpu: required"},
		{"plan", "convert_mw=2&gpu=h100-sxm", "at: required"},
		{"plan", "convert_mw=2&gpu=h100-sxm&at=1st+of+June", `at: want YYYY-MM-DD, got "1st of June"`},
		{"plan", pl + "&from=2023-01-01", `plan: unknown parameter "from" (known: convert_mw, gpu, at, years, paths, seed, discount_rate, gpu_usd_hour, btc_model, btc_drift, gpu_price_path, utilization, utilization_spread, demand_elasticity, hoard, pool_fee, asic_resale_usd, gpu_pue, gpu_opex_usd_per_server_hour, network_storage_fraction, conversion_usd_per_mw, install_lag_months, asic_resale_fraction)`},
	}
	for _, tt := range tests {
		t.Run(tt.kind+"?"+tt.query, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			if tt.kind == "backtest" {
				_, err = reports.ParseBacktestQuery(q)
			} else {
				_, err = reports.ParsePivotQuery(q)
			}
			if joule.ErrorCode(err) != joule.EINVALID || !strings.HasPrefix(joule.ErrorMessage(err), tt.want) {
				t.Errorf("error %v (%s), want %q", err, joule.ErrorCode(err), tt.want)
			}
		})
	}
}

// The CLI builds its requests from flags, not queries: the same validation holds, and
// the fields it alone sets are checked too.
func TestValidateFlagOnlyFields(t *testing.T) {
	day := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	bt := reports.NewBacktestRequest()
	bt.From, bt.To = day, day
	bt.GPUUSDPerHour, bt.GPUPrice = 2, backtest.ConstantPrice(3)
	if err := bt.Validate(); joule.ErrorCode(err) != joule.EINVALID || !strings.HasPrefix(joule.ErrorMessage(err), "gpu_usd_hour: give a constant GPU-hour price or a price path, not both") {
		t.Errorf("a price and a path: %v", err)
	}
	bt.GPUPrice = nil
	bt.Hysteresis.MinOnSec = -1
	if err := bt.Validate(); joule.ErrorCode(err) != joule.EINVALID {
		t.Errorf("a negative minimum on time: %v", err)
	}

	pl := reports.NewPivotRequest()
	pl.ConvertMW, pl.GPU, pl.At = 2, "h100-sxm", day
	for name, breakIt := range map[string]func(*reports.PivotRequest){
		"utilization":        func(r *reports.PivotRequest) { r.Utilization = 1.2 },
		"utilization_spread": func(r *reports.PivotRequest) { r.UtilizationSpread = -0.1 },
		"demand_elasticity":  func(r *reports.PivotRequest) { r.DemandElasticity = -1 },
		"gpu_price_path":     func(r *reports.PivotRequest) { r.GPUPricePath = "retail" },
		"btc_model":          func(r *reports.PivotRequest) { r.BTCModel = "tea-leaves" },
		"btc_drift":          func(r *reports.PivotRequest) { r.BTCModel, r.BTCDriftPerYear = backtest.BTCBootstrapDrift, 0.2 },
		"costs":              func(r *reports.PivotRequest) { r.Costs.InstallLagMonths = -1 },
		"gpu_drift_range":    func(r *reports.PivotRequest) { r.GPUDriftRange = [2]float64{0.1, -0.1} },
		"workers":            func(r *reports.PivotRequest) { r.Workers = -1 },
	} {
		r := *pl
		breakIt(&r)
		if err := r.Validate(); joule.ErrorCode(err) != joule.EINVALID || !strings.HasPrefix(joule.ErrorMessage(err), name+": ") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := pl.Validate(); err != nil {
		t.Errorf("a good plan: %v", err)
	}
}
