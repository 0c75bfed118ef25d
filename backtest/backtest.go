package backtest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/dispatch"
	"github.com/joule-site/joule/econ"
	"github.com/joule-site/joule/forecast"
	"github.com/joule-site/joule/history"
)

// Strategy names, as reports and JSON show them.
const (
	AlwaysMine  = "always-mine"
	StrikePrice = "strike-price"
	Joule       = "joule"
	// JouleForesight is Joule's policy told each interval's real prices in advance:
	// not a strategy any site can run, the reference that the forecast loss is
	// measured from.
	JouleForesight = "joule-foresight"
	Optimum        = "hindsight-optimal"
	AllGPU         = "all-gpu"
	Hybrid         = "hybrid"
)

// Config is one backtest.
type Config struct {
	Site     *joule.ResolvedSite
	From, To time.Time // days in the energy market's local time, To inclusive
	History  *history.History
	PoolFee  float64
	// GPUPrice is the GPU-hour price path; Utilization the fraction of open GPU
	// capacity that sells.
	GPUPrice    *PricePath
	Utilization float64
	Hysteresis  dispatch.Hysteresis
	// GPU is the server model the conversion strategies buy (default: the site's own
	// GPU model); HybridShare the share of miners the hybrid strategy converts.
	GPU          *joule.HardwareModel
	HybridShare  float64
	GPULifeYears float64 // for the conversion strategies' depreciation
	// Forecaster gives the energy price each interval is planned on (default:
	// forecast.Default()).
	Forecaster forecast.Forecaster
	// Costs are the conversion strategies' costs besides servers and energy
	// (default: econ.DefaultCosts()); the install lag does not apply to a replay, whose
	// servers earn from its first day.
	Costs *econ.Costs
	// GPUPUE is the facility ÷ IT power of the hall the conversions' servers stand in
	// (default: econ.DefaultAssumptions().GPUPUE); the site's PUE is its miners'.
	GPUPUE float64
	// Progress, when set, is told how many of total intervals have been simulated.
	Progress func(done, total int)
}

// descriptions say what each strategy does, for reports.
var descriptions = map[string]string{
	AlwaysMine:     "every miner at stock power, every hour",
	StrikePrice:    "each fleet at stock power while its value beats the forecast energy price; off otherwise (no band, no minimum times)",
	Joule:          "Joule's dispatch policy on the forecast prices: merit order with power profiles, strike band and minimum times",
	JouleForesight: "Joule's policy told each interval's real prices in advance (no site can run it): the forecast loss is its margin less joule's",
	Optimum:        "hindsight-optimal bound: the best schedule knowing every price in advance, same warm-up cost and minimum times",
	AllGPU:         "every miner replaced by GPU servers drawing the same power, dispatched by Joule's policy on the forecast prices; its net margin is after depreciation and non-energy opex",
	Hybrid:         "a share of every miner fleet replaced by GPU servers, dispatched by Joule's policy on the forecast prices",
}

// Run replays the configured period through each strategy. It stops within a batch of
// intervals once ctx is done, and returns ctx.Err().
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Site == nil || cfg.History == nil || cfg.GPUPrice == nil {
		return nil, joule.Errorf(joule.EINVALID, "backtest: site, history and GPU price path are required")
	}
	if !(cfg.Utilization >= 0 && cfg.Utilization <= 1) || !(cfg.PoolFee >= 0 && cfg.PoolFee < 1) || !(cfg.HybridShare > 0 && cfg.HybridShare <= 1) || !(cfg.GPULifeYears > 0) {
		return nil, joule.Errorf(joule.EINVALID, "backtest: utilization in [0,1], pool fee in [0,1), hybrid share in (0,1] and GPU life > 0 are required")
	}
	if cfg.GPUPUE == 0 {
		cfg.GPUPUE = econ.DefaultAssumptions().GPUPUE
	}
	if !(cfg.GPUPUE >= 1 && cfg.GPUPUE <= 3) {
		return nil, joule.Errorf(joule.EINVALID, "backtest: gpu_pue: the GPU hall's PUE must be from 1 to 3, got %v", cfg.GPUPUE)
	}
	site := cfg.Site.Site
	loc := time.UTC
	energyNode := ""
	var series, dayAhead *history.EnergySeries
	if site.Energy.Kind == joule.EnergyWholesale {
		s, err := cfg.History.Energy(site.Energy.Node)
		if err != nil {
			return nil, err
		}
		loc, energyNode, series = s.Location, site.Energy.Node, s
		if da, err := cfg.History.DayAhead(site.Energy.Node); err == nil {
			dayAhead = da
		} else if joule.ErrorCode(err) != joule.ENOTFOUND {
			return nil, err
		}
	}
	fc := cfg.Forecaster
	if fc == nil {
		fc = forecast.Default()
	}
	mk, err := buildMarkets(marketInputs{site: site, from: cfg.From, to: cfg.To, loc: loc, series: series, hist: cfg.History, poolFee: cfg.PoolFee, gpu: cfg.GPUPrice, utilization: cfg.Utilization,
		forecaster: fc, dayAhead: dayAhead})
	if err != nil {
		return nil, err
	}
	ms := mk.actual
	r := &Report{
		Site: site.Name, Node: energyNode, From: cfg.From.Format(time.DateOnly), To: cfg.To.Format(time.DateOnly),
		Intervals: len(ms), IntervalSec: ms[0].IntervalSec, PoolFee: cfg.PoolFee, GPUPrice: cfg.GPUPrice.Label, Notes: mk.notes,
		Forecaster: fc.Name(),
		Times:      make([]int64, len(ms)), EnergyUSDPerMWh: make([]float64, len(ms)), HashpriceUSDPerPHDay: make([]float64, len(ms)), GPUUSDPerHour: make([]float64, len(ms)),
	}
	r.PlannedEnergyUSDPerMWh, r.PlannedHashpriceUSDPerPHDay = make([]float64, len(ms)), make([]float64, len(ms))
	for i, m := range ms {
		r.Times[i], r.EnergyUSDPerMWh[i], r.HashpriceUSDPerPHDay[i], r.GPUUSDPerHour[i] = m.Now, m.EnergyUSDPerMWh, m.HashpriceUSDPerPHDay, m.GPUUSDPerHour
		r.PlannedEnergyUSDPerMWh[i], r.PlannedHashpriceUSDPerPHDay[i] = mk.decided[i].EnergyUSDPerMWh, mk.decided[i].HashpriceUSDPerPHDay
	}

	gpu := cfg.GPU
	if gpu == nil {
		gpu, _ = cfg.Site.GPUModel()
	}
	costs := econ.DefaultCosts()
	if cfg.Costs != nil {
		costs = *cfg.Costs
	}
	if err := costs.Validate(); err != nil {
		return nil, err
	}
	type run struct {
		name string
		rule dispatch.Rule
		conversionSite
	}
	as := func(site *joule.ResolvedSite) conversionSite { return conversionSite{site: site, unit: -1} }
	runs := []run{{AlwaysMine, dispatch.RuleAlways, as(cfg.Site)}, {StrikePrice, dispatch.RuleStrike, as(cfg.Site)}, {Joule, dispatch.RuleMerit, as(cfg.Site)}, {JouleForesight, dispatch.RuleMerit, as(cfg.Site)}}
	if gpu != nil {
		r.GPUModel = gpu.ID
		runs = append(runs, run{AllGPU, dispatch.RuleMerit, converted(cfg.Site, 1, gpu, cfg.GPUPUE)}, run{Hybrid, dispatch.RuleMerit, converted(cfg.Site, cfg.HybridShare, gpu, cfg.GPUPUE)})
	} else {
		r.Notes = append(r.Notes, "the site has no GPU servers and no --gpu was given: the all-gpu and hybrid strategies are skipped")
	}
	total := len(ms) * (len(runs) + 1)
	done := 0
	progress := func(n int) {
		done += n
		if cfg.Progress != nil {
			cfg.Progress(done, total)
		}
	}
	years := float64(len(ms)) * float64(ms[0].IntervalSec) / (365.25 * 86400)
	for _, rn := range runs {
		decided := mk.decided
		if rn.name == JouleForesight {
			decided = ms
		}
		ds := dispatch.Compile(rn.site, rn.rule, cfg.Hysteresis)
		if rn.unit >= 0 {
			ds.Units[rn.unit].PUE = cfg.GPUPUE
		}
		res, power, err := simulate(ctx, ds, decided, ms, progress)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			return nil, fmt.Errorf("backtest %s: %w", rn.name, err)
		}
		res.Name, res.Description = rn.name, descriptions[rn.name]
		if rn.name == Hybrid {
			res.Description = fmt.Sprintf("%.0f%% of every miner fleet replaced by %s servers drawing the same power, dispatched by Joule's policy on the forecast prices; its net margin is after depreciation and non-energy opex", cfg.HybridShare*100, gpu.ID)
		}
		if rn.servers > 0 {
			servers := float64(rn.servers) * gpu.PriceUSD * (1 + costs.NetworkStorageFraction)
			conversion := costs.ConversionUSDPerMW * rn.facilityW / 1e6
			res.CapexUSD = servers + conversion
			res.DepreciationUSD = servers/cfg.GPULifeYears*years + conversion/FacilityLifeYears*years
			res.OpexUSD = float64(rn.servers) * costs.GPUOpexUSDPerServerHour * years * 365.25 * 24
		}
		res.NetMarginUSD = res.MarginUSD - res.DepreciationUSD - res.OpexUSD
		if rn.name == Joule {
			r.Power = power
		}
		r.Strategies = append(r.Strategies, res)
	}
	if j, ok := r.Strategy(Joule); ok {
		if f, ok := r.Strategy(JouleForesight); ok {
			r.ForecastLossUSD = f.MarginUSD - j.MarginUSD
		}
	}

	// The hindsight program runs as one piece: it is not interrupted, only not started.
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	opt, err := hindsight(dispatch.Compile(cfg.Site, dispatch.RuleMerit, cfg.Hysteresis), ms, progress)
	switch {
	case err == nil:
		opt.Name, opt.Description = Optimum, descriptions[Optimum]
	case joule.ErrorCode(err) == joule.ECAPACITY:
		// The cap binds: fall back to the Lagrangian upper bound (a total, no schedule).
		p, perr := dispatch.New(dispatch.Compile(cfg.Site, dispatch.RuleMerit, cfg.Hysteresis))
		if perr != nil {
			return nil, perr
		}
		bound, ok, berr := p.HindsightBound(ms, dispatch.Commitments{}, true)
		if berr != nil {
			return nil, berr
		}
		if !ok {
			r.Notes = append(r.Notes, "no hindsight bound: the idle draw alone exceeds the cap in some interval")
			break
		}
		opt = Result{Name: Optimum, MarginUSD: bound,
			Description: "hindsight upper bound (Lagrangian relaxation: the cap binds, so the exact program does not apply; minimum times relaxed): no policy can earn more, and percentages of it understate how close one came"}
		r.Notes = append(r.Notes, "the cap binds: "+joule.ErrorMessage(err)+"; the bound is a Lagrangian relaxation")
		err = nil
	default:
		return nil, err
	}
	if err == nil && opt.Name == Optimum {
		r.Strategies = append(r.Strategies, opt)
		for i := range r.Strategies {
			if name := r.Strategies[i].Name; name == AllGPU || name == Hybrid {
				continue // other hardware: the bound is the declared site's
			}
			if opt.MarginUSD > 0 {
				pct := 100 * r.Strategies[i].MarginUSD / opt.MarginUSD
				r.Strategies[i].PctOfOptimum = &pct
			}
		}
	}
	for i := range r.Strategies {
		if r.Strategies[i].Name == Optimum {
			r.Strategies[i].NetMarginUSD = r.Strategies[i].MarginUSD
		}
	}
	r.Assumptions = assumptions(cfg, costs, gpu != nil)
	if cfg.Progress != nil {
		cfg.Progress(total, total)
	}
	return r, nil
}

// FacilityLifeYears is the life over which a backtest depreciates the conversion of a
// mining hall into a GPU hall: an assumption (buildings and their power and cooling
// outlast the servers they house).
const FacilityLifeYears = 15

// assumptions lists the backtest's inputs that are not market data, each with its
// source or the label "assumption".
func assumptions(cfg Config, c econ.Costs, conversions bool) []econ.Assumption {
	src := map[string]string{}
	for _, a := range econ.AssumptionsUsed(econ.CompareInput{Assumptions: econ.DefaultAssumptions(), Costs: econ.DefaultCosts()}) {
		src[a.Name] = a.Source
	}
	h := cfg.Hysteresis
	out := []econ.Assumption{
		{Name: "band_usd_mwh", Value: h.BandUSDPerMWh, Unit: "USD per MWh around each fleet's value", Source: "assumption: wide enough that hourly price noise does not flap a fleet"},
		{Name: "min_on_s", Value: float64(h.MinOnSec), Unit: "seconds a fleet stays running", Source: "assumption"},
		{Name: "min_off_s", Value: float64(h.MinOffSec), Unit: "seconds a fleet stays stopped", Source: "assumption"},
		{Name: "warmup_s", Value: float64(h.WarmupSec), Unit: "seconds of hashing lost per start", Source: "assumption: boot and autotune of a restarted miner"},
		{Name: "asic_profiles", Value: 0.75, Unit: "exponent: hashrate ∝ power^x between 60% and 100% of stock", Source: "assumption, unless a manifest gives a model's measured profiles"},
		{Name: "pool_fee", Value: cfg.PoolFee, Unit: "fraction of mining revenue", Source: "given (0: gross hashprice)"},
	}
	if conversions {
		out = append(out,
			econ.Assumption{Name: "utilization", Value: cfg.Utilization, Unit: "fraction of open GPU capacity that sells", Source: "assumption: demand is not modelled; every hour sells this share at the path's price"},
			econ.Assumption{Name: "hybrid_share", Value: cfg.HybridShare, Unit: "share of each miner fleet the hybrid converts", Source: "assumption: a what-if, not a recommendation"},
			econ.Assumption{Name: "gpu_pue", Value: cfg.GPUPUE, Unit: "facility ÷ IT power of the converted GPU hall", Source: sourceOr(src, "gpu_pue", cfg.GPUPUE, econ.DefaultAssumptions().GPUPUE)},
			econ.Assumption{Name: "gpu_life_years", Value: cfg.GPULifeYears, Unit: "years, straight-line", Source: sourceOr(src, "gpu_life_years", cfg.GPULifeYears, econ.DefaultAssumptions().GPULifeYears)},
			econ.Assumption{Name: "facility_life_years", Value: FacilityLifeYears, Unit: "years over which the conversion capex depreciates", Source: "assumption"},
			econ.Assumption{Name: "gpu_opex_usd_per_server_hour", Value: c.GPUOpexUSDPerServerHour, Unit: "USD per server-hour", Source: sourceOr(src, "gpu_opex_usd_per_server_hour", c.GPUOpexUSDPerServerHour, econ.DefaultCosts().GPUOpexUSDPerServerHour)},
			econ.Assumption{Name: "network_storage_fraction", Value: c.NetworkStorageFraction, Unit: "of the servers' price", Source: sourceOr(src, "network_storage_fraction", c.NetworkStorageFraction, econ.DefaultCosts().NetworkStorageFraction)},
			econ.Assumption{Name: "conversion_usd_per_mw", Value: c.ConversionUSDPerMW, Unit: "USD per facility MW converted", Source: sourceOr(src, "conversion_usd_per_mw", c.ConversionUSDPerMW, econ.DefaultCosts().ConversionUSDPerMW)},
		)
	}
	return out
}

// sourceOr is a default's source while the value is the default, "given" otherwise.
func sourceOr(src map[string]string, name string, value, dflt float64) string {
	if value != dflt {
		return "given"
	}
	return src[name]
}

// simulate runs one strategy over the markets, starting with every miner running: it
// plans each interval on the market decided on and settles the plan at the actual
// one. It returns early, with what it has, once ctx is done; the caller checks ctx.
func simulate(ctx context.Context, site dispatch.Site, decided, ms []dispatch.Interval, progress func(int)) (Result, PowerByUse, error) {
	p, err := dispatch.New(site)
	if err != nil {
		return Result{}, PowerByUse{}, err
	}
	acc := newAccumulator(len(ms), float64(ms[0].IntervalSec)/3600)
	st := p.NewState(true)
	var plan dispatch.Allocation
	for i := range ms {
		p.Allocate(st, decided[i], dispatch.Commitments{}, &plan)
		p.Settle(&plan, &decided[i], &ms[i])
		acc.add(i, &plan)
		if i%4096 == 4095 {
			progress(4096)
			if ctx.Err() != nil {
				return acc.res, acc.power, nil
			}
		}
	}
	progress(len(ms) % 4096)
	return acc.res, acc.power, nil
}

func hindsight(site dispatch.Site, ms []dispatch.Interval, progress func(int)) (Result, error) {
	p, err := dispatch.New(site)
	if err != nil {
		return Result{}, err
	}
	acc := newAccumulator(len(ms), float64(ms[0].IntervalSec)/3600)
	err = p.Hindsight(ms, dispatch.Commitments{}, true, acc.add)
	var e *joule.Error
	if err != nil && !errors.As(err, &e) {
		return Result{}, err
	}
	progress(len(ms))
	return acc.res, err
}

// accumulator sums plans into a result and the power-by-use series.
type accumulator struct {
	res   Result
	power PowerByUse
	hours float64 // length of an interval
}

func newAccumulator(n int, hours float64) *accumulator {
	a := &accumulator{}
	a.res.Margin, a.res.DrawW = make([]float64, n), make([]float64, n)
	a.hours = hours
	a.power = PowerByUse{FirmGPUW: make([]float64, n), InterruptibleGPUW: make([]float64, n), OpenGPUW: make([]float64, n), MiningW: make([]float64, n), CurtailedW: make([]float64, n)}
	return a
}

func (a *accumulator) add(i int, pl *dispatch.Allocation) {
	hours := a.hours
	a.res.RevenueUSD += pl.RevenueUSD
	a.res.EnergyUSD += pl.EnergyUSD
	a.res.MarginUSD += pl.MarginUSD()
	a.res.StartLossUSD += pl.StartLossUSD
	a.res.EnergyMWh += float64(pl.DrawW) / 1e6 * hours
	a.res.CurtailedMWh += float64(pl.CurtailedW) / 1e6 * hours
	a.res.Margin[i] = pl.MarginUSD()
	a.res.DrawW[i] = float64(pl.DrawW)
	a.power.FirmGPUW[i] = float64(pl.FirmGPUW)
	a.power.InterruptibleGPUW[i] = float64(pl.InterruptibleGPUW)
	a.power.OpenGPUW[i] = float64(pl.OpenGPUW)
	a.power.MiningW[i] = float64(pl.MiningW + pl.IdleW)
	a.power.CurtailedW[i] = float64(pl.CurtailedW)
}
