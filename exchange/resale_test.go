package exchange

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/joule-site/joule"
)

func TestResale(t *testing.T) {
	c := newClock(t0)
	e := newEngine(t, c.config(), listing("owner-a", 2, usd(2)))
	held := mustSubmit(t, e, reserved("blk", "acme", 16, 1, 25, usd(2))).Leases[0]
	resale := joule.Order{IdempotencyKey: "rs", Account: "acme", Kind: joule.OrderResale, ResaleOf: held.ID,
		GPUs: 8, Start: hour(10), End: hour(20), LimitMicroUSDPerGPUHour: usd(2.5)}

	bad := resale
	bad.Account = "mallory"
	_, err := e.Submit(bad)
	wantCode(t, err, joule.EFORBIDDEN)
	bad = resale
	bad.End = hour(30)
	_, err = e.Submit(bad)
	wantCode(t, err, joule.EINVALID)

	rs := mustSubmit(t, e, resale)
	if rs.Order.Status != joule.OrderOpen || rs.Order.Product != product {
		t.Fatalf("resale %+v", rs.Order)
	}
	over := resale
	over.IdempotencyKey, over.GPUs, over.Start = "rs2", 16, hour(15)
	_, err = e.Submit(over)
	wantCode(t, err, joule.ECAPACITY) // 8 + 16 > 16 in hours 15..19
	over.GPUs = 4
	_, err = e.Submit(over)
	wantCode(t, err, joule.EINVALID) // half a server

	// the holder's own bid skips its own offer; another tenant buys it at the resale ask
	if r := mustSubmit(t, e, reserved("self", "acme", 8, 12, 14, usd(3))); r.Order.Status != joule.OrderOpen {
		t.Fatal("a holder bought its own resale")
	}
	buy := mustSubmit(t, e, reserved("buy", "beta", 8, 10, 20, usd(3)))
	if buy.Order.Status != joule.OrderFilled {
		t.Fatalf("buy %s", buy.Order.Status)
	}
	sh := buy.Leases[0].Sellers
	if len(sh) != 1 || sh[0].Seller != "acme" || sh[0].ResaleOrder != rs.Order.ID || sh[0].PriceMicroUSDPerGPUHour != usd(2.5) {
		t.Fatalf("bought shares %+v", sh)
	}
	if len(buy.Orders) != 1 || buy.Orders[0].Status != joule.OrderFilled || buy.Orders[0].SoldGPUHours != 80 {
		t.Fatalf("resale after the sale: %+v", buy.Orders)
	}
	// the binding moves: the buyer holds one of the holder's servers for hours 10..19,
	// and the holder does not
	if len(sh[0].Servers) != 1 || !slices.Contains(held.ServersAt(hour(12)), sh[0].Servers[0]) {
		t.Fatalf("bought servers %v of %v", sh[0].Servers, held.ServersAt(hour(12)))
	}
	var after joule.Lease
	for _, l := range buy.Leases {
		if l.ID == held.ID {
			after = l
		}
	}
	if got := after.ServersAt(hour(12)); len(got) != 1 || got[0] == sh[0].Servers[0] {
		t.Fatalf("the holder holds %v at hour 12 after selling %v", got, sh[0].Servers)
	}
	if got := after.ServersAt(hour(9)); len(got) != 2 {
		t.Fatalf("the holder holds %v at hour 9", got)
	}
	if b := after.Bindings(); len(b) != 3 {
		t.Fatalf("the holder's bindings %+v: want before, during and after the resale", b)
	}
	// a reserved block is resold, never stopped
	_, err = e.Stop(held.ID, joule.LeaseEndStopped, "")
	wantCode(t, err, joule.ECONFLICT)
	// spot never buys resale capacity
	_, err = e.Submit(running(joule.OrderOnDemand, "od", "gamma", 8, usd(9)))
	wantCode(t, err, joule.ECAPACITY)
}

func TestCancelAndExpiry(t *testing.T) {
	c := newClock(t0)
	e := newEngine(t, c.config())
	a := mustSubmit(t, e, reserved("a", "acme", 8, 5, 6, usd(2)))
	b := reserved("b", "acme", 8, 10, 12, usd(2))
	b.ExpiresAt = hour(3)
	bo := mustSubmit(t, e, b)
	r, err := e.Cancel(a.Order.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Order.Status != joule.OrderCancelled {
		t.Fatalf("cancel: %s", r.Order.Status)
	}
	_, err = e.Cancel(a.Order.ID)
	wantCode(t, err, joule.ECONFLICT)
	_, err = e.Cancel("nope")
	wantCode(t, err, joule.ENOTFOUND)

	c.set(hour(3))
	adv := e.Advance()
	mustCheck(t, e)
	if len(adv.Orders) != 1 || adv.Orders[0].ID != bo.Order.ID || adv.Orders[0].Status != joule.OrderExpired {
		t.Fatalf("expiry: %+v", adv.Orders)
	}
	// a reserved bid whose block starts expires too, and listing later does not fill it
	late := mustSubmit(t, e, reserved("late", "acme", 8, 4, 6, usd(2)))
	c.set(hour(4).Add(time.Second))
	e.Advance()
	if o, _ := e.Order(late.Order.ID); o.Status != joule.OrderExpired {
		t.Fatalf("bid past its start: %s", o.Status)
	}
}

func TestRestoreRoundTrip(t *testing.T) {
	c := newClock(t0.Add(15 * time.Minute))
	cfg := c.config()
	e := newEngine(t, cfg, listing("owner-a", 2, usd(2)), listing("owner-b", 1, usd(1.5)))
	blk := mustSubmit(t, e, reserved("k", "acme", 8, 1, 9, usd(3)))
	mustSubmit(t, e, reserved("rest", "beta", 32, 2, 4, usd(2.5)))
	mustSubmit(t, e, running(joule.OrderSpot, "s", "gamma", 8, usd(2.2)))
	mustSubmit(t, e, running(joule.OrderOnDemand, "od", "delta", 8, usd(4)))
	mustSubmit(t, e, joule.Order{IdempotencyKey: "rs", Account: "acme", Kind: joule.OrderResale, ResaleOf: blk.Leases[0].ID,
		GPUs: 8, Start: hour(5), End: hour(9), LimitMicroUSDPerGPUHour: usd(2.6)})
	mustSubmit(t, e, reserved("buy", "eps", 8, 6, 8, usd(2.7)))

	st := e.State()
	r, err := Restore(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.State(); !reflect.DeepEqual(got, st) {
		t.Fatalf("state after restore differs\n got %+v\nwant %+v", got, st)
	}
	// both engines answer the same to what comes next
	next := []joule.Order{reserved("n1", "zeta", 8, 2, 4, usd(2.6)), running(joule.OrderSpot, "n2", "eta", 8, usd(3))}
	for _, o := range next {
		a, errA := e.Submit(o)
		b, errB := r.Submit(o)
		if !reflect.DeepEqual(a, b) || (errA == nil) != (errB == nil) {
			t.Fatalf("after restore %s:\n%+v %v\n%+v %v", o.IdempotencyKey, a, errA, b, errB)
		}
	}
	c.add(2 * time.Hour)
	if a, b := e.Advance(), r.Advance(); !reflect.DeepEqual(a, b) {
		t.Fatalf("advance after restore:\n%+v\n%+v", a, b)
	}
	mustCheck(t, r)
	// a repeated key is recognized after a restart
	if _, err := r.Submit(reserved("k", "acme", 8, 1, 9, usd(3))); err != nil {
		t.Fatal(err)
	}
	if n := len(r.Leases(product, hour(3))); n != len(e.Leases(product, hour(3))) {
		t.Fatalf("leases differ: %d vs %d", n, len(e.Leases(product, hour(3))))
	}
}
