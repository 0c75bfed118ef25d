package backtest

import "github.com/joule-site/joule/econ"

// Result is one strategy's totals over a backtest.
type Result struct {
	Name        string  `json:"name"`
	Description string  `json:"description"`
	RevenueUSD  float64 `json:"revenue_usd"`
	EnergyUSD   float64 `json:"energy_cost_usd"`
	MarginUSD   float64 `json:"margin_usd"` // revenue − energy
	EnergyMWh   float64 `json:"energy_mwh"`
	// CurtailedMWh is flexible load the strategy could have run and did not.
	CurtailedMWh float64 `json:"curtailed_mwh"`
	StartLossUSD float64 `json:"start_loss_usd"` // hashing lost to warm-up after restarts
	// PctOfOptimum is the margin as a percentage of the hindsight-optimal margin of the
	// site as declared; null when no bound could be computed.
	PctOfOptimum *float64 `json:"pct_of_optimum"`
	// CapexUSD is what a conversion strategy buys: GPU servers with their network and
	// storage, and the hall's conversion; DepreciationUSD its straight-line share over
	// the backtest period (servers over the GPU life, the conversion over
	// FacilityLifeYears); OpexUSD the servers' non-energy running cost over the period.
	CapexUSD        float64 `json:"capex_usd"`
	DepreciationUSD float64 `json:"depreciation_usd"`
	OpexUSD         float64 `json:"opex_usd"`
	// NetMarginUSD is the margin less depreciation and opex: the headline figure, the
	// margin itself for the site as declared.
	NetMarginUSD float64 `json:"net_margin_usd"`

	// Per interval: margin (USD) and facility draw (W). Not in JSON; the CSV has them.
	Margin []float64 `json:"-"`
	DrawW  []float64 `json:"-"`
}

// Report is a backtest: inputs, notes and each strategy's result.
type Report struct {
	Site        string  `json:"site"`
	Node        string  `json:"node"`
	From        string  `json:"from"`
	To          string  `json:"to"`
	Intervals   int     `json:"intervals"`
	IntervalSec int64   `json:"interval_sec"`
	PoolFee     float64 `json:"pool_fee"`
	GPUModel    string  `json:"gpu_model,omitempty"`
	GPUPrice    string  `json:"gpu_price_path"` // how the GPU-hour price path was built
	// Forecaster names what the plans decided each interval's energy price on, and
	// ForecastLossUSD is what not knowing the real prices cost Joule's policy: the
	// joule-foresight margin less joule's.
	Forecaster      string   `json:"forecaster"`
	ForecastLossUSD float64  `json:"forecast_loss_usd"`
	Notes           []string `json:"notes"`
	Strategies      []Result `json:"strategies"`
	// Assumptions are the inputs that are not market data, each with its source or
	// the label "assumption".
	Assumptions []econ.Assumption `json:"assumptions"`

	// Series shared by every strategy, per interval (not in JSON; the CSV has them).
	Times                []int64   `json:"-"` // Unix seconds, interval start
	EnergyUSDPerMWh      []float64 `json:"-"`
	HashpriceUSDPerPHDay []float64 `json:"-"`
	GPUUSDPerHour        []float64 `json:"-"`
	// What the plans decided on: the forecast energy price, the previous day's hashprice.
	PlannedEnergyUSDPerMWh      []float64 `json:"-"`
	PlannedHashpriceUSDPerPHDay []float64 `json:"-"`
	// Power by use under Joule's policy, facility W per interval: the stacked chart.
	Power PowerByUse `json:"-"`
}

// PowerByUse is facility power per interval split by what it ran.
type PowerByUse struct {
	FirmGPUW, InterruptibleGPUW, OpenGPUW, MiningW, CurtailedW []float64
}

// Strategy returns the named result, if present.
func (r *Report) Strategy(name string) (*Result, bool) {
	for i := range r.Strategies {
		if r.Strategies[i].Name == name {
			return &r.Strategies[i], true
		}
	}
	return nil, false
}
