package backtest

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/dispatch"
	"github.com/joule-site/joule/econ"
	"github.com/joule-site/joule/history"
)

// PivotConfig asks the pivot planner what converting megawatts of miners into GPU
// servers on one date is worth across many possible futures.
type PivotConfig struct {
	Site      *joule.ResolvedSite
	ConvertMW float64              // facility MW of ASIC load converted to GPU servers
	GPU       *joule.HardwareModel // the servers bought
	At        time.Time            // conversion date; history up to At feeds the bootstrap
	Years     int                  // horizon
	Paths     int                  // Monte Carlo paths
	Seed      uint64
	History   *history.History
	PoolFee   float64 // fraction of mining revenue the pool keeps, [0, 1)
	// DiscountRate is annual, applied monthly as (1+r)^(1/12).
	DiscountRate float64
	// GPUUSDPerHour is the price the site asks for a GPU-hour on the conversion day.
	GPUUSDPerHour float64
	// MarketUSDPerHour is the market's price of a GPU-hour on the conversion day, the
	// reference of the demand curve; 0: GPUUSDPerHour (the site asks the market price).
	MarketUSDPerHour float64
	// PriceSource says where the two prices come from (a path's label and the point that
	// set the price), for the assumptions.
	PriceSource, MarketSource string
	// Utilization is the share of GPU capacity sold at the market price (u0 of the demand
	// curve); each path draws its own uniformly from Utilization ± UtilizationSpread,
	// within [0, 1].
	Utilization, UtilizationSpread float64
	// DemandElasticity is ε of the demand curve: a path sells
	// clamp(u0 × (market/asked)^ε, 0, 1) of its capacity, so asking more than the
	// market sells less. The asked and the market price drift together on a path.
	DemandElasticity float64
	// GPUPriceDriftPerYear is the range the annual log drift of the GPU-hour price is
	// drawn from, uniformly, once per path: e.g. {-0.35, 0.05}.
	GPUPriceDriftPerYear [2]float64
	// Costs are the conversion's costs besides the servers and their energy: GPU opex per
	// server-hour once installed, network and storage capex as a fraction of the servers'
	// price, conversion capex per MW converted, the install lag before the first GPU
	// revenue (the miners are gone from the conversion day), and the ASIC resale
	// fraction (used when ASICResaleUSD is 0). SiteOwnsASICs is not read: the plan
	// retires the site's own miners.
	Costs econ.Costs
	// ASICResaleUSD is what one retired miner sells for, subtracted from capex; 0: the
	// retired model's price × Costs.ASICResaleFraction.
	ASICResaleUSD float64
	// GPUPUE is the facility ÷ IT power of the GPU hall the miners' hall becomes
	// (default: econ.DefaultAssumptions().GPUPUE): the servers bought are as many as the
	// facility power freed feeds at nameplate in it. The site's PUE is its miners'.
	GPUPUE float64
	// BTCModel is how BTC prices are drawn: BTCBootstrap (the default, also "")
	// resamples blocks of historical days with their fees and difficulty noise, the
	// historical mean log price change replaced by BTCDriftPerYear; BTCBootstrapDrift
	// keeps history's drift; BTCGBM draws daily log returns from a normal distribution
	// with history's standard deviation and BTCDriftPerYear as the mean.
	BTCModel string
	// BTCDriftPerYear is the annual log drift of the BTC price of BTCBootstrap and
	// BTCGBM; it must be 0 with BTCBootstrapDrift.
	BTCDriftPerYear float64
	// Given names the plan's own inputs (as PivotReport.Inputs names them) that the
	// request set, so that their source reads "given".
	Given map[string]bool
	// Hoard keeps the mined BTC the converted miners would have earned and values it at
	// the path's last BTC price, instead of selling it the day it is mined.
	Hoard bool
	// Hysteresis is the dispatch policy's; the zero value means
	// dispatch.DefaultHysteresis.
	Hysteresis dispatch.Hysteresis
	// Workers is the number of goroutines; 0 means GOMAXPROCS. The report does not
	// depend on it.
	Workers int
	// Progress, if not nil, is called once as each path finishes, with the number done
	// so far; calls are serialized and the last has done == total. It must be cheap.
	Progress func(done, total int)
}

// RunPivot simulates cfg.Paths futures of converting cfg.ConvertMW of the site's least
// efficient miners into cfg.GPU servers on cfg.At, hour by hour through the dispatch
// policy, and returns the distribution of NPV, payback and yearly cash flow. The same
// config and seed give the same report whatever cfg.Workers is. Once ctx is done no
// path starts, and RunPivot returns ctx.Err() when those running have finished.
func RunPivot(ctx context.Context, cfg PivotConfig) (*PivotReport, error) {
	p, err := newPlanner(cfg)
	if err != nil {
		return nil, err
	}
	res := p.run(ctx)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return p.report(res), nil
}

// retired is the part of one ASIC fleet that a conversion takes out.
type retired struct {
	fleet joule.ResolvedFleet
	count int
}

// conversion is which miners a conversion retires and what it buys.
type conversion struct {
	retired   []retired // least efficient fleet first
	asics     int       // miners retired
	facilityW float64   // their facility power at stock
	itW       float64   // their IT power at stock: what the servers may draw
	servers   int
	// Capex, paid on the conversion day: capexUSD = serversUSD + networkUSD +
	// conversionUSD − resaleUSD.
	serversUSD, networkUSD, conversionUSD, resaleUSD float64
	capexUSD                                         float64
}

// convert picks the miners to retire, least efficient fleet (highest J/TH) first, in
// whole machines until their facility power reaches convertW, and the whole GPU
// servers their IT power pays for.
//
// resaleUSD is what one retired miner sells for; 0: its model's price × costs'
// ASICResaleFraction.
func convert(site *joule.ResolvedSite, convertW float64, gpu *joule.HardwareModel, gpuPUE, resaleUSD float64, costs econ.Costs) (conversion, error) {
	var c conversion
	pue := site.Site.PUE
	var asics []joule.ResolvedFleet
	var total float64
	for _, f := range site.Fleets {
		if f.Model.Kind == joule.KindASIC && f.Count > 0 {
			asics = append(asics, f)
			total += float64(f.Count) * float64(f.Model.PowerW) * pue
		}
	}
	if total+1e-6 < convertW {
		return c, joule.Errorf(joule.EINVALID, "plan: site %s has %.2f MW of ASIC load, less than the %.2f MW asked", site.Site.Name, total/1e6, convertW/1e6)
	}
	slices.SortStableFunc(asics, func(a, b joule.ResolvedFleet) int {
		return cmp.Compare(b.Model.EfficiencyJPerTH(), a.Model.EfficiencyJPerTH())
	})
	for _, f := range asics {
		need := convertW - c.facilityW
		if need <= 1e-6 {
			break
		}
		perW := float64(f.Model.PowerW) * pue
		n := f.Count
		if float64(n)*perW > need {
			n = int(math.Ceil(need/perW - 1e-9))
		}
		c.retired = append(c.retired, retired{fleet: f, count: n})
		c.asics += n
		perMiner := resaleUSD
		if perMiner == 0 {
			perMiner = f.Model.PriceUSD * costs.ASICResaleFraction
		}
		c.resaleUSD += float64(n) * perMiner
		c.facilityW += float64(n) * perW
		c.itW += float64(n) * float64(f.Model.PowerW)
	}
	c.servers = int(c.facilityW / (gpuPUE * float64(gpu.PowerW)))
	if c.servers == 0 {
		return c, joule.Errorf(joule.EINVALID, "plan: %.3f MW of miners frees %.1f kW of facility power, less than one %s server (%v at PUE %.2f)", convertW/1e6, c.facilityW/1e3, gpu.ID, gpu.PowerW, gpuPUE)
	}
	c.serversUSD = float64(c.servers) * gpu.PriceUSD
	c.networkUSD = c.serversUSD * costs.NetworkStorageFraction
	c.conversionUSD = convertW / 1e6 * costs.ConversionUSDPerMW
	c.capexUSD = c.serversUSD + c.networkUSD + c.conversionUSD - c.resaleUSD
	return c, nil
}

// subSites are the two sites a path dispatches, each under the whole site's cap: the
// retired miners alone at the site's PUE and the bought servers alone at gpuPUE.
func (c *conversion) subSites(site *joule.ResolvedSite, gpu *joule.HardwareModel, gpuPUE float64, h dispatch.Hysteresis) (baseline, converted dispatch.Site) {
	retired := &joule.ResolvedSite{Site: site.Site}
	for _, r := range c.retired {
		f := *r.fleet.Fleet
		f.Count = r.count
		retired.Fleets = append(retired.Fleets, joule.ResolvedFleet{Fleet: &f, Model: r.fleet.Model})
	}
	bought := &joule.ResolvedSite{Site: site.Site, Fleets: []joule.ResolvedFleet{{
		Fleet: &joule.Fleet{Site: site.Site.Name, Name: "converted-" + gpu.ID, Model: gpu.ID, Kind: gpu.Kind, Count: c.servers}, Model: gpu}}}
	converted = dispatch.Compile(bought, dispatch.RuleMerit, h)
	converted.PUE = gpuPUE
	return dispatch.Compile(retired, dispatch.RuleMerit, h), converted
}

// BTC price models of a plan.
const (
	BTCBootstrap      = "bootstrap"       // block bootstrap, historical drift removed
	BTCBootstrapDrift = "bootstrap-drift" // block bootstrap as history was
	BTCGBM            = "gbm"             // geometric Brownian motion, history's volatility
)

// BTCModels are the BTC price models, the default first.
func BTCModels() []string { return []string{BTCBootstrap, BTCBootstrapDrift, BTCGBM} }

// validate checks the config and fills its defaults.
func (cfg *PivotConfig) validate() error {
	if cfg.BTCModel == "" {
		cfg.BTCModel = BTCBootstrap
	}
	if cfg.GPUPUE == 0 {
		cfg.GPUPUE = econ.DefaultAssumptions().GPUPUE
	}
	if !(cfg.GPUPUE >= 1 && cfg.GPUPUE <= 3) {
		return joule.Errorf(joule.EINVALID, "plan: gpu_pue: the GPU hall's PUE must be from 1 to 3, got %v", cfg.GPUPUE)
	}
	if !slices.Contains(BTCModels(), cfg.BTCModel) {
		return joule.Errorf(joule.EINVALID, "plan: BTC model %q: use %s, %s or %s", cfg.BTCModel, BTCBootstrap, BTCBootstrapDrift, BTCGBM)
	}
	if cfg.BTCModel == BTCBootstrapDrift && cfg.BTCDriftPerYear != 0 {
		return joule.Errorf(joule.EINVALID, "plan: BTC model %s keeps history's drift; a drift of %v applies only to %s and %s", BTCBootstrapDrift, cfg.BTCDriftPerYear, BTCBootstrap, BTCGBM)
	}
	bad := func(format string, args ...any) error {
		return joule.Errorf(joule.EINVALID, "plan: "+format, args...)
	}
	finite := func(fs ...float64) bool {
		for _, f := range fs {
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return false
			}
		}
		return true
	}
	switch {
	case cfg.Site == nil || cfg.Site.Site == nil:
		return bad("no site")
	case cfg.GPU == nil:
		return bad("no GPU server model")
	case cfg.GPU.Kind != joule.KindGPUServer:
		return bad("model %s is not a GPU server", cfg.GPU.ID)
	case cfg.History == nil:
		return bad("no history")
	case !(cfg.ConvertMW > 0) || !finite(cfg.ConvertMW):
		return bad("megawatts to convert must be positive, got %v", cfg.ConvertMW)
	case cfg.Years < 1:
		return bad("years must be at least 1, got %d", cfg.Years)
	case cfg.Paths < 1:
		return bad("paths must be at least 1, got %d", cfg.Paths)
	case cfg.Workers < 0:
		return bad("workers must not be negative, got %d", cfg.Workers)
	case !(cfg.PoolFee >= 0 && cfg.PoolFee < 1):
		return bad("pool fee must be in [0, 1), got %v", cfg.PoolFee)
	case !(cfg.DiscountRate > -1) || !finite(cfg.DiscountRate):
		return bad("discount rate must be above -1, got %v", cfg.DiscountRate)
	case !(cfg.GPUUSDPerHour >= 0) || !finite(cfg.GPUUSDPerHour):
		return bad("GPU-hour price must not be negative, got %v", cfg.GPUUSDPerHour)
	case !(cfg.MarketUSDPerHour >= 0) || !finite(cfg.MarketUSDPerHour):
		return bad("market GPU-hour price must not be negative, got %v", cfg.MarketUSDPerHour)
	case !(cfg.ASICResaleUSD >= 0) || !finite(cfg.ASICResaleUSD):
		return bad("ASIC resale price must not be negative, got %v", cfg.ASICResaleUSD)
	case !(cfg.Utilization > 0 && cfg.Utilization <= 1):
		return bad("utilization at the market price must be in (0, 1], got %v", cfg.Utilization)
	case !(cfg.UtilizationSpread >= 0 && cfg.UtilizationSpread <= 1):
		return bad("utilization spread must be in [0, 1], got %v", cfg.UtilizationSpread)
	case !(cfg.DemandElasticity >= 0 && cfg.DemandElasticity <= 20):
		return bad("demand elasticity must be in [0, 20], got %v", cfg.DemandElasticity)
	case !finite(cfg.BTCDriftPerYear) || math.Abs(cfg.BTCDriftPerYear) > 5:
		return bad("BTC drift must be an annual log drift within ±5, got %v", cfg.BTCDriftPerYear)
	}
	if err := cfg.Costs.Validate(); err != nil {
		return bad("%s", joule.ErrorMessage(err))
	}
	if cfg.MarketUSDPerHour == 0 {
		cfg.MarketUSDPerHour = cfg.GPUUSDPerHour
	}
	if d := cfg.GPUPriceDriftPerYear; !finite(d[0], d[1]) || d[0] > d[1] {
		return bad("GPU price drift range must be two numbers, low ≤ high, got %v", d)
	}
	if err := cfg.GPU.Validate(); err != nil {
		return bad("%s", joule.ErrorMessage(err))
	}
	if err := cfg.Site.Site.Validate(); err != nil {
		return bad("%s", joule.ErrorMessage(err))
	}
	if cfg.Hysteresis == (dispatch.Hysteresis{}) {
		cfg.Hysteresis = dispatch.DefaultHysteresis
	}
	if cfg.Workers == 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	cfg.Workers = min(cfg.Workers, cfg.Paths)
	return nil
}

// report turns the paths' results into the distribution.
func (p *planner) report(res *pathResults) *PivotReport {
	cfg := &p.cfg
	r := &PivotReport{
		Site: cfg.Site.Site.Name, At: p.cal.start.Format(time.DateOnly), Years: cfg.Years, Paths: cfg.Paths, Seed: cfg.Seed,
		ConvertMW: cfg.ConvertMW, GPUModel: cfg.GPU.ID, GPUServers: p.conv.servers, ASICsRetired: p.conv.asics,
		CapexUSD: p.conv.capexUSD, ServersUSD: p.conv.serversUSD, NetworkStorageUSD: p.conv.networkUSD,
		ConversionUSD: p.conv.conversionUSD, ASICResaleUSD: p.conv.resaleUSD, DiscountRate: cfg.DiscountRate, Hoard: cfg.Hoard,
		GPUUSDPerHour: cfg.GPUUSDPerHour, MarketUSDPerHour: cfg.MarketUSDPerHour, MarketPriceSource: cfg.MarketSource,
		UtilizationAtPrice: p.utilization(cfg.Utilization), BTCModel: cfg.BTCModel, BTCDriftPerYear: p.btcDriftPerYear(),
		HashResponse: p.chain.resp, NPVs: res.npv,
	}
	npv := slices.Clone(res.npv)
	slices.Sort(npv)
	r.NPVUSD = quantiles(npv)
	positive := len(npv) - sortedAtMost(npv, 0)
	r.ProbPositive = float64(positive) / float64(len(npv))
	loss, _ := slices.BinarySearch(npv, 0) // paths with NPV < 0
	r.ProbLoss = float64(loss) / float64(len(npv))

	payback := slices.Clone(res.payback)
	slices.Sort(payback)
	r.PaybackMonths = quantiles(payback)
	never := 0
	for _, m := range payback {
		if math.IsInf(m, 1) {
			never++
		}
	}
	r.NeverPaidBack = float64(never) / float64(len(payback))

	year := make([]float64, cfg.Paths)
	for y := range cfg.Years {
		for i := range year {
			year[i] = res.yearly[i*cfg.Years+y]
		}
		slices.Sort(year)
		r.YearlyCashFlowUSD = append(r.YearlyCashFlowUSD, quantiles(year))
	}
	r.Assumptions = p.assumptions()
	r.Inputs = p.inputs()
	r.Notes = p.notes()
	return r
}

// sortedAtMost returns how many values of sorted are ≤ x.
func sortedAtMost(sorted []float64, x float64) int {
	i, _ := slices.BinarySearchFunc(sorted, x, func(v, x float64) int {
		if v <= x {
			return -1
		}
		return 1
	})
	return i
}

// quantiles returns P10, P50 and P90 of sorted values, interpolating linearly between
// neighbouring order statistics; an infinite neighbour gives an infinite quantile.
func quantiles(sorted []float64) Quantiles {
	return Quantiles{P10: quantile(sorted, 0.1), P50: quantile(sorted, 0.5), P90: quantile(sorted, 0.9)}
}

func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(sorted)-1)
	i := int(pos)
	f := pos - float64(i)
	if f == 0 || i+1 >= len(sorted) {
		return sorted[i]
	}
	a, b := sorted[i], sorted[i+1]
	if math.IsInf(a, 0) || math.IsInf(b, 0) {
		return b
	}
	return a + f*(b-a)
}

// assumptions says in words what the plan models and samples.
func (p *planner) assumptions() []string {
	cfg := &p.cfg
	c := &p.conv
	site := cfg.Site.Site
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }

	var fleets string
	for i, r := range c.retired {
		if i > 0 {
			fleets += ", then "
		}
		fleets += fmt.Sprintf("%d of %d %s (%s, %.1f J/TH)", r.count, r.fleet.Count, r.fleet.Name, r.fleet.Model.ID, r.fleet.Model.EfficiencyJPerTH())
	}
	add("Conversion: miners are retired least efficient fleet first (highest J/TH), in whole machines, until their facility power at stock (count × power × PUE %.2f) reaches %.2f MW: %s, %d miners with %.3f MW of facility and %.3f MW of IT power. That facility power feeds %d whole %s servers at %v each in a GPU hall of PUE %.2f (its cooling, not the miners').",
		site.PUE, cfg.ConvertMW, fleets, c.asics, c.facilityW/1e6, c.itW/1e6, c.servers, cfg.GPU.ID, cfg.GPU.PowerW, cfg.GPUPUE)
	co := cfg.Costs
	add("Capex, paid on the conversion day: %d servers × %s = %s, network and storage %.0f%% of that = %s, conversion of the hall %s per MW × %.2f MW = %s, less the %d retired miners' resale %s: %s. The servers earn from %.1f months after the conversion day (the install lag, %d days), while the miners are gone from the first day; from then each installed server costs %s per server-hour besides energy (GPU opex, leased or idle). Not modelled: financing, taxes, hardware failures, and the residual value of servers or miners at the horizon end.",
		c.servers, planUSD(cfg.GPU.PriceUSD), planUSD(c.serversUSD), co.NetworkStorageFraction*100, planUSD(c.networkUSD),
		planUSD(co.ConversionUSDPerMW), cfg.ConvertMW, planUSD(c.conversionUSD), c.asics, planUSD(c.resaleUSD), planUSD(c.capexUSD),
		co.InstallLagMonths, p.lagDays, fmt.Sprintf("$%.2f", co.GPUOpexUSDPerServerHour))
	h := cfg.Hysteresis
	add("Dispatch: every path runs two sub-sites hour by hour through the dispatch policy the live system runs (rule %s: merit order, ASIC power profiles, a $%.2f/MWh strike band, minimum on %ds and off %ds, %ds warm-up per start), each under the site's %.1f MW cap: BASELINE, the retired miners alone at the site's PUE %.2f (running at the start), and CONVERTED, the bought servers alone at the GPU hall's PUE %.2f, selling their capacity on the open market. The incremental cash flow of converting is the converted margin minus the baseline margin, hour by hour (revenue − energy, idle draw included); the site's other load is the same either way and is left out.",
		dispatch.RuleMerit, h.BandUSDPerMWh, h.MinOnSec, h.MinOffSec, h.WarmupSec, site.PowerCapW.MW(), site.PUE, cfg.GPUPUE)
	ch := p.chain
	var dp, dd float64
	for _, d := range ch.days {
		dp += d.dLogPrice
		dd += d.dLogDifficulty
	}
	n := float64(len(ch.days))
	add("BTC price and difficulty noise: a block bootstrap of %d-day blocks of consecutive daily changes in log BTC price and log difficulty, each day with its fees per block, drawn from the %d usable days from %s to %s (%d days without every series skipped). Paths start from the conversion day (BTC %s, difficulty %.4g, %.3f BTC fees per block). Those days averaged %+.2f a year in log price and %+.2f in log difficulty.",
		bootstrapBlockDays, len(ch.days), ch.first.Format(time.DateOnly), ch.last.Format(time.DateOnly), ch.skipped,
		planUSD(ch.start.PriceUSD), ch.start.Difficulty, ch.start.FeesPerBlockBTC(), dp/n*daysPerYear, dd/n*daysPerYear)
	switch cfg.BTCModel {
	case BTCBootstrap:
		add("BTC price model %s: the resampled days' log price changes less their mean (%+.2f a year), plus a drift of %+.2f a year: the bootstrap keeps history's volatility and momentum, not its bull market.", BTCBootstrap, dp/n*daysPerYear, cfg.BTCDriftPerYear)
	case BTCBootstrapDrift:
		add("BTC price model %s: the resampled days' log price changes as they were, so paths carry history's %+.2f a year forward (a median path multiplies the price by %.1f over %d years).", BTCBootstrapDrift, dp/n*daysPerYear, math.Exp(dp/n*daysPerYear*float64(cfg.Years)), cfg.Years)
	case BTCGBM:
		add("BTC price model %s: geometric Brownian motion: daily log returns drawn from a normal distribution with history's standard deviation (%.5f a day, %.2f a year, over the same %d days) and a mean of %+.2f a year; fees and difficulty noise are still resampled in blocks.",
			BTCGBM, ch.sigma, ch.sigma*math.Sqrt(daysPerYear), len(ch.days), cfg.BTCDriftPerYear)
	}
	add("Difficulty answers the hashprice: each day's log difficulty change is the resampled day's less the mean (the noise) plus the fitted growth at the path's own hashprice: %s.", ch.resp)
	add("Hashprice: econ.ComputeHashprice each day (as `joule econ`), net of a %.1f%% pool fee; block height advances 144 blocks a day from %d, so the subsidy halves every 210,000 blocks%s.",
		cfg.PoolFee*100, ch.start.Height, p.halvingNote())
	add("%s", p.energy.describe())
	price := fmt.Sprintf("the site asks $%.2f on the conversion day (%s); the market price is $%.2f (%s)", cfg.GPUUSDPerHour, orGiven(cfg.PriceSource), cfg.MarketUSDPerHour, orGiven(cfg.MarketSource))
	if cfg.GPUUSDPerHour == cfg.MarketUSDPerHour && cfg.PriceSource == cfg.MarketSource {
		price = fmt.Sprintf("the site asks the market price on the conversion day, $%.2f (%s)", cfg.GPUUSDPerHour, orGiven(cfg.PriceSource))
	}
	add("GPU-hour price: %s. Both move as × exp(drift × years + noise), the drift drawn uniformly from [%.2f, %.2f] a year once per path, the noise independent each day, normal with standard deviation %.2f in log.",
		price, cfg.GPUPriceDriftPerYear[0], cfg.GPUPriceDriftPerYear[1], gpuPriceNoise)
	add("Utilization (finite demand): a path sells clamp(u0 × (market price ÷ asked price)^%.2f, 0, 1) of its GPU capacity, u0 drawn once per path uniformly from %.2f ± %.2f (within [0, 1]); here the ratio is %.3f, so the middle draw sells %.1f%%. Unsold capacity idles and sold capacity draws full power.",
		cfg.DemandElasticity, cfg.Utilization, cfg.UtilizationSpread, cfg.MarketUSDPerHour/max(cfg.GPUUSDPerHour, 1e-9), p.utilization(cfg.Utilization)*100)
	if cfg.Hoard {
		add("Hoard: the BTC the baseline miners would have mined (each day's revenue ÷ that day's price) is kept, not sold: their energy is a cash cost as it comes, and the BTC is valued at the path's last BTC price and counted in the horizon's last month (discounted from the horizon end, and only then in payback).")
	} else {
		add("Mined BTC is sold the day it is mined, at that day's price.")
	}
	add("NPV and payback: cash flows are summed by calendar month from the conversion day and discounted from each month's end at (1 + %.3g)^(1/12) a month; NPV = −capex + their sum. Payback is the first month at whose end the cumulative undiscounted incremental cash flow reaches capex (+Inf if never within %d years). Yearly cash flows are undiscounted. Quantiles interpolate between order statistics over the %d paths.",
		cfg.DiscountRate, cfg.Years, cfg.Paths)
	add("Randomness: path i draws from PCG(seed + i), so the same seed gives the same report whatever the number of workers.")
	return out
}

func orGiven(s string) string {
	if s == "" {
		return "given"
	}
	return s
}

// btcDriftPerYear is the annual log drift of the BTC price paths have: the given one,
// or history's with BTCBootstrapDrift.
func (p *planner) btcDriftPerYear() float64 {
	if p.cfg.BTCModel != BTCBootstrapDrift {
		return p.cfg.BTCDriftPerYear
	}
	var dp float64
	for _, d := range p.chain.days {
		dp += d.dLogPrice
	}
	return dp / float64(len(p.chain.days)) * daysPerYear
}

// inputs lists every number the plan ran on with its source. The figures econ also
// uses (costs, utilization, the discount rate, the pool fee, the servers' price and
// life) carry econ's sources, "given" where they differ from econ's defaults; the
// plan's own carry cfg.Given's "given" or theirs.
func (p *planner) inputs() []econ.Assumption {
	cfg := &p.cfg
	ch := p.chain
	used := econ.AssumptionsUsed(econ.CompareInput{GPU: cfg.GPU, Costs: cfg.Costs, Assumptions: econ.Assumptions{
		PoolFee: cfg.PoolFee, Utilization: cfg.Utilization, DiscountRate: cfg.DiscountRate, GPULifeYears: float64(cfg.Years), GPUPUE: cfg.GPUPUE}})
	byName := map[string]econ.Assumption{}
	for _, a := range used {
		byName[a.Name] = a
	}
	var out []econ.Assumption
	econRow := func(name string) { out = append(out, byName[name]) }
	own := func(name, unit string, value float64, source string) {
		if cfg.Given[name] {
			source = "given"
		}
		out = append(out, econ.Assumption{Name: name, Value: value, Unit: unit, Source: source})
	}
	years := byName["gpu_life_years"]
	years.Name, years.Unit = "years", "horizon, years: the GPU servers' life"
	out = append(out, years)
	econRow("discount_rate")
	own("gpu_usd_hour", "USD per GPU-hour asked on the conversion day", cfg.GPUUSDPerHour, orGiven(cfg.PriceSource))
	own("market_gpu_usd_hour", "USD per GPU-hour, the market on the conversion day", cfg.MarketUSDPerHour, orGiven(cfg.MarketSource))
	econRow("utilization")
	own("utilization_spread", "± around utilization, drawn per path", cfg.UtilizationSpread, "assumption")
	own("demand_elasticity", "ε of utilization = u0 × (market/asked)^ε", cfg.DemandElasticity, "assumption: unit elastic, so asking above the market earns no more per server than asking the market price")
	own("gpu_drift_low", "annual log drift of GPU-hour prices, lowest drawn", cfg.GPUPriceDriftPerYear[0], "assumption")
	own("gpu_drift_high", "annual log drift of GPU-hour prices, highest drawn", cfg.GPUPriceDriftPerYear[1], "assumption")
	econRow("gpu_price_usd")
	econRow("network_storage_fraction")
	econRow("conversion_usd_per_mw")
	econRow("install_lag_months")
	econRow("gpu_opex_usd_per_server_hour")
	if cfg.ASICResaleUSD > 0 {
		out = append(out, econ.Assumption{Name: "asic_resale_usd", Value: cfg.ASICResaleUSD, Unit: "USD per retired miner", Source: "given"})
	} else {
		econRow("asic_resale_fraction")
	}
	econRow("pool_fee")
	out = append(out, econ.Assumption{Name: "pue", Value: cfg.Site.Site.PUE, Unit: "facility ÷ IT power of the miners", Source: "the site's manifest"})
	econRow("gpu_pue")
	span := fmt.Sprintf("%s..%s", ch.first.Format(time.DateOnly), ch.last.Format(time.DateOnly))
	driftSrc := map[string]string{
		BTCBootstrap:      "assumption: no trend (history's drift removed)",
		BTCGBM:            "assumption: no trend",
		BTCBootstrapDrift: "history: the mean daily log price change of " + span,
	}[cfg.BTCModel]
	own("btc_drift_per_year", "annual log drift of the BTC price, model "+cfg.BTCModel, p.btcDriftPerYear(), driftSrc)
	out = append(out, econ.Assumption{Name: "btc_volatility_per_year", Value: ch.sigma * math.Sqrt(daysPerYear), Unit: "standard deviation of annual log returns",
		Source: "fitted: daily log returns of " + span + " (CoinMarketCap closes, data/SOURCES.md)"})
	fit := fmt.Sprintf("fitted: least squares on %d days %s..%s of embedded difficulty and hashprice", ch.resp.Observations, ch.resp.From.Format(time.DateOnly), ch.resp.To.Format(time.DateOnly))
	out = append(out,
		econ.Assumption{Name: "hash_response_coefficient", Value: ch.resp.Coefficient, Unit: "daily log difficulty growth per unit of log hashprice deviation", Source: fit},
		econ.Assumption{Name: "hash_response_intercept", Value: ch.resp.InterceptPerDay, Unit: "daily log difficulty growth at the year's mean hashprice", Source: fit},
		econ.Assumption{Name: "hash_response_lag_days", Value: float64(ch.resp.LagDays), Unit: "days from hashprice to hashrate", Source: fit + ", the lag of the best R²"},
	)
	return out
}

// halvingNote names the halvings within the horizon.
func (p *planner) halvingNote() string {
	h0 := p.chain.start.Height
	var s string
	for next := (h0/210_000 + 1) * 210_000; ; next += 210_000 {
		day := int((next - h0 + 143) / 144)
		if day >= p.cal.days {
			break
		}
		s += fmt.Sprintf("; block %d, around %s, is in the horizon", next, p.cal.start.AddDate(0, 0, day).Format("2006-01"))
	}
	if s == "" {
		s = "; no halving falls in the horizon"
	}
	return s
}

// notes are facts of the data worth knowing when reading the report.
func (p *planner) notes() []string {
	var out []string
	for _, n := range p.chain.start.Notes {
		out = append(out, "conversion day: "+n)
	}
	if extra := p.conv.facilityW - p.cfg.ConvertMW*1e6; extra > 0.5 {
		out = append(out, fmt.Sprintf("retiring whole miners converts %.3f MW, %.1f kW more than asked", p.conv.facilityW/1e6, extra/1e3))
	}
	gpuW := float64(p.conv.servers) * float64(p.cfg.GPU.PowerW) * p.cfg.GPUPUE
	out = append(out, fmt.Sprintf("the servers draw %.3f MW of facility power at full load, %.1f kW less than the miners they replace (whole servers only)", gpuW/1e6, (p.conv.facilityW-gpuW)/1e3))
	return out
}

// planUSD formats whole dollars with thousands separators: $502,223,000.
func planUSD(v float64) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	digits := fmt.Sprintf("%.0f", v)
	var b []byte
	for i := range len(digits) {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, digits[i])
	}
	return sign + "$" + string(b)
}
