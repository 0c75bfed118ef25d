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

// SiteSource finds the sites, their fleets and the hardware models.
type SiteSource interface {
	Sites(ctx context.Context) ([]*joule.Site, error)
	Fleets(ctx context.Context, site string) ([]*joule.Fleet, error)
	AllModels(ctx context.Context) ([]*joule.HardwareModel, error)
}

// OpportunityAsks prices every product from the market: at each site, the GPUs'
// power would otherwise run the site's most efficient miners, earning their hashprice
// revenue per MWh (hashpriceUSDPerPHDay is net of the pool fee); per GPU-hour that is
// econ.OpportunityCostUSDPerGPUHour, raised by margin (0.2: 20%). A site without
// miners gives its products no opportunity cost.
func OpportunityAsks(ctx context.Context, src SiteSource, hashpriceUSDPerPHDay, margin float64) (map[string]joule.MicroUSD, error) {
	models, err := src.AllModels(ctx)
	if err != nil {
		return nil, err
	}
	byID := joule.ModelsByID(models)
	sites, err := src.Sites(ctx)
	if err != nil {
		return nil, err
	}
	asks := map[string]joule.MicroUSD{}
	for _, site := range sites {
		fleets, err := src.Fleets(ctx, site.Name)
		if err != nil {
			return nil, err
		}
		best := joule.MostEfficientASIC(fleets, byID)
		if best == nil {
			continue
		}
		mining := econ.BreakevenUSDPerMWh(hashpriceUSDPerPHDay, best.EfficiencyJPerTH(), 0)
		for _, f := range fleets {
			m := byID[f.Model]
			if m == nil || m.Kind != joule.KindGPUServer {
				continue
			}
			usd := econ.OpportunityCostUSDPerGPUHour(mining, m.PowerW.KW(), site.PUE, m.GPUs) * (1 + margin)
			asks[joule.ProductID(m.ID, site.Name)] = joule.MicroUSDFromUSD(usd)
		}
	}
	return asks, nil
}
