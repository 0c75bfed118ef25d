package econ

import "github.com/joule-site/joule"

// Costs are what converting megawatts from mining to leased GPUs spends besides the
// servers and their energy. The zero value counts none of them.
//
// The cost of capital is Assumptions.DiscountRate: one annual rate, read as what the
// money costs (a financing rate or a required return), that discounts both options'
// cash flows, so that NPV, the profitability index and the crossover prices all see it.
// IRR needs no rate; compare it with that one.
type Costs struct {
	// GPUOpexUSDPerServerHour is the non-energy running cost of one installed GPU
	// server, leased or not: staff, maintenance and spares, network transit,
	// insurance. Mining's non-energy opex is not modelled.
	GPUOpexUSDPerServerHour float64 `json:"gpu_opex_usd_per_server_hour"`
	// NetworkStorageFraction is the capex of the cluster's network (switches, optics,
	// cables) and storage, as a fraction of the servers' price.
	NetworkStorageFraction float64 `json:"network_storage_fraction"`
	// ConversionUSDPerMW is the capex of turning a megawatt of mining site into a GPU
	// hall (cooling, redundant power, fit-out), per MW of site power compared.
	ConversionUSDPerMW float64 `json:"conversion_usd_per_mw"`
	// InstallLagMonths runs from ordering the servers to their first revenue (server
	// lead time and the hall's conversion). Capex is paid at the start; the servers'
	// life begins when they earn. Mining is taken to earn at once.
	InstallLagMonths float64 `json:"install_lag_months"`
	// ASICResaleFraction is the share of a new miner's price that a used one sells for.
	ASICResaleFraction float64 `json:"asic_resale_fraction"`
	// SiteOwnsASICs says the site already runs the mining side's miners. Then mining
	// keeps them (no outlay: they are paid for) and leasing sells them to convert, the
	// sale a credit against its capex (miners × price × ASICResaleFraction). Otherwise
	// the mining side buys its miners new and no resale is counted: the site has none
	// to sell.
	SiteOwnsASICs bool `json:"site_owns_asics"`
}

// Validate checks that every cost is a number in its range; an error names the cost as
// the manifest and the API do.
func (c Costs) Validate() error {
	switch {
	case !finite(c.GPUOpexUSDPerServerHour) || c.GPUOpexUSDPerServerHour < 0:
		return joule.Errorf(joule.EINVALID, "gpu_opex_usd_per_server_hour: GPU opex must be USD per server-hour from 0, got %v", c.GPUOpexUSDPerServerHour)
	case !(c.NetworkStorageFraction >= 0 && c.NetworkStorageFraction <= 5):
		return joule.Errorf(joule.EINVALID, "network_storage_fraction: network and storage capex must be a fraction of the servers' price from 0 to 5, got %v", c.NetworkStorageFraction)
	case !finite(c.ConversionUSDPerMW) || c.ConversionUSDPerMW < 0:
		return joule.Errorf(joule.EINVALID, "conversion_usd_per_mw: conversion capex must be USD per MW from 0, got %v", c.ConversionUSDPerMW)
	case !(c.InstallLagMonths >= 0 && c.InstallLagMonths <= 120):
		return joule.Errorf(joule.EINVALID, "install_lag_months: install lag must be months from 0 to 120, got %v", c.InstallLagMonths)
	case !(c.ASICResaleFraction >= 0 && c.ASICResaleFraction <= 1):
		return joule.Errorf(joule.EINVALID, "asic_resale_fraction: ASIC resale must be a fraction of a new miner's price from 0 to 1, got %v", c.ASICResaleFraction)
	}
	return nil
}

// Assumption is one input of a comparison with where its value comes from: a
// publication, "assumption" when none is known, or "given" when the query set it.
type Assumption struct {
	Name   string  `json:"name"` // the query parameter that sets it
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`
	Source string  `json:"source"`
}

// Sources of the defaults. A figure from elsewhere names its publication and date.
const (
	srcPUEGPU = "Uptime Institute: industry average PUE 1.58 in 2023 (journal.uptimeinstitute.com, 2024-02-07); " +
		"new and large facilities reach 1.3 or better (Uptime Institute Global Data Center Survey 2024, via cloudnews.tech)"
	srcPUEMining = "assumption: an air-cooled mining site, whose fans are in the miners' own power, loses only in transformers and distribution"
	srcGPULife   = "midpoint of CoreWeave's 6-year (S-1, 2025) and Nebius's 4-year GPU depreciation (bizety.com/2025/09/23/gpu-depreciation-coreweave-vs-nebius)"
	srcNetwork   = "switches, optics and cables add 4.9% to a 64-node H100 InfiniBand cluster at Aug 2024 prices (substack.tech-talk-cto.com/p/h100-freakonomics-the-economical); " +
		"network and insurance add 10-15% (v2-pseo-ai.pages.dev/tools/gpu-tco-analysis, undated, weak); 10% assumed to cover storage"
	srcConversion = "Sabre56 CEO Phil Harvey to Cointelegraph, Sept 2024: an AI/HPC data centre costs $3-5M per MW against $0.30-0.35M for mining, " +
		"and over 90% of a mining site's infrastructure is replaced; midpoint (finandcrypto.com/challenges-in-converting-bitcoin-mining-sites-to-ai-data-centers-says-sabre56-ceo)"
	srcLag = "H100 server lead times of 8-12 weeks in Apr 2024, down from about 40 weeks in late 2023 (Dell Taiwan's Terence Liao to United Daily News, via learnallfix.com/dell-shaves-months-off-lead-times-for-gpu-powered-ai-servers); " +
		"3 months of it plus 3 assumed for the hall's conversion"
	srcGPUOpex = "assumption ($0.125 per GPU-hour); for scale, electricity and colocation add $0.35/GPU-hour to an H200's $1.06 capital cost " +
		"(SemiAnalysis, 2025-11, threadreaderapp.com/thread/1989369981625098262.html)"
)

// DefaultAssumptions are a compare query's defaults that are not market data.
func DefaultAssumptions() Assumptions {
	return Assumptions{
		PUE:           1.05,
		GPUPUE:        1.3,
		Utilization:   0.85,
		DiscountRate:  0.12,
		ASICLifeYears: 4,
		GPULifeYears:  5,
	}
}

// DefaultCosts are the conversion costs a compare query counts unless told otherwise.
func DefaultCosts() Costs {
	return Costs{
		GPUOpexUSDPerServerHour: 1.00,
		NetworkStorageFraction:  0.10,
		ConversionUSDPerMW:      4_000_000,
		InstallLagMonths:        6,
		ASICResaleFraction:      0.30,
	}
}

// AssumptionsUsed lists every assumption and cost of a comparison with its value and
// source: a default's source while the value is the default's, "given" otherwise.
// Hardware prices are the models' catalog prices unless given.
func AssumptionsUsed(in CompareInput) []Assumption {
	a, c := in.Assumptions, in.Costs
	da, dc := DefaultAssumptions(), DefaultCosts()
	price := func(override float64, m *joule.HardwareModel) (value, dflt float64, source string) {
		if m == nil {
			return override, 0, "given"
		}
		return pick(override, m.PriceUSD), m.PriceUSD, "the catalog's price of " + m.ID
	}
	asicPrice, asicDflt, asicSrc := price(a.ASICPriceUSD, in.ASIC)
	gpuPrice, gpuDflt, gpuSrc := price(a.GPUPriceUSD, in.GPU)
	gpuPUE := a.GPUPUE
	if gpuPUE == 0 {
		gpuPUE = a.PUE
	}
	owned := 0.0
	if c.SiteOwnsASICs {
		owned = 1
	}
	rows := []struct {
		name, unit  string
		value, dflt float64
		source      string
	}{
		{"pue", "facility ÷ IT power, mining site", a.PUE, da.PUE, srcPUEMining},
		{"gpu_pue", "facility ÷ IT power, GPU hall", gpuPUE, da.GPUPUE, srcPUEGPU},
		{"utilization", "fraction of GPU-hours sold", a.Utilization, da.Utilization, "assumption"},
		{"discount_rate", "per year, the cost of capital", a.DiscountRate, da.DiscountRate, "assumption"},
		{"asic_life_years", "years", a.ASICLifeYears, da.ASICLifeYears, "assumption"},
		{"gpu_life_years", "years", a.GPULifeYears, da.GPULifeYears, srcGPULife},
		{"pool_fee", "fraction of mining revenue", a.PoolFee, 0, "assumption: none (gross hashprice)"},
		{"asic_price_usd", "USD per miner", asicPrice, asicDflt, asicSrc},
		{"gpu_price_usd", "USD per server", gpuPrice, gpuDflt, gpuSrc},
		{"gpu_opex_usd_per_server_hour", "USD per server-hour", c.GPUOpexUSDPerServerHour, dc.GPUOpexUSDPerServerHour, srcGPUOpex},
		{"network_storage_fraction", "of the servers' price", c.NetworkStorageFraction, dc.NetworkStorageFraction, srcNetwork},
		{"conversion_usd_per_mw", "USD per MW", c.ConversionUSDPerMW, dc.ConversionUSDPerMW, srcConversion},
		{"install_lag_months", "months to first GPU revenue", c.InstallLagMonths, dc.InstallLagMonths, srcLag},
		{"asic_resale_fraction", "of a new miner's price", c.ASICResaleFraction, dc.ASICResaleFraction, "assumption; counted only when the site owns its miners"},
		{"site_owns_asics", "1 when the site owns the miners", owned, 0, "assumption: the mining side buys its miners new"},
	}
	out := make([]Assumption, len(rows))
	for i, r := range rows {
		src := r.source
		if r.value != r.dflt {
			src = "given"
		}
		out[i] = Assumption{Name: r.name, Value: r.value, Unit: r.unit, Source: src}
	}
	return out
}

// WithSite returns c with the figures a site's manifest declares in place of c's (its
// discount rate is the caller's to take: it is not a cost).
func (c Costs) WithSite(s joule.SiteCosts) Costs {
	for _, f := range []struct {
		from *float64
		into *float64
	}{
		{s.GPUOpexUSDPerServerHour, &c.GPUOpexUSDPerServerHour},
		{s.NetworkStorageFraction, &c.NetworkStorageFraction},
		{s.ConversionUSDPerMW, &c.ConversionUSDPerMW},
		{s.InstallLagMonths, &c.InstallLagMonths},
		{s.ASICResaleFraction, &c.ASICResaleFraction},
	} {
		if f.from != nil {
			*f.into = *f.from
		}
	}
	return c
}
