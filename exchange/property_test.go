package exchange

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"testing/quick"
	"time"

	"github.com/joule-site/joule"
)

// model is what a client knows from Results alone: the latest copy of every order and
// lease the engine reported, and the listings it set. Checking the invariants on the
// model, not on the engine's insides, also proves that Results report every change.
type model struct {
	listings map[string]joule.Listing
	orders   map[string]joule.Order
	leases   map[string]joule.Lease
	results  map[string]*Result     // first result per idempotency key (account/key)
	requests map[string]joule.Order // the request behind each key
	keys     []string
}

func (m *model) apply(r *Result) {
	if r.Order != nil {
		m.orders[r.Order.ID] = *r.Order
	}
	for _, o := range r.Orders {
		m.orders[o.ID] = o
	}
	for _, l := range r.Leases {
		m.leases[l.ID] = l.Clone()
	}
}

// check verifies, from hour now on, that no seller's capacity nor any resale offer is
// leased beyond what it has in any hour, that leases are whole, that all-or-none
// orders are filled entirely or not at all, and that a reserved order's leases never
// cost more than the hold its MaxCost asks for.
func (m *model) check(now time.Time) error {
	first := unixHour(now)
	const span = 60
	fromListing := map[string][]int{}
	fromResale := map[string][]int{}
	ofLease := map[string][]int{} // resold GPUs per backing lease
	filled := map[string]int{}
	cost := map[string]joule.MicroUSD{} // what each order's leases cost
	for _, l := range m.leases {
		a, z := unixHour(l.Start), ceilHour(l.End)
		cover := make([]int, z-a)
		for _, s := range l.Sellers {
			sa, sz := unixHour(s.Start), unixHour(s.End)
			if sa < a || sz > z {
				return fmt.Errorf("lease %s: share %v..%v outside %v..%v", l.ID, s.Start, s.End, l.Start, l.End)
			}
			for h := sa; h < sz; h++ {
				cover[h-a] += s.GPUs
				if h < first || h >= first+span {
					continue
				}
				if s.ResaleOrder == "" {
					add(fromListing, s.Seller, int(h-first), s.GPUs)
				} else {
					add(fromResale, s.ResaleOrder, int(h-first), s.GPUs)
					add(ofLease, m.orders[s.ResaleOrder].ResaleOf, int(h-first), s.GPUs)
				}
			}
		}
		for i, c := range cover {
			if c != l.GPUs {
				return fmt.Errorf("lease %s holds %d GPUs at hour %d, not %d", l.ID, c, a+int64(i), l.GPUs)
			}
		}
		filled[l.Order] += l.GPUs
		cost[l.Order] += l.Cost(l.Start, l.End)
	}
	for seller, used := range fromListing {
		ls := m.listings[seller]
		for i, u := range used {
			t := hourTime(first + int64(i))
			capacity := 0
			if !t.Before(ls.Start) && (ls.End.IsZero() || t.Before(ls.End)) {
				capacity = ls.Servers * 8
			}
			if u > capacity {
				return fmt.Errorf("%s at %s: %d GPUs leased of %d", seller, t, u, capacity)
			}
		}
	}
	for id, used := range fromResale {
		r := m.orders[id]
		for i, u := range used {
			t := hourTime(first + int64(i))
			if u > 0 && (u > r.GPUs || t.Before(r.Start) || !t.Before(r.End)) {
				return fmt.Errorf("resale %s at %s: %d GPUs sold of %d in %v..%v", id, t, u, r.GPUs, r.Start, r.End)
			}
		}
	}
	for id, used := range ofLease {
		l := m.leases[id]
		for i, u := range used {
			t := hourTime(first + int64(i))
			if u > 0 && (u > l.GPUs || t.Before(l.Start) || !t.Before(l.End)) {
				return fmt.Errorf("lease %s: %d GPUs resold at %s, outside or beyond it", id, u, t)
			}
		}
	}
	if err := m.checkServers(first, span); err != nil {
		return err
	}
	for id, o := range m.orders {
		if o.Kind == joule.OrderResale {
			continue
		}
		if filled[id] > o.GPUs || (o.AllOrNone && o.Kind == joule.OrderReserved && filled[id] != 0 && filled[id] != o.GPUs) {
			return fmt.Errorf("order %s (%d GPUs, all or none %v): leases hold %d", id, o.GPUs, o.AllOrNone, filled[id])
		}
		if o.Kind == joule.OrderReserved && cost[id] > o.MaxCost() {
			return fmt.Errorf("order %s: its leases cost %s, more than the %s held for it", id, cost[id], o.MaxCost())
		}
		if filled[id] != o.FilledGPUs {
			return fmt.Errorf("order %s says %d GPUs filled, its leases %d", id, o.FilledGPUs, filled[id])
		}
	}
	return nil
}

// checkServers verifies, from the leases alone, that no server is bound to two leases
// in the same hour, that every lease holds whole servers for all its GPUs in every hour
// (those it resold counted as held by the buyer), and that each server is one its
// seller listed.
func (m *model) checkServers(first int64, span int) error {
	names := map[string]string{} // server → seller
	for _, l := range m.listings {
		for _, n := range l.NodeNames() {
			names[n] = l.Seller
		}
	}
	for h := first; h < first+int64(span); h++ {
		t := hourTime(h)
		holder := map[string]string{}
		for _, id := range slices.Sorted(maps.Keys(m.leases)) {
			l := m.leases[id]
			if unixHour(l.Start) > h || ceilHour(l.End) <= h {
				continue
			}
			held := l.ServersAt(t)
			resold := 0
			for _, r := range l.Resold {
				if !t.Before(r.Start) && t.Before(r.End) {
					resold += len(r.Servers)
				}
			}
			if len(held)+resold != l.GPUs/8 {
				return fmt.Errorf("lease %s of %d GPUs holds servers %v (and resold %d) at %s", id, l.GPUs, held, resold, t)
			}
			for _, n := range held {
				if other, ok := holder[n]; ok {
					return fmt.Errorf("server %s is bound to leases %s and %s at %s", n, other, id, t)
				}
				holder[n] = id
				if _, ok := names[n]; !ok {
					return fmt.Errorf("lease %s holds %s, which no listing names", id, n)
				}
			}
		}
	}
	return nil
}

func add(m map[string][]int, k string, i, n int) {
	if m[k] == nil {
		m[k] = make([]int, 60)
	}
	m[k][i] += n
}

// TestRandomOrderStreams runs random streams of every operation and checks, after
// each, the engine's own invariants (Check), the same invariants recomputed from the
// Results alone, that a failed operation changed nothing, and that a repeated
// idempotency key answers the first result.
func TestRandomOrderStreams(t *testing.T) {
	steps := 300
	if testing.Short() {
		steps = 100
	}
	var resold, preempted int
	prop := func(seed uint64) bool {
		m, err := runStream(seed, steps)
		if m != nil {
			for _, l := range m.leases {
				resold += len(l.Resold)
				if l.Status == joule.LeasePreempted {
					preempted++
				}
			}
		}
		if err != nil {
			t.Logf("seed %d: %v", seed, err)
			return false
		}
		return true
	}
	if err := quick.Check(prop, &quick.Config{MaxCount: 40}); err != nil {
		t.Fatal(err)
	}
	t.Logf("leases resold %d times, %d preempted", resold, preempted)
	if resold == 0 || preempted == 0 {
		t.Fatalf("the streams resold %d and preempted %d times: they must move bindings both ways", resold, preempted)
	}
}

func runStream(seed uint64, steps int) (*model, error) {
	rng := rand.New(rand.NewPCG(seed, 7))
	c := newClock(t0.Add(time.Duration(rng.IntN(3600)) * time.Second))
	level := usd(1.5)
	cfg := Config{Now: c.Now, IdempotencyWindow: 10000 * time.Hour, HoldAheadHours: 1 + rng.IntN(2), SpotNoticeSec: int64(60 + rng.IntN(1800)), Operator: "operator",
		Pricing: func(_ string, h time.Time) joule.MicroUSD { return level + joule.MicroUSD(h.Hour()%5)*100_000 }}
	e := New(cfg)
	if err := e.AddProduct(joule.Product{ID: product, Model: "h100-sxm", Site: "west-texas", GPUsPerNode: 8}); err != nil {
		return nil, err
	}
	m := &model{listings: map[string]joule.Listing{}, orders: map[string]joule.Order{}, leases: map[string]joule.Lease{},
		results: map[string]*Result{}, requests: map[string]joule.Order{}}
	restored := map[string]bool{} // keys submitted before the last restore
	sellers := []string{"operator", "owner-a", "owner-b", "owner-c"}
	tenants := []string{"t1", "t2", "t3", "t4"}
	price := func() joule.MicroUSD { return usd(1.0 + float64(rng.IntN(21))/10) }
	setListing := func() (*Result, error) {
		l := joule.Listing{Product: product, Seller: sellers[rng.IntN(len(sellers))], Servers: rng.IntN(5),
			Start: hourTime(unixHour(c.Now()) - 1), AskMicroUSDPerGPUHour: price(), OpportunityCost: rng.IntN(4) == 0}
		if rng.IntN(3) == 0 {
			l.End = hourTime(unixHour(c.Now()) + int64(10+rng.IntN(40)))
		}
		r, err := e.SetListing(l)
		if err == nil {
			m.listings[l.Seller] = l
		}
		return r, err
	}
	for range 4 {
		if _, err := setListing(); err != nil {
			return nil, err
		}
	}
	for step := range steps {
		before := e.State()
		now := c.Now()
		nowHour := unixHour(now)
		var (
			r   *Result
			err error
			op  string
			req *joule.Order
		)
		switch k := rng.IntN(100); {
		case k < 30:
			op = "reserved"
			a := nowHour + 1 + int64(rng.IntN(24))
			o := joule.Order{Account: tenants[rng.IntN(4)], Product: product, Kind: joule.OrderReserved,
				GPUs: 8 * (1 + rng.IntN(3)), Start: hourTime(a), End: hourTime(a + 1 + int64(rng.IntN(8))),
				LimitMicroUSDPerGPUHour: price(), AllOrNone: rng.IntN(10) < 7}
			if rng.IntN(5) == 0 {
				o.ExpiresAt = now.Add(time.Duration(1+rng.IntN(300)) * time.Minute)
			}
			if rng.IntN(8) == 0 {
				o.Class, o.NoticeSec = joule.LeaseCurtailable, 900
			}
			req = &o
		case k < 40:
			op = "on_demand"
			o := running(joule.OrderOnDemand, "", tenants[rng.IntN(4)], 8*(1+rng.IntN(2)), price())
			if rng.IntN(3) == 0 {
				o.End = hourTime(nowHour + 1 + int64(rng.IntN(6)))
			}
			req = &o
		case k < 52:
			op = "spot"
			o := running(joule.OrderSpot, "", tenants[rng.IntN(4)], 8*(1+rng.IntN(2)), price())
			req = &o
		case k < 60:
			op = "resale"
			l, ok := pickLease(rng, m, func(l joule.Lease) bool {
				return !l.OpenEnded && l.Class != joule.LeaseInterruptible && l.Status == joule.LeaseActive && l.End.After(now.Add(time.Hour))
			})
			if !ok {
				continue
			}
			a := max(ceilHour(now), unixHour(l.Start)) + int64(rng.IntN(3))
			z := a + 1 + int64(rng.IntN(6))
			o := joule.Order{Account: l.Tenant, Kind: joule.OrderResale, ResaleOf: l.ID, GPUs: 8 * (1 + rng.IntN(l.GPUs/8)),
				Start: hourTime(a), End: hourTime(z), LimitMicroUSDPerGPUHour: price()}
			req = &o
		case k < 67:
			op = "cancel"
			id := pickOrder(rng, m)
			r, err = e.Cancel(id)
		case k < 75:
			op = "stop"
			l, _ := pickLease(rng, m, func(joule.Lease) bool { return true })
			r, err = e.Stop(l.ID, joule.LeaseEndStopped, "")
		case k < 85:
			op = "advance"
			c.add(time.Duration(1+rng.IntN(90)) * time.Minute)
			r = e.Advance()
		case k < 89 && rng.IntN(4) == 0:
			op = "fill priority" // orders asks anew; moves no lease
			if err = e.SetFillPriority(product, joule.FillPriorities[rng.IntN(len(joule.FillPriorities))]); err == nil && !reflect.DeepEqual(before.Leases, e.State().Leases) {
				return m, fmt.Errorf("step %d: setting the fill priority moved leases", step)
			}
		case k < 89:
			op = "listing"
			r, err = setListing()
		case k < 91:
			op = "restore" // a restart: rebuild from what the store would hold
			st := e.State()
			if e, err = Restore(cfg, st); err != nil {
				return m, fmt.Errorf("step %d: restore: %v", step, err)
			}
			if got := e.State(); !reflect.DeepEqual(got, st) {
				return m, fmt.Errorf("step %d: state after restore differs", step)
			}
			for _, k := range m.keys {
				restored[k] = true
			}
		case k < 93:
			op = "reprice"
			level = usd(1.0 + float64(rng.IntN(15))/10)
			r, err = e.Reprice(product)
		default:
			op = "repeat"
			if len(m.keys) == 0 {
				continue
			}
			key := m.keys[rng.IntN(len(m.keys))]
			o := m.requests[key]
			if rng.IntN(2) == 0 {
				r, err = e.Submit(o)
				want := m.results[key]
				if restored[key] { // after a restart: the same order, as it is now
					if err != nil || r.Order.ID != want.Order.ID || !reflect.DeepEqual(before, e.State()) {
						return m, fmt.Errorf("step %d: repeated key %s after restore: %v, %+v", step, key, err, r.Order)
					}
					continue
				}
				if err != nil || !reflect.DeepEqual(r, want) {
					return m, fmt.Errorf("step %d: repeated key %s: %v\n got %+v\nwant %+v", step, key, err, r, want)
				}
				continue
			}
			o.GPUs++
			if _, err = e.Submit(o); joule.ErrorCode(err) != joule.ECONFLICT {
				return m, fmt.Errorf("step %d: key %s reused for another order: %v", step, key, err)
			}
			r, err = nil, nil
		}
		if req != nil {
			req.IdempotencyKey = fmt.Sprintf("k%d", step)
			r, err = e.Submit(*req)
			if err == nil {
				key := req.Account + "/" + req.IdempotencyKey
				m.results[key], m.requests[key] = r.clone(), *req
				m.keys = append(m.keys, key)
				if err := checkOwnLeases(r); err != nil {
					return m, fmt.Errorf("step %d (%s): %v", step, op, err)
				}
			}
		}
		if err != nil {
			if code := joule.ErrorCode(err); code == joule.EINTERNAL {
				return m, fmt.Errorf("step %d (%s): %v", step, op, err)
			}
			if after := e.State(); !reflect.DeepEqual(before, after) {
				return m, fmt.Errorf("step %d (%s) failed with %v but changed the state", step, op, err)
			}
		} else if r != nil {
			m.apply(r)
		}
		if err := e.Check(); err != nil {
			return m, fmt.Errorf("step %d (%s): %v", step, op, err)
		}
		if err := m.check(c.Now()); err != nil {
			return m, fmt.Errorf("step %d (%s): model: %v", step, op, err)
		}
	}
	return m, nil
}

// checkOwnLeases checks that a submission's leases are whole: an all-or-none order's
// lease has all its GPUs, and none has more than the order.
func checkOwnLeases(r *Result) error {
	for _, l := range r.Leases {
		if l.Order != r.Order.ID {
			continue
		}
		if l.GPUs > r.Order.GPUs || (r.Order.AllOrNone && r.Order.Kind == joule.OrderReserved && l.GPUs != r.Order.GPUs) {
			return fmt.Errorf("order %s of %d GPUs (all or none %v) made a lease of %d", r.Order.ID, r.Order.GPUs, r.Order.AllOrNone, l.GPUs)
		}
	}
	return nil
}

func pickLease(rng *rand.Rand, m *model, ok func(joule.Lease) bool) (joule.Lease, bool) {
	var ids []string
	for id, l := range m.leases {
		if ok(l) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return joule.Lease{ID: "l0"}, false
	}
	slices.Sort(ids)
	return m.leases[ids[rng.IntN(len(ids))]], true
}

func pickOrder(rng *rand.Rand, m *model) string {
	var ids []string
	for id := range m.orders {
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return "o0"
	}
	slices.Sort(ids)
	return ids[rng.IntN(len(ids))]
}
