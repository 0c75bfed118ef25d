package reports

import (
	"context"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/backtest"
	"github.com/joule-site/joule/econ"
	"github.com/joule-site/joule/forecast"
	"github.com/joule-site/joule/history"
	"github.com/joule-site/joule/manifest"
)

// Site is a site ready to model: its fleets resolved against the known models, and
// the lookup that finds the models a request names (gpu).
type Site struct {
	Spec   *joule.ResolvedSite
	Lookup joule.ModelLookup
}

// ResolveSite resolves a site's fleets against models, the store's and the catalog's
// (a manifest's own models appended after them take precedence). It is the one
// resolution the CLI and the server both use.
func ResolveSite(site *joule.Site, fleets []*joule.Fleet, models []*joule.HardwareModel) (*Site, error) {
	lookup := joule.ModelsByID(models).Lookup
	spec, err := joule.ResolveSite(site, fleets, lookup)
	if err != nil {
		return nil, err
	}
	return &Site{Spec: spec, Lookup: lookup}, nil
}

// SiteFromManifest is the one site a manifest file declares, resolved against models
// (the store's and the catalog's) and the manifest's own, which win over a stored
// model of the same ID. A manifest of more or fewer sites is EINVALID.
func SiteFromManifest(filename string, data []byte, models []*joule.HardwareModel) (*Site, error) {
	m, err := manifest.Parse(filename, data, joule.ModelsByID(models).Lookup)
	if err != nil {
		return nil, err
	}
	if len(m.Sites) != 1 {
		return nil, joule.Errorf(joule.EINVALID, "site %s: the manifest declares %d sites; give a file with one", filename, len(m.Sites))
	}
	var fleets []*joule.Fleet
	for _, f := range m.Fleets {
		if f.Site == m.Sites[0].Name {
			fleets = append(fleets, f)
		}
	}
	return ResolveSite(m.Sites[0], fleets, append(models, m.Models...))
}

// gpuServer finds the GPU server model a request names.
func (s *Site) gpuServer(id string) (*joule.HardwareModel, error) {
	m, ok := s.Lookup(id)
	if !ok || m.Kind != joule.KindGPUServer {
		return nil, fieldError("gpu", "unknown GPU server model %q", id)
	}
	return m, nil
}

// gpuPricePath is the GPU-hour price path a request asks for: its constant price, its
// own path, or else the published path of model ("": a price of zero).
func gpuPricePath(usd float64, path *backtest.PricePath, name, model string) (*backtest.PricePath, error) {
	switch {
	case path != nil:
		return path, nil
	case usd > 0:
		return backtest.ConstantPrice(usd), nil
	case model == "":
		return backtest.ConstantPrice(0), nil
	}
	return backtest.NamedPricePath(name, model)
}

// Backtest replays hist through each strategy at site as req asks. progress, if not
// nil, is told how many intervals of the total have been simulated. It stops when ctx
// is done, with ctx.Err().
func Backtest(ctx context.Context, site *Site, req *BacktestRequest, hist *history.History, progress func(done, total int)) (*backtest.Report, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	spec := site.Spec
	if req.Node != "" {
		s := *spec.Site
		s.Energy = joule.EnergyPriceModel{Kind: joule.EnergyWholesale, Node: req.Node, AdderUSDPerMWh: s.Energy.AdderUSDPerMWh}
		spec = &joule.ResolvedSite{Site: &s, Fleets: spec.Fleets}
	}
	gpu, _ := spec.GPUModel()
	if req.GPU != "" {
		m, err := site.gpuServer(req.GPU)
		if err != nil {
			return nil, err
		}
		gpu = m
	}
	modelID := ""
	if gpu != nil {
		modelID = gpu.ID
	}
	path, err := gpuPricePath(req.GPUUSDPerHour, req.GPUPrice, req.GPUPricePath, modelID)
	if err != nil {
		return nil, err
	}
	fc := forecast.Default()
	if req.Forecast != "" {
		if fc, err = forecast.ByName(req.Forecast); err != nil {
			return nil, err
		}
	}
	costs := mergeCosts(req.Costs, spec.Site.Costs)
	return backtest.Run(ctx, backtest.Config{
		Site: spec, From: req.From, To: req.To, History: hist, PoolFee: req.PoolFee, GPUPrice: path,
		Utilization: req.Utilization, Hysteresis: req.Hysteresis, GPU: gpu, HybridShare: req.HybridShare,
		GPULifeYears: req.GPULifeYears, Forecaster: fc, Costs: &costs, GPUPUE: req.GPUPUE, Progress: progress,
	})
}

// Pivot runs req's Monte Carlo futures of converting miners at site into GPU servers,
// with history hist. progress, if not nil, is told how many paths of the total have
// finished. It stops when ctx is done, with ctx.Err().
func Pivot(ctx context.Context, site *Site, req *PivotRequest, hist *history.History, progress func(done, total int)) (*backtest.PivotReport, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	gpu, err := site.gpuServer(req.GPU)
	if err != nil {
		return nil, err
	}
	price, market, err := pivotPrices(req, gpu.ID)
	if err != nil {
		return nil, err
	}
	costs, discount := siteCosts(req, site.Spec.Site.Costs)
	return backtest.RunPivot(ctx, backtest.PivotConfig{
		Site: site.Spec, ConvertMW: req.ConvertMW, GPU: gpu, At: req.At, Years: req.Years, Paths: req.Paths, Seed: req.Seed,
		History: hist, PoolFee: req.PoolFee, DiscountRate: discount,
		GPUUSDPerHour: price.usd, PriceSource: price.source, MarketUSDPerHour: market.usd, MarketSource: market.source,
		Utilization: req.Utilization, UtilizationSpread: req.UtilizationSpread, DemandElasticity: req.DemandElasticity,
		GPUPriceDriftPerYear: req.GPUDriftRange, Costs: costs, GPUPUE: req.GPUPUE,
		ASICResaleUSD: req.ASICResaleUSD, Hoard: req.Hoard, BTCModel: req.BTCModel, BTCDriftPerYear: req.BTCDriftPerYear,
		Hysteresis: req.Hysteresis, Given: req.given(),
		Workers: req.Workers, Progress: progress,
	})
}

// siteCosts are the plan's costs and discount rate: what the request sets, else what
// the site's manifest declares, else the defaults. A request figure equal to its
// default counts as not set.
func siteCosts(req *PivotRequest, site joule.SiteCosts) (econ.Costs, float64) {
	discount := req.DiscountRate
	if discount == NewPivotRequest().DiscountRate && site.DiscountRate != nil {
		discount = *site.DiscountRate
	}
	return mergeCosts(req.Costs, site), discount
}

// mergeCosts is c with each figure left at econ.DefaultCosts()'s replaced by the
// site's, where it declares one.
func mergeCosts(c econ.Costs, site joule.SiteCosts) econ.Costs {
	d, fromSite := econ.DefaultCosts(), econ.DefaultCosts().WithSite(site)
	for _, f := range []struct{ got, dflt, site *float64 }{
		{&c.GPUOpexUSDPerServerHour, &d.GPUOpexUSDPerServerHour, &fromSite.GPUOpexUSDPerServerHour},
		{&c.NetworkStorageFraction, &d.NetworkStorageFraction, &fromSite.NetworkStorageFraction},
		{&c.ConversionUSDPerMW, &d.ConversionUSDPerMW, &fromSite.ConversionUSDPerMW},
		{&c.InstallLagMonths, &d.InstallLagMonths, &fromSite.InstallLagMonths},
		{&c.ASICResaleFraction, &d.ASICResaleFraction, &fromSite.ASICResaleFraction},
	} {
		if *f.got == *f.dflt {
			*f.got = *f.site
		}
	}
	return c
}

// pivotPrice is a GPU-hour price on the conversion day and where it comes from ("":
// given).
type pivotPrice struct {
	usd    float64
	source string
}

// pivotPrices are the price a plan's site asks on req.At (the constant given, the path
// given, or the named published path) and the market's (the market path's; the price
// asked where the model has none).
func pivotPrices(req *PivotRequest, model string) (asked, market pivotPrice, err error) {
	at := req.At.Unix()
	from := func(p *backtest.PricePath) pivotPrice {
		usd, _ := p.At(at)
		src := p.Label
		if s := p.SourceAt(at); s != "" {
			src = s + "; path " + p.Label
		}
		return pivotPrice{usd: usd, source: src}
	}
	switch {
	case req.GPUUSDPerHour > 0:
		asked = pivotPrice{usd: req.GPUUSDPerHour}
	case req.GPUPrice != nil:
		asked = from(req.GPUPrice)
		asked.source = "given: " + asked.source
	default:
		p, err := backtest.NamedPricePath(req.GPUPricePath, model)
		if err != nil {
			return asked, market, err
		}
		asked = from(p)
	}
	m, err := backtest.MarketPricePath(model)
	if err != nil {
		return asked, asked, nil
	}
	return asked, from(m), nil
}

// given names the plan's own inputs req sets to other than the defaults.
func (r *PivotRequest) given() map[string]bool {
	d := NewPivotRequest()
	return map[string]bool{
		"utilization_spread": r.UtilizationSpread != d.UtilizationSpread,
		"demand_elasticity":  r.DemandElasticity != d.DemandElasticity,
		"gpu_drift_low":      r.GPUDriftRange[0] != d.GPUDriftRange[0],
		"gpu_drift_high":     r.GPUDriftRange[1] != d.GPUDriftRange[1],
		"btc_drift_per_year": r.BTCDriftPerYear != d.BTCDriftPerYear,
	}
}
