package http

import (
	"math"
	"net/url"
	"strconv"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/econ"
	"github.com/joule-site/joule/pricing"
)

// Defaults of a compare query that are assumptions, not market data, and the costs
// of converting to GPUs it counts. They are the CLI's flag defaults too; econ says
// where each comes from (econ.AssumptionsUsed), and every compare answer lists them.
var (
	DefaultAssumptions = econ.DefaultAssumptions()
	DefaultCosts       = econ.DefaultCosts()
)

// dayValues encodes a day query as URL parameters.
func dayValues(q pricing.DayQuery) url.Values {
	v := url.Values{}
	v.Set("date", q.Date.Format(time.DateOnly))
	v.Set("pool_fee", ftoa(q.PoolFee))
	if q.FeesPerBlockBTC != nil {
		v.Set("fees_btc_per_block", ftoa(*q.FeesPerBlockBTC))
	}
	return v
}

// compareValues encodes a compare query as URL parameters.
func compareValues(q pricing.CompareQuery) url.Values {
	q.DayQuery.PoolFee = q.Assumptions.PoolFee
	v := dayValues(q.DayQuery)
	v.Set("mw", ftoa(q.MW))
	v.Set("asic", q.ASIC)
	v.Set("gpu", q.GPU)
	v.Set("gpu_usd_hour", ftoa(q.GPUUSDPerHour))
	v.Set("energy_usd_mwh", ftoa(q.EnergyUSDPerMWh))
	v.Set("utilization", ftoa(q.Utilization))
	v.Set("pue", ftoa(q.PUE))
	v.Set("gpu_pue", ftoa(q.GPUPUE))
	v.Set("discount_rate", ftoa(q.DiscountRate))
	v.Set("asic_life_years", ftoa(q.ASICLifeYears))
	v.Set("gpu_life_years", ftoa(q.GPULifeYears))
	v.Set("asic_price_usd", ftoa(q.ASICPriceUSD))
	v.Set("gpu_price_usd", ftoa(q.GPUPriceUSD))
	c := q.Costs
	v.Set("gpu_opex_usd_per_server_hour", ftoa(c.GPUOpexUSDPerServerHour))
	v.Set("network_storage_fraction", ftoa(c.NetworkStorageFraction))
	v.Set("conversion_usd_per_mw", ftoa(c.ConversionUSDPerMW))
	v.Set("install_lag_months", ftoa(c.InstallLagMonths))
	v.Set("asic_resale_fraction", ftoa(c.ASICResaleFraction))
	v.Set("site_owns_asics", strconv.FormatBool(c.SiteOwnsASICs))
	return v
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// params reads typed URL parameters, remembering the first error.
type params struct {
	v   url.Values
	err error
}

func (p *params) float(name string, dflt float64) float64 {
	s := p.v.Get(name)
	if s == "" || p.err != nil {
		return dflt
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		p.err = joule.Errorf(joule.EINVALID, "%s: not a number: %q", name, s)
	}
	return f
}

// int reads a whole number that is not negative.
func (p *params) int(name string, dflt int) int {
	s := p.v.Get(name)
	if s == "" || p.err != nil {
		return dflt
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		p.err = joule.Errorf(joule.EINVALID, "%s: a whole number from 0, not %q", name, s)
	}
	return n
}

func (p *params) bool(name string, dflt bool) bool {
	s := p.v.Get(name)
	if s == "" || p.err != nil {
		return dflt
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		p.err = joule.Errorf(joule.EINVALID, "%s: true or false, not %q", name, s)
	}
	return b
}

func (p *params) required(name string) string {
	s := p.v.Get(name)
	if s == "" && p.err == nil {
		p.err = joule.Errorf(joule.EINVALID, "%s is required", name)
	}
	return s
}

func (p *params) date(name string) time.Time {
	s := p.required(name)
	if p.err != nil {
		return time.Time{}
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		p.err = joule.Errorf(joule.EINVALID, "%s: want a date as YYYY-MM-DD, got %q", name, s)
	}
	return t
}

func parseDayQuery(v url.Values) (pricing.DayQuery, error) {
	p := &params{v: v}
	q := pricing.DayQuery{PoolFee: p.float("pool_fee", 0)}
	if v.Has("date") { // without one, the newest day with every series
		q.Date = p.date("date")
	}
	if v.Has("fees_btc_per_block") {
		f := p.float("fees_btc_per_block", 0)
		q.FeesPerBlockBTC = &f
	}
	return q, p.err
}

func parseCompareQuery(v url.Values) (pricing.CompareQuery, error) {
	day, err := parseDayQuery(v)
	if err != nil {
		return pricing.CompareQuery{}, err
	}
	p := &params{v: v}
	d, dc := DefaultAssumptions, DefaultCosts
	q := pricing.CompareQuery{
		DayQuery:      day,
		MW:            p.float("mw", 0),
		ASIC:          p.required("asic"),
		GPU:           p.required("gpu"),
		GPUUSDPerHour: p.float("gpu_usd_hour", 0),
		Assumptions: econ.Assumptions{
			PoolFee:         day.PoolFee,
			EnergyUSDPerMWh: p.float("energy_usd_mwh", 0),
			PUE:             p.float("pue", d.PUE),
			GPUPUE:          p.float("gpu_pue", d.GPUPUE),
			Utilization:     p.float("utilization", d.Utilization),
			DiscountRate:    p.float("discount_rate", d.DiscountRate),
			ASICLifeYears:   p.float("asic_life_years", d.ASICLifeYears),
			GPULifeYears:    p.float("gpu_life_years", d.GPULifeYears),
			ASICPriceUSD:    p.float("asic_price_usd", 0),
			GPUPriceUSD:     p.float("gpu_price_usd", 0),
		},
		Costs: econ.Costs{
			GPUOpexUSDPerServerHour: p.float("gpu_opex_usd_per_server_hour", dc.GPUOpexUSDPerServerHour),
			NetworkStorageFraction:  p.float("network_storage_fraction", dc.NetworkStorageFraction),
			ConversionUSDPerMW:      p.float("conversion_usd_per_mw", dc.ConversionUSDPerMW),
			InstallLagMonths:        p.float("install_lag_months", dc.InstallLagMonths),
			ASICResaleFraction:      p.float("asic_resale_fraction", dc.ASICResaleFraction),
			SiteOwnsASICs:           p.bool("site_owns_asics", dc.SiteOwnsASICs),
		},
	}
	for _, name := range []string{"mw", "gpu_usd_hour", "energy_usd_mwh"} {
		p.required(name)
	}
	return q, p.err
}
