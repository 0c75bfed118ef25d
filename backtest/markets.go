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
	"github.com/joule-site/joule/history"
)

// marketInputs are what the markets of a backtest are built from.
type marketInputs struct {
	site        *joule.Site
	from, to    time.Time      // days, to inclusive
	loc         *time.Location // whose days: the energy market's local time
	hist        *history.History
	poolFee     float64
	gpu         *PricePath
	utilization float64
}

// buildMarkets lays out one market per hour from the start of from to the end of to:
// hashprice per day (econ, the same function as `joule econ`), the site's energy price
// per hour, and the GPU-hour price. Every series that lacks data is named with the
// dates it lacks; nothing is filled silently, and what is carried forward is noted.
func buildMarkets(in marketInputs) ([]dispatch.Market, []string, error) {
	if in.to.Before(in.from) {
		return nil, nil, joule.Errorf(joule.EINVALID, "backtest: --to %s is before --from %s", in.to.Format(time.DateOnly), in.from.Format(time.DateOnly))
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
	hours := int(end.Sub(start) / time.Hour)
	utc0 := start.UTC().Truncate(24 * time.Hour)
	days := int(end.Add(-time.Hour).UTC().Truncate(24*time.Hour).Sub(utc0)/(24*time.Hour)) + 1
	hashprice := make([]float64, days)
	type span struct {
		first, last time.Time
		days        int
	}
	dayNotes := map[string]*span{}
	for i := range days {
		d := utc0.AddDate(0, 0, i)
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
	var series *history.EnergySeries
	if energy.Kind == joule.EnergyWholesale {
		s, err := in.hist.Energy(energy.Node)
		if err != nil {
			return nil, nil, err
		}
		series = s
	}
	ms := make([]dispatch.Market, hours)
	carried, early := 0, false
	var last float64
	haveLast := false
	for i := range ms {
		t := start.Add(time.Duration(i) * time.Hour)
		m := &ms[i]
		m.Now, m.IntervalSec = t.Unix(), 3600
		m.HashpriceUSDPerPHDay = hashprice[int(t.UTC().Sub(utc0)/(24*time.Hour))]
		m.GPUUtilization = in.utilization
		var e bool
		m.GPUUSDPerHour, e = in.gpu.At(m.Now)
		early = early || e
		if series == nil {
			m.EnergyUSDPerMWh, _ = energy.TariffAt(t)
			continue
		}
		if p, ok := series.PriceAt(t); ok {
			m.EnergyUSDPerMWh = p + energy.AdderUSDPerMWh
			last, haveLast = m.EnergyUSDPerMWh, true
			continue
		}
		// A lone missing hour (the repeated hour when daylight saving ends appears once
		// in the source) is carried forward; a missing day is a gap.
		if _, okNext := series.PriceAt(t.Add(time.Hour)); haveLast && okNext {
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
		return nil, nil, joule.Errorf(joule.EINVALID, "backtest %s..%s: %s", in.from.Format(time.DateOnly), in.to.Format(time.DateOnly), strings.Join(parts, "; "))
	}
	if carried > 0 {
		notes = append(notes, fmt.Sprintf("energy price: %d lone missing hour(s) carried forward from the hour before (the source has the repeated daylight-saving hour once)", carried))
	}
	if early {
		notes = append(notes, fmt.Sprintf("GPU-hour price before %s (the path's first point) is held back from that first point", in.gpu.First().Format(time.DateOnly)))
	}
	return ms, notes, nil
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
