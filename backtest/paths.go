package backtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/econ"
	"github.com/joule-site/joule/history"
)

// Market paths of the pivot planner: what a Monte Carlo path's BTC price, difficulty,
// fees, energy prices and GPU-hour price are, day by day. Everything a path needs in
// its hourly loop is laid out here as plain arrays, so that the loop itself does no
// time arithmetic, no lookups and no allocation.

const (
	// bootstrapBlockDays is the length of the blocks of consecutive history days the
	// chain bootstrap draws: long enough to keep difficulty's two-week steps and a
	// month of price momentum together.
	bootstrapBlockDays = 30
	// bootstrapYears is how much history before the conversion date feeds it.
	bootstrapYears = 4
	// minBootstrapDays is the fewest usable history days the bootstrap accepts.
	minBootstrapDays = 365
	// gpuPriceNoise is the standard deviation of the daily log noise on the GPU-hour
	// price around its drift.
	gpuPriceNoise = 0.02
	// daysPerYear turns day indices into years for the GPU price drift.
	daysPerYear = 365.25
)

// chainDay is one historical day as the bootstrap resamples it: the change in log BTC
// price and log difficulty from the day before, and the day's fees per block.
type chainDay struct {
	dLogPrice, dLogDifficulty float64
	feesPerBlockBTC           float64
}

// chainBootstrap resamples the chain history before the conversion date.
type chainBootstrap struct {
	days        []chainDay // usable days, in date order
	first, last time.Time  // first and last usable day
	skipped     int        // days of the window left out for missing data
	start       history.Day
	mu, sigma   float64 // mean and standard deviation of the daily log price changes
	muDiff      float64 // mean daily log difficulty change
	// resp is the difficulty's response to the hashprice, and preLogHP the log gross
	// hashprice of the hashDevWindowDays + resp.LagDays days before the conversion day
	// (a missing day carries the one before), from which a path's deviations start.
	resp     HashResponse
	preLogHP []float64
}

// newChainBootstrap collects the usable days of the bootstrapYears before at: days with
// every series present whose previous day also has them (so both changes are real).
func newChainBootstrap(h *history.History, at time.Time) (b *chainBootstrap, err error) {
	start := h.Day(at)
	if err := start.Err(); err != nil {
		return nil, joule.Errorf(joule.EINVALID, "plan: conversion date outside the history: %s", joule.ErrorMessage(err))
	}
	if !(start.PriceUSD > 0 && start.Difficulty > 0) {
		return nil, joule.Errorf(joule.EINVALID, "plan: no BTC price or difficulty on %s", start.Date.Format(time.DateOnly))
	}
	b = &chainBootstrap{start: start}
	from := start.Date.AddDate(-bootstrapYears, 0, 0)
	prev := h.Day(from.AddDate(0, 0, -1))
	for d := from; d.Before(start.Date); d = d.AddDate(0, 0, 1) {
		day := h.Day(d)
		if day.Err() != nil || prev.Err() != nil || !(day.PriceUSD > 0 && day.Difficulty > 0 && prev.PriceUSD > 0 && prev.Difficulty > 0) {
			b.skipped++
			prev = day
			continue
		}
		if len(b.days) == 0 {
			b.first = d
		}
		b.last = d
		b.days = append(b.days, chainDay{
			dLogPrice:       math.Log(day.PriceUSD / prev.PriceUSD),
			dLogDifficulty:  math.Log(day.Difficulty / prev.Difficulty),
			feesPerBlockBTC: day.FeesPerBlockBTC(),
		})
		prev = day
	}
	var sum, sq, sumDiff float64
	for _, d := range b.days {
		sum += d.dLogPrice
		sumDiff += d.dLogDifficulty
	}
	if n := float64(len(b.days)); n > 1 {
		b.mu, b.muDiff = sum/n, sumDiff/n
		for _, d := range b.days {
			sq += (d.dLogPrice - b.mu) * (d.dLogPrice - b.mu)
		}
		b.sigma = math.Sqrt(sq / (n - 1))
	}
	if len(b.days) < minBootstrapDays {
		return nil, joule.Errorf(joule.EINVALID, "plan: only %d usable history days in the %d years before %s; the bootstrap needs at least %d", len(b.days), bootstrapYears, start.Date.Format(time.DateOnly), minBootstrapDays)
	}
	if b.resp, err = FitHashResponse(h, start.Date); err != nil {
		return nil, err
	}
	pre := hashDevWindowDays + b.resp.LagDays
	b.preLogHP = readHashSeries(h, start.Date.AddDate(0, 0, -pre), start.Date).logHP
	carryGaps(b.preLogHP)
	return b, nil
}

// carryGaps fills each NaN with the value before it (the first value after it, at the
// start).
func carryGaps(v []float64) {
	last := math.NaN()
	for i := range v {
		if math.IsNaN(v[i]) {
			v[i] = last
		} else {
			last = v[i]
		}
	}
	for i := len(v) - 1; i >= 0; i-- {
		if math.IsNaN(v[i]) {
			v[i] = last
		} else {
			last = v[i]
		}
	}
}

// btcDraw is how a path draws the BTC price: a model of BTCModels and, for the models
// that take one, the daily log drift.
type btcDraw struct {
	model       string
	driftPerDay float64
}

// fill draws one path of daily BTC prices and hashprices (USD per PH/s per day, net of
// the pool fee). Day 0 is the conversion day as it was; each later day applies the
// next resampled day's changes, drawing a new block of consecutive history days every
// bootstrapBlockDays. Height advances 144 blocks a day, so halvings come through the
// subsidy.
//
// The price's daily log change is the resampled day's less history's mean plus the
// drift (BTCBootstrap), the resampled day's (BTCBootstrapDrift), or drawn from
// N(drift, sigma) (BTCGBM). Difficulty's is a + b × the log hashprice deviation lag
// days before (resp), plus the resampled day's less its mean. lhp is scratch of
// len(preLogHP) + len(price) days.
func (b *chainBootstrap) fill(rng *rand.Rand, poolFee float64, draw btcDraw, price, hashprice, lhp []float64) {
	p, diff, fees := b.start.PriceUSD, b.start.Difficulty, b.start.FeesPerBlockBTC()
	height := b.start.Height
	blocks := len(b.days) - bootstrapBlockDays + 1
	j, off := 0, bootstrapBlockDays
	pre, lag := len(b.preLogHP), b.resp.LagDays
	copy(lhp, b.preLogHP)
	// window is the sum of lhp over the hashDevWindowDays ending at k, the day whose
	// deviation day d's difficulty answers: k = pre + d − 1 − lag.
	k := pre - lag
	var window float64
	for _, v := range lhp[k-hashDevWindowDays+1 : k+1] {
		window += v
	}
	for d := range price {
		if d > 0 {
			if off == bootstrapBlockDays {
				j, off = rng.IntN(blocks), 0
			}
			r := &b.days[j+off]
			off++
			switch draw.model {
			case BTCGBM:
				p *= math.Exp(draw.driftPerDay + b.sigma*rng.NormFloat64())
			case BTCBootstrapDrift:
				p *= math.Exp(r.dLogPrice)
			default:
				p *= math.Exp(r.dLogPrice - b.mu + draw.driftPerDay)
			}
			if d > 1 {
				k++
				window += lhp[k] - lhp[k-hashDevWindowDays]
			}
			dev := lhp[k] - window/hashDevWindowDays
			diff *= math.Exp(r.dLogDifficulty - b.muDiff + b.resp.InterceptPerDay + b.resp.Coefficient*dev)
			fees = r.feesPerBlockBTC
			height += econ.BlocksPerDay
		}
		price[d] = p
		hp := econ.ComputeHashprice(econ.MarketDay{Height: height, Blocks: econ.BlocksPerDay, Difficulty: diff, FeesPerBlockBTC: fees, PriceUSD: p})
		lhp[pre+d] = math.Log(hp.USDPerPHDay)
		hashprice[d] = econ.NetOfPoolFee(hp.USDPerPHDay, poolFee)
	}
}

// fillGPUPrice draws one path of GPU-hour prices: start × exp(drift × years + noise),
// with independent normal daily noise in log.
func fillGPUPrice(rng *rand.Rand, start, drift float64, out []float64) {
	for d := range out {
		out[d] = start * math.Exp(drift*float64(d)/daysPerYear+gpuPriceNoise*rng.NormFloat64())
	}
}

// energyDays is a site's hourly energy prices as whole UTC days. A fixed or
// time-of-use tariff is one day per horizon day, the same on every path; a wholesale
// price is a pool of historical days (adder included) that each path samples from,
// preferring days of the same calendar month.
type energyDays struct {
	kind    joule.EnergyPriceKind
	days    [][24]float64 // USD per MWh by UTC hour of the day
	sampled bool          // wholesale: paths sample pool days; else day d is horizon day d
	picks   []int32       // not sampled: the identity, shared by every path

	// Wholesale only.
	byMonth [12][]int32 // pool days of each calendar month (every day, where a month has none)
	counts  [12]int     // pool days of each calendar month, before that fallback
	month   []uint8     // calendar month (0..11) of each horizon day
	years   []int       // the years the pool's days come from
	node    string
	adder   float64
}

// newEnergyDays lays out the site's energy prices over a horizon of n days from start
// (midnight UTC). Wholesale days come from the node's series, whole UTC days with all
// 24 hours, strictly before start, so nothing after the conversion date is known.
func newEnergyDays(h *history.History, m *joule.EnergyPriceModel, start time.Time, n int) (*energyDays, error) {
	e := &energyDays{kind: m.Kind}
	switch m.Kind {
	case joule.EnergyFixed, joule.EnergyTimeOfUse:
		e.days = make([][24]float64, n)
		e.picks = make([]int32, n)
		for d := range e.days {
			e.picks[d] = int32(d)
			for hr := range 24 {
				price, _ := m.TariffAt(start.Add(time.Duration(d*24+hr) * time.Hour))
				e.days[d][hr] = price
			}
		}
		return e, nil
	case joule.EnergyWholesale:
	default:
		return nil, joule.Errorf(joule.EINVALID, "plan: unknown energy price kind %q", m.Kind)
	}
	series, err := h.Energy(m.Node)
	if err != nil {
		return nil, err
	}
	e.sampled, e.node, e.adder = true, m.Node, m.AdderUSDPerMWh
	first := series.First.Truncate(24 * time.Hour)
	for d := first; !d.After(series.Last()) && !d.Add(24*time.Hour).After(start); d = d.Add(24 * time.Hour) {
		var day [24]float64
		whole := true
		for hr := range 24 {
			p, ok := series.PriceAt(d.Add(time.Duration(hr) * time.Hour))
			if !ok {
				whole = false
				break
			}
			day[hr] = p + m.AdderUSDPerMWh
		}
		if !whole {
			continue
		}
		mo := int(d.Month()) - 1
		e.byMonth[mo] = append(e.byMonth[mo], int32(len(e.days)))
		e.counts[mo]++
		if y := d.Year(); !slices.Contains(e.years, y) {
			e.years = append(e.years, y)
		}
		e.days = append(e.days, day)
	}
	if len(e.days) == 0 {
		return nil, joule.Errorf(joule.EINVALID, "plan: node %s has no whole day of prices before %s", m.Node, start.Format(time.DateOnly))
	}
	all := make([]int32, len(e.days))
	for i := range all {
		all[i] = int32(i)
	}
	for mo := range e.byMonth {
		if len(e.byMonth[mo]) == 0 {
			e.byMonth[mo] = all
		}
	}
	e.month = make([]uint8, n)
	for d := range e.month {
		e.month[d] = uint8(start.AddDate(0, 0, d).Month() - 1)
	}
	return e, nil
}

// fill picks each horizon day's prices for one path: for a wholesale site a random pool
// day of the same calendar month, drawn independently day by day; for a tariff the
// horizon day itself (out is then unused and the shared identity is returned).
func (e *energyDays) fill(rng *rand.Rand, out []int32) []int32 {
	if !e.sampled {
		return e.picks
	}
	for d := range out {
		pool := e.byMonth[e.month[d]]
		out[d] = pool[rng.IntN(len(pool))]
	}
	return out
}

// describe says in words where the energy prices come from.
func (e *energyDays) describe() string {
	switch e.kind {
	case joule.EnergyFixed:
		return "Energy: the site's fixed price, every hour."
	case joule.EnergyTimeOfUse:
		return "Energy: the site's time-of-use tariff at each hour of the horizon (the same on every path)."
	}
	var thin []string
	for mo, c := range e.counts {
		if c == 0 {
			thin = append(thin, time.Month(mo+1).String())
		}
	}
	s := fmt.Sprintf("Energy: each day of a path takes the 24 hourly real-time prices of one whole historical UTC day at %s (days with a missing hour skipped), plus the site's adder of $%.2f/MWh; the day is drawn at random, independently day by day, from the %d whole days before the conversion date of the same calendar month. The series holds days of %s only, so the prices of those years stand for the future; no trend or scarcity premium is added.",
		e.node, e.adder, len(e.days), joinInts(e.years))
	if len(thin) > 0 {
		s += fmt.Sprintf(" No whole day of %v is in the data; those months draw from every month.", thin)
	}
	return s
}

func joinInts(xs []int) string {
	s := ""
	for i, x := range xs {
		switch {
		case i == 0:
		case i == len(xs)-1:
			s += " and "
		default:
			s += ", "
		}
		s += fmt.Sprint(x)
	}
	return s
}

// calendar maps the days of the horizon to months and years from the conversion date.
type calendar struct {
	start  time.Time // midnight UTC of the conversion day
	days   int
	months int
	month  []int32 // month index (0..months-1) of each day
}

// newCalendar lays out years from the conversion day: months are calendar months from
// the conversion day (start.AddDate(0, m, 0)), so a 5-year horizon has 60 months.
func newCalendar(start time.Time, years int) calendar {
	end := start.AddDate(years, 0, 0)
	c := calendar{start: start, days: int(end.Sub(start) / (24 * time.Hour)), months: 12 * years}
	c.month = make([]int32, c.days)
	m, next := 0, start.AddDate(0, 1, 0)
	for d := range c.month {
		for !start.AddDate(0, 0, d).Before(next) && m < c.months-1 {
			m++
			next = start.AddDate(0, m+1, 0)
		}
		c.month[d] = int32(m)
	}
	return c
}
