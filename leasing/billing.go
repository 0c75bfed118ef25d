package leasing

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/exchange"
	"github.com/joule-site/joule/ledger"
)

// meterState is an on-demand or spot lease still to be billed: the lease as the
// engine last reported it and what each seller has been paid for it so far.
type meterState struct {
	lease   joule.Lease
	charged map[string]joule.MicroUSD // by seller
	last    time.Time                 // when it was last billed, or its start
}

// settle records an engine Result in the change and moves the money it implies: a
// reserved fill captures the block's cost from its order's hold; an on-demand or spot
// lease joins the metered leases; an order that is done releases what is left of its
// hold. Any ledger failure here aborts the operation.
func (s *Service) settle(ctx context.Context, ch *change, r *exchange.Result) error {
	ch.addResult(r)
	orders := map[string]joule.Order{}
	if r.Order != nil {
		orders[r.Order.ID] = *r.Order
	}
	for _, o := range r.Orders {
		orders[o.ID] = o
	}
	orderOf := func(id string) (joule.Order, error) {
		if o, ok := orders[id]; ok {
			return o, nil
		}
		o, err := s.engine.Order(id)
		if err != nil {
			return o, abort(fmt.Errorf("leasing: settle: %w", err))
		}
		orders[id] = o
		return o, nil
	}
	leases := map[string]*joule.Lease{}
	for i := range r.Leases {
		leases[r.Leases[i].ID] = &r.Leases[i]
	}
	for _, f := range r.Fills {
		o, err := orderOf(f.Order)
		if err != nil {
			return err
		}
		amount := shareCost(f.LeaseShare)
		if o.Kind != joule.OrderReserved || amount == 0 {
			continue // running leases are metered by the second
		}
		seller, err := s.sellerAccount(ctx, f.Seller, f.ResaleOrder)
		if err != nil {
			return abort(err)
		}
		product := o.Product
		if l := leases[f.Lease]; l != nil {
			product = l.Product
		}
		_, err = s.ledger.Capture(ledger.Charge{Tenant: o.Account, Order: o.ID, Lease: f.Lease, Seller: seller,
			Amount: amount, FeeBPS: s.cfg.FeeBPS, Memo: fillMemo(product, f)})
		if err != nil {
			return abort(fmt.Errorf("leasing: capture fill of %s: %w", f.Lease, err))
		}
	}
	for _, l := range r.Leases {
		o, err := orderOf(l.Order)
		if err != nil {
			return err
		}
		if o.Kind != joule.OrderOnDemand && o.Kind != joule.OrderSpot {
			continue
		}
		m := s.metered[l.ID]
		if m == nil {
			m = &meterState{charged: map[string]joule.MicroUSD{}, last: l.Start}
			s.metered[l.ID] = m
		}
		m.lease = l.Clone()
	}
	ids := make([]string, 0, len(orders))
	for id := range orders {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		o := orders[id]
		done := o.Status.Terminal() && (o.Kind == joule.OrderReserved || !s.orderMetered(o.ID))
		if done && s.ledger.Held(o.ID) > 0 {
			if _, err := s.ledger.Release("release:"+o.ID, o.ID); err != nil {
				return abort(fmt.Errorf("leasing: release hold of %s: %w", o.ID, err))
			}
		}
	}
	return nil
}

// orderMetered reports whether a lease of the order is still to be billed.
func (s *Service) orderMetered(order string) bool {
	for _, m := range s.metered {
		if m.lease.Order == order {
			return true
		}
	}
	return false
}

// Meter bills on-demand and spot leases for their use up to now: for each seller,
// Lease.Cost from the lease's start to now less what was billed before, from the
// order's hold first and then from credit. A lease whose tenant cannot pay is stopped.
// A lease that has ended and is billed in full is done, and its order's hold released.
func (s *Service) Meter(ctx context.Context, now time.Time) error {
	return s.op(ctx, func(ch *change) error { return s.meter(ctx, ch, now, "", true) })
}

// meter bills every metered lease, or only the lease named only: all of them when
// force is set, else those that have ended or were last billed MeterEvery ago.
func (s *Service) meter(ctx context.Context, ch *change, now time.Time, only string, force bool) error {
	ids := make([]string, 0, len(s.metered))
	for id := range s.metered {
		if only == "" || id == only {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		m := s.metered[id]
		ended := !m.lease.OpenEnded && !m.lease.End.After(now)
		if !force && !ended && now.Sub(m.last) < s.cfg.MeterEvery {
			continue
		}
		m.last = now
		short := false
		for _, seller := range sellersOf(&m.lease) {
			due := costFor(&m.lease, seller, m.lease.Start, now) - m.charged[seller]
			if due <= 0 {
				continue
			}
			paid, err := s.bill(ctx, &m.lease, seller, due, now)
			if err != nil {
				return err
			}
			m.charged[seller] += paid
			short = short || paid < due
		}
		if short && (m.lease.OpenEnded || m.lease.End.After(now)) {
			r, err := s.engine.Stop(id, joule.LeaseEndCredit, "")
			if err != nil {
				s.cfg.Logger.Warn("leasing: stop a lease its tenant cannot pay", "lease", id, "err", err)
			} else if err := s.settle(ctx, ch, r); err != nil {
				return err
			}
		}
		if l := &m.lease; !l.OpenEnded && !l.End.After(now) && billed(m) {
			delete(s.metered, id)
			if !s.orderMetered(l.Order) && s.ledger.Held(l.Order) > 0 {
				if _, err := s.ledger.Release("release:"+l.Order, l.Order); err != nil {
					return abort(fmt.Errorf("leasing: release hold of %s: %w", l.Order, err))
				}
			}
		}
	}
	return nil
}

// bill collects due for a seller's share of a lease: from the order's hold, then from
// the tenant's credit, as far as they go. It returns what it collected.
func (s *Service) bill(ctx context.Context, l *joule.Lease, seller string, due joule.MicroUSD, now time.Time) (joule.MicroUSD, error) {
	acct, err := s.sellerAccount(ctx, seller, "")
	if err != nil {
		return 0, abort(err)
	}
	key := fmt.Sprintf("meter:%s:%s:%d", l.ID, seller, now.UnixNano())
	memo := fmt.Sprintf("%d GPUs of %s, %s, %s to %s", l.GPUs, l.Product, l.Class,
		l.Start.UTC().Format(memoTime), joule.Earlier(now, l.End).UTC().Format(memoTime))
	c := ledger.Charge{Tenant: l.Tenant, Lease: l.ID, Seller: acct, FeeBPS: s.cfg.FeeBPS, Memo: memo}
	var paid joule.MicroUSD
	if take := min(s.ledger.Held(l.Order), due); take > 0 {
		c.Key, c.Order, c.Amount = key+":hold", l.Order, take
		if _, err := s.ledger.Capture(c); err != nil {
			return 0, abort(fmt.Errorf("leasing: meter %s: %w", l.ID, err))
		}
		paid = take
	}
	if take := min(due-paid, s.ledger.Balance(ledger.TenantCredit(l.Tenant))); take > 0 {
		c.Key, c.Order, c.Amount = key+":credit", "", take
		if _, err := s.ledger.Charge(c); err != nil {
			return 0, abort(fmt.Errorf("leasing: meter %s: %w", l.ID, err))
		}
		paid += take
	}
	return paid, nil
}

// billed reports whether every seller has been paid for the whole lease.
func billed(m *meterState) bool {
	for _, seller := range sellersOf(&m.lease) {
		if costFor(&m.lease, seller, m.lease.Start, m.lease.End) > m.charged[seller] {
			return false
		}
	}
	return true
}

// meteredLeases rebuilds the leases still to bill from the loaded state and what the
// journal says each seller was paid ("meter:<lease>:<seller>:…" transactions).
func meteredLeases(st *joule.LeasingState, txs []joule.LedgerTransaction) map[string]*meterState {
	kinds := map[string]joule.OrderKind{}
	for _, o := range st.Orders {
		kinds[o.ID] = o.Kind
	}
	charged := map[string]map[string]joule.MicroUSD{}
	last := map[string]time.Time{}
	for _, tx := range txs {
		parts := strings.Split(tx.Key, ":")
		if len(parts) != 5 || parts[0] != "meter" || len(tx.Postings) == 0 {
			continue
		}
		if charged[parts[1]] == nil {
			charged[parts[1]] = map[string]joule.MicroUSD{}
		}
		charged[parts[1]][parts[2]] += -tx.Postings[0].Amount // the payer's posting comes first
		if ns, err := strconv.ParseInt(parts[3], 10, 64); err == nil {
			if t := time.Unix(0, ns).UTC(); t.After(last[parts[1]]) {
				last[parts[1]] = t
			}
		}
	}
	out := map[string]*meterState{}
	for _, l := range st.Leases {
		if k := kinds[l.Order]; k != joule.OrderOnDemand && k != joule.OrderSpot {
			continue
		}
		m := &meterState{lease: l.Clone(), charged: charged[l.ID], last: l.Start}
		if m.charged == nil {
			m.charged = map[string]joule.MicroUSD{}
		}
		if t, ok := last[l.ID]; ok {
			m.last = t
		}
		if l.OpenEnded || !billed(m) {
			out[l.ID] = m
		}
	}
	return out
}

// sellersOf returns the sellers of a lease's shares, in order of first appearance.
func sellersOf(l *joule.Lease) []string {
	var out []string
	for _, sh := range l.Sellers {
		if !slices.Contains(out, sh.Seller) {
			out = append(out, sh.Seller)
		}
	}
	return out
}

// costFor is what the shares of one seller in a lease cost over [from, to).
func costFor(l *joule.Lease, seller string, from, to time.Time) joule.MicroUSD {
	c := *l
	c.Sellers = make([]joule.LeaseShare, 0, len(l.Sellers))
	for _, sh := range l.Sellers {
		if sh.Seller == seller {
			c.Sellers = append(c.Sellers, sh)
		}
	}
	return c.Cost(from, to)
}

// shareCost is what a share costs for all its hours: GPUs × hours × price, exact.
func shareCost(sh joule.LeaseShare) joule.MicroUSD {
	l := joule.Lease{Start: sh.Start, End: sh.End, Sellers: []joule.LeaseShare{sh}}
	return l.Cost(sh.Start, sh.End)
}

// sellerAccount is the ledger account a sale pays: the reselling tenant's credit for
// hours bought from a resale order, else the owner's or the operator's revenue.
func (s *Service) sellerAccount(ctx context.Context, seller, resaleOrder string) (joule.LedgerAccount, error) {
	if resaleOrder != "" {
		return ledger.TenantCredit(seller), nil
	}
	role, err := s.role(ctx, seller)
	if err != nil {
		return "", err
	}
	switch role {
	case joule.RoleOwner:
		return ledger.OwnerRevenue(seller), nil
	case joule.RoleOperator:
		return ledger.OperatorRevenue(seller), nil
	}
	return ledger.TenantCredit(seller), nil
}

func fillMemo(product string, f joule.Fill) string {
	src := "from " + f.Seller
	if f.ResaleOrder != "" {
		src = "resold"
	}
	return fmt.Sprintf("%d GPUs of %s, %s to %s, at %s/GPU-hour %s", f.GPUs, product,
		f.Start.UTC().Format(memoTime), f.End.UTC().Format(memoTime), f.PriceMicroUSDPerGPUHour, src)
}

// memoTime formats times in ledger memos: to the second, in UTC.
const memoTime = "2006-01-02 15:04:05Z"
