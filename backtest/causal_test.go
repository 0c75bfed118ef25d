package backtest

import (
	"math"
	"testing"
	"time"

	"github.com/joule-site/joule/dispatch"
	"github.com/joule-site/joule/forecast"
	"github.com/joule-site/joule/history"
)

// A backtest's plans never read the future: changing the price of one interval k
// changes no plan before k+1 (the first that can know it, once k has settled) and
// changes the settled result of k itself. And a plan decides on the previous UTC day's
// hashprice, not its own day's.
func TestPlansDoNotSeeTheFuture(t *testing.T) {
	spec := WestTexasForTest(t)
	h, err := history.Default()
	if err != nil {
		t.Fatal(err)
	}
	gpu, err := DefaultPricePath("h100-sxm")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2023, 8, 1, 0, 0, 0, 0, time.UTC)
	const hours = 10 * 24
	prices := func(spikeAt int) *history.EnergySeries {
		var ps []history.EnergyPoint
		for i := range hours {
			p := 30 + 25*math.Sin(float64(i)/24*2*math.Pi) // a daily swing around the fleets' values
			if i == spikeAt {
				p = 3000
			}
			ps = append(ps, history.EnergyPoint{Start: start.Add(time.Duration(i) * time.Hour), USDPerMWh: p})
		}
		s, err := history.NewEnergySeries(ps)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	const k = 100
	build := func(s *history.EnergySeries) *markets {
		mk, err := buildMarkets(marketInputs{site: spec.Site, from: start, to: start.Add((hours/24 - 2) * 24 * time.Hour),
			loc: time.UTC, series: s, hist: h, gpu: gpu, utilization: 0.85, forecaster: forecast.Persistence{}})
		if err != nil {
			t.Fatal(err)
		}
		return mk
	}
	base, spiked := build(prices(-1)), build(prices(k))
	for i := range base.decided {
		same := base.decided[i] == spiked.decided[i]
		if i <= k && !same {
			t.Fatalf("interval %d is planned on %+v with the spike at %d, %+v without: a plan saw the future", i, spiked.decided[i], k, base.decided[i])
		}
		if i == k+1 && same {
			t.Fatalf("interval %d, after the spike settled, is planned on the same %v: the test cannot tell", i, base.decided[i].EnergyUSDPerMWh)
		}
	}
	if spiked.decided[k+1].EnergyUSDPerMWh != 3000+spec.Site.Energy.AdderUSDPerMWh {
		t.Errorf("the interval after the spike planned on %v, want the spike's settled 3000 + adder", spiked.decided[k+1].EnergyUSDPerMWh)
	}

	site := dispatch.Compile(spec, dispatch.RuleMerit, dispatch.DefaultHysteresis)
	nop := func(int) {}
	a, _, err := simulate(t.Context(), site, base.decided, base.actual, nop)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := simulate(t.Context(), site, spiked.decided, spiked.actual, nop)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i <= k; i++ {
		if a.DrawW[i] != b.DrawW[i] {
			t.Fatalf("interval %d draws %v W with the spike at %d and %v W without", i, b.DrawW[i], k, a.DrawW[i])
		}
	}
	if !(b.Margin[k] < a.Margin[k]) {
		t.Errorf("the spiked interval settled at %v, not below %v: plans are not settled at the real price", b.Margin[k], a.Margin[k])
	}
	if a.DrawW[k+1] <= b.DrawW[k+1] {
		t.Errorf("after the spike the plan draws %v W, not less than %v W: the policy did not act on what it learned", b.DrawW[k+1], a.DrawW[k+1])
	}

	// Hashprice: each UTC day is planned on the day before's and settled at its own.
	day := func(i int) int { return int(time.Unix(base.actual[i].Now, 0).UTC().Sub(start) / (24 * time.Hour)) }
	checked := 0
	for i := 1; i < len(base.actual); i++ {
		if day(i) != day(i-1) {
			if base.decided[i].HashpriceUSDPerPHDay != base.actual[i-1].HashpriceUSDPerPHDay || base.decided[i].HashpriceUSDPerPHDay == base.actual[i].HashpriceUSDPerPHDay {
				t.Errorf("day %d is planned on hashprice %v; the day before settled at %v, the day itself at %v", day(i), base.decided[i].HashpriceUSDPerPHDay, base.actual[i-1].HashpriceUSDPerPHDay, base.actual[i].HashpriceUSDPerPHDay)
			}
			checked++
		}
	}
	if checked < 5 {
		t.Fatalf("only %d day boundaries checked", checked)
	}
}
