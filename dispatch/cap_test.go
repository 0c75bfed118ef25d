package dispatch_test

import (
	"math"
	"testing"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/dispatch"
)

// gpuSite is ten 8-GPU servers of 10 kW (2 kW idle) in a hall of PUE 1, so that every
// figure below is counted by hand: 20 kW idle, 8 kW above idle a server at nameplate,
// 4.5 kW above idle under a 65% cap (6.5 kW at the wall).
func gpuSite(capW joule.Watts) dispatch.Site {
	return dispatch.Site{CapW: capW, PUE: 1, Rule: dispatch.RuleMerit, Hysteresis: dispatch.DefaultHysteresis,
		Units: []dispatch.Unit{{Name: "h100", Kind: joule.KindGPUServer, Count: 10, PowerW: 10_000, IdleW: 2_000, GPUs: 8}}}
}

// gpuMarket prices energy at $30/MWh and sells no open-market GPU-hours, so that only
// leases run.
func gpuMarket(now int64) dispatch.Interval {
	return dispatch.Interval{Now: now, IntervalSec: 600, EnergyUSDPerMWh: 30}
}

// An interruptible lease that may be capped is capped before any of its servers stop,
// and stopped before a firm lease loses power; the firm lease is never capped.
func TestInterruptibleCappedBeforeStopped(t *testing.T) {
	leases := []dispatch.Lease{
		{Unit: 0, Servers: 4, Class: joule.LeaseInterruptible, USDPerGPUHour: 2, CapFrac: 0.65, CappedUSDPerGPUHour: 1.6},
		{Unit: 0, Servers: 4, Class: joule.LeaseFirm, USDPerGPUHour: 1.5, CapFrac: 0.65, CappedUSDPerGPUHour: 1},
	}
	tests := []struct {
		capW                 joule.Watts
		powered, capped      float64 // the interruptible lease's shares
		firmPowered          float64
		cappedW, shedFirmW   joule.Watts
		interruptibleW       joule.Watts
		interruptibleRevenue float64 // USD over the 10-minute interval
	}{
		// 20 kW idle + 32 kW firm + 32 kW interruptible at nameplate.
		{capW: 84_000, powered: 1, capped: 0, firmPowered: 1, interruptibleW: 32_000, interruptibleRevenue: 32 * 2.0 / 6},
		// 7 kW short: half the interruptible servers capped (14 kW above their caps).
		{capW: 77_000, powered: 1, capped: 0.5, firmPowered: 1, cappedW: 7_000, interruptibleW: 25_000, interruptibleRevenue: (16*2.0 + 16*1.6) / 6},
		// 14 kW short: every interruptible server capped, none stopped.
		{capW: 70_000, powered: 1, capped: 1, firmPowered: 1, cappedW: 14_000, interruptibleW: 18_000, interruptibleRevenue: 32 * 1.6 / 6},
		// 23 kW short: half of them stopped, the other half capped.
		{capW: 61_000, powered: 0.5, capped: 0.5, firmPowered: 1, cappedW: 7_000, interruptibleW: 9_000, interruptibleRevenue: 16 * 1.6 / 6},
		// Below the firm lease: the interruptible one is off, the firm one shed in part.
		{capW: 36_000, powered: 0, capped: 0, firmPowered: 0.5, shedFirmW: 16_000},
	}
	for _, tt := range tests {
		p := policy(t, gpuSite(tt.capW))
		var plan dispatch.Allocation
		p.Allocate(p.NewState(true), gpuMarket(0), dispatch.Commitments{Leases: leases}, &plan)
		spot, firm := plan.Leases[0], plan.Leases[1]
		if !near(spot.PoweredFrac, tt.powered) || !near(spot.CappedFrac, tt.capped) {
			t.Errorf("cap %v: interruptible powered %.3f capped %.3f, want %.3f and %.3f", tt.capW, spot.PoweredFrac, spot.CappedFrac, tt.powered, tt.capped)
		}
		if !near(firm.PoweredFrac, tt.firmPowered) || firm.CappedFrac != 0 {
			t.Errorf("cap %v: firm powered %.3f capped %.3f, want %.3f and never capped", tt.capW, firm.PoweredFrac, firm.CappedFrac, tt.firmPowered)
		}
		if !wattsNear(plan.CappedW, tt.cappedW) || !wattsNear(plan.ShedFirmW, tt.shedFirmW) || !wattsNear(plan.InterruptibleGPUW, tt.interruptibleW) {
			t.Errorf("cap %v: capped %v shed %v interruptible %v, want %v, %v and %v", tt.capW, plan.CappedW, plan.ShedFirmW, plan.InterruptibleGPUW, tt.cappedW, tt.shedFirmW, tt.interruptibleW)
		}
		if math.Abs(spot.RevenueUSD-tt.interruptibleRevenue) > 1e-6 {
			t.Errorf("cap %v: interruptible lease earns $%.4f, want $%.4f", tt.capW, spot.RevenueUSD, tt.interruptibleRevenue)
		}
		if plan.AllocatedW > tt.capW {
			t.Errorf("cap %v: allocated %v", tt.capW, plan.AllocatedW)
		}
	}
}

// A curtailable lease is powered as firm outside a demand-response event and until its
// notice has run from the event's announcement; then it is capped and curtailed before
// the firm lease loses power. Before its notice, when the cap cannot hold both, the
// curtailable lease is shed first.
func TestCurtailableAfterNotice(t *testing.T) {
	leases := []dispatch.Lease{
		{Unit: 0, Servers: 4, Class: joule.LeaseCurtailable, NoticeSec: 1800, USDPerGPUHour: 2, CapFrac: 0.65, CappedUSDPerGPUHour: 1.6},
		{Unit: 0, Servers: 4, Class: joule.LeaseFirm, USDPerGPUHour: 1.5},
	}
	event := dispatch.Event{ReduceToW: 61_000, Announced: 1000, Deadline: 2000, End: 20_000}
	c := dispatch.Commitments{Leases: leases, Events: []dispatch.Event{event}}
	p := policy(t, gpuSite(100_000))
	st := p.NewState(true)
	var plan dispatch.Allocation

	// Before the event: both leases whole.
	p.Allocate(st, gpuMarket(0), c, &plan)
	if plan.Leases[0].PoweredFrac != 1 || plan.Leases[0].CappedFrac != 0 || plan.Leases[1].PoweredFrac != 1 || plan.ShedFirmW != 0 {
		t.Fatalf("before the event: %+v, shed %v", plan.Leases, plan.ShedFirmW)
	}
	// In the event, before the curtailable lease's notice (announced at 1000, notice
	// 1800 s: curtailable from 2800): 61 kW holds 20 idle + 32 firm + 9 of the
	// curtailable lease's 32, and the 23 kW short is a breach of the curtailable lease.
	p.Allocate(st, gpuMarket(1800), c, &plan)
	if plan.Leases[1].PoweredFrac != 1 || !near(plan.Leases[0].PoweredFrac, 9.0/32) || plan.Leases[0].CappedFrac != 0 || !wattsNear(plan.ShedFirmW, 23_000) {
		t.Errorf("before notice: %+v, shed %v", plan.Leases, plan.ShedFirmW)
	}
	// After the notice: the curtailable lease is capped, then curtailed; no breach.
	p.Allocate(st, gpuMarket(3000), c, &plan)
	if plan.Leases[1].PoweredFrac != 1 || !near(plan.Leases[0].PoweredFrac, 0.5) || !near(plan.Leases[0].CappedFrac, 0.5) || plan.ShedFirmW != 0 {
		t.Errorf("after notice: %+v, shed %v", plan.Leases, plan.ShedFirmW)
	}
	if !wattsNear(plan.FirmGPUW, 32_000+9_000) || !wattsNear(plan.CappedW, 7_000) {
		t.Errorf("after notice: firm-priced power %v, capped %v", plan.FirmGPUW, plan.CappedW)
	}
	// After the event: whole again.
	p.Allocate(st, gpuMarket(20_000), c, &plan)
	if plan.Leases[0].PoweredFrac != 1 || plan.Leases[0].CappedFrac != 0 || plan.CapW != 100_000 {
		t.Errorf("after the event: %+v, cap %v", plan.Leases, plan.CapW)
	}
}

// A lease whose capped price earns less per watt than lifting its cap is not split: it
// would be lifted before it is powered. It is curtailed whole instead.
func TestUncappableLeaseIsCurtailedWhole(t *testing.T) {
	leases := []dispatch.Lease{{Unit: 0, Servers: 4, Class: joule.LeaseInterruptible, USDPerGPUHour: 2, CapFrac: 0.65, CappedUSDPerGPUHour: 0.2}}
	p := policy(t, gpuSite(38_000))
	var plan dispatch.Allocation
	p.Allocate(p.NewState(true), gpuMarket(0), dispatch.Commitments{Leases: leases}, &plan)
	if plan.Leases[0].CappedFrac != 0 || plan.CappedW != 0 || !near(plan.Leases[0].PoweredFrac, 18.0/32) {
		t.Errorf("%+v, capped %v", plan.Leases, plan.CappedW)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func wattsNear(a, b joule.Watts) bool { return a-b <= 1 && b-a <= 1 }
