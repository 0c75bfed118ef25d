package econ_test

import (
	"testing"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/econ"
)

// The next megawatt and the opportunity ask of the example site's machines at PUE
// 1.05, each against a hand computation.
func TestNextMWAndOpportunityAtPUE105(t *testing.T) {
	s21 := &joule.HardwareModel{ID: "s21", Kind: joule.KindASIC, HashrateTHs: 200, PowerW: 3500}
	h100 := &joule.HardwareModel{ID: "h100-sxm", Kind: joule.KindGPUServer, GPUs: 8, PowerW: 10200, IdleW: 1700}
	site, err := joule.ResolveSite(&joule.Site{Name: "w", PUE: 1.05},
		[]*joule.Fleet{{Name: "gpu", Model: "h100-sxm"}, {Name: "hall", Model: "s21"}}, joule.ModelsByID([]*joule.HardwareModel{s21, h100}).Lookup)
	if err != nil {
		t.Fatal(err)
	}
	// Mining at $55/PH/day net: $0.055/TH/day over 0.42 kWh/TH/day = $130.95 per MWh the
	// S21 draws, / 1.05 = $124.72 per facility MWh. Leasing at $2 and 85%: $13.60 an hour
	// on (0.85 × 10.2 + 0.15 × 1.7) × 1.05 = 9.371 kW at the facility = $1,451.25 per MWh.
	in := econ.NextMWInput{Site: site, HashpriceNetUSDPerPHDay: 55, HashpriceKnown: true, EnergyUSDPerMWh: 40, EnergyKnown: true, GPUUSDPerHour: 2, GPUUtilization: 0.85}
	got := econ.NextMW(in)
	mining := got.Mining.USDPerMWh
	near(t, "mining", mining, 124.72, 0.005)
	near(t, "leasing", got.GPU.USDPerMWh, 1451.25, 0.005)
	if got.Better != econ.Lease || got.Mining.Model != "s21" || got.GPU.Model != "h100-sxm" {
		t.Errorf("next MW: %+v", got)
	}
	// The GPU-hour that makes leasing the next megawatt worth what mining is: $124.72 ×
	// 9.371 kW / 1000 / (8 × 0.85) = $0.1719. Below it mining is better.
	in.GPUUSDPerHour = 0.17
	if got := econ.NextMW(in); got.Better != econ.Mine {
		t.Errorf("at $0.17 a GPU-hour: %+v, want mine", got)
	}
	in.EnergyUSDPerMWh = 200 // above both at that price
	if got := econ.NextMW(in); got.Better != econ.Neither {
		t.Errorf("energy at $200: %+v, want neither", got)
	}
	in.HashpriceKnown = false
	if got := econ.NextMW(in); got.Mining != nil {
		t.Errorf("stale hashprice valued mining: %+v", got.Mining)
	}

	// The opportunity ask of a leased H100 GPU-hour: the server draws 10.2 kW (10.71 kW at
	// the facility), which would run S21s earning $124.72 per facility MWh: $1.3357 an
	// hour, $0.1670 per GPU-hour. The ask and the next-MW view use one figure of mining.
	near(t, "opportunity", econ.OpportunityCostUSDPerGPUHour(mining, 10.2, 1.05, 8), 0.1670, 0.00005)
}
