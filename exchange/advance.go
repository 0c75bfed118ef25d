package exchange

import (
	"cmp"
	"slices"
	"time"

	"github.com/joule-site/joule"
)

// Cancel takes a resting order out of the book. What it already leased or sold stays
// leased; a filled, cancelled or expired order is a conflict.
func (e *Engine) Cancel(orderID string) (*Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	o, ok := e.orders[orderID]
	if !ok {
		return nil, joule.Errorf(joule.ENOTFOUND, "order %s not found", orderID)
	}
	if o.Status.Terminal() {
		return nil, joule.Errorf(joule.ECONFLICT, "order %s is %s", orderID, o.Status)
	}
	e.begin()
	e.closeOrder(o, joule.OrderCancelled)
	return e.result(o), nil
}

// Advance applies the clock: it expires resting orders (at ExpiresAt, and reserved bids
// whose block has started; resale offers at their End), ends leases whose End has
// passed, renews on-demand and spot leases hour by hour, gives resting bids another try
// when the hour turns, and forgets what no longer holds capacity. Call it at least once
// a minute.
func (e *Engine) Advance() *Result {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.cfg.Now()
	e.begin()
	hour := unixHour(now)
	for _, b := range e.list {
		b.ensure(b.slot(hour) + 2 + e.cfg.HoldAheadHours)
		for _, o := range slices.Clone(b.bids) {
			if !live(o, now) {
				e.closeOrder(o, joule.OrderExpired)
			}
		}
		for _, o := range slices.Clone(b.sell) {
			if (!o.ExpiresAt.IsZero() && !now.Before(o.ExpiresAt)) || !now.Before(o.End) {
				e.closeOrder(o, joule.OrderExpired)
			}
		}
	}
	for _, l := range e.sortedLeases() {
		if !l.OpenEnded && l.Status == joule.LeaseActive && !l.End.After(now) {
			l.Status = joule.LeaseEnded
			if l.EndReason == "" {
				l.EndReason = joule.LeaseEndTerm
			}
			e.touchLease(l)
		}
	}
	e.renewAll(now)
	if hour != e.lastHour {
		for _, b := range e.list { // a new hour: spot bids may fit the new window
			cur := b.slot(hour)
			b.markFreed(cur, cur+1+e.cfg.HoldAheadHours)
		}
		e.lastHour = hour
	}
	e.rematch(now)
	r := e.result(nil)
	e.prune(now)
	return r
}

// sortedLeases returns the leases in creation order, so that replicas replaying the same
// operations report the same results.
func (e *Engine) sortedLeases() []*leaseState {
	out := make([]*leaseState, 0, len(e.leases))
	for _, l := range e.leases {
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b *leaseState) int { return cmp.Compare(a.seq, b.seq) })
	return out
}

// prune forgets leases that hold no slot from the current hour on, finished resale
// capacity, and finished orders older than the idempotency window that no remembered
// lease refers to. Only the past changes: Check looks at the current hour and after.
func (e *Engine) prune(now time.Time) {
	hour := unixHour(now)
	referenced := map[string]bool{}
	for id, l := range e.leases {
		if !l.OpenEnded && l.to() <= l.b.slot(hour) {
			release(l)
			delete(e.leases, id)
			continue
		}
		referenced[l.Order] = true
		for _, s := range l.shares {
			if s.src.resale != nil {
				referenced[s.src.resale.ID] = true // Restore finds the capacity it bought
			}
		}
	}
	for _, b := range e.list {
		cur := b.slot(hour)
		b.spot = slices.DeleteFunc(b.spot, func(l *leaseState) bool { return !l.OpenEnded && l.to() <= cur })
		b.maxNotice = 0
		for _, l := range b.spot {
			b.maxNotice = max(b.maxNotice, l.NoticeSec)
		}
		b.sources = slices.DeleteFunc(b.sources, func(s *source) bool { return s.closed && s.to <= cur })
	}
	for id, o := range e.orders {
		if o.Status.Terminal() && !referenced[id] && !now.Before(o.CreatedAt.Add(e.cfg.IdempotencyWindow)) {
			delete(e.orders, id)
			if k := (idemKey{o.Account, o.IdempotencyKey}); e.keys[k] == o {
				delete(e.keys, k)
			}
		}
	}
}
