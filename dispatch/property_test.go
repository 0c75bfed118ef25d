package dispatch_test

import (
	"math"
	"math/rand"
	"reflect"
	"testing"
	"testing/quick"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/dispatch"
)

// scenario is a random site, a run of random markets and random commitments.
type scenario struct {
	Site     dispatch.Site
	Markets  []dispatch.Interval
	Leases   []dispatch.Lease
	Events   []dispatch.Event
	Starting bool
}

// Generate implements quick.Generator.
func (scenario) Generate(r *rand.Rand, _ int) reflect.Value {
	s := scenario{Starting: r.Intn(2) == 0}
	site := dispatch.Site{
		CapW:       joule.Watts(1 + r.Int63n(80_000_000)),
		PUE:        1 + r.Float64()*0.6,
		Rule:       dispatch.Rule(r.Intn(3)),
		Hysteresis: dispatch.Hysteresis{BandUSDPerMWh: r.Float64() * 20, MinOnSec: r.Int63n(4) * 3600, MinOffSec: r.Int63n(4) * 3600, WarmupSec: r.Int63n(900)},
	}
	for range 1 + r.Intn(6) {
		power := joule.Watts(500 + r.Int63n(15_000))
		u := dispatch.Unit{Count: r.Intn(8000), PowerW: power, IdleW: joule.Watts(r.Int63n(int64(power) / 4))}
		if r.Intn(3) == 0 {
			u.Kind, u.GPUs, u.Count = joule.KindGPUServer, 1+r.Intn(8), r.Intn(200)
		} else {
			u.Kind, u.HashrateTHs = joule.KindASIC, 10+r.Float64()*400
			if r.Intn(2) == 0 {
				u.Profiles = dispatch.StockProfile
			}
		}
		site.Units = append(site.Units, u)
	}
	s.Site = site
	for h := range 1 + r.Intn(6) {
		s.Markets = append(s.Markets, dispatch.Interval{
			Now: int64(h) * 3600, IntervalSec: 3600,
			HashpriceUSDPerPHDay: r.Float64() * 400,
			EnergyUSDPerMWh:      price(r),
			GPUUSDPerHour:        r.Float64() * 10,
			GPUUtilization:       r.Float64(),
		})
	}
	for range r.Intn(4) {
		l := dispatch.Lease{Unit: r.Intn(len(site.Units) + 1), Servers: r.Intn(300) - 20, Class: []joule.LeaseClass{joule.LeaseFirm, joule.LeaseInterruptible, joule.LeaseCurtailable, ""}[r.Intn(4)], USDPerGPUHour: r.Float64() * 8, NoticeSec: r.Int63n(7200)}
		if r.Intn(2) == 0 { // a cap, sometimes one that cannot be honoured (below idle, or a capped price above the full one)
			l.CapFrac, l.CappedUSDPerGPUHour = r.Float64()*1.1, r.Float64()*9
		}
		s.Leases = append(s.Leases, l)
	}
	for range r.Intn(3) {
		deadline := r.Int63n(6 * 3600)
		s.Events = append(s.Events, dispatch.Event{ReduceToW: joule.Watts(r.Int63n(int64(site.CapW) + 1)), Deadline: deadline, End: r.Int63n(8 * 3600), Announced: deadline - r.Int63n(3*3600)})
	}
	return reflect.ValueOf(s)
}

// price draws an energy price like a wholesale market's: mostly modest, sometimes
// negative, now and then a scarcity spike.
func price(r *rand.Rand) float64 {
	switch r.Intn(10) {
	case 0:
		return -50 * r.Float64()
	case 1:
		return 5000 * r.Float64()
	}
	return 200 * r.Float64()
}

// TestNeverAboveTheCap: over 100,000 random sites, markets, leases and demand-response
// events, under every rule, planned power never exceeds the cap and every figure is a
// number.
func TestNeverAboveTheCap(t *testing.T) {
	cases := 100_000
	if testing.Short() {
		cases = 5_000
	}
	check := func(s scenario) bool {
		p, err := dispatch.New(s.Site)
		if err != nil {
			t.Logf("generated an invalid site: %v", err)
			return false
		}
		st := p.NewState(s.Starting)
		var plan dispatch.Allocation
		for _, m := range s.Markets {
			p.Allocate(st, m, dispatch.Commitments{Leases: s.Leases, Events: s.Events}, &plan)
			var units joule.Watts
			for _, u := range plan.Units {
				units += u.AllocatedW
				if u.RunningFrac < 0 || u.RunningFrac > 1+1e-9 || math.IsNaN(u.RevenueUSD) {
					t.Logf("unit plan out of range: %+v", u)
					return false
				}
			}
			if !leasePlansHold(t, s.Leases, plan) {
				return false
			}
			switch {
			case plan.CapW > s.Site.CapW:
				t.Logf("effective cap %v above the site cap %v", plan.CapW, s.Site.CapW)
				return false
			case plan.AllocatedW > plan.CapW, units > plan.CapW:
				t.Logf("allocated %v (units %v) above cap %v", plan.AllocatedW, units, plan.CapW)
				return false
			case plan.DrawW > plan.AllocatedW:
				t.Logf("draw %v above allocation %v", plan.DrawW, plan.AllocatedW)
				return false
			case math.IsNaN(plan.RevenueUSD) || math.IsInf(plan.RevenueUSD, 0) || math.IsNaN(plan.EnergyUSD) || math.IsInf(plan.EnergyUSD, 0):
				t.Logf("revenue %v, energy %v", plan.RevenueUSD, plan.EnergyUSD)
				return false
			}
		}
		return true
	}
	if err := quick.Check(check, &quick.Config{MaxCount: cases, Rand: rand.New(rand.NewSource(1))}); err != nil {
		t.Fatal(err)
	}
}

// leasePlansHold checks each lease's part of a plan: shares in [0, 1], no more capped
// than powered, a firm lease never capped, and no lease that may be interrupted powered
// while a firm lease is shed.
func leasePlansHold(t *testing.T, leases []dispatch.Lease, plan dispatch.Allocation) bool {
	if len(plan.Leases) != len(leases) {
		t.Logf("%d lease plans for %d leases", len(plan.Leases), len(leases))
		return false
	}
	shed := false
	for i, lp := range plan.Leases {
		l := leases[i]
		firm := l.Class == joule.LeaseFirm || l.Class == ""
		// A firm lease on a fleet switched off whole (its idle draw alone above an
		// event's cap) goes with the fleet; one shed on a powered fleet is shed for
		// power, and nothing interruptible may run then.
		if firm && lp.Servers > 0 && lp.PoweredFrac < 1-1e-9 && plan.Units[l.Unit].AllocatedW > 0 {
			shed = true
		}
		switch {
		case lp.PoweredFrac < 0 || lp.PoweredFrac > 1+1e-9 || lp.CappedFrac < -1e-9 || lp.CappedFrac > lp.PoweredFrac+1e-9:
			t.Logf("lease %d: powered %v capped %v", i, lp.PoweredFrac, lp.CappedFrac)
			return false
		case firm && lp.CappedFrac != 0:
			t.Logf("firm lease %d capped: %+v", i, lp)
			return false
		case math.IsNaN(lp.RevenueUSD) || lp.RevenueUSD < -1e-9:
			t.Logf("lease %d revenue %v", i, lp.RevenueUSD)
			return false
		}
	}
	if shed {
		for i, lp := range plan.Leases {
			if leases[i].Class == joule.LeaseInterruptible && lp.Servers > 0 && lp.PoweredFrac > 1e-9 {
				t.Logf("interruptible lease %d powered (%v) while a firm lease is shed: %+v", i, lp.PoweredFrac, plan.Leases)
				return false
			}
		}
	}
	return true
}
