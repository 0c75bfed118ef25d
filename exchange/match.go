package exchange

import (
	"slices"
	"time"

	"github.com/joule-site/joule"
)

// orderState is an order the engine remembers.
type orderState struct {
	joule.Order
	b         *book
	seq       uint64
	mark      uint64
	src       *source     // a resale order's capacity
	submitted joule.Order // as the client sent it, for idempotent replays
	result    *Result     // what the first submission returned; nil after Restore
	resting   bool        // in b.bids or b.sell
}

// share is a lease's GPUs from one source over slots [a, z) at one price.
type share struct {
	src   *source
	a, z  int
	gpus  int32
	price joule.MicroUSD
	// servers the share holds in all its slots, sorted (see bind.go); never changed in
	// place, so that copies of the lease keep theirs
	servers []string
}

// leaseState is a lease the engine holds capacity for. Its shares are the truth; the
// embedded Lease's Sellers and mean price are derived from them by sync.
type leaseState struct {
	joule.Lease
	b       *book
	shares  []share
	resales []*source       // resale offers of this lease's hours
	kind    joule.OrderKind // of the order that created it
	limit   joule.MicroUSD  // the order's limit: renewals pay at most this
	stopAt  int             // slot an open-ended lease stops renewing at (its order's End); -1 none
	seq     uint64
	mark    uint64
}

// from is the first hour slot the lease holds, to the end of the last (exclusive).
func (l *leaseState) from() int { return l.b.slot(unixHour(l.Start)) }
func (l *leaseState) to() int   { return l.b.slot(ceilHour(l.End)) }

// sync derives the public Sellers and mean price from the shares. It builds a new
// Sellers slice, so that copies taken before (for undo, for results) stay intact.
func (l *leaseState) sync() {
	sellers := make([]joule.LeaseShare, len(l.shares))
	var total, weight int64
	for i, s := range l.shares {
		sellers[i] = joule.LeaseShare{
			Seller: s.src.owner, GPUs: int(s.gpus),
			Start: l.b.slotTime(s.a), End: l.b.slotTime(s.z),
			PriceMicroUSDPerGPUHour: s.price, Servers: s.servers,
		}
		if s.src.resale != nil {
			sellers[i].ResaleOrder = s.src.resale.ID
		}
		w := int64(s.gpus) * int64(s.z-s.a)
		total += w * int64(s.price)
		weight += w
	}
	l.Sellers = sellers
	l.PriceMicroUSDPerGPUHour = 0
	if weight > 0 {
		l.PriceMicroUSDPerGPUHour = joule.MicroUSD((total + weight/2) / weight)
	}
}

// pick is GPUs taken from one source in one slot.
type pick struct {
	src   *source
	i     int
	gpus  int32
	price joule.MicroUSD
}

// consume leases g GPUs of slot i of s, undoably.
func (e *Engine) consume(s *source, i int, g int32, class joule.LeaseClass) {
	e.add(&s.used[i], g)
	if class == joule.LeaseInterruptible {
		e.add(&s.spot[i], g)
	}
}

// take leases need GPUs at slot i for the buyer, from the sources in prefer first (a
// renewing lease keeps its servers when it can), then the cheapest asks, then by
// preempting spot leases if the buyer may. It appends what it took to picks and reports
// whether it got all of need; on false the caller rolls back.
func (e *Engine) take(b *book, by *buyer, i int, need int32, prefer []*source, picks *[]pick) bool {
	for _, s := range prefer {
		if f := s.free(i); f > 0 && by.eligible(s) {
			if a := e.askAt(b, s, i); a <= by.limit {
				need -= e.pickFrom(s, i, min(f, need), a, by.class, picks)
				if need == 0 {
					return true
				}
			}
		}
	}
	for {
		for _, a := range e.asks(b, by, i) {
			if f := a.s.free(i); f > 0 {
				need -= e.pickFrom(a.s, i, min(f, need), a.ask, by.class, picks)
				if need == 0 {
					return true
				}
			}
		}
		if !by.preempt {
			return false
		}
		v := e.victim(b, by, i)
		if v == nil {
			return false
		}
		e.preempt(v, i, by.now)
	}
}

// pickFrom leases g GPUs of slot i of s and records the pick, merging with a pick of
// the same source and slot.
func (e *Engine) pickFrom(s *source, i int, g int32, price joule.MicroUSD, class joule.LeaseClass, picks *[]pick) int32 {
	e.consume(s, i, g, class)
	for j := len(*picks) - 1; j >= 0 && (*picks)[j].i == i; j-- {
		if p := &(*picks)[j]; p.src == s {
			p.gpus += g
			return g
		}
	}
	*picks = append(*picks, pick{s, i, g, price})
	return g
}

// askAt is the ask of s at slot i.
func (e *Engine) askAt(b *book, s *source, i int) joule.MicroUSD {
	if s.dynamic {
		return max(b.dynAsk(i, e.cfg.Pricing), s.ask)
	}
	return s.ask
}

// victim is the spot lease to preempt so that the buyer gets GPUs at slot i: the lowest
// bid (newest first among equals) that holds GPUs at slot i on a source the buyer may
// take at its price, and whose notice ends by the slot's start.
func (e *Engine) victim(b *book, by *buyer, i int) *leaseState {
	start := b.slotTime(i)
	for _, l := range b.spot { // lowest priority first
		if i < l.from() || i >= l.to() || start.Before(by.now.Add(time.Duration(l.NoticeSec)*time.Second)) {
			continue
		}
		for _, s := range l.shares {
			if s.a <= i && i < s.z && by.eligible(s.src) && e.askAt(b, s.src, i) <= by.limit {
				return l
			}
		}
	}
	return nil
}

// spotBefore orders spot leases for preemption: lowest bid first, then newest.
func spotBefore(a, b *leaseState) bool {
	if a.limit != b.limit {
		return a.limit < b.limit
	}
	return a.seq > b.seq
}

// preempt takes l's GPUs from slot i on, after notice given now.
func (e *Engine) preempt(l *leaseState, i int, now time.Time) {
	e.cut(l, i)
	l.End = l.b.slotTime(i)
	l.OpenEnded = false
	l.Status = joule.LeasePreempted
	l.NoticeAt = now
	l.EndReason = joule.LeaseEndPreempted
	l.sync()
}

// cut releases l's GPUs in slots i and after, undoably; the caller sets End and status.
func (e *Engine) cut(l *leaseState, i int) {
	old, oldShares := l.Lease, slices.Clone(l.shares)
	e.onUndo(func() { l.Lease, l.shares = old, oldShares })
	e.touchLease(l)
	kept := l.shares[:0:0]
	for _, s := range l.shares {
		for j := max(s.a, i); j < s.z; j++ {
			e.consume(s.src, j, -s.gpus, l.Class)
		}
		if s.a < i {
			s.z = min(s.z, i)
			kept = append(kept, s)
		}
	}
	l.b.markFreed(i, l.to())
	l.shares = kept
}

// newLease turns picks (in slot order) into a lease for o over [start, end).
func (e *Engine) newLease(o *orderState, by *buyer, picks []pick, gpus int, start, end time.Time, open bool) *leaseState {
	b := o.b
	l := &leaseState{
		Lease: joule.Lease{
			ID: e.newID("lease"), Order: o.ID, Tenant: o.Account, Product: b.p.ID,
			Class: by.class, GPUs: gpus, Start: start, End: end, OpenEnded: open,
			Status: joule.LeaseActive,
		},
		b: b, kind: o.Kind, limit: o.LimitMicroUSDPerGPUHour, stopAt: -1, seq: e.nextSeq(),
	}
	switch by.class {
	case joule.LeaseInterruptible:
		l.NoticeSec = e.cfg.SpotNoticeSec
	case joule.LeaseCurtailable:
		l.NoticeSec = o.NoticeSec
	}
	if (o.Kind == joule.OrderOnDemand || o.Kind == joule.OrderSpot) && !o.End.IsZero() {
		l.stopAt = b.slot(unixHour(o.End))
	}
	l.shares = e.bindAll(l, addPicks(make([]share, 0, 4), picks))
	l.sync()
	e.leases[l.ID] = l
	hold(l)
	if l.Class == joule.LeaseInterruptible {
		e.trackSpot(l)
	}
	e.touchLease(l)
	e.recordFills(l, l.shares)
	return l
}

// trackSpot adds an interruptible lease to its book's preemption list.
func (e *Engine) trackSpot(l *leaseState) {
	b := l.b
	i, _ := slices.BinarySearchFunc(b.spot, l, func(x, t *leaseState) int {
		if spotBefore(x, t) {
			return -1
		}
		return 1
	})
	b.spot = slices.Insert(b.spot, i, l)
	b.maxNotice = max(b.maxNotice, l.NoticeSec)
}

// addPicks merges picks into shares: a pick extends the share of the same source, GPUs
// and price that ends where the pick's slot begins.
func addPicks(shares []share, picks []pick) []share {
	for _, p := range picks {
		merged := false
		for j := len(shares) - 1; j >= 0; j-- {
			if s := &shares[j]; s.src == p.src && s.z == p.i && s.gpus == p.gpus && s.price == p.price {
				s.z++
				merged = true
				break
			}
		}
		if !merged {
			shares = append(shares, share{p.src, p.i, p.i + 1, p.gpus, p.price, nil})
		}
	}
	return shares
}

// recordFills lists new shares of l as fills and counts what resale orders sold.
func (e *Engine) recordFills(l *leaseState, shares []share) {
	e.tx.fills = slices.Grow(e.tx.fills, len(shares))
	for _, s := range shares {
		f := joule.Fill{Order: l.Order, Lease: l.ID, LeaseShare: joule.LeaseShare{
			Seller: s.src.owner, GPUs: int(s.gpus),
			Start: l.b.slotTime(s.a), End: l.b.slotTime(s.z), PriceMicroUSDPerGPUHour: s.price, Servers: s.servers,
		}}
		if r := s.src.resale; r != nil {
			f.ResaleOrder = r.ID
			e.recordRelease(l, s)
			r.SoldGPUHours += int64(s.gpus) * int64(s.z-s.a)
			if r.SoldGPUHours == int64(r.GPUs)*r.Hours() {
				e.closeOrder(r, joule.OrderFilled)
			} else {
				r.Status = joule.OrderPartiallyFilled
				e.touchOrder(r)
			}
		}
		e.tx.fills = append(e.tx.fills, f)
	}
}
