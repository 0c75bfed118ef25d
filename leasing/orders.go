package leasing

import (
	"context"
	"fmt"
	"time"

	"github.com/joule-site/joule"
)

// OrderResult is what a submission did, as its tenant may see it: the order, the
// leases it got and the fills that made them.
type OrderResult struct {
	Order  joule.Order   `json:"order"`
	Leases []joule.Lease `json:"leases"`
	Fills  []joule.Fill  `json:"fills"`
	// Replayed is true when the idempotency key was used before: this is what the first
	// submission did, and nothing happened now.
	Replayed bool `json:"replayed,omitempty"`
}

// SubmitOrder places an order for a tenant: the tenant itself, or the operator on its
// behalf (Account names the tenant). It first holds the most the order can cost from
// the tenant's credit (a tenant without enough gets ECREDIT saying what it has and
// needs, and nothing is held or stored), then matches it. If matching fails, the hold
// is released; if it fills, the leases, fills and captures are saved together.
// Submitting an idempotency key again returns the first result.
func (s *Service) SubmitOrder(ctx context.Context, who *joule.Account, in joule.Order) (*OrderResult, error) {
	if who == nil {
		return nil, joule.Errorf(joule.EUNAUTHORIZED, "sign in to place orders")
	}
	if in.Account == "" {
		in.Account = who.ID
	}
	switch {
	case who.Role == joule.RoleTenant && in.Account == who.ID:
	case who.Role == joule.RoleOperator && in.Account == who.ID:
		return nil, joule.Errorf(joule.EINVALID, "the operator orders for a tenant: name the tenant (the CLI's --for TENANT, or act as it with --as TENANT)")
	case who.Role == joule.RoleOperator:
		if err := s.mustBeTenant(ctx, in.Account); err != nil {
			return nil, err
		}
	case who.Role == joule.RoleTenant:
		return nil, joule.Errorf(joule.EFORBIDDEN, "a tenant places orders only for itself")
	default:
		return nil, joule.Errorf(joule.EFORBIDDEN, "only tenants buy GPU time; %s is a %s", who.ID, who.Role)
	}
	if err := in.Validate(); err != nil {
		return nil, err
	}
	// The store is asked for the key before the lock is taken, so that no order waits
	// on another's read. A key it does not have yet but that was used since is recent,
	// and the matcher, asked under the lock, remembers it; one it has and the matcher
	// has forgotten is older than the idempotency window, and was there when asked.
	stored, err := s.store.OrderByKey(ctx, in.Account, in.IdempotencyKey)
	if err != nil && joule.ErrorCode(err) != joule.ENOTFOUND {
		return nil, err
	}
	var res *OrderResult
	err = s.op(ctx, func(ch *change) error {
		res = nil
		prev := stored
		if o, ok := s.engine.OrderByKey(in.Account, in.IdempotencyKey); ok {
			prev = &o
		}
		if prev != nil {
			var err error
			res, err = s.replay(ctx, who, prev, in)
			return err
		}
		if err := s.checkCapacity(&in); err != nil {
			return err // nothing held, nothing to save
		}
		id := s.nextOrderID()
		hold := s.holdFor(&in)
		if hold > 0 {
			if _, err := s.ledger.Hold("hold:"+id, in.Account, id, hold); err != nil {
				return err // nothing held, nothing to save
			}
		}
		r, err := s.engine.Submit(in)
		if err != nil {
			s.lastOrder = max(s.lastOrder, idNumber(id, "o")) // its hold names the ID: never issue it again
			if hold > 0 {
				if _, rerr := s.ledger.Release("release:"+id, id); rerr != nil {
					return abort(rerr)
				}
			}
			return err
		}
		if r.Order.ID != id {
			return abort(fmt.Errorf("leasing: the exchange replayed order %s, which the store does not have", r.Order.ID))
		}
		if err := s.settle(ctx, ch, r); err != nil {
			return err
		}
		res = orderView(who, *r.Order, r.Leases, r.Fills)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// replay answers a repeated idempotency key: the matcher's first result while it
// remembers the order, else the order and its leases as stored.
func (s *Service) replay(ctx context.Context, who *joule.Account, prev *joule.Order, in joule.Order) (*OrderResult, error) {
	if _, err := s.engine.Order(prev.ID); err == nil {
		r, err := s.engine.Submit(in) // the same key: a replay or ECONFLICT, never a change
		if err != nil {
			return nil, err
		}
		v := orderView(who, *r.Order, r.Leases, r.Fills)
		v.Replayed = true
		return v, nil
	}
	if !prev.SameRequest(&in) {
		return nil, joule.Errorf(joule.ECONFLICT, "idempotency key %q was used for a different order (%s)", in.IdempotencyKey, prev.ID)
	}
	leases, err := s.store.FindLeases(ctx, joule.LeaseFilter{Order: prev.ID})
	if err != nil {
		return nil, err
	}
	ls := make([]joule.Lease, len(leases))
	for i, l := range leases {
		ls[i] = *l
	}
	v := orderView(who, *prev, ls, nil)
	v.Replayed = true
	return v, nil
}

// holdFor is what an order holds from credit: a reserved block's most possible cost,
// a running order's first hours at its limit, nothing for a resale.
func (s *Service) holdFor(o *joule.Order) joule.MicroUSD {
	switch o.Kind {
	case joule.OrderReserved:
		return o.MaxCost()
	case joule.OrderOnDemand, joule.OrderSpot:
		c := *o
		c.Start = time.Unix(0, 0)
		c.End = c.Start.Add(time.Duration(1+s.cfg.HoldAheadHours) * time.Hour)
		return c.MaxCost()
	}
	return 0
}

// Cancel takes a resting order out of the book and releases what is left of its hold.
// A tenant cancels only its own orders; another tenant's are not found.
func (s *Service) Cancel(ctx context.Context, who *joule.Account, orderID string) (*joule.Order, error) {
	var out joule.Order
	err := s.op(ctx, func(ch *change) error {
		o, err := s.engine.Order(orderID)
		if err != nil || !who.Sees(o.Account) {
			return joule.Errorf(joule.ENOTFOUND, "order %s not found", orderID)
		}
		r, err := s.engine.Cancel(orderID)
		if err != nil {
			return err
		}
		out = *r.Order
		return s.settle(ctx, ch, r)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ResellRequest offers hours of a reserved lease back to the book.
type ResellRequest struct {
	IdempotencyKey string    `json:"idempotency_key"`
	From           time.Time `json:"from"`
	To             time.Time `json:"to,omitzero"` // zero: the lease's end
	GPUs           int       `json:"gpus,omitempty"`
	// LimitMicroUSDPerGPUHour is the least the holder accepts per GPU-hour.
	LimitMicroUSDPerGPUHour joule.MicroUSD `json:"limit_micro_usd_per_gpu_hour"`
	ExpiresAt               time.Time      `json:"expires_at,omitzero"`
}

// Resell offers the future hours of a reserved lease for sale: reserved bids may buy
// them, and what they pay (less the platform fee) goes to the holder's credit. Only
// the holder (or the operator for it) resells.
func (s *Service) Resell(ctx context.Context, who *joule.Account, leaseID string, req ResellRequest) (*OrderResult, error) {
	l, err := s.engineLease(who, leaseID)
	if err != nil {
		return nil, err
	}
	o := joule.Order{IdempotencyKey: req.IdempotencyKey, Account: l.Tenant, Product: l.Product, Kind: joule.OrderResale,
		GPUs: req.GPUs, Start: req.From, End: req.To, LimitMicroUSDPerGPUHour: req.LimitMicroUSDPerGPUHour,
		ResaleOf: l.ID, ExpiresAt: req.ExpiresAt}
	if o.GPUs == 0 {
		o.GPUs = l.GPUs
	}
	if o.End.IsZero() {
		o.End = l.End
	}
	return s.SubmitOrder(ctx, who, o)
}

// Stop ends an on-demand or spot lease now and bills it to this moment.
func (s *Service) Stop(ctx context.Context, who *joule.Account, leaseID string) (*joule.Lease, error) {
	var out joule.Lease
	err := s.op(ctx, func(ch *change) error {
		l, err := s.engine.Lease(leaseID)
		if err != nil || !who.Sees(l.Tenant) {
			return joule.Errorf(joule.ENOTFOUND, "lease %s not found", leaseID)
		}
		r, err := s.engine.Stop(leaseID, joule.LeaseEndStopped, who.ID)
		if err != nil {
			return err
		}
		if err := s.settle(ctx, ch, r); err != nil {
			return err
		}
		stopped, err := s.engine.Lease(leaseID)
		if err != nil {
			return abort(err)
		}
		// Bill to the moment the matcher stopped the lease, not to a second reading of
		// the clock: a reading before the stop leaves the last instant unbilled, so the
		// order's hold would stay held until a later Tick, which a CLI on the local
		// store never runs.
		if err := s.meter(ctx, ch, stopped.End, leaseID, true); err != nil {
			return err
		}
		if out, err = s.engine.Lease(leaseID); err != nil {
			return abort(err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	v := leaseView(who, out)
	return &v, nil
}

// Orders lists orders: a tenant's own, or for the operator everyone's (f.Account to
// narrow). Owners place no orders.
func (s *Service) Orders(ctx context.Context, who *joule.Account, f joule.OrderFilter) ([]*joule.Order, error) {
	switch {
	case who == nil:
		return nil, joule.Errorf(joule.EUNAUTHORIZED, "sign in to list orders")
	case who.Role == joule.RoleTenant:
		f.Account = who.ID
	case who.Role != joule.RoleOperator:
		return nil, joule.Errorf(joule.EFORBIDDEN, "only tenants and the operator have orders")
	}
	return s.store.FindOrders(ctx, f)
}

// Leases lists leases: a tenant's own, the leases on an owner's servers (without the
// tenant's name or other sellers' shares), or for the operator all.
func (s *Service) Leases(ctx context.Context, who *joule.Account, f joule.LeaseFilter) ([]joule.Lease, error) {
	switch {
	case who == nil:
		return nil, joule.Errorf(joule.EUNAUTHORIZED, "sign in to list leases")
	case who.Role == joule.RoleTenant:
		f.Tenant = who.ID
	case who.Role == joule.RoleOwner:
		f.Seller = who.ID
	case who.Role != joule.RoleOperator:
		return nil, joule.Errorf(joule.EFORBIDDEN, "only tenants, owners and the operator have leases; %s is a %s", who.ID, who.Role)
	}
	leases, err := s.store.FindLeases(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]joule.Lease, len(leases))
	for i, l := range leases {
		out[i] = leaseView(who, *l)
	}
	return out, nil
}

// engineLease returns a lease the matcher holds, if who may act on it.
func (s *Service) engineLease(who *joule.Account, id string) (joule.Lease, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	l, err := s.engine.Lease(id)
	if err != nil || !who.Sees(l.Tenant) {
		return joule.Lease{}, joule.Errorf(joule.ENOTFOUND, "lease %s not found", id)
	}
	return l, nil
}

// orderView is a submission's result as who may see it: the order's own leases and
// fills, with resold capacity not naming the tenant that resold it.
func orderView(who *joule.Account, o joule.Order, leases []joule.Lease, fills []joule.Fill) *OrderResult {
	v := &OrderResult{Order: o, Leases: []joule.Lease{}, Fills: []joule.Fill{}}
	for _, l := range leases {
		if l.Order == o.ID {
			v.Leases = append(v.Leases, leaseView(who, l))
		}
	}
	for _, f := range fills {
		if f.Order == o.ID {
			if f.ResaleOrder != "" && who.Role != joule.RoleOperator {
				f.Seller, f.ResaleOrder = "resale", ""
			}
			v.Fills = append(v.Fills, f)
		}
	}
	return v
}

// leaseView is a lease as who may see it. A tenant sees resold shares as "resale"; an
// owner sees only its own shares and not the tenant.
func leaseView(who *joule.Account, l joule.Lease) joule.Lease {
	if who == nil || who.Role == joule.RoleOperator {
		return l
	}
	shares := make([]joule.LeaseShare, 0, len(l.Sellers))
	for _, sh := range l.Sellers {
		switch {
		case who.Role == joule.RoleOwner && sh.Seller != who.ID:
			continue
		case sh.ResaleOrder != "" && sh.Seller != who.ID:
			sh.Seller, sh.ResaleOrder = "resale", ""
		}
		shares = append(shares, sh)
	}
	l.Sellers = shares
	if who.Role == joule.RoleOwner {
		l.Tenant, l.Order = "", ""
	}
	return l
}
