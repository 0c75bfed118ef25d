package dispatch_test

import (
	"math"
	"math/rand"
	"testing"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/dispatch"
)

func total(t *testing.T, p *dispatch.Policy, ms []dispatch.Interval, running bool) float64 {
	t.Helper()
	st := p.NewState(running)
	var plan dispatch.Allocation
	sum := 0.0
	for _, m := range ms {
		p.Allocate(st, m, dispatch.Commitments{}, &plan)
		sum += plan.MarginUSD()
	}
	return sum
}

func hindsight(t *testing.T, site dispatch.Site, ms []dispatch.Interval, running bool) float64 {
	t.Helper()
	site.Rule = dispatch.RuleMerit
	p := policy(t, site)
	sum := 0.0
	if err := p.Hindsight(ms, dispatch.Commitments{}, running, func(_ int, pl *dispatch.Allocation) {
		if pl.AllocatedW > pl.CapW {
			t.Fatalf("hindsight allocated %v above cap %v", pl.AllocatedW, pl.CapW)
		}
		sum += pl.MarginUSD()
	}); err != nil {
		t.Fatal(err)
	}
	return sum
}

// No rule beats the hindsight bound, over random uncongested sites and price paths.
func TestHindsightBoundsEveryRule(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	for n := range 300 {
		site := westTexas(dispatch.RuleMerit)
		site.Units = append([]dispatch.Unit(nil), site.Units...)
		site.CapW = 200_000_000
		site.Hysteresis = dispatch.Hysteresis{BandUSDPerMWh: r.Float64() * 15, MinOnSec: r.Int63n(4) * 3600, MinOffSec: r.Int63n(4) * 3600, WarmupSec: r.Int63n(1800)}
		ms := make([]dispatch.Interval, 24+r.Intn(100))
		for i := range ms {
			ms[i] = market(int64(i)*3600, price(r))
			ms[i].HashpriceUSDPerPHDay = 40 + r.Float64()*40
		}
		running := r.Intn(2) == 0
		best := hindsight(t, site, ms, running)
		rules := []dispatch.Rule{dispatch.RuleMerit}
		if site.Hysteresis.MinOnSec <= 3600 && site.Hysteresis.MinOffSec <= 3600 {
			rules = append(rules, dispatch.RuleStrike, dispatch.RuleAlways) // they ignore minimum times
		}
		for _, rule := range rules {
			s := site
			s.Rule = rule
			if got := total(t, policy(t, s), ms, running); got > best+1e-6*math.Abs(best)+1e-6 {
				t.Fatalf("case %d: %v earned %.4f, above the hindsight bound %.4f", n, rule, got, best)
			}
		}
	}
}

// With nothing to switch, the bound is what the policy earns.
func TestHindsightMatchesPolicyWhenNothingSwitches(t *testing.T) {
	site := westTexas(dispatch.RuleMerit)
	site.CapW = 200_000_000
	ms := make([]dispatch.Interval, 48)
	for i := range ms {
		ms[i] = market(int64(i)*3600, 20+float64(i%5))
	}
	got, want := total(t, policy(t, site), ms, true), hindsight(t, site, ms, true)
	if math.Abs(got-want) > 1e-6 {
		t.Errorf("policy %.6f, hindsight %.6f", got, want)
	}
}

// Knowing a two-hour spike is coming, the bound rides it out only if stopping pays.
func TestHindsightRidesOutShortSpikes(t *testing.T) {
	site := westTexas(dispatch.RuleMerit)
	site.Units = site.Units[:1]
	site.CapW = 200_000_000
	site.Hysteresis = dispatch.Hysteresis{WarmupSec: 3600} // a restart costs a whole hour of hashing
	ms := make([]dispatch.Interval, 10)
	for i := range ms {
		ms[i] = market(int64(i)*3600, 30)
	}
	ms[4].EnergyUSDPerMWh, ms[5].EnergyUSDPerMWh = 160, 160 // above even the S21 60% setting (146 $/MWh)
	var running []bool
	p := policy(t, site)
	if err := p.Hindsight(ms, dispatch.Commitments{}, true, func(_ int, pl *dispatch.Allocation) {
		running = append(running, pl.Units[0].RunningFrac == 1)
	}); err != nil {
		t.Fatal(err)
	}
	for i, r := range running {
		if !r {
			t.Errorf("hour %d: stopped, though restarting costs more than the spike", i)
		}
	}
}

func TestHindsightRefusesACongestedCap(t *testing.T) {
	site := westTexas(dispatch.RuleMerit)
	site.CapW = 10_000_000
	p := policy(t, site)
	err := p.Hindsight([]dispatch.Interval{market(0, 30)}, dispatch.Commitments{}, true, func(int, *dispatch.Allocation) {})
	if joule.ErrorCode(err) != joule.ECAPACITY {
		t.Errorf("err %v, want code %q", err, joule.ECAPACITY)
	}
}
