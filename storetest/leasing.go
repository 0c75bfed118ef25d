package storetest

import (
	"testing"
	"time"

	"github.com/joule-site/joule"
)

// leasingFixture is one operation's change: a tenant and an owner, a product with a
// listing, a filled reserved order with its lease of two shares and its fills, a
// resting order, and the ledger's deposit, hold and capture.
func leasingFixture(now time.Time) *joule.LeasingChange {
	h := now.Truncate(time.Hour).Add(time.Hour)
	share := func(seller string, gpus, from, to int, price joule.MicroUSD) joule.LeaseShare {
		return joule.LeaseShare{Seller: seller, GPUs: gpus, Start: h.Add(time.Duration(from) * time.Hour), End: h.Add(time.Duration(to) * time.Hour), PriceMicroUSDPerGPUHour: price}
	}
	lease := joule.Lease{ID: "l1", Order: "o1", Tenant: "acme", Product: "h100/west", Class: joule.LeaseFirm, GPUs: 8,
		Start: h, End: h.Add(4 * time.Hour), PriceMicroUSDPerGPUHour: 2_050_000, Status: joule.LeaseActive,
		Sellers: []joule.LeaseShare{share("northwind", 8, 0, 2, 2_000_000), share("operator", 8, 2, 4, 2_100_000)},
		// hour 1 of its server nw-02 resold to another lease: the binding moved there
		Resold: []joule.LeaseRelease{{ResaleOrder: "o7", Lease: "l7", Servers: []string{"nw-02"}, Start: h.Add(time.Hour), End: h.Add(2 * time.Hour)}}}
	lease.Sellers[0].Servers = []string{"nw-02"}
	lease.Sellers[1].Servers = []string{"operator-h100-west-01"}
	return &joule.LeasingChange{
		At: now,
		Accounts: []joule.NewAccount{
			{Account: joule.Account{ID: "acme", Name: "Acme AI", Role: joule.RoleTenant}, Token: fixtureToken("tok_00000000000000ac", "acme", "acme-token", now)},
			{Account: joule.Account{ID: "northwind", Name: "Northwind", Role: joule.RoleOwner}},
			{Account: joule.Account{ID: "operator", Name: "Operator", Role: joule.RoleOperator}, Token: fixtureToken("tok_000000000000000f", "operator", "op-token", now)},
		},
		Products: []joule.Product{{ID: "h100/west", Model: "h100", Site: "west", GPUsPerNode: 8}},
		Listings: []joule.Listing{
			{Product: "h100/west", Seller: "northwind", Servers: 4, Start: h, AskMicroUSDPerGPUHour: 2_000_000, Nodes: []string{"nw-01", "nw-02", "nw-03", "nw-04"}},
			{Product: "h100/west", Seller: "operator", Servers: 2, Start: h, End: h.Add(240 * time.Hour), AskMicroUSDPerGPUHour: 2_100_000, OpportunityCost: true},
		},
		Orders: []joule.Order{
			{ID: "o1", IdempotencyKey: "k1", Account: "acme", Product: "h100/west", Kind: joule.OrderReserved, GPUs: 8, Start: h, End: h.Add(4 * time.Hour),
				LimitMicroUSDPerGPUHour: 2_500_000, AllOrNone: true, Class: joule.LeaseFirm, Status: joule.OrderFilled, FilledGPUs: 8, CreatedAt: now},
			{ID: "o2", IdempotencyKey: "k2", Account: "acme", Product: "h100/west", Kind: joule.OrderReserved, GPUs: 16, Start: h, End: h.Add(2 * time.Hour),
				LimitMicroUSDPerGPUHour: 1_000_000, Class: joule.LeaseCurtailable, NoticeSec: 600, Status: joule.OrderOpen, CreatedAt: now, ExpiresAt: h},
		},
		Leases: []joule.Lease{lease},
		Fills: []joule.Fill{
			{Order: "o1", Lease: "l1", LeaseShare: lease.Sellers[0]},
			{Order: "o1", Lease: "l1", LeaseShare: lease.Sellers[1]},
		},
		Journal: []joule.LedgerTransaction{
			{ID: 1, Key: "deposit:acme", Kind: "deposit", At: now, Tenant: "acme", Postings: []joule.LedgerPosting{{Account: "external:cash", Amount: -1_000_000_000}, {Account: "tenant:acme:credit", Amount: 1_000_000_000}}},
			{ID: 2, Kind: "hold", At: now, Tenant: "acme", Order: "o1", Postings: []joule.LedgerPosting{{Account: "tenant:acme:credit", Amount: -80_000_000}, {Account: "tenant:acme:hold", Amount: 80_000_000}}},
			{ID: 3, Kind: "capture", At: now, Tenant: "acme", Order: "o1", Lease: "l1", Memo: "block",
				Postings: []joule.LedgerPosting{{Account: "tenant:acme:hold", Amount: -65_600_000}, {Account: "owner:northwind:revenue", Amount: 59_040_000}, {Account: "platform:fees", Amount: 6_560_000}}},
		},
		LastOrderSeq: 2, LastLeaseSeq: 1,
	}
}

func (e *env) saveLeasing(t *testing.T, ch *joule.LeasingChange) int64 {
	t.Helper()
	v, err := e.Leasing.SaveLeasing(e.ctx, ch)
	if err != nil {
		t.Fatalf("SaveLeasing: %v", err)
	}
	return v
}

func (e *env) loadLeasing(t *testing.T, q joule.LeasingLoad) *joule.LeasingState {
	t.Helper()
	st, err := e.Leasing.LoadLeasing(e.ctx, q)
	if err != nil {
		t.Fatalf("LoadLeasing: %v", err)
	}
	return st
}

func testLeasingRoundTrip(t *testing.T, e *env) {
	st := e.loadLeasing(t, joule.LeasingLoad{})
	if st.Version != 0 || len(st.Orders)+len(st.Leases)+len(st.Journal)+len(st.Products) != 0 {
		t.Fatalf("a fresh store has leasing state %+v", st)
	}
	ch := leasingFixture(e.clock.Now())
	if v := e.saveLeasing(t, ch); v != 1 {
		t.Errorf("version after the first change: %d, want 1", v)
	}
	st = e.loadLeasing(t, joule.LeasingLoad{})
	checkEqual(t, "version", st.Version, int64(1))
	checkEqual(t, "last order and lease", [2]uint64{st.LastOrderSeq, st.LastLeaseSeq}, [2]uint64{2, 1})
	checkEqual(t, "products", st.Products, ch.Products)
	checkEqual(t, "listings", st.Listings, utcListings(ch.Listings))
	checkEqual(t, "orders", st.Orders, utcOrders(ch.Orders))
	checkEqual(t, "leases", st.Leases, utcLeases(ch.Leases))
	checkEqual(t, "journal", st.Journal, utcJournal(ch.Journal))

	// Saving an order and a lease again updates what the exchange changes.
	o := ch.Orders[1]
	o.Status, o.FilledGPUs = joule.OrderPartiallyFilled, 8
	l := ch.Leases[0]
	l.End, l.Status, l.Sellers = l.Sellers[0].End, joule.LeaseEnded, l.Sellers[:1]
	l.EndReason, l.EndedBy = joule.LeaseEndStopped, "acme" // why it ended is kept with it
	l.Resold = nil                                         // and what it resold, as the exchange says now
	v := e.saveLeasing(t, &joule.LeasingChange{BaseVersion: 1, At: e.clock.Now(), Orders: []joule.Order{o}, Leases: []joule.Lease{l}})
	checkEqual(t, "version", v, int64(2))
	st = e.loadLeasing(t, joule.LeasingLoad{})
	checkEqual(t, "updated order", st.Orders[1], utcOrders([]joule.Order{o})[0])
	checkEqual(t, "updated lease", st.Leases[0], utcLeases([]joule.Lease{l})[0])
	checkEqual(t, "journal unchanged", len(st.Journal), 3)
	if got, err := e.Leasing.LeasingVersion(e.ctx); err != nil || got != 2 {
		t.Errorf("LeasingVersion = %d, %v; want 2", got, err)
	}

	// A product's fill priority is kept with it; the default is not listed.
	checkEqual(t, "fill priorities at first", len(st.FillPriorities), 0)
	owners := []joule.ProductFillPriority{{Product: "h100/west", Priority: joule.FillOwnersFirst}}
	e.saveLeasing(t, &joule.LeasingChange{BaseVersion: 2, At: e.clock.Now(), FillPriorities: owners})
	checkEqual(t, "fill priorities", e.loadLeasing(t, joule.LeasingLoad{}).FillPriorities, owners)
	e.saveLeasing(t, &joule.LeasingChange{BaseVersion: 3, At: e.clock.Now(),
		FillPriorities: []joule.ProductFillPriority{{Product: "h100/west", Priority: joule.FillByTime}}})
	checkEqual(t, "fill priorities back to time", len(e.loadLeasing(t, joule.LeasingLoad{}).FillPriorities), 0)

	// A product's cap terms are kept with it; products never capped are not listed.
	checkEqual(t, "cap terms at first", len(st.CapTerms), 0)
	caps := []joule.CapTerms{{Product: "h100/west", CapFrac: 0.65, CappedPriceBPS: 8000}}
	e.saveLeasing(t, &joule.LeasingChange{BaseVersion: 4, At: e.clock.Now(), CapTerms: caps})
	checkEqual(t, "cap terms", e.loadLeasing(t, joule.LeasingLoad{}).CapTerms, caps)
	e.saveLeasing(t, &joule.LeasingChange{BaseVersion: 5, At: e.clock.Now(), CapTerms: []joule.CapTerms{{Product: "h100/west"}}})
	checkEqual(t, "cap terms lifted", len(e.loadLeasing(t, joule.LeasingLoad{}).CapTerms), 0)
}

func testLeasingConflicts(t *testing.T, e *env) {
	ch := leasingFixture(e.clock.Now())
	e.saveLeasing(t, ch)
	next := func() *joule.LeasingChange {
		return &joule.LeasingChange{BaseVersion: 1, At: e.clock.Now(), Orders: []joule.Order{{ID: "o3", IdempotencyKey: "k3", Account: "acme",
			Product: "h100/west", Kind: joule.OrderOnDemand, GPUs: 1, LimitMicroUSDPerGPUHour: 1, Status: joule.OrderOpen, CreatedAt: e.clock.Now()}}}
	}
	bad := map[string]struct {
		change func() *joule.LeasingChange
		code   string
	}{
		"stale version": {func() *joule.LeasingChange { c := next(); c.BaseVersion = 0; return c }, joule.ECONFLICT},
		"account exists": {func() *joule.LeasingChange {
			c := next()
			c.Accounts = ch.Accounts[:1]
			return c
		}, joule.ECONFLICT},
		"idempotency key taken": {func() *joule.LeasingChange { c := next(); c.Orders[0].IdempotencyKey = "k1"; return c }, joule.ECONFLICT},
		"journal gap": {func() *joule.LeasingChange {
			c := next()
			c.Journal = []joule.LedgerTransaction{{ID: 5, Kind: "deposit", At: e.clock.Now(), Postings: []joule.LedgerPosting{{Account: "external:cash", Amount: -1}, {Account: "tenant:acme:credit", Amount: 1}}}}
			return c
		}, joule.ECONFLICT},
		"unbalanced": {func() *joule.LeasingChange {
			c := next()
			c.Journal = []joule.LedgerTransaction{{ID: 4, Kind: "deposit", At: e.clock.Now(), Postings: []joule.LedgerPosting{{Account: "external:cash", Amount: -1}, {Account: "tenant:acme:credit", Amount: 2}}}}
			return c
		}, joule.EINVALID},
		"fill of an unknown lease": {func() *joule.LeasingChange {
			c := next()
			c.Fills = []joule.Fill{{Order: "o3", Lease: "l9", LeaseShare: ch.Leases[0].Sellers[0]}}
			return c
		}, joule.EINVALID},
	}
	before := e.loadLeasing(t, joule.LeasingLoad{})
	for name, tt := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := e.Leasing.SaveLeasing(e.ctx, tt.change())
			checkCode(t, name, err, tt.code)
			checkEqual(t, "state after a refused change", e.loadLeasing(t, joule.LeasingLoad{}), before)
		})
	}
	// Changes saved together are saved as one after another: each must continue the
	// version the one before left, and a refused one leaves none of them saved.
	first, second := next(), next()
	second.Orders[0].ID, second.Orders[0].IdempotencyKey = "o4", "k4"
	_, err := e.Leasing.SaveLeasing(e.ctx, first, second) // both computed on version 1
	checkCode(t, "the second of two changes on one version", err, joule.ECONFLICT)
	checkEqual(t, "state after refused changes", e.loadLeasing(t, joule.LeasingLoad{}), before)
	second.BaseVersion = 2
	v, err := e.Leasing.SaveLeasing(e.ctx, first, second) // the changes themselves are fine
	if err != nil || v != 3 {
		t.Fatalf("SaveLeasing of two changes: version %d, %v; want 3", v, err)
	}
	st := e.loadLeasing(t, joule.LeasingLoad{})
	checkEqual(t, "orders after two changes", len(st.Orders), len(before.Orders)+2)
}

func testLeasingAccounts(t *testing.T, e *env) {
	e.saveLeasing(t, leasingFixture(e.clock.Now()))
	a, err := e.Leasing.AccountByTokenHash(e.ctx, joule.HashToken("acme-token"), e.clock.Now())
	if err != nil || a.ID != "acme" || a.Role != joule.RoleTenant || a.Name != "Acme AI" {
		t.Fatalf("account by token: %+v, %v", a, err)
	}
	_, err = e.Leasing.AccountByTokenHash(e.ctx, joule.HashToken("wrong"), e.clock.Now())
	checkCode(t, "unknown token", err, joule.ENOTFOUND)
	_, err = e.Leasing.AccountByTokenHash(e.ctx, "acme-token", e.clock.Now())
	checkCode(t, "the token in clear is not what is stored", err, joule.ENOTFOUND)
	if tokens, err := e.Leasing.Tokens(e.ctx, "northwind"); err != nil || len(tokens) != 0 {
		t.Errorf("an account created without a token has %s, %v", jsonText(tokens), err)
	}
	_, err = e.Leasing.Account(e.ctx, "nobody")
	checkCode(t, "unknown account", err, joule.ENOTFOUND)
	all, err := e.Leasing.Accounts(e.ctx)
	if err != nil || len(all) != 3 || all[0].ID != "acme" || all[1].ID != "northwind" || all[2].ID != "operator" {
		t.Errorf("accounts: %s, %v", jsonText(all), err)
	}
}

func testLeasingQueries(t *testing.T, e *env) {
	now := e.clock.Now()
	e.saveLeasing(t, leasingFixture(now))
	o, err := e.Leasing.OrderByKey(e.ctx, "acme", "k2")
	if err != nil || o.ID != "o2" {
		t.Errorf("order by key: %+v, %v", o, err)
	}
	_, err = e.Leasing.OrderByKey(e.ctx, "northwind", "k2")
	checkCode(t, "another account's key", err, joule.ENOTFOUND)
	orders, err := e.Leasing.FindOrders(e.ctx, joule.OrderFilter{Account: "acme"})
	if err != nil || len(orders) != 2 || orders[0].ID != "o2" {
		t.Errorf("orders, newest first: %s, %v", jsonText(orders), err)
	}
	if orders, _ := e.Leasing.FindOrders(e.ctx, joule.OrderFilter{Resting: true}); len(orders) != 1 || orders[0].ID != "o2" {
		t.Errorf("resting orders: %s", jsonText(orders))
	}
	if orders, _ := e.Leasing.FindOrders(e.ctx, joule.OrderFilter{Account: "northwind"}); len(orders) != 0 {
		t.Errorf("northwind's orders: %s", jsonText(orders))
	}
	for _, f := range []joule.LeaseFilter{{Tenant: "acme"}, {Seller: "northwind"}, {ID: "l1"}, {Order: "o1"}, {}} {
		if leases, err := e.Leasing.FindLeases(e.ctx, f); err != nil || len(leases) != 1 || len(leases[0].Sellers) != 2 {
			t.Errorf("leases %+v: %s, %v", f, jsonText(leases), err)
		}
	}
	if leases, _ := e.Leasing.FindLeases(e.ctx, joule.LeaseFilter{Tenant: "northwind"}); len(leases) != 0 {
		t.Errorf("northwind as tenant: %s", jsonText(leases))
	}
	fills, err := e.Leasing.RecentFills(e.ctx, "h100/west", 1)
	if err != nil || len(fills) != 1 || fills[0].Seller != "operator" || !fills[0].At.Equal(now) || fills[0].Product != "h100/west" {
		t.Errorf("recent fills: %s, %v", jsonText(fills), err)
	}
}

func testLeasingLoadSelects(t *testing.T, e *env) {
	now := e.clock.Now()
	e.saveLeasing(t, leasingFixture(now))
	later := now.Add(30 * 24 * time.Hour)
	// A month later the block has ended and the filled order is old: only the resting
	// order comes back, unless the load asks for the lease's order.
	st := e.loadLeasing(t, joule.LeasingLoad{LeasesSince: later, OrdersSince: later})
	if len(st.Leases) != 0 || len(st.Orders) != 1 || st.Orders[0].ID != "o2" || len(st.Journal) != 3 {
		t.Errorf("a month later: leases %s, orders %s", jsonText(st.Leases), jsonText(st.Orders))
	}
	st = e.loadLeasing(t, joule.LeasingLoad{LeasesSince: later, OrdersSince: later, Orders: []string{"o1"}})
	if len(st.Leases) != 1 || len(st.Orders) != 2 {
		t.Errorf("asking for o1: leases %s, orders %s", jsonText(st.Leases), jsonText(st.Orders))
	}
	// During the block, the lease brings its order along.
	st = e.loadLeasing(t, joule.LeasingLoad{LeasesSince: now.Add(2 * time.Hour), OrdersSince: later})
	if len(st.Leases) != 1 || len(st.Orders) != 2 {
		t.Errorf("during the block: leases %s, orders %s", jsonText(st.Leases), jsonText(st.Orders))
	}
}

func utcListings(in []joule.Listing) []joule.Listing {
	out := append([]joule.Listing(nil), in...)
	for i := range out {
		out[i].Start, out[i].End = utc(out[i].Start), utc(out[i].End)
	}
	return out
}

func utcOrders(in []joule.Order) []joule.Order {
	out := append([]joule.Order(nil), in...)
	for i := range out {
		o := &out[i]
		o.Start, o.End, o.CreatedAt, o.ExpiresAt = utc(o.Start), utc(o.End), utc(o.CreatedAt), utc(o.ExpiresAt)
	}
	return out
}

func utcLeases(in []joule.Lease) []joule.Lease {
	out := make([]joule.Lease, len(in))
	for i, l := range in {
		l = l.Clone()
		l.Start, l.End, l.NoticeAt = utc(l.Start), utc(l.End), utc(l.NoticeAt)
		for j := range l.Sellers {
			l.Sellers[j].Start, l.Sellers[j].End = utc(l.Sellers[j].Start), utc(l.Sellers[j].End)
		}
		for j := range l.Resold {
			l.Resold[j].Start, l.Resold[j].End = utc(l.Resold[j].Start), utc(l.Resold[j].End)
		}
		out[i] = l
	}
	return out
}

func utcJournal(in []joule.LedgerTransaction) []joule.LedgerTransaction {
	out := append([]joule.LedgerTransaction(nil), in...)
	for i := range out {
		out[i].At = utc(out[i].At)
	}
	return out
}

// utc is t in UTC, and the zero time unchanged.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// A month of the journal: the transactions in a span, with their postings, and each
// account's balance before a time, as billing reads them.
func testLedgerJournalSpan(t *testing.T, e *env) {
	now := e.clock.Now()
	v := e.saveLeasing(t, leasingFixture(now))
	later := e.clock.Advance(48 * time.Hour)
	next := &joule.LeasingChange{BaseVersion: v, At: later, Journal: []joule.LedgerTransaction{
		{ID: 4, Kind: "release", At: later, Tenant: "acme", Order: "o1", Postings: []joule.LedgerPosting{{Account: "tenant:acme:hold", Amount: -14_400_000}, {Account: "tenant:acme:credit", Amount: 14_400_000}}},
	}}
	e.saveLeasing(t, next)

	span, err := e.Leasing.LedgerSpan(e.ctx, now.Add(time.Hour), later.Add(time.Second), "tenant:acme:credit", "tenant:acme:hold", "owner:northwind:revenue", "tenant:nobody:credit")
	if err != nil {
		t.Fatal(err)
	}
	got := span.Transactions
	if len(got) != 1 || got[0].ID != 4 || len(got[0].Postings) != 2 || got[0].Postings[1].Account != "tenant:acme:credit" || got[0].Postings[1].Amount != 14_400_000 {
		t.Errorf("journal after the first day: %+v", got)
	}
	// The balances at the span's start: before the release.
	want := map[joule.LedgerAccount]joule.MicroUSD{"tenant:acme:credit": 920_000_000, "tenant:acme:hold": 14_400_000, "owner:northwind:revenue": 59_040_000}
	if len(span.Opening) != len(want) {
		t.Errorf("balances before the release: %v, want %v", span.Opening, want)
	}
	for a, b := range want {
		if span.Opening[a] != b {
			t.Errorf("%s before the release: %d, want %d", a, span.Opening[a], b)
		}
	}
	span, err = e.Leasing.LedgerSpan(e.ctx, now, later, "tenant:acme:credit") // later is excluded
	if err != nil {
		t.Fatal(err)
	}
	if got := span.Transactions; len(got) != 3 || got[0].ID != 1 || got[2].ID != 3 || len(got[2].Postings) != 3 || len(span.Opening) != 0 {
		t.Errorf("the first day: %+v", span)
	}
	if _, err := e.Leasing.LedgerSpan(e.ctx, time.Time{}, later); joule.ErrorCode(err) != joule.EINVALID {
		t.Errorf("a span without a start: %v, want EINVALID", err)
	}
	span, err = e.Leasing.LedgerSpan(e.ctx, later.Add(time.Second), later.Add(time.Hour), "tenant:acme:hold")
	if err != nil || span.Opening["tenant:acme:hold"] != 0 || len(span.Transactions) != 0 {
		t.Errorf("after the release: %+v %v, want a hold of 0 and no transactions", span, err)
	}
}
