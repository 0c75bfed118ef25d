package econ_test

import (
	"math"
	"testing"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/econ"
)

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.6g, want %.6g ± %g", what, got, want, tol)
	}
}

func TestSubsidy(t *testing.T) {
	tests := []struct {
		height int64
		want   joule.Sats
	}{
		{0, 50 * joule.SatsPerBTC},
		{209_999, 50 * joule.SatsPerBTC},
		{210_000, 25 * joule.SatsPerBTC},
		{420_000, 1_250_000_000},
		{630_000, 625_000_000},
		{839_999, 625_000_000},
		{840_000, 312_500_000}, // April 2024 halving
		{1_050_000, 156_250_000},
		{210_000 * 32, 1}, // 5e9 >> 32 = 1 sat
		{210_000 * 33, 0},
		{210_000 * 64, 0}, // no undefined shift past 63 halvings
		{-1, 0},
	}
	for _, tt := range tests {
		if got := econ.Subsidy(tt.height); got != tt.want {
			t.Errorf("Subsidy(%d) = %d, want %d", tt.height, got, tt.want)
		}
	}
}

func TestComputeHashprice(t *testing.T) {
	tests := []struct {
		name    string
		in      econ.MarketDay
		wantBTC float64
		wantUSD float64
	}{
		{
			// 86400e15 × 3.125 / (1e14 × 2^32) = 6.2864e-4 BTC per PH/s per day.
			name:    "subsidy only",
			in:      econ.MarketDay{Height: 850_000, Difficulty: 1e14, PriceUSD: 100_000},
			wantBTC: 86400e15 * 3.125 / (1e14 * 4294967296),
			wantUSD: 86400e15 * 3.125 / (1e14 * 4294967296) * 100_000,
		},
		{
			name:    "fees add to the subsidy",
			in:      econ.MarketDay{Height: 850_000, Difficulty: 1e14, FeesPerBlockBTC: 0.125, PriceUSD: 100_000},
			wantBTC: 86400e15 * 3.25 / (1e14 * 4294967296),
			wantUSD: 86400e15 * 3.25 / (1e14 * 4294967296) * 100_000,
		},
		{
			name: "no difficulty gives zero, not infinity",
			in:   econ.MarketDay{Height: 850_000, PriceUSD: 100_000},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := econ.ComputeHashprice(tt.in)
			near(t, "BTC/PH/day", h.BTCPerPHDay, tt.wantBTC, 1e-12)
			near(t, "USD/PH/day", h.USDPerPHDay, tt.wantUSD, 1e-6)
		})
	}
	h := econ.ComputeHashprice(econ.MarketDay{Height: 850_000, Difficulty: 1e14, FeesPerBlockBTC: 0.125, PriceUSD: 1})
	near(t, "fee share", h.FeeShare, 0.125/3.25, 1e-12)
	near(t, "USD/TH/day", h.USDPerTHDay(), h.USDPerPHDay/1000, 1e-15)
}

func TestNetworkHashrate(t *testing.T) {
	// Difficulty 108.5T (late Dec 2024) ≈ 777 EH/s.
	near(t, "EH/s", econ.NetworkHashrate(108_522_647_629_298)/1e18, 776.8, 0.1)
}

func TestBreakeven(t *testing.T) {
	tests := []struct {
		name                       string
		hashprice, jPerTH, poolFee float64
		want, tol                  float64
	}{
		{"S21 17.5 J/TH at $55/PH/day", 55, 17.5, 0, 131, 0.5},
		{"exact arithmetic", 55, 17.5, 0, 0.055 / (0.024 * 17.5) * 1000, 1e-9},
		{"pool fee lowers breakeven", 55, 17.5, 0.02, 0.98 * 0.055 / (0.024 * 17.5) * 1000, 1e-9},
		{"S19j Pro 29.5 J/TH", 55, 29.5, 0, 77.68, 0.01},
		{"no efficiency", 55, 0, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			near(t, "breakeven", econ.BreakevenUSDPerMWh(tt.hashprice, tt.jPerTH, tt.poolFee), tt.want, tt.tol)
		})
	}
}

func TestGPUValue(t *testing.T) {
	// 8 GPUs × $2 × 0.85 = $13.60 an hour; the server draws 10.2 kW for the 85% of
	// GPU-hours that sell and 1.7 kW idle for the rest: 8.925 kW, × PUE 1.2 = 10.71 kW
	// at the facility → $13.60 / 10.71 kWh = $1,269.84 per MWh.
	near(t, "value", econ.GPUUSDPerFacilityMWh(2, 8, 0.85, 10.2, 1.7, 1.2), 1269.84, 0.005)
	near(t, "zero kW", econ.GPUUSDPerFacilityMWh(2, 8, 0.85, 0, 0, 1.2), 0, 0)
}

func TestMiningValue(t *testing.T) {
	// An S21 (17.5 J/TH) at $55/PH/day: $0.055/TH/day over 0.42 kWh/TH/day = $130.95
	// per MWh it draws; at PUE 1.05 a facility MWh runs 1/1.05 of that: $124.72.
	near(t, "PUE 1", econ.MiningUSDPerFacilityMWh(55, 17.5, 1), 130.95, 0.005)
	near(t, "PUE 1.05", econ.MiningUSDPerFacilityMWh(55, 17.5, 1.05), 124.72, 0.005)
}

func TestPaybackAndNPV(t *testing.T) {
	if m, ok := econ.PaybackMonths(1200, 100); !ok || m != 12 {
		t.Errorf("PaybackMonths(1200, 100) = %v, %v; want 12, true", m, ok)
	}
	if _, ok := econ.PaybackMonths(1200, -5); ok {
		t.Error("a negative margin must never pay back")
	}
	near(t, "NPV at 0%", econ.NPV(1000, []float64{400, 400, 400}, 0), 200, 1e-9)
	// One flow of 1100 after 12 months at 10% a year is worth 1000 today.
	flows := make([]float64, 12)
	flows[11] = 1100
	near(t, "NPV at 10%", econ.NPV(1000, flows, 0.10), 0, 1e-9)
	near(t, "steady NPV at 0%", econ.SteadyNPV(1000, 100, 1.5, 0), 800, 1e-9)
	near(t, "depreciation", econ.StraightLineDepreciationPerYear(5000, 500, 3), 1500, 1e-9)
}

func models() (*joule.HardwareModel, *joule.HardwareModel) {
	asic := &joule.HardwareModel{ID: "s21", Kind: joule.KindASIC, Name: "S21", PowerW: 3500, IdleW: 20, HashrateTHs: 200, PriceUSD: 3000}
	gpu := &joule.HardwareModel{ID: "h100-sxm", Kind: joule.KindGPUServer, Name: "8x H100", PowerW: 10200, IdleW: 2000, GPUs: 8, PriceUSD: 250_000}
	return asic, gpu
}

func baseInput() econ.CompareInput {
	asic, gpu := models()
	return econ.CompareInput{
		MW: 10, HashpriceUSDPerPHDay: 55, ASIC: asic, GPU: gpu, GPUUSDPerHour: 2,
		Assumptions: econ.Assumptions{PUE: 1, Utilization: 0.85, DiscountRate: 0.1, ASICLifeYears: 3, GPULifeYears: 5, EnergyUSDPerMWh: 45},
	}
}

func TestCompare(t *testing.T) {
	c, err := econ.Compare(baseInput())
	if err != nil {
		t.Fatal(err)
	}
	if c.Mining.Units != 2857 || c.Leasing.Units != 980 {
		t.Errorf("units = %d miners, %d servers; want 2857, 980", c.Mining.Units, c.Leasing.Units)
	}
	// Mining: 2857 × 200 TH × $0.055 = $31,427/day on 2857 × 3.5 kW × 24 h = 239.988 MWh.
	near(t, "mining revenue", c.Mining.RevenueUSDDay, 2857*200*0.055, 1e-6)
	near(t, "mining energy", c.Mining.EnergyMWhPerDay, 2857*3.5*24/1e3, 1e-9)
	near(t, "mining value/MWh = breakeven", c.Mining.ValueUSDPerMWh, econ.BreakevenUSDPerMWh(55, 17.5, 0), 1e-9)
	near(t, "mining value/MWh is econ's", c.Mining.ValueUSDPerMWh, econ.MiningUSDPerFacilityMWh(55, 17.5, 1), 1e-9)
	// Leasing: 980 × 8 × 0.85 × 24 GPU-hours × $2.
	near(t, "leasing revenue", c.Leasing.RevenueUSDDay, 980*8*0.85*24*2, 1e-6)
	near(t, "leasing energy", c.Leasing.EnergyMWhPerDay, 980*(0.85*10.2+0.15*2.0)*24/1e3, 1e-9)

	// At the crossover price the two daily margins are equal.
	in := baseInput()
	in.GPUUSDPerHour = c.CrossoverUSDPerGPUHour
	at, err := econ.Compare(in)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "margins at crossover", at.Leasing.MarginUSDDay, at.Mining.MarginUSDDay, 1e-6)
	// And with capex spread over each life.
	in.GPUUSDPerHour = c.CrossoverWithCapexUSDPerGPUHour
	at, _ = econ.Compare(in)
	perDay := func(o econ.Option) float64 { return o.MarginUSDDay - o.CapexUSD/(o.LifeYears*365.2425) }
	near(t, "margins net of capex at crossover", perDay(at.Leasing), perDay(at.Mining), 1e-6)

	if c.Mining.PaybackMonths <= 0 || c.Leasing.PaybackMonths <= 0 {
		t.Errorf("both options should pay back at $45/MWh: %v, %v", c.Mining.PaybackMonths, c.Leasing.PaybackMonths)
	}
	in = baseInput()
	in.EnergyUSDPerMWh = 500
	dear, _ := econ.Compare(in)
	if dear.Mining.PaybackMonths != -1 {
		t.Errorf("mining at $500/MWh pays back in %v months; want never (-1)", dear.Mining.PaybackMonths)
	}
}

func TestCompareRejectsBadInput(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*econ.CompareInput)
	}{
		{"negative megawatts", func(in *econ.CompareInput) { in.MW = -10 }},
		{"NaN megawatts", func(in *econ.CompareInput) { in.MW = math.NaN() }},
		{"too small for one server", func(in *econ.CompareInput) { in.MW = 0.005 }},
		{"gpu as asic", func(in *econ.CompareInput) { in.ASIC = in.GPU }},
		{"utilization above 1", func(in *econ.CompareInput) { in.Utilization = 1.5 }},
		{"zero utilization", func(in *econ.CompareInput) { in.Utilization = 0 }},
		{"pue below 1", func(in *econ.CompareInput) { in.PUE = 0.9 }},
		{"negative gpu price", func(in *econ.CompareInput) { in.GPUUSDPerHour = -1 }},
		{"pool fee of 100%", func(in *econ.CompareInput) { in.PoolFee = 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := baseInput()
			tt.mutate(&in)
			_, err := econ.Compare(in)
			if code := joule.ErrorCode(err); code != joule.EINVALID {
				t.Fatalf("error code = %q (%v), want %q", code, err, joule.EINVALID)
			}
		})
	}
}

func TestOpportunityCost(t *testing.T) {
	// An S21 at $55/PH/day earns $130.95 per MWh it draws, $124.72 per facility MWh
	// at PUE 1.05. A leased 8×H100 server at 10.2 kW draws 10.71 kWh an hour at the
	// facility, which would run S21s drawing 10.2 kWh: 10.2 × $0.13095 = $1.3357 of
	// mining an hour, $0.1670 per GPU-hour. (PUE cancels: the server's facility power
	// and the miners' it displaces are both IT power × PUE.)
	mining := econ.MiningUSDPerFacilityMWh(55, 17.5, 1.05)
	near(t, "S21 at $55", econ.OpportunityCostUSDPerGPUHour(mining, 10.2, 1.05, 8), 0.1670, 0.00005)
	near(t, "PUE 1", econ.OpportunityCostUSDPerGPUHour(econ.MiningUSDPerFacilityMWh(55, 17.5, 1), 10.2, 1, 8), 0.1670, 0.00005)
	near(t, "no GPUs", econ.OpportunityCostUSDPerGPUHour(mining, 10.2, 1.05, 0), 0, 0)
	near(t, "mining loses", econ.OpportunityCostUSDPerGPUHour(-5, 10.2, 1.05, 8), 0, 0)
}

// TestMeanSubsidyBlendsHalvingDays prices a day with a halving in it by the blocks on
// each side, by hand: 110 blocks at 6.25 BTC and 34 at 3.125 average 5.5122 BTC.
func TestMeanSubsidyBlendsHalvingDays(t *testing.T) {
	halving := int64(4 * econ.HalvingInterval) // block 840,000
	for _, tt := range []struct {
		height int64
		blocks float64
		want   float64
	}{
		{halving - 110, 144, (110*6.25 + 34*3.125) / 144},
		{halving - 200, 144, 6.25}, // the day ends before the halving
		{halving, 144, 3.125},      // the halving is the day's first block
		{halving - 1, 1, 6.25},
		{halving - 110, 0, 6.25}, // no span: the subsidy at the height
	} {
		if got := econ.MeanSubsidy(tt.height, tt.blocks); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("MeanSubsidy(%d, %v) = %.6f, want %.6f", tt.height, tt.blocks, got, tt.want)
		}
	}
	day := econ.MarketDay{Height: halving - 110, Blocks: 144, Difficulty: 8.6e13, PriceUSD: 64000}
	blended, opening := econ.ComputeHashprice(day), econ.ComputeHashprice(econ.MarketDay{Height: halving - 110, Difficulty: 8.6e13, PriceUSD: 64000})
	if ratio := blended.USDPerPHDay / opening.USDPerPHDay; math.Abs(ratio-(110*6.25+34*3.125)/144/6.25) > 1e-12 {
		t.Errorf("blended hashprice is %.4f of the opening subsidy's; want the subsidies' ratio", ratio)
	}
}
