package backtest

import (
	"encoding/json"
	"math"
)

// Quantiles are the 10th, 50th and 90th percentiles of a distribution over paths.
type Quantiles struct {
	P10 float64 `json:"p10"`
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
}

// MarshalJSON writes a quantile that is not a finite number (a payback never reached
// is +Inf) as null, which JSON can carry.
func (q Quantiles) MarshalJSON() ([]byte, error) {
	f := func(v float64) *float64 {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return &v
	}
	return json.Marshal(struct {
		P10 *float64 `json:"p10"`
		P50 *float64 `json:"p50"`
		P90 *float64 `json:"p90"`
	}{f(q.P10), f(q.P50), f(q.P90)})
}

// PivotReport is the distribution of outcomes of converting megawatts of miners to GPU
// servers, over Monte Carlo paths.
type PivotReport struct {
	Site         string  `json:"site"`
	At           string  `json:"at"` // conversion date, YYYY-MM-DD
	Years        int     `json:"years"`
	Paths        int     `json:"paths"`
	Seed         uint64  `json:"seed"`
	ConvertMW    float64 `json:"convert_mw"`
	GPUModel     string  `json:"gpu_model"`
	GPUServers   int     `json:"gpu_servers"`   // servers bought
	ASICsRetired int     `json:"asics_retired"` // miners taken out
	CapexUSD     float64 `json:"capex_usd"`     // GPU servers bought, less ASIC resale
	DiscountRate float64 `json:"discount_rate"` // annual
	Hoard        bool    `json:"hoard"`         // mined BTC kept and valued at the path's last price
	// NPVUSD is the net present value of converting rather than not, capex included.
	NPVUSD Quantiles `json:"npv_usd"`
	// PaybackMonths is months until converting has repaid its capex; paths that never
	// pay back within the horizon count as +Inf in the quantiles and in NeverPaidBack.
	PaybackMonths Quantiles `json:"payback_months"`
	NeverPaidBack float64   `json:"never_paid_back"` // fraction of paths
	ProbPositive  float64   `json:"prob_npv_positive"`
	// YearlyCashFlowUSD is, per year of the horizon, the incremental cash flow of
	// converting (GPU margin − the margin of the miners it replaced), undiscounted.
	YearlyCashFlowUSD []Quantiles `json:"yearly_cash_flow_usd"`
	Assumptions       []string    `json:"assumptions"` // the models and ranges sampled, in words
	Notes             []string    `json:"notes"`
	// NPVs holds every path's NPV, for the distribution chart (not in JSON).
	NPVs []float64 `json:"-"`
}
