package backtest

import (
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/dispatch"
	"github.com/joule-site/joule/forecast"
	"github.com/joule-site/joule/history"
)

// benchMarkets is the example site and its 2023 hourly markets.
func benchMarkets(b *testing.B) (*joule.ResolvedSite, []dispatch.Interval) {
	b.Helper()
	spec := WestTexasForTest(b)
	h, err := history.Default()
	if err != nil {
		b.Fatal(err)
	}
	gpu, err := DefaultPricePath("h100-sxm")
	if err != nil {
		b.Fatal(err)
	}
	series, err := h.Energy(spec.Site.Energy.Node)
	if err != nil {
		b.Fatal(err)
	}
	mk, err := buildMarkets(marketInputs{site: spec.Site, from: time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC), to: time.Date(2023, 12, 31, 0, 0, 0, 0, time.UTC),
		loc: series.Location, series: series, hist: h, gpu: gpu, utilization: 0.85, forecaster: forecast.Default()})
	if err != nil {
		b.Fatal(err)
	}
	return spec, mk.actual
}

// BenchmarkSiteHours replays 2023 on the example site through Joule's policy on one
// core and reports site-hours simulated per second.
func BenchmarkSiteHours(b *testing.B) {
	spec, ms := benchMarkets(b)
	p, err := dispatch.New(dispatch.Compile(spec, dispatch.RuleMerit, dispatch.DefaultHysteresis))
	if err != nil {
		b.Fatal(err)
	}
	st := p.NewState(true)
	var plan dispatch.Allocation
	var margin float64
	b.ResetTimer()
	for b.Loop() {
		p.Reset(st, true)
		for i := range ms {
			p.Allocate(st, ms[i], dispatch.Commitments{}, &plan)
			margin += plan.MarginUSD()
		}
	}
	b.ReportMetric(float64(b.N*len(ms))/b.Elapsed().Seconds(), "site-hours/s")
}

// BenchmarkSiteHoursParallel is the same on every core (GOMAXPROCS goroutines).
func BenchmarkSiteHoursParallel(b *testing.B) {
	spec, ms := benchMarkets(b)
	site := dispatch.Compile(spec, dispatch.RuleMerit, dispatch.DefaultHysteresis)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		p, err := dispatch.New(site)
		if err != nil {
			b.Error(err)
			return
		}
		st := p.NewState(true)
		var plan dispatch.Allocation
		for pb.Next() {
			p.Reset(st, true)
			for i := range ms {
				p.Allocate(st, ms[i], dispatch.Commitments{}, &plan)
			}
		}
	})
	b.ReportMetric(float64(b.N*len(ms))/b.Elapsed().Seconds(), "site-hours/s")
}

// BenchmarkHindsight solves and replays the hindsight bound over 2023, for the ratio
// of policy speed to solver speed.
func BenchmarkHindsight(b *testing.B) {
	spec, ms := benchMarkets(b)
	p, err := dispatch.New(dispatch.Compile(spec, dispatch.RuleMerit, dispatch.DefaultHysteresis))
	if err != nil {
		b.Fatal(err)
	}
	var margin float64
	b.ResetTimer()
	for b.Loop() {
		if err := p.Hindsight(ms, dispatch.Commitments{}, true, func(_ int, pl *dispatch.Allocation) { margin += pl.MarginUSD() }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(ms))/b.Elapsed().Seconds(), "site-hours/s")
}
