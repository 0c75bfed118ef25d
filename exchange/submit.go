package exchange

import (
	"time"

	"github.com/joule-site/joule"
)

// Submit places an order. A reserved bid fills what it can at once and rests with the
// rest; an on-demand order fills at once or fails with ECAPACITY; a spot bid fills or
// rests; a resale order puts the lease's hours in the book, where resting reserved bids
// may buy them at once.
//
// The exchange assigns ID, Status, CreatedAt and the fill counters; the client leaves
// them empty. Submitting an idempotency key the account used before returns the first
// submission's Result if the order is the same, and ECONFLICT if it differs. A failed
// submission changes nothing and records no key, so a retry tries again.
func (e *Engine) Submit(in joule.Order) (*Result, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	if in.ID != "" || in.Status != "" || in.FilledGPUs != 0 || in.SoldGPUHours != 0 || !in.CreatedAt.IsZero() {
		return nil, joule.Errorf(joule.EINVALID, "order: id, status, created_at and fill counts are set by the exchange")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if prev, ok := e.keys[idemKey{in.Account, in.IdempotencyKey}]; ok {
		if !prev.submitted.SameRequest(&in) {
			return nil, joule.Errorf(joule.ECONFLICT, "idempotency key %q was used for a different order (%s)", in.IdempotencyKey, prev.ID)
		}
		return e.replay(prev), nil
	}
	now := e.cfg.Now()
	b, lease, err := e.checkOrder(&in, now)
	if err != nil {
		return nil, err
	}
	e.begin()
	o := &orderState{Order: in, b: b, seq: e.nextSeq(), submitted: in}
	o.Product = b.p.ID
	o.CreatedAt = now
	o.Status = joule.OrderOpen
	if o.Class == "" {
		o.Class = o.DefaultClass()
	}
	lastOrder := e.nextOrder
	o.ID = e.newID("order")
	switch o.Kind {
	case joule.OrderReserved:
		b.ensure(b.slot(unixHour(o.End)))
		e.fillReserved(o, now)
	case joule.OrderOnDemand, joule.OrderSpot:
		_, z := e.window(b, now, -1)
		b.ensure(z)
		if !e.fillRunning(o, now) && o.Kind == joule.OrderOnDemand {
			e.nextOrder = lastOrder // nothing happened: not even an ID was used
			return nil, joule.Errorf(joule.ECAPACITY, "not enough %s GPUs at or below %s per GPU-hour for %d GPUs now", b.p.ID, o.LimitMicroUSDPerGPUHour, o.GPUs)
		}
	case joule.OrderResale:
		e.openResale(o, lease)
	}
	switch {
	case o.Kind == joule.OrderResale:
	case o.FilledGPUs == o.GPUs:
		o.Status = joule.OrderFilled
	default:
		if o.FilledGPUs > 0 {
			o.Status = joule.OrderPartiallyFilled
		}
		b.rest(o)
	}
	e.orders[o.ID] = o
	e.keys[idemKey{o.Account, o.IdempotencyKey}] = o
	e.touchOrder(o)
	e.rematch(now)
	r := e.result(o)
	o.result = r.clone()
	return r, nil
}

// checkOrder checks an order against the book and the clock, and returns its book and,
// for a resale, the lease it resells.
func (e *Engine) checkOrder(o *joule.Order, now time.Time) (*book, *leaseState, error) {
	var lease *leaseState
	if o.Kind == joule.OrderResale {
		l, ok := e.leases[o.ResaleOf]
		if !ok {
			return nil, nil, joule.Errorf(joule.ENOTFOUND, "lease %s not found", o.ResaleOf)
		}
		if o.Product == "" {
			o.Product = l.Product
		}
		lease = l
	}
	b, ok := e.books[o.Product]
	if !ok {
		return nil, nil, joule.Errorf(joule.ENOTFOUND, "no product %q", o.Product)
	}
	horizon := now.Add(time.Duration(e.cfg.HorizonHours) * time.Hour)
	switch {
	case b.slot(unixHour(now)) < 0:
		return nil, nil, joule.Errorf(joule.EINTERNAL, "exchange: the clock is before product %s was listed", b.p.ID)
	case !o.ExpiresAt.IsZero() && !o.ExpiresAt.After(now):
		return nil, nil, joule.Errorf(joule.EINVALID, "order: expires_at is in the past")
	case (o.Kind == joule.OrderReserved || o.Kind == joule.OrderResale) && o.Start.Before(now):
		return nil, nil, joule.Errorf(joule.EINVALID, "order: start %s is in the past", o.Start.UTC().Format(time.RFC3339))
	case !o.End.IsZero() && !o.End.After(now):
		return nil, nil, joule.Errorf(joule.EINVALID, "order: end is in the past")
	case o.End.After(horizon):
		return nil, nil, joule.Errorf(joule.EINVALID, "order: end is more than %d hours ahead", e.cfg.HorizonHours)
	case int64(o.GPUs) > 1<<24:
		return nil, nil, joule.Errorf(joule.EINVALID, "order: too many gpus")
	case o.GPUs%b.p.GPUsPerNode != 0:
		return nil, nil, joule.Errorf(joule.EINVALID, "order: %s is leased in whole servers of %d GPUs; %d GPUs is not a multiple", b.p.ID, b.p.GPUsPerNode, o.GPUs)
	}
	if lease != nil {
		if err := e.checkResale(o, lease, now); err != nil {
			return nil, nil, err
		}
	}
	return b, lease, nil
}

// replay is the answer to a repeated submission: the first Result, or after a restart
// the order with the leases and fills it holds now.
func (e *Engine) replay(o *orderState) *Result {
	if o.result != nil {
		return o.result.clone()
	}
	cur := o.Order
	r := &Result{Order: &cur}
	for _, l := range e.sortedLeases() {
		if l.Order != o.ID {
			continue
		}
		r.Leases = append(r.Leases, l.Clone())
		for _, s := range l.Sellers {
			r.Fills = append(r.Fills, joule.Fill{Order: o.ID, Lease: l.ID, LeaseShare: s})
		}
	}
	return r
}
