package reports

import (
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/econ"
)

// QueryPaths is a plan's paths when a query does not say: fewer than the CLI's
// default, since a page waits for them.
const QueryPaths = 1000

// field is one query parameter a request takes: its name and how it sets the request.
type field struct {
	name string
	set  func(string) error
}

// ParseBacktestQuery reads a backtest request from a query (the dashboard's
// /backtest?from=…&to=…), over the defaults, and validates it. An unknown parameter is
// an error that lists those known.
func ParseBacktestQuery(q url.Values) (*BacktestRequest, error) {
	r := NewBacktestRequest()
	fields := []field{
		{"from", dayField("from", &r.From)},
		{"to", dayField("to", &r.To)},
		{"node", stringField(&r.Node)},
		{"gpu", stringField(&r.GPU)},
		{"gpu_usd_hour", floatField("gpu_usd_hour", &r.GPUUSDPerHour)},
		{"pool_fee", floatField("pool_fee", &r.PoolFee)},
		{"utilization", floatField("utilization", &r.Utilization)},
		{"hybrid_share", floatField("hybrid_share", &r.HybridShare)},
		{"gpu_life_years", floatField("gpu_life_years", &r.GPULifeYears)},
		{"forecast", stringField(&r.Forecast)},
		{"gpu_price_path", stringField(&r.GPUPricePath)},
		{"gpu_pue", floatField("gpu_pue", &r.GPUPUE)},
	}
	fields = append(fields, costFields(&r.Costs, false)...)
	if err := parseQuery("backtest", q, fields); err != nil {
		return nil, err
	}
	return r, r.Validate()
}

// ParsePivotQuery reads a plan request from a query (the dashboard's
// /planreport?convert_mw=…&gpu=…&at=…), over the defaults with QueryPaths paths, and
// validates it. An unknown parameter is an error that lists those known.
func ParsePivotQuery(q url.Values) (*PivotRequest, error) {
	r := NewPivotRequest()
	r.Paths = QueryPaths
	fields := []field{
		{"convert_mw", floatField("convert_mw", &r.ConvertMW)},
		{"gpu", stringField(&r.GPU)},
		{"at", dayField("at", &r.At)},
		{"years", intField("years", &r.Years)},
		{"paths", intField("paths", &r.Paths)},
		{"seed", func(s string) error {
			n, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				return fieldError("seed", "want a whole number, got %q", s)
			}
			r.Seed = n
			return nil
		}},
		{"discount_rate", floatField("discount_rate", &r.DiscountRate)},
		{"gpu_usd_hour", floatField("gpu_usd_hour", &r.GPUUSDPerHour)},
		{"btc_model", stringField(&r.BTCModel)},
		{"btc_drift", floatField("btc_drift", &r.BTCDriftPerYear)},
		{"gpu_price_path", stringField(&r.GPUPricePath)},
		{"utilization", floatField("utilization", &r.Utilization)},
		{"utilization_spread", floatField("utilization_spread", &r.UtilizationSpread)},
		{"demand_elasticity", floatField("demand_elasticity", &r.DemandElasticity)},
		{"hoard", func(s string) error {
			b, err := strconv.ParseBool(s)
			if err != nil {
				return fieldError("hoard", "want true or false, got %q", s)
			}
			r.Hoard = b
			return nil
		}},
		{"pool_fee", floatField("pool_fee", &r.PoolFee)},
		{"asic_resale_usd", floatField("asic_resale_usd", &r.ASICResaleUSD)},
		{"gpu_pue", floatField("gpu_pue", &r.GPUPUE)},
	}
	fields = append(fields, costFields(&r.Costs, true)...)
	if err := parseQuery("plan", q, fields); err != nil {
		return nil, err
	}
	return r, r.Validate()
}

// costFields are the conversion costs a query may set, named as the manifest's costs
// block names them: opex, network and storage, conversion, and with lagResale the
// install lag and the ASIC resale (a backtest replays no order and sells no miner).
func costFields(c *econ.Costs, lagResale bool) []field {
	fs := []field{
		{"gpu_opex_usd_per_server_hour", floatField("gpu_opex_usd_per_server_hour", &c.GPUOpexUSDPerServerHour)},
		{"network_storage_fraction", floatField("network_storage_fraction", &c.NetworkStorageFraction)},
		{"conversion_usd_per_mw", floatField("conversion_usd_per_mw", &c.ConversionUSDPerMW)},
	}
	if lagResale {
		fs = append(fs,
			field{"install_lag_months", floatField("install_lag_months", &c.InstallLagMonths)},
			field{"asic_resale_fraction", floatField("asic_resale_fraction", &c.ASICResaleFraction)})
	}
	return fs
}

// parseQuery sets each parameter of q through its field; a parameter given more than
// once counts by its first value.
func parseQuery(kind string, q url.Values, fields []field) error {
	set := make(map[string]func(string) error, len(fields))
	names := make([]string, len(fields))
	for i, f := range fields {
		set[f.name], names[i] = f.set, f.name
	}
	for key := range q {
		if set[key] == nil {
			return joule.Errorf(joule.EINVALID, "%s: unknown parameter %q (known: %s)", kind, key, strings.Join(names, ", "))
		}
	}
	// In the fields' order, so that the first error is the same whatever the query's.
	for _, f := range fields {
		if q.Has(f.name) {
			if err := f.set(q.Get(f.name)); err != nil {
				return err
			}
		}
	}
	return nil
}

func dayField(name string, into *time.Time) func(string) error {
	return func(s string) (err error) {
		*into, err = ParseDay(name, s)
		return err
	}
}

func stringField(into *string) func(string) error {
	return func(s string) error {
		*into = s
		return nil
	}
}

func floatField(name string, into *float64) func(string) error {
	return func(s string) error {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return fieldError(name, "want a number, got %q", s)
		}
		*into = f
		return nil
	}
}

func intField(name string, into *int) func(string) error {
	return func(s string) error {
		n, err := strconv.Atoi(s)
		if err != nil {
			return fieldError(name, "want a whole number, got %q", s)
		}
		*into = n
		return nil
	}
}
