package dispatch

import (
	"math"
	"testing"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/econ"
)

// The merit order values each segment of load as econ values a facility MWh, applied to
// the power the segment adds above the machines' idle draw (idle is held for every
// machine first): an ASIC at stock earns econ.MiningUSDPerFacilityMWh at its
// efficiency above idle; open GPU capacity econ.GPUUSDPerFacilityMWh with nothing
// drawn unsold above idle.
func TestSegmentValuesAreEcons(t *testing.T) {
	site := Site{CapW: 10_000_000, PUE: 1.05, Rule: RuleStrike, Units: []Unit{
		{Name: "s21", Kind: joule.KindASIC, Count: 100, PowerW: 3500, IdleW: 30, HashrateTHs: 200},
		{Name: "h100", Kind: joule.KindGPUServer, Count: 10, PowerW: 10200, IdleW: 1700, GPUs: 8},
	}}
	p, err := New(site)
	if err != nil {
		t.Fatal(err)
	}
	m := Interval{Now: 0, IntervalSec: 3600, HashpriceUSDPerPHDay: 55, EnergyUSDPerMWh: 40, GPUUSDPerHour: 2, GPUUtilization: 0.85}
	var out Allocation
	p.prepare(&m, &Commitments{}, &out)
	near := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9*max(1, math.Abs(want)) {
			t.Errorf("%s: %v $/MWh, econ says %v", what, got, want)
		}
	}
	if len(p.segs) != 2 {
		t.Fatalf("segments %+v, want an S21 base and open H100 capacity", p.segs)
	}
	for _, s := range p.segs {
		u := site.Units[s.unit]
		switch s.kind {
		case segBase:
			near("an S21 at stock", s.value, econ.MiningUSDPerFacilityMWh(55, float64(u.PowerW-u.IdleW)/u.HashrateTHs, 1.05))
		case segOpen:
			near("open H100 capacity", s.value, econ.GPUUSDPerFacilityMWh(2, u.GPUs, 0.85, (u.PowerW-u.IdleW).KW(), 0, 1.05))
		default:
			t.Errorf("unexpected segment %+v", s)
		}
	}
}
