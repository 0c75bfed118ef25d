package exchange

import (
	"slices"
	"time"

	"github.com/joule-site/joule"
)

// book is the order book of one product. Hour slots are indexed from base, the Unix hour
// of slot 0; every source's arrays have n slots (ensure grows them), and slots before
// base are in the past and hold nothing.
type book struct {
	p    joule.Product
	base int64
	n    int
	// priority orders listings of one ask (see before); operator is the operator's
	// account, whose listing it ranks against the owners'.
	priority joule.FillPriority
	operator string

	sources  []*source          // every source whose slots may still be leased
	listings map[string]*source // by seller
	fixed    []*source          // fixed asks (listings and resale), by ask then seq
	dynamic  []*source          // opportunity-cost listings, by seq
	dyn      []joule.MicroUSD   // cached opportunity-cost ask per slot; -1 not asked yet

	bids []*orderState // resting bids, highest priority first (see bidBefore)
	spot []*leaseState // interruptible leases that may still hold future slots
	sell []*orderState // open resale orders

	// maxNotice is the longest notice of any spot lease here: a lower bound on how far
	// ahead a slot must start for all its spot GPUs to be preemptible.
	maxNotice int64
	// freed marks that capacity came free (or asks fell) during the operation, between
	// slots freedLo and freedHi, so resting bids there get another try.
	freed            bool
	freedLo, freedHi int

	scratch []askRef // reused by asks
}

// source is capacity one seller offers in a book: a listing or a resale order.
type source struct {
	owner   string
	listing *joule.Listing // nil for resale
	resale  *orderState    // the resale order; nil for a listing
	backing *leaseState    // the lease a resale offers hours of
	ask     joule.MicroUSD // fixed ask, or the floor of an opportunity-cost ask
	dynamic bool
	closed  bool // a resale that sells no more: cancelled, expired or sold out
	seq     uint64
	names   []string // a listing's servers, in fill order (joule.Listing.NodeNames)
	// holders are the leases with a share on this source: those a bind looks at
	holders map[*leaseState]struct{}
	// per slot: capacity, GPUs leased (any class) and GPUs leased by interruptible leases
	cap, used, spot []int32
	// from, to bound the slots a listing or resale offers (to < 0: open-ended)
	from, to int
	gpus     int32
}

type askRef struct {
	s   *source
	ask joule.MicroUSD
}

func newBook(p joule.Product, base int64, operator string) *book {
	return &book{p: p, base: base, listings: map[string]*source{}, priority: joule.FillByTime, operator: operator}
}

// slot returns the slot index of Unix hour h (negative: before the book began).
func (b *book) slot(h int64) int { return int(h - b.base) }

// slotTime returns the start of slot i.
func (b *book) slotTime(i int) time.Time { return hourTime(b.base + int64(i)) }

// ensure grows every source to at least n slots. It is called before any operation
// touches slots, never during one, so pointers into the arrays stay valid for undo.
func (b *book) ensure(n int) {
	if n <= b.n {
		return
	}
	n = max(n, b.n+b.n/4, 64)
	for _, s := range b.sources {
		s.grow(n)
	}
	for len(b.dyn) < n {
		b.dyn = append(b.dyn, -1)
	}
	b.n = n
}

func (s *source) grow(n int) {
	old := len(s.cap)
	s.cap = slices.Grow(s.cap, n-old)[:n]
	s.used = slices.Grow(s.used, n-old)[:n]
	s.spot = slices.Grow(s.spot, n-old)[:n]
	for i := old; i < n; i++ {
		s.cap[i], s.used[i], s.spot[i] = s.capFor(i), 0, 0
	}
}

// capFor is a listing's capacity in slot i from its window; resale sources set theirs.
func (s *source) capFor(i int) int32 {
	if s.listing == nil || i < s.from || (s.to >= 0 && i >= s.to) {
		return 0
	}
	return s.gpus
}

// free is what slot i of s can still lease.
func (s *source) free(i int) int32 { return s.cap[i] - s.used[i] }

// askBefore orders fixed asks: lower price first, then, at one price, as before says.
func (b *book) askBefore(x, y *source) bool {
	if x.ask != y.ask {
		return x.ask < y.ask
	}
	return b.before(x, y)
}

// before says which of two sources asking the same price fills first: the one the
// book's fill priority ranks first (the operator's listing or the owners'), and within
// a rank the earlier (price-time priority). Resale offers rank with the owners.
func (b *book) before(x, y *source) bool {
	if rx, ry := b.rank(x), b.rank(y); rx != ry {
		return rx < ry
	}
	return x.seq < y.seq
}

// rank is 0 for the sources the fill priority puts first, 1 for the others.
func (b *book) rank(s *source) int {
	operators := s.listing != nil && s.owner == b.operator
	switch b.priority {
	case joule.FillOperatorFirst:
		if !operators {
			return 1
		}
	case joule.FillOwnersFirst:
		if operators {
			return 1
		}
	}
	return 0
}

// insertFixed adds s to the fixed asks in priority order.
func (b *book) insertFixed(s *source) {
	i, _ := slices.BinarySearchFunc(b.fixed, s, func(x, t *source) int {
		if b.askBefore(x, t) {
			return -1
		}
		return 1
	})
	b.fixed = slices.Insert(b.fixed, i, s)
}

// setPriority changes the book's fill priority and puts its asks in the new order.
func (b *book) setPriority(p joule.FillPriority) {
	b.priority = p
	slices.SortStableFunc(b.fixed, func(x, y *source) int {
		if b.askBefore(x, y) {
			return -1
		}
		if b.askBefore(y, x) {
			return 1
		}
		return 0
	})
	slices.SortStableFunc(b.dynamic, func(x, y *source) int {
		if b.before(x, y) {
			return -1
		}
		if b.before(y, x) {
			return 1
		}
		return 0
	})
}

// removeSource takes s out of the ask lists (its leases keep their pointers to it).
func (b *book) removeSource(s *source) {
	b.fixed = slices.DeleteFunc(b.fixed, func(x *source) bool { return x == s })
	b.dynamic = slices.DeleteFunc(b.dynamic, func(x *source) bool { return x == s })
}

// dynAsk is the opportunity-cost ask at slot i, asked of pricing once per slot.
func (b *book) dynAsk(i int, pricing func(string, time.Time) joule.MicroUSD) joule.MicroUSD {
	if a := b.dyn[i]; a >= 0 {
		return a
	}
	a := max(pricing(b.p.ID, b.slotTime(i)), 0)
	b.dyn[i] = a
	return a
}

// buyer is who an allocation is for and what it may take.
type buyer struct {
	account string
	limit   joule.MicroUSD
	class   joule.LeaseClass
	now     time.Time
	resale  bool // may buy resale capacity (reserved bids only)
	preempt bool // may preempt spot leases (reserved and on-demand)
}

// eligible reports whether the buyer may take capacity from s at all.
func (by *buyer) eligible(s *source) bool {
	return !s.closed && s.owner != by.account && (s.resale == nil || by.resale)
}

// asks returns the sources the buyer may take from at slot i with their asks, cheapest
// first and, at one price, in the book's fill priority. The slice is scratch, valid until the next call.
func (e *Engine) asks(b *book, by *buyer, i int) []askRef {
	out := b.scratch[:0]
	for _, s := range b.fixed {
		if s.ask > by.limit {
			break
		}
		if by.eligible(s) {
			out = append(out, askRef{s, s.ask})
		}
	}
	if len(b.dynamic) > 0 {
		d := b.dynAsk(i, e.cfg.Pricing)
		for _, s := range b.dynamic {
			a := max(d, s.ask)
			if a > by.limit || !by.eligible(s) {
				continue
			}
			// insert after every cheaper ask, keeping the fill priority among equals
			j := len(out)
			for j > 0 && (out[j-1].ask > a || (out[j-1].ask == a && b.before(s, out[j-1].s))) {
				j--
			}
			out = slices.Insert(out, j, askRef{s, a})
		}
	}
	b.scratch = out
	return out
}

// avail returns how many GPUs the buyer could get at slot i, counting at most need:
// free GPUs at eligible asks, plus spot GPUs there when the buyer may preempt them and
// the slot starts at least every spot lease's notice from now. It never overestimates.
func (e *Engine) avail(b *book, by *buyer, i int, need int32) int32 {
	var got int32
	for _, s := range b.fixed {
		if s.ask > by.limit {
			break
		}
		if by.eligible(s) {
			if got += s.free(i); got >= need {
				return got
			}
		}
	}
	if len(b.dynamic) > 0 {
		d := b.dynAsk(i, e.cfg.Pricing)
		for _, s := range b.dynamic {
			if max(d, s.ask) <= by.limit && by.eligible(s) {
				if got += s.free(i); got >= need {
					return got
				}
			}
		}
	}
	if by.preempt && len(b.spot) > 0 && !b.slotTime(i).Before(by.now.Add(time.Duration(b.maxNotice)*time.Second)) {
		for _, a := range e.asks(b, by, i) {
			if got += a.s.spot[i]; got >= need {
				return got
			}
		}
	}
	return got
}

// markFreed records that slots [lo, hi) of b have capacity again.
func (b *book) markFreed(lo, hi int) {
	if lo >= hi {
		return
	}
	if !b.freed {
		b.freed, b.freedLo, b.freedHi = true, lo, hi
		return
	}
	b.freedLo, b.freedHi = min(b.freedLo, lo), max(b.freedHi, hi)
}
