package backtest

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/joule-site/joule/dispatch"
)

// planStream is the PCG stream of every path; the path's seed is Seed + index.
const planStream = 0x6a6f756c65 // "joule"

// planner holds what every path shares: the conversion, the two sub-sites, the history
// the paths are drawn from, and the calendar of the horizon. It is read-only while
// workers run.
type planner struct {
	cfg                 PivotConfig
	conv                conversion
	baseline, converted dispatch.Site
	chain               *chainBootstrap
	energy              *energyDays
	cal                 calendar
	startUnix           int64     // midnight UTC of the conversion day
	discount            []float64 // discount factor of each month's end
	lagDays             int       // days from the conversion day to the first GPU revenue
	btc                 btcDraw
}

func newPlanner(cfg PivotConfig) (*planner, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p := &planner{cfg: cfg}
	var err error
	if p.chain, err = newChainBootstrap(cfg.History, cfg.At); err != nil {
		return nil, err
	}
	start := p.chain.start.Date
	p.startUnix = start.Unix()
	p.cal = newCalendar(start, cfg.Years)
	if p.conv, err = convert(cfg.Site, cfg.ConvertMW*1e6, cfg.GPU, cfg.GPUPUE, cfg.ASICResaleUSD, cfg.Costs); err != nil {
		return nil, err
	}
	p.baseline, p.converted = p.conv.subSites(cfg.Site, cfg.GPU, cfg.GPUPUE, cfg.Hysteresis)
	for _, s := range []dispatch.Site{p.baseline, p.converted} {
		if _, err := dispatch.New(s); err != nil {
			return nil, err
		}
	}
	if p.energy, err = newEnergyDays(cfg.History, &cfg.Site.Site.Energy, start, p.cal.days); err != nil {
		return nil, err
	}
	p.lagDays = min(int(math.Round(cfg.Costs.InstallLagMonths*daysPerYear/12)), p.cal.days)
	p.btc = btcDraw{model: cfg.BTCModel, driftPerDay: cfg.BTCDriftPerYear / daysPerYear}
	monthly := math.Pow(1+cfg.DiscountRate, 1.0/12)
	p.discount = make([]float64, p.cal.months)
	for m := range p.discount {
		p.discount[m] = math.Pow(monthly, -float64(m+1))
	}
	return p, nil
}

// pathResults are every path's outcomes, indexed by path.
type pathResults struct {
	npv     []float64
	payback []float64 // months; +Inf if never
	yearly  []float64 // path i, year y at i*Years + y
}

// run simulates every path on cfg.Workers goroutines, each taking the next path index
// in turn; a path's outcome depends only on its index, so the result does not depend
// on the number of workers or the order they finish in. Once ctx is done no worker
// takes another path, and the results are incomplete.
func (p *planner) run(ctx context.Context) *pathResults {
	cfg := &p.cfg
	res := &pathResults{
		npv:     make([]float64, cfg.Paths),
		payback: make([]float64, cfg.Paths),
		yearly:  make([]float64, cfg.Paths*cfg.Years),
	}
	var next atomic.Int64
	var mu sync.Mutex
	done := 0
	var wg sync.WaitGroup
	for range cfg.Workers {
		wg.Go(func() {
			// Each worker builds its own policies on its own goroutine: built one after
			// another on one goroutine, the small scratch slices of different workers'
			// policies share cache lines, and writing them every hour stalls both.
			w := p.newWorker()
			for {
				i := int(next.Add(1) - 1)
				if i >= cfg.Paths || ctx.Err() != nil {
					return
				}
				w.path(i, res)
				if cfg.Progress != nil {
					mu.Lock()
					done++
					cfg.Progress(done, cfg.Paths)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return res
}

// pathWorker is one goroutine's policies, states and scratch, reused path after path
// so that the hourly loop allocates nothing.
type pathWorker struct {
	p                    *planner
	baseline, converted  *dispatch.Policy
	baseState, convState *dispatch.State
	basePlan, convPlan   dispatch.Allocation
	btcUSD, hashprice    []float64 // per day
	logHashprice         []float64 // history's days before the path, then the path's
	gpuUSDPerHour        []float64 // per day
	energyPicks          []int32   // per day: index into p.energy.days
	monthly              []float64 // incremental cash flow per month
	pcg                  rand.PCG
	rng                  *rand.Rand // draws from pcg
}

func (p *planner) newWorker() *pathWorker {
	w := &pathWorker{p: p}
	w.rng = rand.New(&w.pcg)
	// The sites were built once in newPlanner: New cannot fail here.
	w.baseline, _ = dispatch.New(p.baseline)
	w.converted, _ = dispatch.New(p.converted)
	w.baseState, w.convState = w.baseline.NewState(true), w.converted.NewState(true)
	n := p.cal.days
	w.btcUSD, w.hashprice, w.gpuUSDPerHour = make([]float64, n), make([]float64, n), make([]float64, n)
	w.energyPicks = make([]int32, n)
	w.logHashprice = make([]float64, len(p.chain.preLogHP)+n)
	w.monthly = make([]float64, p.cal.months)
	return w
}

// path simulates path i and stores its outcome in res.
func (w *pathWorker) path(i int, res *pathResults) {
	p := w.p
	cfg := &p.cfg
	w.pcg.Seed(cfg.Seed+uint64(i), planStream)
	rng := w.rng
	util := p.utilization(uniform(rng, [2]float64{cfg.Utilization - cfg.UtilizationSpread, cfg.Utilization + cfg.UtilizationSpread}))
	drift := uniform(rng, cfg.GPUPriceDriftPerYear)
	p.chain.fill(rng, cfg.PoolFee, p.btc, w.btcUSD, w.hashprice, w.logHashprice)
	fillGPUPrice(rng, cfg.GPUUSDPerHour, drift, w.gpuUSDPerHour)
	picks := p.energy.fill(rng, w.energyPicks)

	w.baseline.Reset(w.baseState, true)
	w.converted.Reset(w.convState, true)
	clear(w.monthly)
	days := p.energy.days
	month := p.cal.month
	hoard := cfg.Hoard
	var hoardBTC float64
	none := dispatch.Commitments{}
	opexPerDay := float64(p.conv.servers) * cfg.Costs.GPUOpexUSDPerServerHour * 24
	for d := range p.cal.days {
		installed := d >= p.lagDays
		now := p.startUnix + int64(d)*86400
		base := dispatch.Interval{IntervalSec: 3600, HashpriceUSDPerPHDay: w.hashprice[d]}
		gpu := dispatch.Interval{IntervalSec: 3600, GPUUSDPerHour: w.gpuUSDPerHour[d], GPUUtilization: util}
		prices := &days[picks[d]]
		var cash, mined float64
		for h := range 24 {
			base.Now, base.EnergyUSDPerMWh = now, prices[h]
			gpu.Now, gpu.EnergyUSDPerMWh = now, prices[h]
			w.baseline.Allocate(w.baseState, base, none, &w.basePlan)
			if installed {
				w.converted.Allocate(w.convState, gpu, none, &w.convPlan)
				cash += w.convPlan.RevenueUSD - w.convPlan.EnergyUSD
			}
			cash += w.basePlan.EnergyUSD
			mined += w.basePlan.RevenueUSD
			now += 3600
		}
		if installed {
			cash -= opexPerDay
		}
		if hoard {
			hoardBTC += mined / w.btcUSD[d]
		} else {
			cash -= mined
		}
		w.monthly[month[d]] += cash
	}
	if hoard {
		w.monthly[len(w.monthly)-1] -= hoardBTC * w.btcUSD[len(w.btcUSD)-1]
	}

	capex := p.conv.capexUSD
	npv, cum, payback := -capex, 0.0, math.Inf(1)
	if capex <= 0 {
		payback = 0
	}
	yearly := res.yearly[i*cfg.Years : (i+1)*cfg.Years]
	for m, cf := range w.monthly {
		npv += cf * p.discount[m]
		cum += cf
		if math.IsInf(payback, 1) && cum >= capex {
			payback = float64(m + 1)
		}
		yearly[m/12] += cf
	}
	res.npv[i], res.payback[i] = npv, payback
}

// utilization is the share of GPU capacity a path sells: its draw u0 at the market
// price moved along the demand curve to the price the site asks,
// clamp(u0 × (market/asked)^ε, 0, 1). Both prices drift together on a path, so their
// ratio, and the utilization, hold from the conversion day on.
func (p *planner) utilization(u0 float64) float64 {
	cfg := &p.cfg
	u := max(min(u0, 1), 0)
	if cfg.GPUUSDPerHour > 0 && cfg.MarketUSDPerHour > 0 {
		u *= math.Pow(cfg.MarketUSDPerHour/cfg.GPUUSDPerHour, cfg.DemandElasticity)
	}
	return max(min(u, 1), 0)
}

// uniform draws from [r[0], r[1]].
func uniform(rng *rand.Rand, r [2]float64) float64 {
	return r[0] + (r[1]-r[0])*rng.Float64()
}
