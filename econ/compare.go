package econ

import (
	"fmt"
	"math"

	"github.com/joule-site/joule"
)

// Assumptions of a mine-or-lease comparison that are not market data.
type Assumptions struct {
	PoolFee         float64 // fraction of mining revenue kept by the pool
	PUE             float64 // facility power ÷ IT power, for both uses
	Utilization     float64 // fraction of GPU-hours sold
	DiscountRate    float64 // annual, for NPV
	ASICLifeYears   float64 // economic life of a miner
	GPULifeYears    float64 // economic life of a GPU server
	ASICPriceUSD    float64 // per miner; the model's price when zero
	GPUPriceUSD     float64 // per server; the model's price when zero
	EnergyUSDPerMWh float64
}

// CompareInput is one megawatt decision: run MW of site power as ASICs of one model, or
// as GPU servers of another leased at a price.
type CompareInput struct {
	MW                   float64
	HashpriceUSDPerPHDay float64 // gross
	ASIC                 *joule.HardwareModel
	GPU                  *joule.HardwareModel
	GPUUSDPerHour        float64
	Assumptions
}

// Option is the economics of one way to use the megawatts.
type Option struct {
	Use             string  `json:"use"` // "mining" or "leasing"
	Model           string  `json:"model"`
	Units           int     `json:"units"`      // machines that fit under the MW (with PUE)
	FacilityPowerW  int64   `json:"facility_w"` // units × nameplate × PUE
	EnergyMWhPerDay float64 `json:"energy_mwh_per_day"`
	RevenueUSDDay   float64 `json:"revenue_usd_per_day"`
	EnergyUSDDay    float64 `json:"energy_cost_usd_per_day"`
	MarginUSDDay    float64 `json:"margin_usd_per_day"`
	ValueUSDPerMWh  float64 `json:"value_usd_per_mwh"` // revenue per MWh of facility energy consumed (MiningUSDPerFacilityMWh, GPUUSDPerFacilityMWh)
	CapexUSD        float64 `json:"capex_usd"`
	DepreciationUSD float64 `json:"depreciation_usd_per_year"`
	PaybackMonths   float64 `json:"payback_months"` // −1 when it never pays back
	NPVUSD          float64 `json:"npv_usd"`
	LifeYears       float64 `json:"life_years"`
}

// Comparison puts mining and leasing the same megawatts side by side.
type Comparison struct {
	Mining  Option `json:"mining"`
	Leasing Option `json:"leasing"`
	// CrossoverUSDPerGPUHour is the GPU-hour price at which leasing's daily operating
	// margin equals mining's on the same megawatts (capex sunk). Above it, lease.
	CrossoverUSDPerGPUHour float64 `json:"crossover_usd_per_gpu_hour"`
	// CrossoverWithCapexUSDPerGPUHour adds each option's capex, spread evenly over its
	// life, to the comparison: the price at which buying GPUs beats buying miners.
	CrossoverWithCapexUSDPerGPUHour float64 `json:"crossover_with_capex_usd_per_gpu_hour"`
}

// Validate checks a comparison's inputs.
func (in *CompareInput) Validate() error {
	a := in.Assumptions
	switch {
	case !finite(in.MW) || in.MW <= 0:
		return joule.Errorf(joule.EINVALID, "megawatts must be positive, got %v", in.MW)
	case in.ASIC == nil || in.ASIC.Kind != joule.KindASIC:
		return joule.Errorf(joule.EINVALID, "the mining side needs an asic model")
	case in.GPU == nil || in.GPU.Kind != joule.KindGPUServer:
		return joule.Errorf(joule.EINVALID, "the leasing side needs a gpu_server model")
	case !finite(in.GPUUSDPerHour) || in.GPUUSDPerHour < 0:
		return joule.Errorf(joule.EINVALID, "GPU-hour price must not be negative, got %v", in.GPUUSDPerHour)
	case !finite(in.HashpriceUSDPerPHDay) || in.HashpriceUSDPerPHDay < 0:
		return joule.Errorf(joule.EINVALID, "hashprice must not be negative, got %v", in.HashpriceUSDPerPHDay)
	case !finite(a.EnergyUSDPerMWh):
		return joule.Errorf(joule.EINVALID, "energy price must be a number")
	case !(a.Utilization > 0 && a.Utilization <= 1):
		return joule.Errorf(joule.EINVALID, "utilization must be above 0 and at most 1, got %v", a.Utilization)
	case !(a.PoolFee >= 0 && a.PoolFee < 1):
		return joule.Errorf(joule.EINVALID, "pool fee must be in [0, 1), got %v", a.PoolFee)
	case !(a.PUE >= 1 && a.PUE <= 3):
		return joule.Errorf(joule.EINVALID, "pue must be between 1 and 3, got %v", a.PUE)
	case !(a.DiscountRate > -1 && a.DiscountRate < 10):
		return joule.Errorf(joule.EINVALID, "discount rate must be a fraction such as 0.12, got %v", a.DiscountRate)
	case !(a.ASICLifeYears > 0) || !(a.GPULifeYears > 0):
		return joule.Errorf(joule.EINVALID, "hardware life must be positive years")
	case a.ASICPriceUSD < 0 || a.GPUPriceUSD < 0:
		return joule.Errorf(joule.EINVALID, "hardware prices must not be negative")
	}
	return nil
}

// Compare prices mining against leasing on the same megawatts. Machines are whole: the
// number that fits under MW at nameplate power × PUE. Mining draws nameplate power all
// day; a GPU server draws nameplate power while leased and idle power otherwise.
func Compare(in CompareInput) (Comparison, error) {
	if err := in.Validate(); err != nil {
		return Comparison{}, err
	}
	a := in.Assumptions
	budgetW := in.MW * 1e6

	for _, m := range []*joule.HardwareModel{in.ASIC, in.GPU} {
		if need := float64(m.PowerW) * a.PUE; need > budgetW {
			return Comparison{}, joule.Errorf(joule.EINVALID, "%v MW does not fit one %s (%.1f kW × PUE %.2f)", in.MW, m.ID, float64(m.PowerW)/1e3, a.PUE)
		}
	}
	mine := option("mining", in.ASIC, budgetW, a.PUE, a.ASICLifeYears, pick(a.ASICPriceUSD, in.ASIC.PriceUSD))
	mine.EnergyMWhPerDay = float64(mine.Units) * float64(in.ASIC.PowerW) * a.PUE * 24 / 1e6
	mine.RevenueUSDDay = float64(mine.Units) * in.ASIC.HashrateTHs * NetOfPoolFee(in.HashpriceUSDPerPHDay, a.PoolFee) / 1000

	lease := option("leasing", in.GPU, budgetW, a.PUE, a.GPULifeYears, pick(a.GPUPriceUSD, in.GPU.PriceUSD))
	drawW := a.Utilization*float64(in.GPU.PowerW) + (1-a.Utilization)*float64(in.GPU.IdleW)
	lease.EnergyMWhPerDay = float64(lease.Units) * drawW * a.PUE * 24 / 1e6
	gpuHoursPerDay := float64(lease.Units*in.GPU.GPUs) * a.Utilization * 24
	lease.RevenueUSDDay = gpuHoursPerDay * in.GPUUSDPerHour

	if mine.Units > 0 {
		mine.ValueUSDPerMWh = MiningUSDPerFacilityMWh(NetOfPoolFee(in.HashpriceUSDPerPHDay, a.PoolFee), in.ASIC.EfficiencyJPerTH(), a.PUE)
	}
	if lease.Units > 0 {
		lease.ValueUSDPerMWh = GPUUSDPerFacilityMWh(in.GPUUSDPerHour, in.GPU.GPUs, a.Utilization, in.GPU.PowerW.KW(), in.GPU.IdleW.KW(), a.PUE)
	}
	for _, o := range []*Option{&mine, &lease} {
		o.EnergyUSDDay = o.EnergyMWhPerDay * a.EnergyUSDPerMWh
		o.MarginUSDDay = o.RevenueUSDDay - o.EnergyUSDDay
		monthly := o.MarginUSDDay * DaysPerMonth
		if m, ok := PaybackMonths(o.CapexUSD, monthly); ok {
			o.PaybackMonths = m
		} else {
			o.PaybackMonths = -1
		}
		o.NPVUSD = SteadyNPV(o.CapexUSD, monthly, o.LifeYears, a.DiscountRate)
	}

	// lease margin(p) = p × gpuHours − energy; set it equal to mining's margin and solve.
	// gpuHoursPerDay > 0: utilization is positive and at least one server fits.
	c := Comparison{Mining: mine, Leasing: lease}
	c.CrossoverUSDPerGPUHour = (mine.MarginUSDDay + lease.EnergyUSDDay) / gpuHoursPerDay
	capexPerDay := func(o Option) float64 { return o.CapexUSD / (o.LifeYears * 365.2425) }
	c.CrossoverWithCapexUSDPerGPUHour = (mine.MarginUSDDay - capexPerDay(mine) + lease.EnergyUSDDay + capexPerDay(lease)) / gpuHoursPerDay
	return c, nil
}

func option(use string, m *joule.HardwareModel, budgetW, pue, lifeYears, unitPrice float64) Option {
	units := int(math.Floor(budgetW / (float64(m.PowerW) * pue)))
	capex := float64(units) * unitPrice
	return Option{
		Use:             use,
		Model:           m.ID,
		Units:           units,
		FacilityPowerW:  int64(math.Round(float64(units) * float64(m.PowerW) * pue)),
		CapexUSD:        capex,
		DepreciationUSD: StraightLineDepreciationPerYear(capex, 0, lifeYears),
		LifeYears:       lifeYears,
	}
}

func pick(override, dflt float64) float64 {
	if override > 0 {
		return override
	}
	return dflt
}

// String summarises the decision in one line.
func (c Comparison) String() string {
	better := "mining"
	if c.Leasing.MarginUSDDay > c.Mining.MarginUSDDay {
		better = "leasing"
	}
	return fmt.Sprintf("%s earns more per day; leasing beats mining above $%.2f/GPU-hour ($%.2f counting capex)",
		better, c.CrossoverUSDPerGPUHour, c.CrossoverWithCapexUSDPerGPUHour)
}
