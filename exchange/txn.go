package exchange

import "github.com/joule-site/joule"

// txn is the operation in progress: an undo log that makes each attempt to fill all or
// nothing, and the orders, leases and fills the operation changed, for its Result.
type txn struct {
	undo   []undo
	leases []*leaseState
	orders []*orderState
	fills  []joule.Fill
	epoch  uint64 // marks what this operation has already listed
}

// undo restores one slot counter (p, old) or runs fn.
type undo struct {
	p   *int32
	old int32
	fn  func()
}

// savepoint is where rollback returns to.
type savepoint struct{ undo, leases, orders, fills int }

// begin starts an operation.
func (e *Engine) begin() {
	e.tx.undo = e.tx.undo[:0]
	e.tx.leases, e.tx.orders, e.tx.fills = nil, nil, nil
	e.tx.epoch++
}

// add changes a slot counter by d, undoably.
func (e *Engine) add(p *int32, d int32) {
	e.tx.undo = append(e.tx.undo, undo{p: p, old: *p})
	*p += d
}

// onUndo registers fn to run if the attempt rolls back.
func (e *Engine) onUndo(fn func()) { e.tx.undo = append(e.tx.undo, undo{fn: fn}) }

func (e *Engine) save() savepoint {
	return savepoint{len(e.tx.undo), len(e.tx.leases), len(e.tx.orders), len(e.tx.fills)}
}

// rollback undoes everything since sp, newest first.
func (e *Engine) rollback(sp savepoint) {
	for i := len(e.tx.undo) - 1; i >= sp.undo; i-- {
		if u := e.tx.undo[i]; u.fn != nil {
			u.fn()
		} else {
			*u.p = u.old
		}
	}
	e.tx.undo = e.tx.undo[:sp.undo]
	for _, l := range e.tx.leases[sp.leases:] {
		l.mark = 0
	}
	for _, o := range e.tx.orders[sp.orders:] {
		o.mark = 0
	}
	e.tx.leases = e.tx.leases[:sp.leases]
	e.tx.orders = e.tx.orders[:sp.orders]
	e.tx.fills = e.tx.fills[:sp.fills]
}

// touchLease lists l in the operation's result.
func (e *Engine) touchLease(l *leaseState) {
	if l.mark != e.tx.epoch {
		l.mark = e.tx.epoch
		e.tx.leases = append(e.tx.leases, l)
	}
}

// touchOrder lists o in the operation's result.
func (e *Engine) touchOrder(o *orderState) {
	if o.mark != e.tx.epoch {
		o.mark = e.tx.epoch
		e.tx.orders = append(e.tx.orders, o)
	}
}

// result copies what the operation changed; main, when not nil, is the order the
// operation was about and is left out of Orders.
func (e *Engine) result(main *orderState) *Result {
	r := &Result{Fills: e.tx.fills}
	if main != nil {
		o := main.Order
		r.Order = &o
	}
	for _, o := range e.tx.orders {
		if o != main {
			r.Orders = append(r.Orders, o.Order)
		}
	}
	if len(e.tx.leases) > 0 {
		r.Leases = make([]joule.Lease, len(e.tx.leases))
		for i, l := range e.tx.leases {
			r.Leases[i] = l.Clone()
		}
	}
	e.tx.fills = nil
	return r
}

// clone copies a Result so that a stored one cannot be changed through a returned one.
func (r *Result) clone() *Result {
	c := &Result{
		Fills:  append([]joule.Fill(nil), r.Fills...),
		Orders: append([]joule.Order(nil), r.Orders...),
	}
	if r.Order != nil {
		o := *r.Order
		c.Order = &o
	}
	for i := range r.Leases {
		c.Leases = append(c.Leases, r.Leases[i].Clone())
	}
	return c
}
