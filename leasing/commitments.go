package leasing

import (
	"context"
	"slices"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/dispatch"
)

// Commitment is what leases commit of one GPU server fleet at a moment: servers the
// dispatch policy must power (firm) or may curtail at a price (interruptible).
type Commitment struct {
	Fleet   string           `json:"fleet"`
	Servers int              `json:"servers"`
	Class   joule.LeaseClass `json:"class"`
	// USDPerGPUHour is the GPU-weighted mean price of the leases, what curtailing an
	// interruptible server gives up per GPU-hour.
	USDPerGPUHour float64 `json:"usd_per_gpu_hour"`
}

// Commitments returns, for a site at time at, the servers its leases hold per fleet:
// firm (firm and curtailable leases: curtailment is the site's demand-response lever,
// not the dispatcher's) and interruptible (spot). A seller's GPUs fill its fleets of
// the model in name order, firm GPUs first; a server partly leased counts as leased.
// Hours bought from a resale are already counted in the lease they were resold from.
func (s *Service) Commitments(site *joule.ResolvedSite, at time.Time) []Commitment {
	type use struct {
		firm, spot       int
		firmUSD, spotUSD float64 // Σ GPUs × price
	}
	used := map[sellerKey]*use{}
	products := map[string]joule.Product{}
	s.mu.RLock()
	for _, p := range s.engine.Products() {
		if p.Site == site.Site.Name {
			products[p.ID] = p
		}
	}
	leases := s.engine.Leases("", at)
	s.mu.RUnlock()
	for _, l := range leases {
		if _, ok := products[l.Product]; !ok {
			continue
		}
		for _, sh := range l.Sellers {
			if sh.ResaleOrder != "" || at.Before(sh.Start) || !at.Before(sh.End) {
				continue
			}
			k := sellerKey{l.Product, sh.Seller}
			u := used[k]
			if u == nil {
				u = &use{}
				used[k] = u
			}
			usd := float64(sh.GPUs) * sh.PriceMicroUSDPerGPUHour.USD()
			if l.Class == joule.LeaseInterruptible {
				u.spot += sh.GPUs
				u.spotUSD += usd
			} else {
				u.firm += sh.GPUs
				u.firmUSD += usd
			}
		}
	}
	var out []Commitment
	for _, f := range site.Fleets { // by name
		seller := f.Seller(s.cfg.Operator)
		var p *joule.Product
		for _, x := range products {
			if x.Model == f.Model.ID {
				p = &x
			}
		}
		if p == nil {
			continue
		}
		u := used[sellerKey{p.ID, seller}]
		if u == nil {
			continue
		}
		gpn, room := p.GPUsPerNode, f.Count*p.GPUsPerNode
		firm := min(u.firm, room)
		spot := min(u.spot, room-firm)
		firmServers := ceilDiv(firm, gpn)
		spotServers := min(ceilDiv(firm+spot, gpn), f.Count) - firmServers
		if firm > 0 {
			out = append(out, Commitment{Fleet: f.Name, Servers: firmServers, Class: joule.LeaseFirm, USDPerGPUHour: u.firmUSD / float64(u.firm)})
		}
		if spot > 0 && spotServers > 0 {
			out = append(out, Commitment{Fleet: f.Name, Servers: spotServers, Class: joule.LeaseInterruptible, USDPerGPUHour: u.spotUSD / float64(u.spot)})
		}
		u.firm -= firm
		u.spot -= spot
	}
	return out
}

// DispatchLeases is what the site's leases commit at time at, as the dispatch
// policy's leases of the site's units (dispatch.Compile's: one per fleet, in order).
func (s *Service) DispatchLeases(_ context.Context, site *joule.ResolvedSite, at time.Time) ([]dispatch.Lease, error) {
	cs := s.Commitments(site, at)
	out := make([]dispatch.Lease, 0, len(cs))
	for _, c := range cs {
		i := slices.IndexFunc(site.Fleets, func(f joule.ResolvedFleet) bool { return f.Name == c.Fleet })
		out = append(out, dispatch.Lease{Unit: i, Servers: c.Servers, Class: c.Class, USDPerGPUHour: c.USDPerGPUHour})
	}
	return out, nil
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
