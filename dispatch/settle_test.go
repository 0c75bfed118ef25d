package dispatch_test

import (
	"math"
	"testing"

	"github.com/joule-site/joule/dispatch"
)

// A plan made on one day's prices, settled at another's, by hand: at $20/MWh and
// $56/PH/day every machine of the example site runs at stock; settled at $200/MWh and
// $40/PH/day the same machines earn 40/56 of their mining revenue, the GPUs what they
// were priced at, and every watt drawn costs $200/MWh.
func TestSettleReprices(t *testing.T) {
	p := policy(t, westTexas(dispatch.RuleMerit))
	st := p.NewState(true)
	decided := market(0, 20)
	var plan dispatch.Allocation
	p.Allocate(st, decided, dispatch.Commitments{}, &plan)
	if plan.Units[0].RunningFrac != 1 || plan.Units[1].RunningFrac != 1 || math.Abs(plan.Units[0].PowerFrac-1) > 1e-9 {
		t.Fatalf("at $20 the fleets should run at stock: %+v", plan.Units)
	}
	before := plan
	before.Units = append([]dispatch.UnitPlan(nil), plan.Units...)

	// Settled at the prices it was made on, nothing changes.
	p.Settle(&plan, &decided, &decided)
	if plan.RevenueUSD != before.RevenueUSD || plan.EnergyUSD != before.EnergyUSD {
		t.Fatalf("settled at its own prices: revenue %v → %v, energy %v → %v", before.RevenueUSD, plan.RevenueUSD, before.EnergyUSD, plan.EnergyUSD)
	}

	actual := decided
	actual.EnergyUSDPerMWh, actual.HashpriceUSDPerPHDay = 200, 40
	p.Settle(&plan, &decided, &actual)
	// Mining revenue for an hour: 6000 × 200 TH/s + 4000 × 104 TH/s = 1,616,000 TH/s
	// = 1616 PH/s, at $40/PH/day ÷ 24 h.
	miningUSD := 1616.0 * 40 / 24
	// GPUs: 32 servers × 8 GPUs × 0.85 sold × $2 for the hour.
	gpuUSD := 32 * 8 * 0.85 * 2.0
	near := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	near("mining revenue", plan.Units[0].RevenueUSD+plan.Units[1].RevenueUSD, miningUSD)
	near("GPU revenue", plan.Units[2].RevenueUSD, gpuUSD)
	near("revenue", plan.RevenueUSD, miningUSD+gpuUSD)
	// Energy: the draw planned, for an hour, at $200/MWh (the plan's watts are floored).
	near("energy cost", plan.EnergyUSD, before.EnergyUSD*200/20)
	if d := plan.EnergyUSD - float64(plan.DrawW)/1e6*200; math.Abs(d) > 200e-6 {
		t.Errorf("energy cost %v is not the plan's %v W at $200/MWh (off by $%v)", plan.EnergyUSD, plan.DrawW, d)
	}
	if plan.DrawW != before.DrawW || plan.Units[0].RunningFrac != 1 {
		t.Error("settling changed what runs")
	}
}
