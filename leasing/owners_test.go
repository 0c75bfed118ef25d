package leasing_test

import (
	"maps"
	"reflect"
	"testing"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/leasing"
	"github.com/joule-site/joule/ledger"
)

// The operator pays an owner's balance out: once per key, never more than the
// balance, never at the owner's own request; the statement and a reopened service
// show it.
func TestPayout(t *testing.T) {
	e := newEnv(t)
	acme := e.tenant("acme", usd(50_000))
	e.submit(acme, reserved("k1", 16, day1, day1.Add(hours(168)), usd(2.10)))
	revenue := ledger.OwnerRevenue("northwind-capital")
	wantEqual(t, "owner revenue", e.balance(revenue), usd(4838.40))
	owner, err := e.svc.Principal(e.ctx, "northwind-capital")
	if err != nil {
		t.Fatal(err)
	}
	journal := func() int64 { v, _ := e.store.LeasingVersion(e.ctx); return v }
	_, err = e.svc.Payout(e.ctx, owner, "northwind-capital", "", usd(100))
	wantCode(t, "an owner paying itself out", err, joule.EFORBIDDEN)
	_, err = e.svc.Payout(e.ctx, acme, "northwind-capital", "", usd(100))
	wantCode(t, "a tenant paying an owner out", err, joule.EFORBIDDEN)
	before := journal()
	_, err = e.svc.Payout(e.ctx, e.op, "northwind-capital", "wire-1", usd(4838.41))
	wantCode(t, "more than the balance", err, joule.EFORBIDDEN)
	wantEqual(t, "balance after a refused payout", e.balance(revenue), usd(4838.40))
	wantEqual(t, "store version after a refused payout", journal(), before)
	_, err = e.svc.Payout(e.ctx, e.op, "acme", "", usd(1))
	wantCode(t, "a tenant paid out as an owner", err, joule.EINVALID)
	_, err = e.svc.Payout(e.ctx, e.op, "nobody", "", usd(1))
	wantCode(t, "no such owner", err, joule.ENOTFOUND)
	_, err = e.svc.Payout(e.ctx, e.op, "northwind-capital", "", 0)
	wantCode(t, "nothing to pay", err, joule.EINVALID)

	p, err := e.svc.Payout(e.ctx, e.op, "northwind-capital", "wire-1", usd(1000))
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "balance after paying out", p.BalanceMicroUSD, usd(3838.40))
	again, err := e.svc.Payout(e.ctx, e.op, "northwind-capital", "wire-1", usd(1000))
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "a retry's transaction", again.Transaction, p.Transaction)
	wantEqual(t, "balance after a retry", e.balance(revenue), usd(3838.40))
	_, err = e.svc.Payout(e.ctx, e.op, "northwind-capital", "wire-1", usd(999))
	wantCode(t, "the key for another amount", err, joule.ECONFLICT)
	e.check()

	st, err := e.bills.Statement(e.ctx, owner, "northwind-capital", "2025-01")
	if err != nil {
		t.Fatal(err)
	}
	if st.PayoutsMicroUSD != usd(1000) || st.ClosingBalanceMicroUSD != usd(3838.40) {
		t.Errorf("statement: paid out %s, closing %s; want $1,000.00 and $3,838.40", st.PayoutsMicroUSD, st.ClosingBalanceMicroUSD)
	}
	if got := e.open().Balance(revenue); got != usd(3838.40) {
		t.Errorf("a reopened service's owner balance %s, want $3,838.40", got)
	}
}

// An owner's report: its servers, its listing, GPU-hours offered and sold per day; the
// owner and the operator see it, nobody else.
func TestOwnerReport(t *testing.T) {
	e := newEnv(t)
	acme := e.tenant("acme", usd(50_000))
	// t0 is 2025-01-05 12:00; a block of 16 GPUs for the first 6 hours of 2025-01-06.
	e.submit(acme, reserved("k1", 16, day1, day1.Add(hours(6)), usd(2.10)))
	e.clock.add(hours(24)) // 2025-01-06 12:00
	owner, err := e.svc.Principal(e.ctx, "northwind-capital")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := e.svc.Owner(e.ctx, owner, "northwind-capital", 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Servers) != 1 || rep.Servers[0].Servers != 16 || rep.Servers[0].GPUs != 128 || rep.Servers[0].Product != product {
		t.Errorf("servers %+v", rep.Servers)
	}
	if len(rep.Listings) != 1 || rep.Listings[0].GPUs != 128 || rep.Listings[0].FillPriority != joule.FillByTime {
		t.Errorf("listings %+v", rep.Listings)
	}
	if len(rep.Days) != 2 {
		t.Fatalf("days %+v", rep.Days)
	}
	// Listed from 2025-01-05 12:00: 12 hours that day, all 24 the next.
	wantEqual(t, "offered on the 5th", rep.Days[0].OfferedGPUHours, int64(128*12))
	wantEqual(t, "offered on the 6th", rep.Days[1].OfferedGPUHours, int64(128*24))
	wantEqual(t, "sold on the 5th", rep.Days[0].SoldGPUHours, int64(0))
	wantEqual(t, "sold on the 6th", rep.Days[1].SoldGPUHours, int64(16*6))
	wantEqual(t, "balance", rep.BalanceMicroUSD, e.balance(ledger.OwnerRevenue("northwind-capital")))
	if len(rep.Leases) != 1 || rep.Leases[0].Tenant != "" {
		t.Errorf("leases %+v: want one, without its tenant's name", rep.Leases)
	}
	if _, err := e.svc.Owner(e.ctx, e.op, "northwind-capital", 0); err != nil {
		t.Errorf("the operator's view: %v", err)
	}
	_, err = e.svc.Owner(e.ctx, acme, "northwind-capital", 0)
	wantCode(t, "a tenant's view", err, joule.EFORBIDDEN)
	_, err = e.svc.Owner(e.ctx, e.op, "acme", 0)
	wantCode(t, "a tenant as an owner", err, joule.ENOTFOUND)
}

// The operator's fill priority decides whose servers fill at one ask, and a reopened
// service keeps it.
func TestFillPrioritySurvivesRestart(t *testing.T) {
	e := newEnv(t)
	acme := e.tenant("acme", usd(50_000))
	_, err := e.svc.SetFillPriority(e.ctx, acme, product, joule.FillOperatorFirst)
	wantCode(t, "a tenant setting it", err, joule.EFORBIDDEN)
	if _, err := e.svc.SetFillPriority(e.ctx, e.op, product, joule.FillOperatorFirst); err != nil {
		t.Fatal(err)
	}
	e.svc = e.open()
	ps, err := e.svc.FillPriorities(e.ctx, acme)
	if err != nil || len(ps) != 1 || ps[0].Priority != joule.FillOperatorFirst {
		t.Fatalf("fill priorities after a restart: %+v, %v", ps, err)
	}
	r := e.submit(acme, reserved("k1", 16, day1, day1.Add(hours(2)), usd(2.10)))
	if len(r.Leases) != 1 || r.Leases[0].Sellers[0].Seller != "operator" {
		t.Errorf("lease %+v: want the operator's servers first", r.Leases)
	}
	e.check()
}

// A tenant cannot stop another tenant's lease, cancel its order or resell its hours:
// each is not found to it, and nothing changes.
func TestTenantActsOnlyOnItsOwn(t *testing.T) {
	e := newEnv(t)
	acme, beta := e.tenant("acme", usd(50_000)), e.tenant("beta", usd(50_000))
	onDemand := e.submit(acme, running(joule.OrderOnDemand, "now", 8, usd(3)))
	block := e.submit(acme, reserved("k1", 8, day1, day1.Add(hours(4)), usd(2.10)))
	resting := e.submit(acme, reserved("low", 8, day1, day1.Add(hours(4)), usd(1)))
	state, balances := e.svc.State()
	_, err := e.svc.Stop(e.ctx, beta, onDemand.Leases[0].ID)
	wantCode(t, "stopping another's lease", err, joule.ENOTFOUND)
	_, err = e.svc.Cancel(e.ctx, beta, resting.Order.ID)
	wantCode(t, "cancelling another's order", err, joule.ENOTFOUND)
	_, err = e.svc.Resell(e.ctx, beta, block.Leases[0].ID, leasing.ResellRequest{IdempotencyKey: "r", From: day1.Add(hours(2)), LimitMicroUSDPerGPUHour: usd(3)})
	wantCode(t, "reselling another's lease", err, joule.ENOTFOUND)
	after, afterBalances := e.svc.State()
	if !reflect.DeepEqual(after, state) || !maps.Equal(afterBalances, balances) {
		t.Error("a refused action changed the exchange")
	}
}
