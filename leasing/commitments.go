package leasing

import (
	"context"
	"slices"
	"strings"
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
					NoticeSec: l.NoticeSec, PriceMicroUSDPerGPUHour: sh.PriceMicroUSDPerGPUHour, GPUs: p.GPUsPerNode})
			}
		}
	}
	slices.SortFunc(out, func(a, b ServerLease) int { return strings.Compare(a.Server, b.Server) })
	return out
}

// Commitments returns, for a site at time at, the servers its leases hold per fleet:
// firm (firm and curtailable leases: curtailment is the site's demand-response lever,
// not the dispatcher's) and interruptible (spot), counted from the servers each lease
// is bound to (ServersAt). A server that no fleet of the site names (its fleet was
// renamed or shrank while leased) is left out.
func (s *Service) Commitments(site *joule.ResolvedSite, at time.Time) []Commitment {
	type key struct {
		fleet string
		spot  bool
	}
	type use struct {
		nodes []string
		usd   float64 // Σ GPUs × price
		gpus  int
	}
	used := map[key]*use{}
	for _, b := range s.ServersAt(site, at) {
		if b.Fleet == "" {
			continue
		}
		k := key{b.Fleet, b.Class == joule.LeaseInterruptible}
		u := used[k]
		if u == nil {
			u = &use{}
			used[k] = u
		}
		u.nodes = append(u.nodes, b.Server)
		u.usd += float64(b.GPUs) * b.PriceMicroUSDPerGPUHour.USD()
		u.gpus += b.GPUs
	}
	var out []Commitment
	for _, f := range site.Fleets { // by name
		for _, spot := range []bool{false, true} {
			u := used[key{f.Name, spot}]
			if u == nil {
				continue
			}
			class := joule.LeaseFirm
			if spot {
				class = joule.LeaseInterruptible
			}
			out = append(out, Commitment{Fleet: f.Name, Servers: len(u.nodes), Class: class, USDPerGPUHour: u.usd / float64(u.gpus), Nodes: u.nodes})
		}
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
		out = append(out, dispatch.Lease{Unit: i, Servers: c.Servers, Class: c.Class, USDPerGPUHour: c.USDPerGPUHour, Nodes: c.Nodes})
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
