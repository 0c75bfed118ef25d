package econ

import (
	"fmt"
	"math"

	"github.com/joule-site/joule"
)

// Assumptions of a mine-or-lease comparison that are not market data.
type Assumptions struct {
	PoolFee         float64 // fraction of mining revenue kept by the pool
	PUE             float64 // facility power ÷ IT power of the mining site
	GPUPUE          float64 // facility power ÷ IT power of the GPU hall; 0 for the same as PUE
	Utilization     float64 // fraction of GPU-hours sold
	DiscountRate    float64 // annual cost of capital, for NPV, the profitability index and the crossovers
	ASICLifeYears   float64 // economic life of a miner
	GPULifeYears    float64 // economic life of a GPU server, from its first revenue
	ASICPriceUSD    float64 // per miner; the model's price when zero
	GPUPriceUSD     float64 // per server; the model's price when zero
	EnergyUSDPerMWh float64
}

// CompareInput is one megawatt decision: run MW of site power as ASICs of one model, or
// convert it to a hall of GPU servers of another leased at a price.
type CompareInput struct {
	MW                   float64
	HashpriceUSDPerPHDay float64 // gross
	ASIC                 *joule.HardwareModel
	GPU                  *joule.HardwareModel
	GPUUSDPerHour        float64
	Assumptions
	Costs
}

// Option is the economics of one way to use the megawatts. Its cash flows are the
// outlay now and the operating margin at the end of each month of its life (leasing's
// life starting after the install lag), discounted at the cost of capital.
type Option struct {
	Use             string  `json:"use"` // "mining" or "leasing"
	Model           string  `json:"model"`
	Units           int     `json:"units"`      // machines that fit under the MW (with PUE)
	FacilityPowerW  int64   `json:"facility_w"` // units × nameplate × PUE
	EnergyMWhPerDay float64 `json:"energy_mwh_per_day"`
	RevenueUSDDay   float64 `json:"revenue_usd_per_day"`
	EnergyUSDDay    float64 `json:"energy_cost_usd_per_day"`
	OpexUSDDay      float64 `json:"opex_usd_per_day"`   // non-energy running costs
	MarginUSDDay    float64 `json:"margin_usd_per_day"` // revenue − energy − opex
	ValueUSDPerMWh  float64 `json:"value_usd_per_mwh"`  // revenue per MWh of facility energy consumed (MiningUSDPerFacilityMWh, GPUUSDPerFacilityMWh)
	// CapexUSD is the outlay at the start: HardwareUSD + NetworkStorageUSD +
	// ConversionUSD − ResaleCreditUSD (mining: its miners, unless the site owns them).
	CapexUSD          float64 `json:"capex_usd"`
	HardwareUSD       float64 `json:"hardware_usd"`        // units × price (0 for miners the site owns)
	NetworkStorageUSD float64 `json:"network_storage_usd"` // leasing: servers' price × the network and storage fraction
	ConversionUSD     float64 `json:"conversion_usd"`      // leasing: MW × conversion capex per MW
	ResaleCreditUSD   float64 `json:"resale_credit_usd"`   // leasing: the owned miners sold, when the site owns them
	DepreciationUSD   float64 `json:"depreciation_usd_per_year"`
	PaybackMonths     float64 `json:"payback_months"` // from the outlay, lag included; −1 when it never pays back
	StartMonths       float64 `json:"start_months"`   // months from the outlay to first revenue
	LifeYears         float64 `json:"life_years"`
	NPVUSD            float64 `json:"npv_usd"`
	PVInflowsUSD      float64 `json:"pv_inflows_usd"` // present value of the monthly margins
	// IRR is the annual rate at which NPV is zero, from the same monthly flows; nil
	// (JSON null) when there is none, NoIRR saying why.
	IRR   *float64 `json:"irr"`
	NoIRR string   `json:"no_irr,omitempty"`
	// ProfitabilityIndex is PVInflowsUSD ÷ CapexUSD: above 1 the option earns more
	// than its capital costs. nil (JSON null) when there is no outlay.
	ProfitabilityIndex *float64 `json:"profitability_index"`
}

// Comparison puts mining and leasing the same megawatts side by side.
type Comparison struct {
	Mining  Option `json:"mining"`
	Leasing Option `json:"leasing"`
	// CrossoverUSDPerGPUHour is the GPU-hour price at which leasing's daily operating
	// margin (opex included) equals mining's on the same megawatts (capex sunk). Above
	// it, lease.
	CrossoverUSDPerGPUHour float64 `json:"crossover_usd_per_gpu_hour"`
	// CrossoverWithCapexUSDPerGPUHour is the simple version of the NPV crossover: each
	// option's outlay spread evenly over its life, with no cost of capital and no lag.
	CrossoverWithCapexUSDPerGPUHour float64 `json:"crossover_with_capex_usd_per_gpu_hour"`
	// CrossoverNPVUSDPerGPUHour is the GPU-hour price at which leasing's NPV equals
	// mining's: the price above which converting is worth more, capital costed.
	CrossoverNPVUSDPerGPUHour float64 `json:"crossover_npv_usd_per_gpu_hour"`
	// BreakevenUSDPerGPUHour is the GPU-hour price at which leasing's NPV is zero: it
	// just repays its outlay at the cost of capital.
	BreakevenUSDPerGPUHour float64 `json:"breakeven_usd_per_gpu_hour"`
	// Better is the option with the larger daily margin; BetterByNPV the one with
	// the larger NPV.
	Better      string `json:"better"`
	BetterByNPV string `json:"better_by_npv"`
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
	case a.GPUPUE != 0 && !(a.GPUPUE >= 1 && a.GPUPUE <= 3):
		return joule.Errorf(joule.EINVALID, "gpu pue must be between 1 and 3, got %v", a.GPUPUE)
	case !(a.DiscountRate > -1 && a.DiscountRate < 10):
		return joule.Errorf(joule.EINVALID, "discount rate must be a fraction such as 0.12, got %v", a.DiscountRate)
	case !(a.ASICLifeYears > 0) || !(a.GPULifeYears > 0):
		return joule.Errorf(joule.EINVALID, "hardware life must be positive years")
	case a.ASICPriceUSD < 0 || a.GPUPriceUSD < 0:
		return joule.Errorf(joule.EINVALID, "hardware prices must not be negative")
	}
	return in.Costs.Validate()
}

// Compare prices mining against leasing on the same megawatts. Machines are whole: the
// number that fits under MW at nameplate power × PUE (the mining site's for miners, the
// GPU hall's for servers). Mining draws nameplate power all day; a GPU server draws
// nameplate power while leased and idle power otherwise, and costs its opex every hour.
func Compare(in CompareInput) (Comparison, error) {
	if err := in.Validate(); err != nil {
		return Comparison{}, err
	}
	a, k := in.Assumptions, in.Costs
	gpuPUE := a.GPUPUE
	if gpuPUE == 0 {
		gpuPUE = a.PUE
	}
	budgetW := in.MW * 1e6
	for _, f := range []struct {
		m   *joule.HardwareModel
		pue float64
	}{{in.ASIC, a.PUE}, {in.GPU, gpuPUE}} {
		if need := float64(f.m.PowerW) * f.pue; need > budgetW {
			return Comparison{}, joule.Errorf(joule.EINVALID, "%v MW does not fit one %s (%.1f kW × PUE %.2f)", in.MW, f.m.ID, float64(f.m.PowerW)/1e3, f.pue)
		}
	}
	asicPrice := pick(a.ASICPriceUSD, in.ASIC.PriceUSD)
	mine := option("mining", in.ASIC, budgetW, a.PUE, a.ASICLifeYears, asicPrice)
	mine.EnergyMWhPerDay = float64(mine.Units) * float64(in.ASIC.PowerW) * a.PUE * 24 / 1e6
	mine.RevenueUSDDay = float64(mine.Units) * in.ASIC.HashrateTHs * NetOfPoolFee(in.HashpriceUSDPerPHDay, a.PoolFee) / 1000
	mine.DepreciationUSD = StraightLineDepreciationPerYear(mine.HardwareUSD, 0, a.ASICLifeYears)
	if k.SiteOwnsASICs {
		mine.HardwareUSD = 0 // paid for; what selling them would bring is leasing's credit
	}
	mine.CapexUSD = mine.HardwareUSD

	lease := option("leasing", in.GPU, budgetW, gpuPUE, a.GPULifeYears, pick(a.GPUPriceUSD, in.GPU.PriceUSD))
	drawW := a.Utilization*float64(in.GPU.PowerW) + (1-a.Utilization)*float64(in.GPU.IdleW)
	lease.EnergyMWhPerDay = float64(lease.Units) * drawW * gpuPUE * 24 / 1e6
	gpuHoursPerDay := float64(lease.Units*in.GPU.GPUs) * a.Utilization * 24
	lease.RevenueUSDDay = gpuHoursPerDay * in.GPUUSDPerHour
	lease.OpexUSDDay = float64(lease.Units) * k.GPUOpexUSDPerServerHour * 24
	lease.NetworkStorageUSD = lease.HardwareUSD * k.NetworkStorageFraction
	lease.ConversionUSD = in.MW * k.ConversionUSDPerMW
	if k.SiteOwnsASICs {
		lease.ResaleCreditUSD = float64(mine.Units) * asicPrice * k.ASICResaleFraction
	}
	lease.CapexUSD = lease.HardwareUSD + lease.NetworkStorageUSD + lease.ConversionUSD - lease.ResaleCreditUSD
	lease.DepreciationUSD = StraightLineDepreciationPerYear(lease.HardwareUSD+lease.NetworkStorageUSD, 0, a.GPULifeYears)
	lease.StartMonths = k.InstallLagMonths

	if mine.Units > 0 {
		mine.ValueUSDPerMWh = MiningUSDPerFacilityMWh(NetOfPoolFee(in.HashpriceUSDPerPHDay, a.PoolFee), in.ASIC.EfficiencyJPerTH(), a.PUE)
	}
	if lease.Units > 0 {
		lease.ValueUSDPerMWh = GPUUSDPerFacilityMWh(in.GPUUSDPerHour, in.GPU.GPUs, a.Utilization, in.GPU.PowerW.KW(), in.GPU.IdleW.KW(), gpuPUE)
	}
	for _, o := range []*Option{&mine, &lease} {
		o.EnergyUSDDay = o.EnergyMWhPerDay * a.EnergyUSDPerMWh
		o.MarginUSDDay = o.RevenueUSDDay - o.EnergyUSDDay - o.OpexUSDDay
		value(o, a.DiscountRate)
	}

	c := Comparison{Mining: mine, Leasing: lease, Better: "mining", BetterByNPV: "mining"}
	if lease.MarginUSDDay > mine.MarginUSDDay {
		c.Better = "leasing"
	}
	if lease.NPVUSD > mine.NPVUSD {
		c.BetterByNPV = "leasing"
	}
	// Leasing's daily margin is p × gpuHours − energy − opex: linear in the GPU-hour
	// price p, so each crossover is solved exactly. gpuHoursPerDay > 0: utilization is
	// positive and at least one server fits.
	leaseCosts := lease.EnergyUSDDay + lease.OpexUSDDay
	c.CrossoverUSDPerGPUHour = (mine.MarginUSDDay + leaseCosts) / gpuHoursPerDay
	capexPerDay := func(o Option) float64 { return o.CapexUSD / (o.LifeYears * 365.2425) }
	c.CrossoverWithCapexUSDPerGPUHour = (mine.MarginUSDDay - capexPerDay(mine) + leaseCosts + capexPerDay(lease)) / gpuHoursPerDay
	// NPV is linear in the price too: NPV(p) = −capex + annuity × DaysPerMonth ×
	// (p × gpuHours − energy − opex), the annuity being the present value of $1 a month
	// over leasing's months (lag and a partial last month included). Solve NPV(p) =
	// mining's NPV, and NPV(p) = 0.
	perPrice := leaseAnnuity(lease, a.DiscountRate) * DaysPerMonth * gpuHoursPerDay
	atZero := -lease.CapexUSD - leaseAnnuity(lease, a.DiscountRate)*DaysPerMonth*leaseCosts
	c.CrossoverNPVUSDPerGPUHour = (mine.NPVUSD - atZero) / perPrice
	c.BreakevenUSDPerGPUHour = -atZero / perPrice
	return c, nil
}

// value fills an option's payback, NPV, present value of inflows, IRR and
// profitability index from its outlay, daily margin, start and life.
func value(o *Option, annualRate float64) {
	monthly := o.MarginUSDDay * DaysPerMonth
	if m, ok := PaybackMonths(o.CapexUSD, monthly); ok {
		o.PaybackMonths = o.StartMonths + m
	} else {
		o.PaybackMonths = -1
	}
	flows := OperatingFlows(monthly, o.StartMonths, o.LifeYears*12)
	o.NPVUSD = NPV(o.CapexUSD, flows, annualRate)
	o.PVInflowsUSD = o.NPVUSD + o.CapexUSD
	if irr, ok := IRR(o.CapexUSD, flows); ok {
		o.IRR = &irr
	} else if o.CapexUSD <= 0 {
		o.NoIRR = "no outlay"
	} else {
		o.NoIRR = "never pays back"
	}
	if o.CapexUSD > 0 {
		pi := o.PVInflowsUSD / o.CapexUSD
		o.ProfitabilityIndex = &pi
	}
}

// leaseAnnuity is the present value of $1 of margin a month over an option's
// operating months.
func leaseAnnuity(o Option, annualRate float64) float64 {
	return NPV(0, OperatingFlows(1, o.StartMonths, o.LifeYears*12), annualRate)
}

func option(use string, m *joule.HardwareModel, budgetW, pue, lifeYears, unitPrice float64) Option {
	units := int(math.Floor(budgetW / (float64(m.PowerW) * pue)))
	return Option{
		Use:            use,
		Model:          m.ID,
		Units:          units,
		FacilityPowerW: int64(math.Round(float64(units) * float64(m.PowerW) * pue)),
		HardwareUSD:    float64(units) * unitPrice,
		LifeYears:      lifeYears,
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
	return fmt.Sprintf("%s earns more per day and %s more in NPV; leasing beats mining above $%.2f/GPU-hour (capex sunk), $%.2f on NPV at the cost of capital, and breaks even at $%.2f",
		c.Better, c.BetterByNPV, c.CrossoverUSDPerGPUHour, c.CrossoverNPVUSDPerGPUHour, c.BreakevenUSDPerGPUHour)
}
