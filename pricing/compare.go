package pricing

import (
	"context"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/econ"
)

// CompareQuery asks whether some megawatts should mine or lease GPUs on a day.
type CompareQuery struct {
	DayQuery
	MW            float64
	ASIC          string // model id
	GPU           string // model id
	GPUUSDPerHour float64
	econ.Assumptions
	econ.Costs
}

// CompareReport is the answer: the day's hashprice and both options side by side.
type CompareReport struct {
	Date                 string     `json:"date"`
	MW                   float64    `json:"mw"`
	EnergyUSDPerMWh      float64    `json:"energy_usd_per_mwh"`
	HashpriceUSDPerPHDay float64    `json:"hashprice_usd_per_ph_day"`
	GPUUSDPerHour        float64    `json:"gpu_usd_per_hour"`
	Utilization          float64    `json:"utilization"`
	PUE                  float64    `json:"pue"`     // the mining site's
	GPUPUE               float64    `json:"gpu_pue"` // the GPU hall's
	PoolFee              float64    `json:"pool_fee"`
	DiscountRate         float64    `json:"discount_rate"` // the cost of capital
	Costs                econ.Costs `json:"costs"`
	// Assumptions are every input that is not market data, with its source.
	Assumptions []econ.Assumption `json:"assumptions"`
	Notes       []string          `json:"notes"`
	econ.Comparison
}

// Compare prices the megawatts both ways on the query's day.
func (p *Pricer) Compare(ctx context.Context, q CompareQuery) (*CompareReport, error) {
	if !(q.MW > 0) {
		return nil, joule.Errorf(joule.EINVALID, "megawatts must be positive, got %v", q.MW)
	}
	asic, err := p.Model(ctx, q.ASIC, joule.KindASIC)
	if err != nil {
		return nil, err
	}
	gpu, err := p.Model(ctx, q.GPU, joule.KindGPUServer)
	if err != nil {
		return nil, err
	}
	q.DayQuery.PoolFee = q.Assumptions.PoolFee
	day, hp, err := p.day(ctx, q.DayQuery)
	if err != nil {
		return nil, err
	}
	a := q.Assumptions
	in := econ.CompareInput{
		MW: q.MW, HashpriceUSDPerPHDay: hp.USDPerPHDay, ASIC: asic, GPU: gpu,
		GPUUSDPerHour: q.GPUUSDPerHour, Assumptions: a, Costs: q.Costs,
	}
	c, err := econ.Compare(in)
	if err != nil {
		return nil, err
	}
	gpuPUE := a.GPUPUE
	if gpuPUE == 0 {
		gpuPUE = a.PUE
	}
	return &CompareReport{
		Date: day.Date, MW: q.MW, EnergyUSDPerMWh: a.EnergyUSDPerMWh,
		HashpriceUSDPerPHDay: hp.USDPerPHDay, GPUUSDPerHour: q.GPUUSDPerHour,
		Utilization: a.Utilization, PUE: a.PUE, GPUPUE: gpuPUE, PoolFee: a.PoolFee, DiscountRate: a.DiscountRate,
		Costs: q.Costs, Assumptions: econ.AssumptionsUsed(in), Notes: day.Notes, Comparison: c,
	}, nil
}
