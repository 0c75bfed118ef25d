package exchange

import (
	"slices"
	"time"

	"github.com/joule-site/joule"
)

// bidBefore orders resting bids: reserved before spot (a reserved bid may preempt spot
// anyway), then the higher limit, then the older: price-time priority.
func bidBefore(a, b *orderState) bool {
	if ar, br := a.Kind == joule.OrderReserved, b.Kind == joule.OrderReserved; ar != br {
		return ar
	}
	if a.LimitMicroUSDPerGPUHour != b.LimitMicroUSDPerGPUHour {
		return a.LimitMicroUSDPerGPUHour > b.LimitMicroUSDPerGPUHour
	}
	return a.seq < b.seq
}

// rest puts a bid in its book's resting bids.
func (b *book) rest(o *orderState) {
	i, _ := slices.BinarySearchFunc(b.bids, o, func(x, t *orderState) int {
		if bidBefore(x, t) {
			return -1
		}
		return 1
	})
	b.bids = slices.Insert(b.bids, i, o)
	o.resting = true
}

// unrest takes a bid out of the resting bids.
func (b *book) unrest(o *orderState) {
	if i := slices.Index(b.bids, o); i >= 0 {
		b.bids = slices.Delete(b.bids, i, i+1)
	}
	o.resting = false
}

// live reports whether a resting bid may still fill at now: it has not expired, a
// reserved block has not started, and a spot bid's End has not passed.
func live(o *orderState, now time.Time) bool {
	switch {
	case !o.ExpiresAt.IsZero() && !now.Before(o.ExpiresAt):
		return false
	case o.Kind == joule.OrderReserved:
		return !o.Start.Before(now)
	default: // spot
		return o.End.IsZero() || now.Before(o.End)
	}
}

// fillReserved leases what it can of a reserved bid's remaining GPUs for its whole
// block: all of them, or, when AllOrNone is false, as many as every hour of the block
// has. It reports whether it leased anything; when it did not, nothing changed.
func (e *Engine) fillReserved(o *orderState, now time.Time) bool {
	b := o.b
	a, z := b.slot(unixHour(o.Start)), b.slot(unixHour(o.End))
	want := int32(o.GPUs - o.FilledGPUs)
	least := want
	if !o.AllOrNone {
		least = 1
	}
	by := &buyer{account: o.Account, limit: o.LimitMicroUSDPerGPUHour, class: o.leaseClass(), now: now, resale: true, preempt: true}
	k := want
	for i := a; i < z; i++ { // cheap check first: most bids that cannot fill stop here
		if got := e.avail(b, by, i, k); got < k {
			if k = got; k < least {
				return false
			}
		}
	}
	sp := e.save()
	picks := e.picks[:0]
	for i := a; i < z; i++ {
		if !e.take(b, by, i, k, nil, &picks) {
			e.rollback(sp) // cannot happen: avail never overestimates
			return false
		}
	}
	e.picks = picks
	e.newLease(o, by, picks, int(k), o.Start, o.End, false)
	o.FilledGPUs += int(k)
	return true
}

// leaseClass is the class of the leases o creates.
func (o *orderState) leaseClass() joule.LeaseClass {
	if o.Class != "" {
		return o.Class
	}
	return o.DefaultClass()
}

// fillBid gives a resting bid another try, and settles its status.
func (e *Engine) fillBid(o *orderState, now time.Time) {
	var ok bool
	switch o.Kind {
	case joule.OrderReserved:
		ok = e.fillReserved(o, now)
	case joule.OrderSpot:
		ok = e.fillRunning(o, now)
	}
	if !ok {
		return
	}
	if o.FilledGPUs == o.GPUs {
		e.closeOrder(o, joule.OrderFilled)
		return
	}
	o.Status = joule.OrderPartiallyFilled
	e.touchOrder(o)
}

// overlaps reports whether a resting bid wants any slot of [lo, hi).
func (e *Engine) overlaps(o *orderState, cur, lo, hi int) bool {
	a, z := cur, cur+1+e.cfg.HoldAheadHours
	if o.Kind == joule.OrderReserved {
		a, z = o.b.slot(unixHour(o.Start)), o.b.slot(unixHour(o.End))
	}
	return a < hi && lo < z
}

// rematch gives resting bids another try, in priority order, wherever capacity came
// free or asks fell during the operation. Filling a bid can preempt spot leases and
// free more, so it repeats until nothing more frees; each pass fills a bid or stops.
func (e *Engine) rematch(now time.Time) {
	for _, b := range e.list {
		cur := b.slot(unixHour(now))
		b.ensure(cur + 1 + e.cfg.HoldAheadHours)
		for b.freed {
			lo, hi := b.freedLo, b.freedHi
			b.freed = false
			if len(b.bids) == 0 {
				break
			}
			for _, o := range slices.Clone(b.bids) {
				if o.resting && live(o, now) && e.overlaps(o, cur, lo, hi) {
					e.fillBid(o, now)
				}
			}
		}
	}
}
