// Package reports decides what a backtest or a conversion plan of a site is asked to
// do, and runs it: one request type for each, parsed and validated in one place with
// one set of defaults, whether the CLI's flags or the dashboard's query give it. The
// Service runs reports for a server, a bounded number at once; the charts are drawn by
// a renderer its caller injects.
package reports

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/backtest"
	"github.com/joule-site/joule/dispatch"
	"github.com/joule-site/joule/econ"
	"github.com/joule-site/joule/forecast"
)

// Defaults of a backtest and a plan. The CLI's flags and the dashboard's query start
// from these; nowhere else holds them.
const (
	DefaultUtilization  = 0.85 // fraction of GPU capacity that sells, in a backtest
	DefaultHybridShare  = 0.5  // share of every miner fleet the hybrid strategy converts
	DefaultGPULifeYears = 5    // GPU server life, for the conversions' depreciation
	DefaultYears        = 5    // a plan's horizon
	DefaultPaths        = 10_000
	DefaultSeed         = 1
	DefaultDiscountRate = 0.12 // annual
)

// Defaults of a plan's demand curve and GPU price drift (labelled assumptions in every
// plan): each path draws its utilization at the market price from DefaultUtilization ±
// DefaultUtilizationSpread and the annual log drift of its GPU-hour price from
// DefaultGPUDriftRange, uniformly; utilization moves along the demand curve with
// elasticity DefaultDemandElasticity when the site asks another price than the market.
const (
	DefaultUtilizationSpread = 0.10
	DefaultDemandElasticity  = 1.0
)

// DefaultGPUDriftRange is the range of the annual log drift of a plan's GPU-hour price.
var DefaultGPUDriftRange = [2]float64{-0.35, 0.05}

// Bounds on how much work one plan may ask for. A server bounds its paths lower still
// (Config.MaxPaths): a page waits for its plan.
const (
	MaxPaths = 100_000
	MaxYears = 30
)

// BacktestRequest asks for one backtest of a site over real history. Its fields carry
// the names the dashboard's query and the JSON use (from, to, gpu_usd_hour, ...); the
// CLI's flags are the same names with dashes.
type BacktestRequest struct {
	From, To time.Time // from, to: days in the energy market's local time, To inclusive
	// Node prices energy at this wholesale node instead of the site's, keeping the
	// site's adder; "": the site's own pricing (node).
	Node string
	// GPU is the server model the conversion strategies buy; "": the site's own (gpu).
	GPU string
	// GPUUSDPerHour is a constant GPU-hour price (gpu_usd_hour); 0: GPUPrice, or the
	// published list-price path of the GPU model.
	GPUUSDPerHour float64
	// GPUPrice is a GPU-hour price path the caller read (the CLI's --gpu-price-csv);
	// nil: none. At most one of GPUPrice and GPUUSDPerHour is given.
	GPUPrice     *backtest.PricePath
	PoolFee      float64             // pool_fee: fraction of mining revenue, [0, 1)
	Utilization  float64             // utilization: fraction of GPU capacity that sells, [0, 1]
	HybridShare  float64             // hybrid_share: (0, 1]
	GPULifeYears float64             // gpu_life_years: > 0
	Hysteresis   dispatch.Hysteresis // the dispatch policy's band and minimum times
	// GPUPUE is the facility ÷ IT power of the hall the conversions' servers stand in
	// (gpu_pue; default econ's sourced 1.3); the site's PUE stays its miners'.
	GPUPUE float64
	// Costs are the conversions' costs besides servers and energy (the CLI's flags);
	// a figure left at econ.DefaultCosts()'s is taken from the site's manifest if it
	// declares one. The install lag and ASIC resale do not apply to a replay.
	Costs econ.Costs
	// GPUPricePath names the published path GPU-hours sell at when neither a constant
	// nor a path is given (gpu_price_path: market or list; "": market).
	GPUPricePath string
	// Forecast names the forecaster plans decide each interval's energy price on
	// (forecast: persistence or day-ahead); "": forecast.Default().
	Forecast string
}

// NewBacktestRequest returns a backtest request with the defaults set; From and To are
// the caller's to give.
func NewBacktestRequest() *BacktestRequest {
	return &BacktestRequest{
		Utilization: DefaultUtilization, HybridShare: DefaultHybridShare, GPULifeYears: DefaultGPULifeYears,
		Hysteresis: dispatch.DefaultHysteresis, Costs: econ.DefaultCosts(), GPUPUE: econ.DefaultAssumptions().GPUPUE,
	}
}

// Validate checks the request; its errors name the field at fault.
func (r *BacktestRequest) Validate() error {
	switch {
	case r.From.IsZero():
		return fieldError("from", "required, YYYY-MM-DD")
	case r.To.IsZero():
		return fieldError("to", "required, YYYY-MM-DD")
	case r.To.Before(r.From):
		return fieldError("to", "%s is before from %s", r.To.Format(time.DateOnly), r.From.Format(time.DateOnly))
	case !(r.Utilization >= 0 && r.Utilization <= 1):
		return fieldError("utilization", "want a fraction in [0, 1], got %v", r.Utilization)
	case !(r.HybridShare > 0 && r.HybridShare <= 1):
		return fieldError("hybrid_share", "want a fraction in (0, 1], got %v", r.HybridShare)
	case !(r.GPULifeYears > 0) || math.IsInf(r.GPULifeYears, 0):
		return fieldError("gpu_life_years", "want a positive number of years, got %v", r.GPULifeYears)
	case r.GPUPricePath != "" && !slices.Contains(backtest.PricePathNames(), r.GPUPricePath):
		return fieldError("gpu_price_path", "want one of %s, got %q", strings.Join(backtest.PricePathNames(), ", "), r.GPUPricePath)
	case !(r.GPUPUE >= 1 && r.GPUPUE <= 3):
		return fieldError("gpu_pue", "want the GPU hall's PUE from 1 to 3, got %v", r.GPUPUE)
	case r.Costs.Validate() != nil:
		return r.Costs.Validate()
	case r.Forecast != "" && !slices.Contains(forecast.Names(), r.Forecast):
		return fieldError("forecast", "want one of %s, got %q", strings.Join(forecast.Names(), ", "), r.Forecast)
	}
	if err := validPoolFee(r.PoolFee); err != nil {
		return err
	}
	if err := validGPUPrice(r.GPUUSDPerHour, r.GPUPrice); err != nil {
		return err
	}
	return validHysteresis(r.Hysteresis)
}

// PivotRequest asks what converting megawatts of a site's miners into GPU servers on
// one date is worth across many Monte Carlo futures (backtest.RunPivot). Field names
// as for BacktestRequest.
type PivotRequest struct {
	ConvertMW float64   // convert_mw: facility MW of miners to convert, > 0
	GPU       string    // gpu: the GPU server model to buy, required
	At        time.Time // at: the conversion day
	Years     int       // years: horizon, 1..MaxYears
	Paths     int       // paths: Monte Carlo paths, 1..MaxPaths
	Seed      uint64    // seed: the same seed gives the same report
	// DiscountRate is annual (discount_rate), > -1.
	DiscountRate float64
	// GPUUSDPerHour is the GPU-hour price on the conversion day (gpu_usd_hour); 0: the
	// price GPUPrice, or the GPU model's published path, has on At.
	GPUUSDPerHour float64
	GPUPrice      *backtest.PricePath // as in BacktestRequest
	// GPUPricePath names the published path the price asked comes from when neither
	// GPUUSDPerHour nor GPUPrice is given (gpu_price_path: market, the default, or
	// list); the market path is always the demand curve's reference.
	GPUPricePath string
	// BTCModel is one of backtest.BTCModels (btc_model); BTCDriftPerYear the annual log
	// drift of the models that take one (btc_drift).
	BTCModel        string
	BTCDriftPerYear float64
	Hoard           bool    // hoard: keep mined BTC instead of selling daily
	PoolFee         float64 // pool_fee, [0, 1)
	// ASICResaleUSD is what each retired miner sells for (asic_resale_usd); 0: the
	// model's price × Costs.ASICResaleFraction.
	ASICResaleUSD float64
	// Utilization is the share of GPU capacity sold at the market price (utilization),
	// each path drawing its own from Utilization ± UtilizationSpread
	// (utilization_spread); DemandElasticity (demand_elasticity) moves it when the price
	// asked is not the market's.
	Utilization, UtilizationSpread, DemandElasticity float64
	// GPUDriftRange is the range each path draws the annual log drift of its GPU-hour
	// price from.
	GPUDriftRange [2]float64
	// Costs are the conversion's costs (econ.DefaultCosts unless given): GPU opex,
	// network and storage, conversion per MW, install lag, ASIC resale fraction.
	Costs econ.Costs
	// GPUPUE is the facility ÷ IT power of the GPU hall the miners' hall becomes
	// (gpu_pue): it sets how many servers the freed power feeds.
	GPUPUE     float64
	Hysteresis dispatch.Hysteresis
	// Workers is the number of goroutines; 0: one per core. The report does not depend
	// on it, so no query sets it.
	Workers int
}

// NewPivotRequest returns a plan request with the defaults set; ConvertMW, GPU and At
// are the caller's to give.
func NewPivotRequest() *PivotRequest {
	return &PivotRequest{
		Years: DefaultYears, Paths: DefaultPaths, Seed: DefaultSeed, DiscountRate: DefaultDiscountRate,
		BTCModel: backtest.BTCBootstrap, GPUPricePath: backtest.PricePathMarket,
		Utilization: DefaultUtilization, UtilizationSpread: DefaultUtilizationSpread, DemandElasticity: DefaultDemandElasticity,
		GPUDriftRange: DefaultGPUDriftRange, Costs: econ.DefaultCosts(), GPUPUE: econ.DefaultAssumptions().GPUPUE,
		Hysteresis: dispatch.DefaultHysteresis,
	}
}

// Validate checks the request; its errors name the field at fault.
func (r *PivotRequest) Validate() error {
	switch {
	case !(r.ConvertMW > 0) || math.IsInf(r.ConvertMW, 0):
		return fieldError("convert_mw", "want a positive number of megawatts, got %v", r.ConvertMW)
	case r.GPU == "":
		return fieldError("gpu", "required: the GPU server model to buy")
	case r.At.IsZero():
		return fieldError("at", "required, YYYY-MM-DD")
	case r.Years < 1 || r.Years > MaxYears:
		return fieldError("years", "want 1 to %d, got %d", MaxYears, r.Years)
	case r.Paths < 1 || r.Paths > MaxPaths:
		return fieldError("paths", "want 1 to %d, got %d", MaxPaths, r.Paths)
	case !(r.DiscountRate > -1) || math.IsInf(r.DiscountRate, 0):
		return fieldError("discount_rate", "want a rate above -1, got %v", r.DiscountRate)
	case r.BTCModel != "" && !slices.Contains(backtest.BTCModels(), r.BTCModel):
		return fieldError("btc_model", "want one of %s, got %q", strings.Join(backtest.BTCModels(), ", "), r.BTCModel)
	case r.BTCModel == backtest.BTCBootstrapDrift && r.BTCDriftPerYear != 0:
		return fieldError("btc_drift", "%s keeps history's drift; give a drift with %s or %s", backtest.BTCBootstrapDrift, backtest.BTCBootstrap, backtest.BTCGBM)
	case math.IsNaN(r.BTCDriftPerYear) || math.Abs(r.BTCDriftPerYear) > 5:
		return fieldError("btc_drift", "want an annual log drift within ±5, got %v", r.BTCDriftPerYear)
	case r.GPUPricePath != "" && !slices.Contains(backtest.PricePathNames(), r.GPUPricePath):
		return fieldError("gpu_price_path", "want one of %s, got %q", strings.Join(backtest.PricePathNames(), ", "), r.GPUPricePath)
	case !(r.Utilization > 0 && r.Utilization <= 1):
		return fieldError("utilization", "want a fraction in (0, 1], got %v", r.Utilization)
	case !(r.UtilizationSpread >= 0 && r.UtilizationSpread <= 1):
		return fieldError("utilization_spread", "want a fraction in [0, 1], got %v", r.UtilizationSpread)
	case !(r.DemandElasticity >= 0 && r.DemandElasticity <= 20):
		return fieldError("demand_elasticity", "want a number in [0, 20], got %v", r.DemandElasticity)
	case !(r.ASICResaleUSD >= 0) || math.IsInf(r.ASICResaleUSD, 0):
		return fieldError("asic_resale_usd", "must not be negative, got %v", r.ASICResaleUSD)
	case !(r.GPUPUE >= 1 && r.GPUPUE <= 3):
		return fieldError("gpu_pue", "want the GPU hall's PUE from 1 to 3, got %v", r.GPUPUE)
	case r.Workers < 0:
		return fieldError("workers", "must not be negative, got %d", r.Workers)
	}
	if err := r.Costs.Validate(); err != nil {
		return joule.Errorf(joule.EINVALID, "costs: %s", joule.ErrorMessage(err))
	}
	if d := r.GPUDriftRange; !(d[0] <= d[1]) || math.IsInf(d[0], 0) || math.IsInf(d[1], 0) {
		return fieldError("gpu_drift_range", "want low,high with low ≤ high, got %v,%v", d[0], d[1])
	}
	if err := validPoolFee(r.PoolFee); err != nil {
		return err
	}
	if err := validGPUPrice(r.GPUUSDPerHour, r.GPUPrice); err != nil {
		return err
	}
	return validHysteresis(r.Hysteresis)
}

// ParseDay reads a day, YYYY-MM-DD, for the named field.
func ParseDay(field, s string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fieldError(field, "want YYYY-MM-DD, got %q", s)
	}
	return t, nil
}

// fieldError is an invalid request, named by its field: "from: want YYYY-MM-DD".
func fieldError(field, format string, args ...any) error {
	return joule.Errorf(joule.EINVALID, field+": "+format, args...)
}

func validPoolFee(fee float64) error {
	if !(fee >= 0 && fee < 1) {
		return fieldError("pool_fee", "want a fraction in [0, 1), got %v", fee)
	}
	return nil
}

func validGPUPrice(usd float64, path *backtest.PricePath) error {
	switch {
	case !(usd >= 0) || math.IsInf(usd, 0):
		return fieldError("gpu_usd_hour", "must not be negative, got %v", usd)
	case usd != 0 && path != nil:
		return fieldError("gpu_usd_hour", "give a constant GPU-hour price or a price path, not both")
	}
	return nil
}

func validHysteresis(h dispatch.Hysteresis) error {
	if !(h.BandUSDPerMWh >= 0) || h.MinOnSec < 0 || h.MinOffSec < 0 || h.WarmupSec < 0 {
		return joule.Errorf(joule.EINVALID, "band, minimum times and warm-up must not be negative")
	}
	return nil
}
