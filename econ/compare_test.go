package econ_test

import (
	"math"
	"testing"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/econ"
)

// readmeInput is the README's example, `joule compare --mw 10 --energy-usd-mwh 45
// --asic s21 --gpu h100-sxm --gpu-usd-hour 2.00 --utilization 0.85 --date 2024-12-23`,
// with the catalog's S21 and 8×H100 server, the day's gross hashprice from the embedded
// history, and every other input at its default.
func readmeInput() econ.CompareInput {
	return econ.CompareInput{
		MW:                   10,
		HashpriceUSDPerPHDay: 56.21742126407138, // 2024-12-23, as `joule econ` computes it
		ASIC:                 &joule.HardwareModel{ID: "s21", Kind: joule.KindASIC, PowerW: 3500, IdleW: 20, HashrateTHs: 200, PriceUSD: 2699},
		GPU:                  &joule.HardwareModel{ID: "h100-sxm", Kind: joule.KindGPUServer, PowerW: 10200, IdleW: 1700, GPUs: 8, PriceUSD: 269_000},
		GPUUSDPerHour:        2.00,
		Assumptions:          withEnergy(econ.DefaultAssumptions(), 45),
		Costs:                econ.DefaultCosts(),
	}
}

func withEnergy(a econ.Assumptions, usdPerMWh float64) econ.Assumptions {
	a.EnergyUSDPerMWh = usdPerMWh
	return a
}

// annuity is the present value of $1 at the end of each of months first..last, at a
// monthly discount factor v: v^first × (1 − v^n) ÷ (1 − v), n = last − first + 1 (the
// geometric series, not the code's month-by-month sum).
func annuity(v float64, first, last int) float64 {
	n := float64(last - first + 1)
	return math.Pow(v, float64(first)) * (1 - math.Pow(v, n)) / (1 - v)
}

// irrByNewton solves capex = margin × annuity(v(r)) for the annual rate r by Newton's
// method on the monthly rate, with a numerical derivative: a method of its own, to
// check the code's bisection.
func irrByNewton(capex, margin float64, first, last int) float64 {
	f := func(m float64) float64 { return margin*annuity(1/(1+m), first, last) - capex }
	m := 0.01
	for range 100 {
		h := 1e-7
		m -= f(m) / ((f(m+h) - f(m-h)) / (2 * h))
	}
	return math.Pow(1+m, 12) - 1
}

func TestCompareReadmeExample(t *testing.T) {
	c, err := econ.Compare(readmeInput())
	if err != nil {
		t.Fatal(err)
	}
	const (
		hashprice   = 56.21742126407138 // USD per PH per day, gross (no pool fee)
		daysAMonth  = 365.2425 / 12
		rate        = 0.12 // annual cost of capital
		energyPrice = 45.0 // USD per MWh
	)
	v := 1 / math.Pow(1+rate, 1.0/12) // monthly discount factor

	// Mining, at the mining site's PUE 1.05: ⌊10 MW ÷ (3.5 kW × 1.05)⌋ = ⌊2721.09⌋ = 2721 S21s.
	miners := 2721.0
	mRevenue := miners * 200 * hashprice / 1000     // TH/s × USD/PH/day ÷ 1000 = $30,593.52/day
	mEnergy := miners * 3.5 * 1.05 * 24 / 1000      // 239.9922 MWh/day
	mMargin := mRevenue - mEnergy*energyPrice       // $19,793.87/day
	mCapex := miners * 2699                         // $7,343,979, bought new: no resale counted
	mPV := mMargin * daysAMonth * annuity(v, 1, 48) // 4 years of months, from month 1
	mNPV := mPV - mCapex
	near(t, "miners", float64(c.Mining.Units), miners, 0)
	near(t, "mining margin/day", c.Mining.MarginUSDDay, mMargin, 1e-6)
	near(t, "mining capex", c.Mining.CapexUSD, mCapex, 1e-6)
	near(t, "mining NPV", c.Mining.NPVUSD, mNPV, 1e-3)
	near(t, "mining NPV, as the README prints it", c.Mining.NPVUSD, 15_797_752, 1)
	near(t, "mining PI", *c.Mining.ProfitabilityIndex, mPV/mCapex, 1e-9)
	near(t, "mining PI, as printed", *c.Mining.ProfitabilityIndex, 3.15, 0.005)
	near(t, "mining IRR", *c.Mining.IRR, irrByNewton(mCapex, mMargin*daysAMonth, 1, 48), 1e-6)
	near(t, "mining IRR, as printed", *c.Mining.IRR, 1.518, 0.0005)

	// Leasing, in a GPU hall at PUE 1.3: ⌊10 MW ÷ (10.2 kW × 1.3)⌋ = ⌊754.15⌋ = 754 servers.
	servers := 754.0
	gpuHours := servers * 8 * 0.85 * 24                           // 123,052.8 GPU-hours sold a day
	lEnergy := servers * (0.85*10.2 + 0.15*1.7) * 1.3 * 24 / 1000 // leased at nameplate, the rest idle: 209.96 MWh/day
	lCosts := lEnergy*energyPrice + servers*1.00*24               // energy + $1/server-hour of opex: $27,544.15/day
	lMargin := gpuHours*2.00 - lCosts                             // $218,561.45/day
	lCapex := servers*269_000*(1+0.10) + 10*4_000_000             // servers + 10% network and storage + $4M/MW conversion = $263,108,600
	// Six months to first revenue, then five years: months 7..66.
	lAnnuity := annuity(v, 7, 66)
	lPV := lMargin * daysAMonth * lAnnuity
	lNPV := lPV - lCapex
	near(t, "servers", float64(c.Leasing.Units), servers, 0)
	near(t, "leasing opex/day", c.Leasing.OpexUSDDay, servers*24, 1e-9)
	near(t, "leasing margin/day", c.Leasing.MarginUSDDay, lMargin, 1e-6)
	near(t, "leasing capex", c.Leasing.CapexUSD, lCapex, 1e-6)
	near(t, "leasing NPV", c.Leasing.NPVUSD, lNPV, 1e-3)
	near(t, "leasing NPV, as printed", c.Leasing.NPVUSD, 23_449_838, 1)
	near(t, "leasing PI", *c.Leasing.ProfitabilityIndex, lPV/lCapex, 1e-9)
	near(t, "leasing PI, as printed", *c.Leasing.ProfitabilityIndex, 1.09, 0.005)
	near(t, "leasing IRR", *c.Leasing.IRR, irrByNewton(lCapex, lMargin*daysAMonth, 7, 66), 1e-6)
	near(t, "leasing IRR, as printed", *c.Leasing.IRR, 0.155, 0.0005)
	near(t, "leasing payback", c.Leasing.PaybackMonths, 6+lCapex/(lMargin*daysAMonth), 1e-9)

	// Crossovers. Operating (capex sunk): p × gpuHours − costs = mining's margin.
	near(t, "operating crossover", c.CrossoverUSDPerGPUHour, (mMargin+lCosts)/gpuHours, 1e-12)
	near(t, "operating crossover, as printed", c.CrossoverUSDPerGPUHour, 0.38, 0.005)
	// On NPV: −capex + (p × gpuHours − costs) × days a month × annuity = mining's NPV.
	perDollar := gpuHours * daysAMonth * lAnnuity
	npvCross := (mNPV + lCapex + lCosts*daysAMonth*lAnnuity) / perDollar
	near(t, "NPV crossover", c.CrossoverNPVUSDPerGPUHour, npvCross, 1e-9)
	near(t, "NPV crossover, as printed", c.CrossoverNPVUSDPerGPUHour, 1.95, 0.005)
	breakeven := (lCapex + lCosts*daysAMonth*lAnnuity) / perDollar
	near(t, "breakeven", c.BreakevenUSDPerGPUHour, breakeven, 1e-9)
	near(t, "breakeven, as printed", c.BreakevenUSDPerGPUHour, 1.85, 0.005)
	// Outlays spread evenly over each life, no cost of capital (the simple version).
	linear := (mMargin - mCapex/(4*365.2425) + lCosts + lCapex/(5*365.2425)) / gpuHours
	near(t, "linear crossover", c.CrossoverWithCapexUSDPerGPUHour, linear, 1e-9)

	if c.Better != "leasing" || c.BetterByNPV != "leasing" {
		t.Errorf("better %q by margin, %q by NPV; want leasing both", c.Better, c.BetterByNPV)
	}

	// The crossovers are what they say: priced at them, leasing's NPV is mining's, or 0.
	in := readmeInput()
	in.GPUUSDPerHour = c.CrossoverNPVUSDPerGPUHour
	at, err := econ.Compare(in)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "NPVs at the NPV crossover", at.Leasing.NPVUSD, at.Mining.NPVUSD, 1e-3)
	in.GPUUSDPerHour = c.BreakevenUSDPerGPUHour
	at, _ = econ.Compare(in)
	near(t, "leasing NPV at breakeven", at.Leasing.NPVUSD, 0, 1e-3)
	near(t, "leasing PI at breakeven", *at.Leasing.ProfitabilityIndex, 1, 1e-12)
	near(t, "leasing IRR at breakeven is the cost of capital", *at.Leasing.IRR, rate, 1e-9)
}

func TestCompareSiteOwnsASICs(t *testing.T) {
	in := readmeInput()
	in.SiteOwnsASICs = true
	c, err := econ.Compare(in)
	if err != nil {
		t.Fatal(err)
	}
	// The miners are paid for: mining has no outlay, so neither IRR nor PI.
	if c.Mining.CapexUSD != 0 || c.Mining.IRR != nil || c.Mining.ProfitabilityIndex != nil || c.Mining.NoIRR == "" {
		t.Errorf("mining with owned miners: capex %v, IRR %v, PI %v (%q); want 0, none, none", c.Mining.CapexUSD, c.Mining.IRR, c.Mining.ProfitabilityIndex, c.Mining.NoIRR)
	}
	// Leasing sells the 2721 S21s for 30% of $2,699.
	credit := 2721 * 2699 * 0.30
	near(t, "resale credit", c.Leasing.ResaleCreditUSD, credit, 1e-6)
	near(t, "leasing capex", c.Leasing.CapexUSD, 754*269_000*1.1+40_000_000-credit, 1e-6)
}

func TestCompareInstallLagDelaysLeasing(t *testing.T) {
	in := readmeInput()
	in.InstallLagMonths = 0
	now, _ := econ.Compare(in)
	in.InstallLagMonths = 12
	later, _ := econ.Compare(in)
	// A year's lag discounts every month of margin by one more year at 12%.
	near(t, "PV of inflows a year later", later.Leasing.PVInflowsUSD, now.Leasing.PVInflowsUSD/1.12, 1e-3)
	if !(*later.Leasing.IRR < *now.Leasing.IRR) {
		t.Errorf("IRR with a year's lag %v, without %v; want lower", *later.Leasing.IRR, *now.Leasing.IRR)
	}
	near(t, "payback", later.Leasing.PaybackMonths, now.Leasing.PaybackMonths+12, 1e-9)
}

func TestIRR(t *testing.T) {
	twelve := func(cf float64) []float64 {
		flows := make([]float64, 12)
		for i := range flows {
			flows[i] = cf
		}
		return flows
	}
	tests := []struct {
		name   string
		capex  float64
		flows  []float64
		want   float64 // annual
		wantOK bool
	}{
		// 10% in a month, compounded monthly: 1.1¹² − 1.
		{"pays back in month 1", 100, []float64{110}, math.Pow(1.1, 12) - 1, true},
		// Ten times the outlay in the first month: 10¹² − 1.
		{"pays back tenfold in month 1", 100, []float64{1000}, 1e12 - 1, true},
		// Exactly the outlay back a year later: 0%.
		{"just repays", 1200, twelve(100), 0, true},
		{"never pays back: margins negative", 1000, twelve(-10), 0, false},
		{"never pays back: no flows", 1000, nil, 0, false},
		{"no outlay", 0, twelve(100), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := econ.IRR(tt.capex, tt.flows)
			if ok != tt.wantOK {
				t.Fatalf("IRR ok = %v, want %v", ok, tt.wantOK)
			}
			if ok {
				near(t, "IRR", got, tt.want, 1e-9*math.Max(1, math.Abs(tt.want)))
				near(t, "NPV at the IRR", econ.NPV(tt.capex, tt.flows, got), 0, 1e-6)
			}
		})
	}
	// Repaying only half: a negative IRR that NPV confirms.
	got, ok := econ.IRR(1200, twelve(50))
	if !ok || got >= 0 {
		t.Fatalf("IRR of repaying half = %v, %v; want a negative rate", got, ok)
	}
	near(t, "NPV at a negative IRR", econ.NPV(1200, twelve(50), got), 0, 1e-6)
}

func TestOperatingFlows(t *testing.T) {
	got := econ.OperatingFlows(100, 1.5, 2) // from month 1.5 to 3.5
	want := []float64{0, 50, 100, 50}
	if len(got) != len(want) {
		t.Fatalf("flows %v, want %v", got, want)
	}
	for i := range want {
		near(t, "flow", got[i], want[i], 1e-12)
	}
}

func TestCompareRejectsBadCosts(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*econ.Costs)
	}{
		{"negative opex", func(c *econ.Costs) { c.GPUOpexUSDPerServerHour = -1 }},
		{"NaN opex", func(c *econ.Costs) { c.GPUOpexUSDPerServerHour = math.NaN() }},
		{"negative lag", func(c *econ.Costs) { c.InstallLagMonths = -1 }},
		{"resale above 1", func(c *econ.Costs) { c.ASICResaleFraction = 1.5 }},
		{"negative resale", func(c *econ.Costs) { c.ASICResaleFraction = -0.1 }},
		{"negative network", func(c *econ.Costs) { c.NetworkStorageFraction = -0.1 }},
		{"infinite conversion", func(c *econ.Costs) { c.ConversionUSDPerMW = math.Inf(1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := readmeInput()
			tt.mutate(&in.Costs)
			_, err := econ.Compare(in)
			if code := joule.ErrorCode(err); code != joule.EINVALID {
				t.Fatalf("error code = %q (%v), want %q", code, err, joule.EINVALID)
			}
		})
	}
}

func TestAssumptionsUsedCarrySources(t *testing.T) {
	in := readmeInput()
	in.DiscountRate = 0.08
	for _, a := range econ.AssumptionsUsed(in) {
		switch {
		case a.Source == "":
			t.Errorf("%s has no source", a.Name)
		case a.Name == "discount_rate" && (a.Source != "given" || a.Value != 0.08):
			t.Errorf("discount_rate = %v from %q; want 0.08, given", a.Value, a.Source)
		case a.Name == "gpu_price_usd" && a.Value != 269_000:
			t.Errorf("gpu_price_usd = %v; want the model's 269000", a.Value)
		}
	}
}

func TestComparisonString(t *testing.T) {
	c, err := econ.Compare(readmeInput())
	if err != nil {
		t.Fatal(err)
	}
	want := "leasing earns more per day and leasing more in NPV; leasing beats mining above $0.38/GPU-hour (capex sunk), $1.95 on NPV at the cost of capital, and breaks even at $1.85"
	if got := c.String(); got != want {
		t.Errorf("String() = %q\nwant        %q", got, want)
	}
}
