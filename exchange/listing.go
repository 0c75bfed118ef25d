package exchange

import (
	"slices"
	"time"

	"github.com/joule-site/joule"
)

// SetListing lists a seller's servers in a product, or replaces its listing. Capacity
// may not drop below what is leased in any hour from the current one on (ECAPACITY:
// end or preempt those leases first); hours before now keep their capacity. A new or
// changed ask loses its time priority. Resting bids get another try.
func (e *Engine) SetListing(l joule.Listing) (*Result, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	b, ok := e.books[l.Product]
	if !ok {
		return nil, joule.Errorf(joule.ENOTFOUND, "no product %q", l.Product)
	}
	if l.OpportunityCost && e.cfg.Pricing == nil {
		return nil, joule.Errorf(joule.EINVALID, "listing %s/%s: opportunity-cost asks need a pricing hook", l.Product, l.Seller)
	}
	if l.Servers > 1<<20 {
		return nil, joule.Errorf(joule.EINVALID, "listing %s/%s: too many servers", l.Product, l.Seller)
	}
	now := e.cfg.Now()
	cur := max(b.slot(unixHour(now)), 0)
	from, to := max(b.slot(unixHour(l.Start)), 0), -1
	if !l.End.IsZero() {
		to = max(b.slot(unixHour(l.End)), 0)
		if l.End.After(now.Add(time.Duration(e.cfg.HorizonHours) * time.Hour)) {
			return nil, joule.Errorf(joule.EINVALID, "listing %s/%s: end is more than %d hours ahead", l.Product, l.Seller, e.cfg.HorizonHours)
		}
		b.ensure(to)
	}
	next := &source{owner: l.Seller, listing: &l, ask: l.AskMicroUSDPerGPUHour, dynamic: l.OpportunityCost,
		from: from, to: to, gpus: int32(l.Servers * b.p.GPUsPerNode), names: l.NodeNames()}
	s := b.listings[l.Seller]
	if s != nil {
		for n := range e.boundServers(b, s, cur) {
			if !slices.Contains(next.names, n) {
				return nil, joule.Errorf(joule.ECAPACITY, "listing %s/%s: server %s is leased; it cannot leave the listing until its leases end", l.Product, l.Seller, n)
			}
		}
		for i := cur; i < b.n; i++ {
			if c := next.capFor(i); c < s.used[i] {
				return nil, joule.Errorf(joule.ECAPACITY, "listing %s/%s: %d GPUs are leased at %s, more than %d",
					l.Product, l.Seller, s.used[i], b.slotTime(i).Format(time.RFC3339), c)
			}
		}
	}
	e.begin()
	switch {
	case s == nil:
		next.seq = e.nextSeq()
		next.grow(b.n)
		b.listings[l.Seller] = next
		b.sources = append(b.sources, next)
		b.addAsk(next)
		s = next
	default:
		repriced := s.ask != next.ask || s.dynamic != next.dynamic
		if repriced {
			b.removeSource(s)
		}
		s.listing, s.ask, s.dynamic, s.from, s.to, s.gpus, s.names = next.listing, next.ask, next.dynamic, next.from, next.to, next.gpus, next.names
		for i := cur; i < b.n; i++ {
			s.cap[i] = s.capFor(i)
		}
		if repriced {
			s.seq = e.nextSeq()
			b.addAsk(s)
		}
	}
	hi := b.n
	if to >= 0 {
		hi = to
	}
	b.markFreed(max(from, cur), hi)
	e.rematch(now)
	return e.result(nil), nil
}

// addAsk puts a listing among the fixed or the opportunity-cost asks.
func (b *book) addAsk(s *source) {
	if s.dynamic {
		i, _ := slices.BinarySearchFunc(b.dynamic, s, func(x, t *source) int {
			if b.before(x, t) {
				return -1
			}
			return 1
		})
		b.dynamic = slices.Insert(b.dynamic, i, s)
		return
	}
	b.insertFixed(s)
}

// Listings returns copies of the listings of a product, in the order they were first set.
func (e *Engine) Listings(product string) []joule.Listing {
	e.mu.Lock()
	defer e.mu.Unlock()
	b, ok := e.books[product]
	if !ok {
		return nil
	}
	out := make([]joule.Listing, 0, len(b.listings))
	for _, s := range b.sources {
		if s.listing != nil {
			out = append(out, *s.listing)
		}
	}
	return out
}

// Reprice forgets the cached opportunity-cost asks of a product from the current hour
// on, so that the pricing hook is asked again (after energy or hashprice moves), and
// gives resting bids another try at the new asks.
func (e *Engine) Reprice(product string) (*Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	b, ok := e.books[product]
	if !ok {
		return nil, joule.Errorf(joule.ENOTFOUND, "no product %q", product)
	}
	now := e.cfg.Now()
	e.begin()
	cur := max(b.slot(unixHour(now)), 0)
	for i := cur; i < len(b.dyn); i++ {
		b.dyn[i] = -1
	}
	if len(b.dynamic) > 0 {
		b.markFreed(cur, b.n)
	}
	e.rematch(now)
	return e.result(nil), nil
}

// SetFillPriority sets whose listing fills first in a product when listings ask the
// same price (joule.FillPriority). It moves no lease: it orders the fills to come.
func (e *Engine) SetFillPriority(product string, p joule.FillPriority) error {
	if !p.Valid() {
		return joule.Errorf(joule.EINVALID, "fill priority must be one of %q, not %q", joule.FillPriorities, p)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	b, ok := e.books[product]
	if !ok {
		return joule.Errorf(joule.ENOTFOUND, "no product %q", product)
	}
	b.setPriority(p)
	return nil
}

// FillPriority returns a product's fill priority; FillByTime for an unknown product.
func (e *Engine) FillPriority(product string) joule.FillPriority {
	e.mu.Lock()
	defer e.mu.Unlock()
	if b, ok := e.books[product]; ok {
		return b.priority
	}
	return joule.FillByTime
}
