package backtest

import (
	"encoding/json"
	"math"

	"github.com/joule-site/joule/econ"
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
	// CapexUSD is paid on the conversion day: the servers, their network and storage,
	// the hall's conversion, less the retired miners' resale.
	CapexUSD           float64 `json:"capex_usd"`
	ServersUSD         float64 `json:"servers_usd"`
	NetworkStorageUSD  float64 `json:"network_storage_usd"`
	ConversionUSD      float64 `json:"conversion_usd"`
	ASICResaleUSD      float64 `json:"asic_resale_usd"`         // credited, total
	DiscountRate       float64 `json:"discount_rate"`           // annual
	Hoard              bool    `json:"hoard"`                   // mined BTC kept and valued at the path's last price
	GPUUSDPerHour      float64 `json:"gpu_usd_per_hour"`        // the price asked on the conversion day
	MarketUSDPerHour   float64 `json:"market_gpu_usd_per_hour"` // the market's price on the conversion day
	MarketPriceSource  string  `json:"market_price_source"`     // the published point it is
	UtilizationAtPrice float64 `json:"utilization_at_price"`    // the median path's draw moved along the demand curve
	BTCModel           string  `json:"btc_model"`
	BTCDriftPerYear    float64 `json:"btc_drift_per_year"` // annual log drift of the BTC price
	// HashResponse is the fitted response of difficulty to the hashprice.
	HashResponse HashResponse `json:"hash_response"`
	// NPVUSD is the net present value of converting rather than not, capex included.
	NPVUSD Quantiles `json:"npv_usd"`
	// PaybackMonths is months until converting has repaid its capex; paths that never
	// pay back within the horizon count as +Inf in the quantiles and in NeverPaidBack.
	PaybackMonths Quantiles `json:"payback_months"`
	NeverPaidBack float64   `json:"never_paid_back"` // fraction of paths
	ProbPositive  float64   `json:"prob_npv_positive"`
	ProbLoss      float64   `json:"prob_loss"` // fraction of paths with NPV < 0
	// YearlyCashFlowUSD is, per year of the horizon, the incremental cash flow of
	// converting (GPU margin − the margin of the miners it replaced), undiscounted.
	YearlyCashFlowUSD []Quantiles `json:"yearly_cash_flow_usd"`
	Assumptions       []string    `json:"assumptions"` // the models and ranges sampled, in words
	// Inputs are every number the plan ran on with its source: a publication, a fit,
	// "assumption", or "given" where the request set it.
	Inputs []econ.Assumption `json:"inputs"`
	Notes  []string          `json:"notes"`
	// NPVs holds every path's NPV, for the distribution chart (not in JSON).
	NPVs []float64 `json:"-"`
}
