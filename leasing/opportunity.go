package leasing

import (
	"context"
	"sync"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/econ"
)

// OpportunityPricer holds the opportunity-cost ask of every product, as the market
// last set it, for the matcher's Pricing hook: a listing that asks its opportunity cost
// never sells a GPU-hour for less than the mining its power gives up.
type OpportunityPricer struct {
	mu   sync.RWMutex
	asks map[string]joule.MicroUSD
}

// Price is the matcher's hook: the product's opportunity-cost ask (0 when unknown;
// the listing's own ask is the floor).
func (p *OpportunityPricer) Price(product string, _ time.Time) joule.MicroUSD {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.asks[product]
}

// Set replaces every product's ask.
func (p *OpportunityPricer) Set(asks map[string]joule.MicroUSD) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.asks = asks
}

// OpportunityAsks prices every product from the market: at each site, a leased
// server's power would otherwise run the site's most efficient miners, earning
// econ.MiningUSDPerFacilityMWh at hashpriceNetUSDPerPHDay (net of the pool fee); per
// GPU-hour that is econ.OpportunityCostUSDPerGPUHour, raised by margin (0.2: 20%). A
// site without miners gives its products no opportunity cost.
func OpportunityAsks(sites []*joule.ResolvedSite, hashpriceNetUSDPerPHDay, margin float64) map[string]joule.MicroUSD {
	asks := map[string]joule.MicroUSD{}
	for _, site := range sites {
		best := site.MostEfficientASIC()
		if best == nil {
			continue
		}
		pue := max(site.Site.PUE, 1)
		mining := econ.MiningUSDPerFacilityMWh(hashpriceNetUSDPerPHDay, best.EfficiencyJPerTH(), pue)
		for _, f := range site.Fleets {
			m := f.Model
			if m.Kind != joule.KindGPUServer {
				continue
			}
			usd := econ.OpportunityCostUSDPerGPUHour(mining, m.PowerW.KW(), pue, m.GPUs) * (1 + margin)
			asks[joule.ProductID(m.ID, site.Site.Name)] = joule.MicroUSDFromUSD(usd)
		}
	}
	return asks
}

// Repricer keeps the asks of listings that ask their opportunity cost at what mining
// would earn now: every Every it prices each product at the live hashprice
// (OpportunityAsks), hands the asks to Pricer (the matcher's Pricing hook) and
// reprices the book. While the hashprice is stale the asks stay as last set.
type Repricer struct {
	Exchange *Service
	Pricer   *OpportunityPricer
	// Hashprice is the live hashprice net of the pool fee, and whether it is fresh.
	Hashprice func(now time.Time) (usdPerPHDay float64, fresh bool)
	Margin    float64 // over the opportunity cost (0.2: 20%)
	Every     time.Duration
}

// Run reprices at once and then every Every, until ctx ends.
func (r *Repricer) Run(ctx context.Context) error {
	t := time.NewTicker(max(r.Every, time.Millisecond))
	defer t.Stop()
	for {
		if err := r.Reprice(ctx); err != nil && ctx.Err() == nil {
			r.Exchange.cfg.Logger.Warn("leasing: reprice", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Reprice prices every product once at the hashprice now.
func (r *Repricer) Reprice(ctx context.Context) error {
	hp, fresh := r.Hashprice(r.Exchange.cfg.Now())
	if !fresh {
		return nil
	}
	sites, err := r.Exchange.sites(ctx)
	if err != nil {
		return err
	}
	r.Pricer.Set(OpportunityAsks(sites, hp, r.Margin))
	return r.Exchange.Reprice(ctx)
}
