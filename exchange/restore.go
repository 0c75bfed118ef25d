package exchange

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/joule-site/joule"
)

// State is what an engine is rebuilt from: what the store persisted from Results.
type State struct {
	Products []joule.Product `json:"products"`
	Listings []joule.Listing `json:"listings"`
	// Orders are every resting order, every order a lease below comes from, every resale
	// order a lease below bought from, and the finished orders of the idempotency window.
	Orders []joule.Order `json:"orders"`
	// Leases are every lease that holds GPUs in the current hour or later.
	Leases []joule.Lease `json:"leases"`
	// LastOrderID and LastLeaseID are the highest numbers of default IDs ("o<n>", "l<n>")
	// ever issued, so that a restored engine never issues one again: for a store, the
	// highest it has persisted. Restore also looks at the IDs in Orders and Leases.
	LastOrderID uint64 `json:"last_order_id"`
	LastLeaseID uint64 `json:"last_lease_id"`
	// FillPriorities are the products whose fill priority is not joule.FillByTime.
	FillPriorities []joule.ProductFillPriority `json:"fill_priorities,omitempty"`
}

// State returns a copy of everything the engine remembers, in a form Restore takes.
func (e *Engine) State() State {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := State{LastOrderID: e.nextOrder, LastLeaseID: e.nextLease}
	for _, b := range e.list {
		st.Products = append(st.Products, b.p)
		if b.priority != joule.FillByTime {
			st.FillPriorities = append(st.FillPriorities, joule.ProductFillPriority{Product: b.p.ID, Priority: b.priority})
		}
		for _, s := range b.sources {
			if s.listing != nil {
				st.Listings = append(st.Listings, *s.listing)
			}
		}
	}
	var orders []*orderState
	for _, o := range e.orders {
		orders = append(orders, o)
	}
	slices.SortFunc(orders, func(a, b *orderState) int { return cmp.Compare(a.seq, b.seq) })
	for _, o := range orders {
		st.Orders = append(st.Orders, o.Order)
	}
	for _, l := range e.sortedLeases() {
		st.Leases = append(st.Leases, l.Clone())
	}
	return st
}

// Restore rebuilds an engine from persisted state, replaying orders in creation order
// and leases as they are (nothing is matched again), and verifies it with Check. Orders
// keep their statuses; resting ones rest again with their time priority.
func Restore(cfg Config, st State) (*Engine, error) {
	e := New(cfg)
	e.nextOrder, e.nextLease = st.LastOrderID, st.LastLeaseID
	now := e.cfg.Now()
	for _, p := range st.Products {
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		}
		base := unixHour(now)
		for _, l := range st.Leases {
			if l.Product == p.ID {
				base = min(base, unixHour(l.Start))
			}
		}
		e.addBook(p, base)
	}
	for _, fp := range st.FillPriorities {
		if err := e.SetFillPriority(fp.Product, fp.Priority); err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		}
	}
	for _, l := range st.Listings {
		if _, err := e.SetListing(l); err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		}
	}
	orders := slices.Clone(st.Orders)
	slices.SortStableFunc(orders, func(a, b joule.Order) int { return a.CreatedAt.Compare(b.CreatedAt) })
	for _, in := range orders {
		b, ok := e.books[in.Product]
		if !ok {
			return nil, fmt.Errorf("restore: order %s: no product %q", in.ID, in.Product)
		}
		o := &orderState{Order: in, b: b, seq: e.nextSeq(), submitted: in}
		e.orders[o.ID] = o
		e.keys[idemKey{o.Account, o.IdempotencyKey}] = o
		e.nextOrder = max(e.nextOrder, idNumber(o.ID, "o"))
		if !o.Status.Terminal() && o.Kind != joule.OrderResale {
			b.ensure(b.slot(unixHour(o.End)))
			b.rest(o)
		}
	}
	if err := e.restoreLeases(st.Leases); err != nil {
		return nil, err
	}
	if err := e.Check(); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	return e, nil
}

// restoreLeases recreates the leases, the resale capacity they sell and buy, and the
// counters they hold.
func (e *Engine) restoreLeases(in []joule.Lease) error {
	var leases []*leaseState
	for _, pl := range in {
		b, ok := e.books[pl.Product]
		if !ok {
			return fmt.Errorf("restore: lease %s: no product %q", pl.ID, pl.Product)
		}
		o, ok := e.orders[pl.Order]
		if !ok {
			return fmt.Errorf("restore: lease %s: its order %s is missing", pl.ID, pl.Order)
		}
		l := &leaseState{Lease: pl.Clone(), b: b, kind: o.Kind, limit: o.LimitMicroUSDPerGPUHour, stopAt: -1, seq: e.nextSeq()}
		if (o.Kind == joule.OrderOnDemand || o.Kind == joule.OrderSpot) && !o.End.IsZero() {
			l.stopAt = b.slot(unixHour(o.End))
		}
		b.ensure(l.to())
		e.leases[l.ID] = l
		e.nextLease = max(e.nextLease, idNumber(l.ID, "l"))
		leases = append(leases, l)
	}
	for _, o := range e.orders { // resale capacity, open or not, before what bought from it
		if o.Kind != joule.OrderResale {
			continue
		}
		backing := e.leases[o.ResaleOf]
		if backing == nil { // its hours are past: capacity only for what bought them
			b := o.b
			o.src = &source{owner: o.Account, resale: o, closed: true, from: b.slot(unixHour(o.Start)), to: b.slot(unixHour(o.End))}
			o.src.grow(b.n)
			continue
		}
		e.openResale(o, backing)
		if o.Status.Terminal() {
			e.closeOrder(o, o.Status)
		}
	}
	for _, l := range leases {
		for _, sh := range l.Sellers {
			var src *source
			if sh.ResaleOrder != "" {
				if r := e.orders[sh.ResaleOrder]; r != nil {
					src = r.src
				}
			} else {
				src = l.b.listings[sh.Seller]
			}
			if src == nil {
				return fmt.Errorf("restore: lease %s: no capacity of %s %s", l.ID, sh.Seller, sh.ResaleOrder)
			}
			s := share{src: src, a: l.b.slot(unixHour(sh.Start)), z: l.b.slot(unixHour(sh.End)), gpus: int32(sh.GPUs), price: sh.PriceMicroUSDPerGPUHour, servers: sh.Servers}
			if s.a < 0 || s.z > len(src.used) || s.a >= s.z {
				return fmt.Errorf("restore: lease %s: share %s..%s out of range", l.ID, sh.Start, sh.End)
			}
			for i := s.a; i < s.z; i++ {
				src.used[i] += s.gpus
				if l.Class == joule.LeaseInterruptible {
					src.spot[i] += s.gpus
				}
			}
			l.shares = append(l.shares, s)
			hold(l)
		}
		if l.Class == joule.LeaseInterruptible {
			e.trackSpot(l)
		}
	}
	// Shares stored before leases were bound to servers get servers now, oldest lease
	// first; whatever is stored with servers keeps them.
	for _, l := range leases {
		var bound []share
		for _, s := range l.shares {
			if len(s.servers) == 0 && s.z > max(l.b.slot(unixHour(e.cfg.Now())), 0) {
				bound = append(bound, e.bind(l.b, s, nil, nil)...)
			} else {
				bound = append(bound, s)
			}
		}
		l.shares = bound
		hold(l)
		l.sync()
	}
	return nil
}

// idNumber is n for an ID of the default form prefix+n, else 0.
func idNumber(id, prefix string) uint64 {
	n, err := strconv.ParseUint(strings.TrimPrefix(id, prefix), 10, 64)
	if err != nil || !strings.HasPrefix(id, prefix) {
		return 0
	}
	return n
}
