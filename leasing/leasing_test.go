package leasing_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/catalog"
	"github.com/joule-site/joule/dispatch"
	"github.com/joule-site/joule/exchange"
	"github.com/joule-site/joule/leasing"
	"github.com/joule-site/joule/ledger"
	"github.com/joule-site/joule/sqlite"
)

func TestListingsFromFleets(t *testing.T) {
	e := newEnv(t)
	products, err := e.svc.Products(e.ctx, e.op)
	if err != nil {
		t.Fatal(err)
	}
	if len(products) != 1 || products[0].ID != product || products[0].CapacityGPUs != 256 || len(products[0].Listings) != 2 {
		t.Fatalf("products: %+v", products)
	}
	for _, l := range products[0].Listings {
		if l.Servers != 16 || l.AskMicroUSDPerGPUHour != usd(2) {
			t.Errorf("listing %+v: want 16 servers at $2", l)
		}
	}
	// The owner named by a fleet got an account.
	if a, err := e.store.Account(e.ctx, "northwind-capital"); err != nil || a.Role != joule.RoleOwner {
		t.Errorf("owner account: %+v, %v", a, err)
	}
}

func TestReservedBlockIsBilledAtFill(t *testing.T) {
	e := newEnv(t)
	acme := e.tenant("acme", usd(50_000))
	r := e.submit(acme, reserved("k1", 16, day1, day1.Add(hours(168)), usd(2.10)))
	if r.Order.Status != joule.OrderFilled || len(r.Leases) != 1 || len(r.Fills) != 1 {
		t.Fatalf("result %+v", r)
	}
	l := r.Leases[0]
	if l.GPUs != 16 || !l.Start.Equal(day1) || l.Sellers[0].Seller != "northwind-capital" {
		t.Errorf("lease %+v: want 16 GPUs from northwind-capital, the older ask", l)
	}
	// 16 GPUs × 168 h × $2.00 = $5,376 captured; 10% fee; the rest of the hold released.
	wantEqual(t, "credit", e.balance(ledger.TenantCredit("acme")), usd(50_000-5376))
	wantEqual(t, "hold", e.balance(ledger.TenantHold("acme")), 0)
	wantEqual(t, "owner revenue", e.balance(ledger.OwnerRevenue("northwind-capital")), usd(4838.40))
	wantEqual(t, "platform fees", e.balance(ledger.PlatformFees), usd(537.60))

	inv, err := e.bills.Invoice(e.ctx, acme, "acme", "2025-01")
	if err != nil {
		t.Fatal(err)
	}
	if inv.UsageMicroUSD != usd(5376) || inv.DepositsMicroUSD != usd(50_000) || inv.ClosingCreditMicroUSD != usd(44_624) ||
		inv.ClosingHeldMicroUSD != 0 || len(inv.Lines) != 2 {
		t.Errorf("invoice %+v", inv)
	}
	st, err := e.bills.Statement(e.ctx, e.op, "northwind-capital", "2025-01")
	if err != nil {
		t.Fatal(err)
	}
	if st.GrossMicroUSD != usd(5376) || st.FeesMicroUSD != usd(537.60) || st.NetMicroUSD != usd(4838.40) || st.ClosingBalanceMicroUSD != usd(4838.40) {
		t.Errorf("statement %+v", st)
	}
	if inv, _ := e.bills.Invoice(e.ctx, acme, "acme", "2025-02"); inv.UsageMicroUSD != 0 || inv.OpeningCreditMicroUSD != usd(44_624) {
		t.Errorf("february: %+v", inv)
	}
}

func TestNoCreditHoldsNothing(t *testing.T) {
	e := newEnv(t)
	broke := e.tenant("broke", usd(10))
	before, _ := e.store.LeasingVersion(e.ctx)
	_, err := e.svc.SubmitOrder(e.ctx, broke, reserved("k1", 8, day1, day1.Add(hours(24)), usd(2.10)))
	wantCode(t, "order without credit", err, joule.ECREDIT)
	if !strings.Contains(err.Error(), "insufficient credit") || !strings.Contains(err.Error(), "$403.20") {
		t.Errorf("error %q should say the credit is short and what is needed", err)
	}
	after, _ := e.store.LeasingVersion(e.ctx)
	wantEqual(t, "store version", after, before)
	wantEqual(t, "hold", e.balance(ledger.TenantHold("broke")), 0)
	wantEqual(t, "credit", e.balance(ledger.TenantCredit("broke")), usd(10))
	if orders, _ := e.store.FindOrders(e.ctx, joule.OrderFilter{Account: "broke"}); len(orders) != 0 {
		t.Errorf("orders stored: %+v", orders)
	}
	// The same key with credit added goes through.
	if _, err := e.svc.Deposit(e.ctx, e.op, "broke", "top-up", usd(1000)); err != nil {
		t.Fatal(err)
	}
	e.submit(broke, reserved("k1", 8, day1, day1.Add(hours(24)), usd(2.10)))
}

func TestIdempotentSubmission(t *testing.T) {
	e := newEnv(t)
	acme := e.tenant("acme", usd(50_000))
	o := reserved("same-key", 8, day1, day1.Add(hours(24)), usd(2.10))
	first := e.submit(acme, o)
	again := e.submit(acme, o)
	if !again.Replayed || again.Order.ID != first.Order.ID || len(again.Leases) != 1 || again.Leases[0].ID != first.Leases[0].ID {
		t.Errorf("replay %+v of %+v", again, first)
	}
	wantEqual(t, "credit after a replay", e.balance(ledger.TenantCredit("acme")), usd(50_000-8*24*2))
	o.GPUs = 16
	_, err := e.svc.SubmitOrder(e.ctx, acme, o)
	wantCode(t, "same key, other order", err, joule.ECONFLICT)
	// After a restart the key still answers from the store.
	e.svc = e.open()
	o.GPUs = 8
	if r := e.submit(acme, o); !r.Replayed || r.Order.ID != first.Order.ID {
		t.Errorf("replay after restart: %+v", r)
	}
}

func TestOnDemandIsMeteredBySecond(t *testing.T) {
	e := newEnv(t)
	acme := e.tenant("acme", usd(1000))
	r := e.submit(acme, running(joule.OrderOnDemand, "od", 8, usd(3)))
	l := r.Leases[0]
	// It holds 8 GPUs × 2 hours × $3 = $48 of credit until it ends.
	wantEqual(t, "hold", e.balance(ledger.TenantHold("acme")), usd(48))
	e.clock.add(90*time.Minute + 7*time.Second)
	if err := e.svc.Tick(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.check()
	// 8 GPUs × 5407 s × $2/GPU-hour = $24.031…
	used := joule.MicroUSD(24_031_111)
	wantEqual(t, "hold after 90 min", e.balance(ledger.TenantHold("acme")), usd(48)-used)
	stopped, err := e.svc.Stop(e.ctx, acme, l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stopped.Status != joule.LeaseEnded || stopped.OpenEnded {
		t.Errorf("stopped lease %+v", stopped)
	}
	e.check()
	wantEqual(t, "hold after stop", e.balance(ledger.TenantHold("acme")), 0)
	wantEqual(t, "credit after stop", e.balance(ledger.TenantCredit("acme")), usd(1000)-used)
	fee, net := ledger.Split(used, 1000)
	wantEqual(t, "owner revenue", e.balance(ledger.OwnerRevenue("northwind-capital")), net)
	wantEqual(t, "fees", e.balance(ledger.PlatformFees), fee)
}

func TestMeteringBeyondTheHoldAndOutOfCredit(t *testing.T) {
	e := newEnv(t)
	acme := e.tenant("acme", usd(100))
	e.submit(acme, running(joule.OrderOnDemand, "od", 8, usd(3)))
	for range 5 { // five hours at 8 × $2: $80, $48 from the hold and $32 from credit
		e.clock.add(time.Hour)
		if err := e.svc.Tick(e.ctx); err != nil {
			t.Fatal(err)
		}
		e.check()
	}
	wantEqual(t, "hold", e.balance(ledger.TenantHold("acme")), 0)
	wantEqual(t, "credit", e.balance(ledger.TenantCredit("acme")), usd(20))
	e.clock.add(2 * time.Hour) // $32 more due, $20 left: the lease stops
	if err := e.svc.Tick(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.check()
	wantEqual(t, "credit", e.balance(ledger.TenantCredit("acme")), 0)
	leases, err := e.svc.Leases(e.ctx, acme, joule.LeaseFilter{})
	if err != nil || len(leases) != 1 || leases[0].OpenEnded || leases[0].Status != joule.LeaseEnded {
		t.Fatalf("a lease its tenant cannot pay should stop: %+v, %v", leases, err)
	}
	if leases[0].EndReason != joule.LeaseEndCredit {
		t.Errorf("a lease its tenant cannot pay ends for %q, want %q", leases[0].EndReason, joule.LeaseEndCredit)
	}
}

func TestResaleFillsAnotherTenant(t *testing.T) {
	e := newEnv(t)
	acme, bob := e.tenant("acme", usd(10_000)), e.tenant("bob", usd(10_000))
	r := e.submit(acme, reserved("a1", 8, day1, day1.Add(hours(48)), usd(2.10)))
	for _, seller := range []string{"operator", "northwind-capital"} {
		if _, err := e.svc.SetAsk(e.ctx, e.op, product, seller, usd(3), false); err != nil {
			t.Fatal(err)
		}
	}
	res, err := e.svc.Resell(e.ctx, acme, r.Leases[0].ID, leasing.ResellRequest{IdempotencyKey: "r1", From: day1.Add(hours(24)), LimitMicroUSDPerGPUHour: usd(2.50)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Order.Kind != joule.OrderResale || res.Order.Status != joule.OrderOpen {
		t.Fatalf("resale order %+v", res.Order)
	}
	credit := e.balance(ledger.TenantCredit("acme"))
	b := e.submit(bob, reserved("b1", 8, day1.Add(hours(24)), day1.Add(hours(48)), usd(2.60)))
	if len(b.Leases) != 1 || b.Leases[0].Sellers[0].Seller != "resale" || b.Leases[0].Sellers[0].ResaleOrder != "" {
		t.Fatalf("bob's lease should come from the resale, without naming acme: %+v", b.Leases)
	}
	// 8 × 24 × $2.50 = $480; 10% fee; acme gets $432.
	wantEqual(t, "bob's credit", e.balance(ledger.TenantCredit("bob")), usd(10_000-480))
	wantEqual(t, "acme's credit", e.balance(ledger.TenantCredit("acme")), credit+usd(432))
	inv, err := e.bills.Invoice(e.ctx, acme, "acme", "2025-01")
	if err != nil || inv.ResaleMicroUSD != usd(432) {
		t.Errorf("acme's invoice should show the resale: %+v, %v", inv, err)
	}
}

func TestTenantsSeeOnlyTheirOwn(t *testing.T) {
	e := newEnv(t)
	acme, bob := e.tenant("acme", usd(10_000)), e.tenant("bob", usd(10_000))
	northwind := &joule.Account{ID: "northwind-capital", Role: joule.RoleOwner}
	resting := e.submit(acme, reserved("a1", 8, day1, day1.Add(hours(24)), usd(1))) // below every ask: rests
	filled := e.submit(acme, reserved("a2", 8, day1, day1.Add(hours(24)), usd(2.10)))
	od := e.submit(acme, running(joule.OrderOnDemand, "a3", 8, usd(3)))
	lease := filled.Leases[0].ID

	_, err := e.svc.Cancel(e.ctx, bob, resting.Order.ID)
	wantCode(t, "bob cancels acme's order", err, joule.ENOTFOUND)
	_, err = e.svc.Resell(e.ctx, bob, lease, leasing.ResellRequest{IdempotencyKey: "x", From: day1, LimitMicroUSDPerGPUHour: 1})
	wantCode(t, "bob resells acme's lease", err, joule.ENOTFOUND)
	_, err = e.svc.Stop(e.ctx, bob, od.Leases[0].ID)
	wantCode(t, "bob stops acme's lease", err, joule.ENOTFOUND)
	_, err = e.bills.Invoice(e.ctx, bob, "acme", "2025-01")
	wantCode(t, "bob reads acme's invoice", err, joule.EFORBIDDEN)
	_, err = e.svc.SubmitOrder(e.ctx, bob, joule.Order{Account: "acme", IdempotencyKey: "x", Product: product, Kind: joule.OrderOnDemand, GPUs: 1, LimitMicroUSDPerGPUHour: usd(3)})
	wantCode(t, "bob orders on acme's credit", err, joule.EFORBIDDEN)
	_, err = e.bills.Statement(e.ctx, bob, "northwind-capital", "2025-01")
	wantCode(t, "bob reads an owner's statement", err, joule.EFORBIDDEN)
	_, _, err = e.svc.CreateAccount(e.ctx, bob, leasing.NewAccountRequest{ID: "mallory", Role: joule.RoleTenant, CreditMicroUSD: usd(1e6)})
	wantCode(t, "bob creates a tenant", err, joule.EFORBIDDEN)
	_, err = e.svc.Deposit(e.ctx, bob, "bob", "", usd(1e6))
	wantCode(t, "bob adds himself credit", err, joule.EFORBIDDEN)
	_, err = e.svc.SetAsk(e.ctx, bob, product, "operator", 1, false)
	wantCode(t, "bob sets an ask", err, joule.EFORBIDDEN)

	for who, want := range map[*joule.Account][2]int{bob: {0, 0}, acme: {3, 2}} {
		orders, err := e.svc.Orders(e.ctx, who, joule.OrderFilter{Account: "acme"})
		if err != nil || len(orders) != want[0] {
			t.Errorf("%s lists %d of acme's orders (%v), want %d", who.ID, len(orders), err, want[0])
		}
		leases, err := e.svc.Leases(e.ctx, who, joule.LeaseFilter{Tenant: "acme"})
		if err != nil || len(leases) != want[1] {
			t.Errorf("%s lists %d of acme's leases (%v), want %d", who.ID, len(leases), err, want[1])
		}
	}
	// The owner sees the leases on its servers, without the tenant's name.
	leases, err := e.svc.Leases(e.ctx, northwind, joule.LeaseFilter{})
	if err != nil || len(leases) != 2 {
		t.Fatalf("owner's leases: %+v, %v", leases, err)
	}
	for _, l := range leases {
		if l.Tenant != "" || l.Order != "" {
			t.Errorf("an owner sees the tenant of lease %s: %+v", l.ID, l)
		}
	}
	_, err = e.svc.Orders(e.ctx, northwind, joule.OrderFilter{})
	wantCode(t, "an owner lists orders", err, joule.EFORBIDDEN)
	// The operator cancels for anyone.
	if o, err := e.svc.Cancel(e.ctx, e.op, resting.Order.ID); err != nil || o.Status != joule.OrderCancelled {
		t.Errorf("operator cancels: %+v, %v", o, err)
	}
}

// failingStore is the real store with one fault: SaveLeasing fails while failing is set.
type failingStore struct {
	joule.LeasingStore
	failing atomic.Bool
}

func (s *failingStore) SaveLeasing(ctx context.Context, chs ...*joule.LeasingChange) (int64, error) {
	if s.failing.Load() {
		return 0, errors.New("disk full")
	}
	return s.LeasingStore.SaveLeasing(ctx, chs...)
}

func TestFailedSaveLeavesNoPartialLease(t *testing.T) {
	e := newEnv(t)
	acme := e.tenant("acme", usd(10_000))
	fs := &failingStore{LeasingStore: e.store}
	svc, err := leasing.Open(e.ctx, fs, e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	engineBefore, balancesBefore := svc.State()
	fs.failing.Store(true)
	_, err = svc.SubmitOrder(e.ctx, acme, reserved("k", 8, day1, day1.Add(hours(24)), usd(2.10)))
	wantCode(t, "submit on a failing store", err, joule.EINTERNAL)
	fs.failing.Store(false)
	if err := svc.Check(); err != nil {
		t.Fatal(err)
	}
	engineAfter, balancesAfter := svc.State()
	if len(engineAfter.Leases) != 0 || !reflect.DeepEqual(balancesAfter, balancesBefore) || len(engineAfter.Orders) != len(engineBefore.Orders) {
		t.Fatalf("a failed save left something behind: leases %+v, balances %v (before %v)", engineAfter.Leases, balancesAfter, balancesBefore)
	}
	if leases, _ := e.store.FindLeases(e.ctx, joule.LeaseFilter{}); len(leases) != 0 {
		t.Fatalf("stored leases: %+v", leases)
	}
	// The retry goes through.
	r, err := svc.SubmitOrder(e.ctx, acme, reserved("k", 8, day1, day1.Add(hours(24)), usd(2.10)))
	if err != nil || r.Replayed || len(r.Leases) != 1 {
		t.Fatalf("retry: %+v, %v", r, err)
	}
}

func TestTwoProcessesOnOneStore(t *testing.T) {
	e := newEnv(t)
	acme := e.tenant("acme", usd(10_000))
	other := e.open() // another process on the same file
	e.submit(acme, reserved("a", 8, day1, day1.Add(hours(24)), usd(2.10)))
	// other's memory is stale: its write is refused by the store, it reloads, and
	// tries again on the new state.
	r, err := other.SubmitOrder(e.ctx, acme, reserved("b", 8, day1, day1.Add(hours(24)), usd(2.10)))
	if err != nil || len(r.Leases) != 1 {
		t.Fatalf("second process: %+v, %v", r, err)
	}
	if err := other.Check(); err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "credit seen by the other process", other.Balance(ledger.TenantCredit("acme")), usd(10_000-2*8*24*2))
}

func TestRestoreFromStore(t *testing.T) {
	e := newEnv(t)
	acme, bob := e.tenant("acme", usd(10_000)), e.tenant("bob", usd(10_000))
	e.submit(acme, reserved("a1", 8, day1, day1.Add(hours(24)), usd(1.50))) // rests
	b := e.submit(bob, reserved("b1", 16, day1, day1.Add(hours(72)), usd(2.10)))
	e.submit(bob, running(joule.OrderSpot, "b2", 8, usd(2.50)))
	if _, err := e.svc.Resell(e.ctx, bob, b.Leases[0].ID, leasing.ResellRequest{IdempotencyKey: "r", From: day1.Add(hours(48)), GPUs: 8, LimitMicroUSDPerGPUHour: usd(2.20)}); err != nil {
		t.Fatal(err)
	}
	e.clock.add(30 * time.Minute)
	if err := e.svc.Tick(e.ctx); err != nil {
		t.Fatal(err)
	}
	sameState(t, e.svc, e.open())
}

// sameState fails the test unless two services hold the same exchange and ledger.
func sameState(t *testing.T, a, b *leasing.Service) {
	t.Helper()
	ea, la := a.State()
	eb, lb := b.State()
	ea.LastOrderID, ea.LastLeaseID, eb.LastOrderID, eb.LastLeaseID = 0, 0, 0, 0
	if !reflect.DeepEqual(ea, eb) {
		t.Errorf("restored exchange differs: %s", diffState(ea, eb))
	}
	if !reflect.DeepEqual(la, lb) {
		t.Errorf("restored balances differ:\n got %v\nwant %v", lb, la)
	}
	if err := b.Check(); err != nil {
		t.Error(err)
	}
}

// diffState says where two exchange states differ.
func diffState(a, b exchange.State) string {
	var out []string
	if !reflect.DeepEqual(a.Products, b.Products) || !reflect.DeepEqual(a.Listings, b.Listings) {
		out = append(out, fmt.Sprintf("products or listings: %+v %+v / %+v %+v", a.Products, a.Listings, b.Products, b.Listings))
	}
	orders := map[string]joule.Order{}
	for _, o := range a.Orders {
		orders[o.ID] = o
	}
	for _, o := range b.Orders {
		if x, ok := orders[o.ID]; !ok {
			out = append(out, fmt.Sprintf("restored has order %+v", o))
		} else if !reflect.DeepEqual(x, o) {
			out = append(out, fmt.Sprintf("order %s: %+v, restored %+v", o.ID, x, o))
		}
		delete(orders, o.ID)
	}
	for _, o := range orders {
		out = append(out, fmt.Sprintf("restored lacks order %+v", o))
	}
	leases := map[string]joule.Lease{}
	for _, l := range a.Leases {
		leases[l.ID] = l
	}
	for _, l := range b.Leases {
		if x, ok := leases[l.ID]; !ok {
			out = append(out, fmt.Sprintf("restored has lease %+v", l))
		} else if !reflect.DeepEqual(x, l) {
			out = append(out, fmt.Sprintf("lease %s: %+v, restored %+v", l.ID, x, l))
		}
		delete(leases, l.ID)
	}
	for _, l := range leases {
		out = append(out, fmt.Sprintf("restored lacks lease %+v", l))
	}
	if len(out) == 0 {
		out = append(out, "in order only")
	}
	return strings.Join(out, "\n")
}

func TestCommitments(t *testing.T) {
	e := newEnv(t)
	acme := e.tenant("acme", usd(10_000))
	e.submit(acme, running(joule.OrderOnDemand, "od", 16, usd(3)))              // northwind's older ask: 2 servers
	e.submit(acme, running(joule.OrderSpot, "spot", 8, usd(2.50)))              // 8 more GPUs: 1 more server, interruptible
	e.submit(acme, reserved("later", 64, day1, day1.Add(hours(24)), usd(2.10))) // not yet
	site, err := joule.SiteLoader{Sites: sqlite.NewSiteService(e.db), Fleets: sqlite.NewFleetService(e.db), Models: catalog.Models{User: sqlite.NewHardwareService(e.db)}}.Load(e.ctx, "west-texas")
	if err != nil {
		t.Fatal(err)
	}
	cs := e.svc.Commitments(site, e.clock.Now())
	want := []leasing.Commitment{
		{Fleet: "h100-pod-2", Servers: 2, Class: joule.LeaseFirm, USDPerGPUHour: 2, Nodes: []string{"h100-pod-2-01", "h100-pod-2-02"}},
		{Fleet: "h100-pod-2", Servers: 1, Class: joule.LeaseInterruptible, USDPerGPUHour: 2, Nodes: []string{"h100-pod-2-03"}},
	}
	if !reflect.DeepEqual(cs, want) {
		t.Errorf("commitments now:\n got %+v\nwant %+v", cs, want)
	}
	// On Monday only the block holds GPUs (running leases hold an hour ahead until they
	// renew): 64 of northwind's, 8 servers.
	cs = e.svc.Commitments(site, day1.Add(time.Hour))
	got, err := e.svc.DispatchLeases(e.ctx, site, day1.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	pod2 := slices.IndexFunc(site.Fleets, func(f joule.ResolvedFleet) bool { return f.Name == "h100-pod-2" })
	if units := dispatch.Compile(site, dispatch.RuleMerit, dispatch.DefaultHysteresis).Units; len(got) == 0 || got[0].Unit != pod2 || units[pod2].Name != "h100-pod-2" {
		t.Errorf("dispatch leases on Monday: %+v from %+v", got, cs)
	}
	var firm int
	for _, c := range cs {
		if c.Class == joule.LeaseFirm {
			firm += c.Servers
		}
	}
	if firm != 8 {
		t.Errorf("firm servers on Monday: %d in %+v", firm, cs)
	}
}

// A stop releases the rest of the order's hold at once, on a clock that moves between
// readings: the CLI on the local store runs no Tick after it to release it later.
func TestStopReleasesTheHoldOnAMovingClock(t *testing.T) {
	e := newEnv(t)
	acme := e.tenant("acme", usd(1000))
	r := e.submit(acme, running(joule.OrderOnDemand, "od", 8, usd(2)))
	e.clock.add(5*time.Second + 88_891_987)
	e.clock.step = time.Millisecond
	stopped, err := e.svc.Stop(e.ctx, acme, r.Leases[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	e.check()
	wantEqual(t, "hold after stop", e.balance(ledger.TenantHold("acme")), 0)
	used := stopped.Cost(stopped.Start, stopped.End)
	wantEqual(t, "credit after stop", e.balance(ledger.TenantCredit("acme")), usd(1000)-used)
	e.svc = e.open()
	wantEqual(t, "hold after a restart", e.balance(ledger.TenantHold("acme")), 0)
}

// A bid for more GPUs than the product has in all (32 servers, 256 GPUs) is refused
// before anything is held: no order, no hold, no journal entry.
func TestOrderBeyondTheProductHoldsNothing(t *testing.T) {
	e := newEnv(t)
	acme := e.tenant("acme", usd(50_000))
	for _, o := range []joule.Order{
		reserved("r", 257, day1, day1.Add(hours(24)), usd(2.10)),
		running(joule.OrderSpot, "s", 257, usd(2)),
		running(joule.OrderOnDemand, "od", 257, usd(2)),
	} {
		_, err := e.svc.SubmitOrder(e.ctx, acme, o)
		wantCode(t, string(o.Kind)+" order for 257 GPUs", err, joule.ECAPACITY)
		if msg := joule.ErrorMessage(err); !strings.Contains(msg, "256 GPUs") {
			t.Errorf("%s: message %q does not say the product has 256 GPUs", o.Kind, msg)
		}
	}
	e.check()
	wantEqual(t, "hold", e.balance(ledger.TenantHold("acme")), 0)
	wantEqual(t, "credit", e.balance(ledger.TenantCredit("acme")), usd(50_000))
	orders, err := e.svc.Orders(e.ctx, acme, joule.OrderFilter{})
	if err != nil || len(orders) != 0 {
		t.Errorf("orders after the refusals: %+v, %v", orders, err)
	}
	e.submit(acme, reserved("all", 256, day1, day1.Add(hours(24)), usd(2.10)))
}

// After a restart, once the matcher has forgotten a finished order, its key is checked
// against the stored order on every field of the request: a different all_or_none,
// class, notice or expiry is another order, not a replay.
func TestReplayFromTheStoreComparesEveryField(t *testing.T) {
	base := reserved("k", 8, day1, day1.Add(hours(24)), usd(2.10))
	for _, tc := range []struct {
		name   string
		change func(o *joule.Order)
	}{
		{"all_or_none", func(o *joule.Order) { o.AllOrNone = false }},
		{"class", func(o *joule.Order) { o.Class, o.NoticeSec = joule.LeaseCurtailable, 3600 }},
		{"notice", func(o *joule.Order) { o.NoticeSec = 600 }},
		{"expiry", func(o *joule.Order) { o.ExpiresAt = day1.Add(-time.Hour) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			acme := e.tenant("acme", usd(50_000))
			first := e.submit(acme, base)
			// Two days on, the block has ended and its order is outside the matcher's
			// idempotency window: a new service knows it only from the store.
			e.clock.add(72 * time.Hour)
			e.svc = e.open()
			if r := e.submit(acme, base); !r.Replayed || r.Order.ID != first.Order.ID {
				t.Fatalf("the same order is a replay: %+v", r)
			}
			o := base
			tc.change(&o)
			_, err := e.svc.SubmitOrder(e.ctx, acme, o)
			wantCode(t, "the key with another "+tc.name, err, joule.ECONFLICT)
		})
	}
}
