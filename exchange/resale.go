package exchange

import (
	"slices"
	"time"

	"github.com/joule-site/joule"
)

// checkResale checks that the holder of lease l may offer o's hours: l is its reserved
// block, o covers only l's future hours, and no hour would be offered for more GPUs than
// l holds, counting what earlier resale orders of l still offer or have sold.
func (e *Engine) checkResale(o *joule.Order, l *leaseState, now time.Time) error {
	switch {
	case l.Tenant != o.Account:
		return joule.Errorf(joule.EFORBIDDEN, "lease %s is not held by %s", l.ID, o.Account)
	case l.Product != o.Product:
		return joule.Errorf(joule.EINVALID, "lease %s is for %s, not %s", l.ID, l.Product, o.Product)
	case l.kind != joule.OrderReserved || l.Class == joule.LeaseInterruptible || l.Status != joule.LeaseActive:
		return joule.Errorf(joule.ECONFLICT, "lease %s is not a reserved block; only those can be resold", l.ID)
	case o.Start.Before(l.Start) || o.End.After(l.End):
		return joule.Errorf(joule.EINVALID, "resale hours must lie within lease %s (%s to %s)", l.ID,
			l.Start.UTC().Format(time.RFC3339), l.End.UTC().Format(time.RFC3339))
	case o.GPUs > l.GPUs:
		return joule.Errorf(joule.ECAPACITY, "lease %s holds %d GPUs, not %d", l.ID, l.GPUs, o.GPUs)
	}
	b := l.b
	for i := b.slot(unixHour(o.Start)); i < b.slot(unixHour(o.End)); i++ {
		if off := l.offered(i); off+int32(o.GPUs) > int32(l.GPUs) {
			return joule.Errorf(joule.ECAPACITY, "lease %s: %d of its %d GPUs at %s are already offered for resale",
				l.ID, off, l.GPUs, b.slotTime(i).Format(time.RFC3339))
		}
	}
	return nil
}

// offered is how many of l's GPUs at slot i its resale orders offer or have sold.
func (l *leaseState) offered(i int) int32 {
	var n int32
	for _, s := range l.resales {
		if i < s.from || i >= s.to {
			continue
		}
		if s.closed {
			n += s.used[i]
		} else {
			n += s.cap[i]
		}
	}
	return n
}

// openResale puts a resale order's hours in its book as the holder's capacity at the
// order's limit, for reserved bids to buy.
func (e *Engine) openResale(o *orderState, l *leaseState) {
	b := o.b
	a, z := b.slot(unixHour(o.Start)), b.slot(unixHour(o.End))
	b.ensure(z)
	s := &source{owner: o.Account, resale: o, backing: l, ask: o.LimitMicroUSDPerGPUHour, seq: o.seq, from: a, to: z}
	s.grow(b.n)
	for i := a; i < z; i++ {
		s.cap[i] = int32(o.GPUs)
	}
	b.sources = append(b.sources, s)
	b.insertFixed(s)
	b.sell = append(b.sell, o)
	l.resales = append(l.resales, s)
	o.src = s
	o.resting = true
	b.markFreed(a, z)
}

// closeOrder settles an order in a final status and takes it out of the book: a bid
// from the resting bids, a resale's capacity from the asks (what it sold stays leased).
func (e *Engine) closeOrder(o *orderState, st joule.OrderStatus) {
	o.Status = st
	if o.resting {
		b := o.b
		if o.Kind == joule.OrderResale {
			o.src.closed = true
			b.removeSource(o.src)
			b.sell = slices.DeleteFunc(b.sell, func(x *orderState) bool { return x == o })
			o.resting = false
		} else {
			b.unrest(o)
		}
	}
	e.touchOrder(o)
}
