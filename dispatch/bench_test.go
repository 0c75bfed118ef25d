package dispatch_test

import (
	"testing"

	"github.com/joule-site/joule/dispatch"
)

// BenchmarkPlan is one interval of the example site under Joule's policy.
func BenchmarkPlan(b *testing.B) {
	p := policy(b, westTexas(dispatch.RuleMerit))
	st := p.NewState(true)
	var plan dispatch.Allocation
	m := market(0, 0)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m.Now = int64(i) * 3600
		m.EnergyUSDPerMWh = float64(i%200) - 20
		p.Allocate(st, m, dispatch.Commitments{}, &plan)
		i++
	}
}
