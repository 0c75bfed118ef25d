package backtest

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/dispatch"
	"github.com/joule-site/joule/econ"
	"github.com/joule-site/joule/forecast"
	"github.com/joule-site/joule/history"
)

// marketInputs are what the markets of a backtest are built from.
type marketInputs struct {
	site        *joule.Site
	from, to    time.Time             // days, to inclusive
	loc         *time.Location        // whose days: the energy market's local time
	series      *history.EnergySeries // the wholesale series, nil for a tariff
	hist        *history.History
	poolFee     float64
	gpu         *PricePath
	utilization float64
	// forecaster turns what the market had published at each interval's start into
	// the energy price decided on; dayAhead is the node's day-ahead series, if any.
	forecaster forecast.Forecaster
	dayAhead   *history.EnergySeries
}

// markets are a backtest's intervals twice: at the prices they had (actual, what
// plans settle at and the hindsight bound sees) and at what a site knew when it
// planned each (decided: the forecast energy price, the previous day's hashprice).
type markets struct {
	actual, decided []dispatch.Interval
	notes           []string
}

// buildMarkets lays out one market per interval from the start of from to the end of
// to: hashprice per day (econ, the same function as `joule econ`), the site's energy
// price per interval, and the GPU-hour price; and beside each, the market a site knew
// when it planned it. Every series that lacks data is named with the dates it lacks;
// nothing is filled silently, and what is carried forward is noted.
func buildMarkets(in marketInputs) (*markets, error) {
	if in.to.Before(in.from) {
		return nil, joule.Errorf(joule.EINVALID, "backtest: --to %s is before --from %s", in.to.Format(time.DateOnly), in.from.Format(time.DateOnly))
	}
	var notes []string
	gaps := map[string]*gapList{}
	gap := func(series string, d time.Time) {
		if gaps[series] == nil {
			gaps[series] = &gapList{loc: time.UTC} // chain and price data count UTC days
			if strings.HasPrefix(series, "energy") {
				gaps[series].loc = in.loc
			}
		}
		gaps[series].add(d)
	}

	// Days are the market's local days; hashprice is per UTC day, as chain data is.
	start := time.Date(in.from.Year(), in.from.Month(), in.from.Day(), 0, 0, 0, 0, in.loc)
	end := time.Date(in.to.Year(), in.to.Month(), in.to.Day()+1, 0, 0, 0, 0, in.loc)
	step := time.Hour
	if in.series != nil {
		step = in.series.Step
	}
	n := int(end.Sub(start) / step)
	utc0 := start.UTC().Truncate(24 * time.Hour)
	days := int(end.Add(-time.Hour).UTC().Truncate(24*time.Hour).Sub(utc0)/(24*time.Hour)) + 1
	// hashprice[i] is the hashprice of UTC day i-1 from utc0: plans decide on the day
	// before's, settle at the day's own.
	hashprice := make([]float64, days+1)
	type span struct {
		first, last time.Time
		days        int
	}
	dayNotes := map[string]*span{}
	for i := range days + 1 {
		d := utc0.AddDate(0, 0, i-1)
		day := in.hist.Day(d)
		for _, s := range day.Missing {
			gap(s, d)
		}
		for _, n := range day.Notes {
			key := isoDate.ReplaceAllString(n, "a nearby day")
			if dayNotes[key] == nil {
				dayNotes[key] = &span{first: d}
			}
			dayNotes[key].last = d
			dayNotes[key].days++
		}
		hashprice[i] = econ.NetOfPoolFee(econ.ComputeHashprice(day.Market()).USDPerPHDay, in.poolFee)
	}
	for n, sp := range dayNotes {
		notes = append(notes, fmt.Sprintf("%s: %d day(s) between %s and %s (joule econ --date D shows each)", n, sp.days, sp.first.Format(time.DateOnly), sp.last.Format(time.DateOnly)))
	}
	slices.Sort(notes)

	energy := in.site.Energy
	series := in.series
	ms := make([]dispatch.Interval, n)
	decided := make([]dispatch.Interval, n)
	replay := &forecast.Replay{RealTime: series, DayAheadSeries: in.dayAhead, Published: forecast.PublishedFor(energy.Node), AdderUSDPerMWh: energy.AdderUSDPerMWh}
	unknown, dayAheadUsed := 0, 0
	bridge := int(time.Hour / step) // gaps shorter than an hour are carried forward
	carried, early := 0, false
	var last float64
	haveLast := false
	for i := range ms {
		t := start.Add(time.Duration(i) * step)
		m := &ms[i]
		m.Now, m.IntervalSec = t.Unix(), int64(step/time.Second)
		day := int(t.UTC().Sub(utc0) / (24 * time.Hour))
		m.HashpriceUSDPerPHDay = hashprice[day+1]
		m.GPUUtilization = in.utilization
		var e bool
		m.GPUUSDPerHour, e = in.gpu.At(m.Now)
		early = early || e
		d := &decided[i]
		*d = *m
		d.HashpriceUSDPerPHDay = hashprice[day]
		if series == nil {
			m.EnergyUSDPerMWh, _ = energy.TariffAt(t) // a tariff is known in advance
			d.EnergyUSDPerMWh = m.EnergyUSDPerMWh
			continue
		}
		replay.At(t)
		var ok bool
		if d.EnergyUSDPerMWh, ok = in.forecaster.Price(replay); !ok {
			d.EnergyUSDPerMWh = dispatch.UnknownEnergyUSDPerMWh
			unknown++
		}
		if _, ok := replay.DayAhead(t); ok {
			dayAheadUsed++
		}
		if p, ok := series.PriceAt(t); ok {
			m.EnergyUSDPerMWh = p + energy.AdderUSDPerMWh
			last, haveLast = m.EnergyUSDPerMWh, true
			continue
		}
		// A gap shorter than an hour (the repeated daylight-saving hour appears once in
		// the hourly files; a dispatch run now and then lands late) is carried forward
		// from the interval before; anything longer is missing data.
		if haveLast && priceWithin(series, t, bridge) {
			m.EnergyUSDPerMWh = last
			carried++
			continue
		}
		gap("energy price at "+energy.Node, t)
	}
	if len(gaps) > 0 {
		var parts []string
		for _, name := range []string{history.SeriesPrice, history.SeriesDifficulty, history.SeriesFees, history.SeriesBlocks, "energy price at " + energy.Node} {
			if g := gaps[name]; g != nil {
				parts = append(parts, fmt.Sprintf("no %s for %s", name, g))
			}
		}
		if series != nil && gaps["energy price at "+energy.Node] != nil {
			parts = append(parts, fmt.Sprintf("(the %s series covers %s)", energy.Node, series.Coverage()))
		}
		return nil, joule.Errorf(joule.EINVALID, "backtest %s..%s: %s", in.from.Format(time.DateOnly), in.to.Format(time.DateOnly), strings.Join(parts, "; "))
	}
	if carried > 0 {
		notes = append(notes, fmt.Sprintf("energy price: %d interval(s) of %s missing from the source (gaps under an hour) carried forward from the interval before", carried, step))
	}
	if early {
		notes = append(notes, fmt.Sprintf("GPU-hour price before %s (the path's first point) is held back from that first point", in.gpu.First().Format(time.DateOnly)))
	}
	if series != nil {
		da := "the market has no day-ahead prices here"
		if in.dayAhead != nil {
			da = fmt.Sprintf("%d of %d intervals had a published day-ahead price", dayAheadUsed, n)
		}
		notes = append(notes, fmt.Sprintf("plans decide on the %s forecast (%s; %s) and the previous UTC day's hashprice, and settle at the interval's real prices", in.forecaster.Name(), in.forecaster.Description(), da))
	}
	if unknown > 0 {
		notes = append(notes, fmt.Sprintf("%d interval(s) had no energy price published in the six hours before them: planned as a stale feed is, with flexible load stopped", unknown))
	}
	return &markets{actual: ms, decided: decided, notes: notes}, nil
}

// priceWithin reports whether the series has a price in the next n intervals after t.
func priceWithin(s *history.EnergySeries, t time.Time, n int) bool {
	for k := 1; k <= n; k++ {
		if _, ok := s.PriceAt(t.Add(time.Duration(k) * s.Step)); ok {
			return true
		}
	}
	return false
}

var isoDate = regexp.MustCompile(`\d{4}-\d{2}-\d{2}`)

// gapList collects missing days or hours and prints them as ranges.
type gapList struct {
	loc   *time.Location
	times []time.Time
}

func (g *gapList) add(t time.Time) { g.times = append(g.times, t) }

func (g *gapList) String() string {
	var parts []string
	day := func(t time.Time) time.Time {
		y, m, d := t.In(g.loc).Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	for i := 0; i < len(g.times); {
		j := i
		for j+1 < len(g.times) && day(g.times[j+1]).Sub(day(g.times[j])) <= 24*time.Hour {
			j++
		}
		a, b := g.times[i].In(g.loc).Format(time.DateOnly), g.times[j].In(g.loc).Format(time.DateOnly)
		if a == b {
			parts = append(parts, a)
		} else {
			parts = append(parts, a+".."+b)
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}
