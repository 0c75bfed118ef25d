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
func (s *Service) Commitments(ctx context.Context, site string, at time.Time) ([]Commitment, error) {
	if s.cfg.Fleets == nil {
		return nil, nil
	}
	fleets, err := s.cfg.Fleets.Fleets(ctx, site)
	if err != nil {
		return nil, err
	}
	type use struct {
		firm, spot       int
		firmUSD, spotUSD float64 // Σ GPUs × price
	}
	used := map[sellerKey]*use{}
	products := map[string]joule.Product{}
	s.mu.RLock()
	for _, p := range s.engine.Products() {
		if p.Site == site {
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
	for _, f := range fleets { // by name
		seller := f.Owner
		if seller == "" {
			seller = s.cfg.Operator
		}
		var p *joule.Product
		for _, x := range products {
			if x.Model == f.Model {
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
	return out, nil
}

// DispatchLeases turns commitments into the dispatch policy's leases for a site whose
// units are named by fleet; commitments of fleets the site does not have are dropped.
func DispatchLeases(cs []Commitment, units []dispatch.Unit) []dispatch.Lease {
	var out []dispatch.Lease
	for _, c := range cs {
		i := slices.IndexFunc(units, func(u dispatch.Unit) bool { return u.Name == c.Fleet })
		if i < 0 {
			continue
		}
		out = append(out, dispatch.Lease{Unit: i, Servers: c.Servers, Class: c.Class, USDPerGPUHour: c.USDPerGPUHour})
	}
	return out
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
