package leasing

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/dispatch"
)

// Commitment is what leases of one class, notice and product commit of one GPU server
// fleet at a moment: servers the dispatch policy must power (firm), may curtail during
// a demand-response event once their notice has run (curtailable), or may curtail at a
// price (interruptible), and how far it may cap the last two before it stops them.
type Commitment struct {
	Fleet   string           `json:"fleet"`
	Servers int              `json:"servers"`
	Class   joule.LeaseClass `json:"class"`
	// NoticeSec is the notice a curtailable lease is owed before it is curtailed.
	NoticeSec int64 `json:"notice_sec,omitempty"`
	// USDPerGPUHour is the GPU-weighted mean price of the leases, what curtailing an
	// interruptible server gives up per GPU-hour.
	USDPerGPUHour float64 `json:"usd_per_gpu_hour"`
	// CapFrac is the product's cap (joule.CapTerms; 0: never capped) and
	// CappedUSDPerGPUHour the GPU-weighted mean of the leases' capped prices. Firm
	// leases are never capped, whatever their product's terms.
	CapFrac             float64 `json:"cap_frac,omitempty"`
	CappedUSDPerGPUHour float64 `json:"capped_usd_per_gpu_hour,omitempty"`
	// Nodes are the committed servers by name, sorted.
	Nodes []string `json:"nodes"`
}

// ServerLease is one server bound to a lease at a moment: what the agent keeps
// serving, metering charges for, the workload engine reserves, and a demand-response
// event or a power cap may act on, by the lease's class.
type ServerLease struct {
	Server    string           `json:"server"` // node name (ServerNames)
	Fleet     string           `json:"fleet"`
	Lease     string           `json:"lease"`
	Tenant    string           `json:"tenant"`
	Class     joule.LeaseClass `json:"class"`
	NoticeSec int64            `json:"notice_sec,omitempty"`
	// PriceMicroUSDPerGPUHour is what the lease pays for this server's GPUs in this hour.
	PriceMicroUSDPerGPUHour joule.MicroUSD `json:"price_micro_usd_per_gpu_hour"`
	GPUs                    int            `json:"gpus"`
	product                 string
}

// ServersAt returns the site's servers that leases hold at time at, by server name:
// the binding each fill recorded (joule.Lease.ServersAt), never a guess. A server is
// in at most one entry: the exchange binds no server to two leases in one hour.
func (s *Service) ServersAt(site *joule.ResolvedSite, at time.Time) []ServerLease {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.serversAt(site, at)
}

// serversAt is ServersAt for a caller that holds s.mu.
func (s *Service) serversAt(site *joule.ResolvedSite, at time.Time) []ServerLease {
	fleetOf := map[string]string{}
	for _, f := range site.Fleets {
		for _, n := range ServerNames(f) {
			fleetOf[n] = f.Name
		}
	}
	products := map[string]joule.Product{}
	for _, p := range s.engine.Products() {
		if p.Site == site.Site.Name {
			products[p.ID] = p
		}
	}
	leases := s.engine.Leases("", at)
	var out []ServerLease
	for _, l := range leases {
		p, ok := products[l.Product]
		if !ok {
			continue
		}
		for _, sh := range l.Sellers {
			if at.Before(sh.Start) || !at.Before(sh.End) {
				continue
			}
			held := l.ServersAt(at)
			for _, n := range sh.Servers {
				if !slices.Contains(held, n) { // resold for this hour: the buyer's
					continue
				}
				out = append(out, ServerLease{Server: n, Fleet: fleetOf[n], Lease: l.ID, Tenant: l.Tenant, Class: l.Class,
					NoticeSec: l.NoticeSec, PriceMicroUSDPerGPUHour: sh.PriceMicroUSDPerGPUHour, GPUs: p.GPUsPerNode, product: p.ID})
			}
		}
	}
	slices.SortFunc(out, func(a, b ServerLease) int { return strings.Compare(a.Server, b.Server) })
	return out
}

// Commitments returns, for a site at time at, the servers its leases hold per fleet,
// class (firm, curtailable, interruptible, in that order), notice and product, counted
// from the servers each lease is bound to (ServersAt), with the product's cap terms for
// the leases that may be interrupted. A server that no fleet of the site names (its
// fleet was renamed or shrank while leased) is left out.
func (s *Service) Commitments(site *joule.ResolvedSite, at time.Time) []Commitment {
	type key struct {
		fleet   string
		class   int
		notice  int64
		product string
	}
	type use struct {
		nodes     []string
		usd       float64 // Σ GPUs × price
		cappedUSD float64 // Σ GPUs × capped price
		gpus      int
		cls       joule.LeaseClass
		terms     joule.CapTerms
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	used := map[key]*use{}
	var keys []key
	for _, b := range s.serversAt(site, at) {
		if b.Fleet == "" {
			continue
		}
		k := key{fleet: b.Fleet, class: classOrder(b.Class), notice: b.NoticeSec, product: b.product}
		if b.Class != joule.LeaseCurtailable {
			k.notice = 0
		}
		u := used[k]
		if u == nil {
			u = &use{cls: b.Class, terms: s.capTermsOf(b.product)}
			if k.class == 0 {
				u.cls, u.terms = joule.LeaseFirm, joule.CapTerms{}
			}
			used[k] = u
			keys = append(keys, k)
		}
		u.nodes = append(u.nodes, b.Server)
		u.usd += float64(b.GPUs) * b.PriceMicroUSDPerGPUHour.USD()
		u.cappedUSD += float64(b.GPUs) * u.terms.CappedPrice(b.PriceMicroUSDPerGPUHour).USD()
		u.gpus += b.GPUs
	}
	fleetIndex := map[string]int{}
	for i, f := range site.Fleets {
		fleetIndex[f.Name] = i
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(cmp.Compare(fleetIndex[a.fleet], fleetIndex[b.fleet]), cmp.Compare(a.class, b.class),
			cmp.Compare(a.notice, b.notice), strings.Compare(a.product, b.product))
	})
	var out []Commitment
	for _, k := range keys {
		u := used[k]
		c := Commitment{Fleet: k.fleet, Servers: len(u.nodes), Class: u.cls, NoticeSec: k.notice,
			USDPerGPUHour: u.usd / float64(u.gpus), Nodes: u.nodes}
		if u.terms.Capped() {
			c.CapFrac, c.CappedUSDPerGPUHour = u.terms.CapFrac, u.cappedUSD/float64(u.gpus)
		}
		out = append(out, c)
	}
	return out
}

// classOrder orders lease classes as the plan sheds them last to first: firm (any
// class but the two below), curtailable, interruptible.
func classOrder(c joule.LeaseClass) int {
	switch c {
	case joule.LeaseCurtailable:
		return 1
	case joule.LeaseInterruptible:
		return 2
	}
	return 0
}

// DispatchLeases is what the site's leases commit at time at, as the dispatch
// policy's leases of the site's units (dispatch.Compile's: one per fleet, in order).
func (s *Service) DispatchLeases(_ context.Context, site *joule.ResolvedSite, at time.Time) ([]dispatch.Lease, error) {
	cs := s.Commitments(site, at)
	out := make([]dispatch.Lease, 0, len(cs))
	for _, c := range cs {
		i := slices.IndexFunc(site.Fleets, func(f joule.ResolvedFleet) bool { return f.Name == c.Fleet })
		out = append(out, dispatch.Lease{Unit: i, Servers: c.Servers, Class: c.Class, NoticeSec: c.NoticeSec, USDPerGPUHour: c.USDPerGPUHour,
			CapFrac: c.CapFrac, CappedUSDPerGPUHour: c.CappedUSDPerGPUHour, Nodes: c.Nodes})
	}
	return out, nil
}

// LeasesFrom returns the leases that hold servers in the hour of at or later, oldest
// first, with their bindings: what the workload engine must reserve (package delivery).
func (s *Service) LeasesFrom(at time.Time) []joule.Lease {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.engine.LeasesFrom(at)
}
