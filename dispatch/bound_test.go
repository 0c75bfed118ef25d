package dispatch_test

import (
	"math"
	"math/rand"
	"testing"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/dispatch"
)

// Where the cap does not bind, the bound is the exact hindsight optimum (minimum
// times of one interval bind nothing); where it binds, no rule earns more than it.
func TestHindsightBound(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	for n := range 60 {
		site := westTexas(dispatch.RuleMerit)
		site.Units = append([]dispatch.Unit(nil), site.Units...)
		site.Hysteresis = dispatch.Hysteresis{BandUSDPerMWh: r.Float64() * 10, MinOnSec: 3600, MinOffSec: 3600, WarmupSec: r.Int63n(1200)}
		congested := n%2 == 1
		site.CapW = 200_000_000
		if congested {
			site.CapW = joule.Watts(10_000_000 + r.Int63n(20_000_000)) // the site draws about 35 MW
		}
		ms := make([]dispatch.Interval, 24+r.Intn(72))
		for i := range ms {
			ms[i] = market(int64(i)*3600, price(r))
			ms[i].HashpriceUSDPerPHDay = 40 + r.Float64()*40
			ms[i].GPUUSDPerHour = r.Float64() * 3
		}
		p := policy(t, site)
		bound, ok, err := p.HindsightBound(ms, dispatch.Commitments{}, true)
		if err != nil || !ok {
			t.Fatalf("case %d: %v, %v", n, ok, err)
		}
		if !congested {
			if exact := hindsight(t, site, ms, true); math.Abs(bound-exact) > 1e-6*math.Abs(exact)+1e-6 {
				t.Errorf("case %d: uncongested bound %.4f, exact optimum %.4f", n, bound, exact)
			}
		}
		for _, rule := range []dispatch.Rule{dispatch.RuleMerit, dispatch.RuleStrike, dispatch.RuleAlways} {
			s := site
			s.Rule = rule
			if got := total(t, policy(t, s), ms, true); got > bound+1e-6*math.Abs(bound)+1e-6 {
				t.Fatalf("case %d (congested %v): %v earned %.4f above the bound %.4f", n, congested, rule, got, bound)
			}
		}
	}
}
