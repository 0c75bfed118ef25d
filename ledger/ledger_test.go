package ledger

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/joule-site/joule"
)

var t0 = time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)

func usd(d float64) joule.MicroUSD { return joule.MicroUSDFromUSD(d) }

func newLedger(t testing.TB) (*Ledger, *MemJournal) {
	t.Helper()
	j := &MemJournal{}
	return New(Config{Now: func() time.Time { return t0 }, Journal: j}), j
}

func mustCheck(t testing.TB, l *Ledger) {
	t.Helper()
	if err := l.Check(); err != nil {
		t.Fatal(err)
	}
	if tb := l.TrialBalance(); tb != 0 {
		t.Fatalf("trial balance %d", tb)
	}
}

func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if got := joule.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		amount   joule.MicroUSD
		bps      int
		fee, net joule.MicroUSD
	}{
		{1_000_000, 1000, 100_000, 900_000},
		{15, 1000, 2, 13}, // 1.5 rounds half up
		{14, 1000, 1, 13}, // 1.4 rounds down
		{5, 1000, 1, 4},   // 0.5 rounds up
		{4, 1000, 0, 4},
		{0, 1000, 0, 0},
		{7, 0, 0, 7},
		{7, 10_000, 7, 0},
		{1<<62 + 1, 1500, 691752902764108186, 3919933115663279719}, // exact in 128 bits
	}
	for _, tt := range tests {
		fee, net := Split(tt.amount, tt.bps)
		if fee != tt.fee || net != tt.net || fee+net != tt.amount {
			t.Errorf("Split(%d, %d) = %d, %d; want %d, %d", tt.amount, tt.bps, fee, net, tt.fee, tt.net)
		}
	}
}

func TestTenantOwnerFlow(t *testing.T) {
	l, j := newLedger(t)
	if _, err := l.Deposit("dep-1", "acme", usd(100)); err != nil {
		t.Fatal(err)
	}
	// a reserved order's most: 8 GPUs × 5 hours × $2
	if _, err := l.Hold("hold-1", "acme", "o1", usd(80)); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, l)

	n := len(l.Transactions())
	_, err := l.Hold("hold-2", "acme", "o2", usd(30))
	wantCode(t, err, joule.ECREDIT)
	if len(l.Transactions()) != n || len(j.Txs) != n || l.Held("o2") != 0 || l.Balance(TenantCredit("acme")) != usd(20) {
		t.Fatal("a refused hold wrote something")
	}

	// the block filled at $1.90: 8 × 5 × 1.90 = $76, 10% platform fee
	tx, err := l.Capture(Charge{Key: "cap-1", Tenant: "acme", Order: "o1", Lease: "l1", Seller: OwnerRevenue("fund-a"), Amount: usd(76), FeeBPS: 1000})
	if err != nil {
		t.Fatal(err)
	}
	want := []joule.LedgerPosting{{Account: TenantHold("acme"), Amount: -usd(76)}, {Account: OwnerRevenue("fund-a"), Amount: usd(68.40)}, {Account: PlatformFees, Amount: usd(7.60)}}
	if !reflect.DeepEqual(tx.Postings, want) {
		t.Fatalf("capture postings %+v", tx.Postings)
	}
	_, err = l.Capture(Charge{Key: "cap-2", Tenant: "acme", Order: "o1", Seller: OwnerRevenue("fund-a"), Amount: usd(5)})
	wantCode(t, err, joule.EFORBIDDEN) // only $4 left held
	rel, err := l.Release("rel-1", "o1")
	if err != nil || rel.Postings[1].Amount != usd(4) {
		t.Fatalf("release %+v %v", rel, err)
	}
	if tx, err := l.Release("rel-2", "o1"); err != nil || tx.ID != 0 {
		t.Fatalf("releasing an empty hold: %+v %v", tx, err)
	}

	// on-demand seconds from credit, the operator's own server, no fee
	if _, err := l.Charge(Charge{Key: "ch-1", Tenant: "acme", Lease: "l2", Seller: OperatorRevenue("op"), Amount: usd(0.35) /* 600 s at $2.10 per GPU-hour */}); err != nil {
		t.Fatal(err)
	}
	_, err = l.Charge(Charge{Key: "ch-2", Tenant: "acme", Lease: "l2", Seller: OperatorRevenue("op"), Amount: usd(1000)})
	wantCode(t, err, joule.ECREDIT)

	// the owner pays hosting for 10.2 kW at $150 per kW-month and its energy
	if _, err := l.HostingFee("host-1", "fund-a", "west-texas", 10_200, usd(150)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.PassThroughEnergy("energy-1", "fund-a", "west-texas", 7_344_000, usd(45)); err != nil { // 7.344 MWh at $45
		t.Fatal(err)
	}
	mustCheck(t, l)
	wantBalances := map[joule.LedgerAccount]joule.MicroUSD{
		ExternalCash:              -usd(100),
		TenantCredit("acme"):      usd(100) - usd(76) - usd(0.35),
		TenantHold("acme"):        0,
		OwnerRevenue("fund-a"):    usd(68.40) - usd(1530) - usd(330.48),
		OperatorRevenue("op"):     usd(0.35),
		PlatformFees:              usd(7.60),
		SiteHosting("west-texas"): usd(1530),
		SiteEnergy("west-texas"):  usd(330.48),
	}
	if got := l.Balances(); !reflect.DeepEqual(got, wantBalances) {
		t.Fatalf("balances\n got %v\nwant %v", got, wantBalances)
	}
	// the owner owes the site: it cannot be paid out, the tenant's credit can
	_, err = l.Payout("pay-1", OwnerRevenue("fund-a"), 1)
	wantCode(t, err, joule.EFORBIDDEN)
	if _, err := l.Payout("pay-2", TenantCredit("acme"), usd(23.65)); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, l)

	// the journal replays to the same ledger
	r, err := Replay(Config{}, j.Txs)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r.Balances(), l.Balances()) || r.Held("o1") != 0 {
		t.Fatal("replay differs")
	}
	mustCheck(t, r)
}

func TestIdempotentOperations(t *testing.T) {
	l, _ := newLedger(t)
	a, err := l.Deposit("dep", "acme", usd(10))
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Deposit("dep", "acme", usd(10))
	if err != nil || !reflect.DeepEqual(a, b) || l.Balance(TenantCredit("acme")) != usd(10) {
		t.Fatalf("repeated deposit: %+v %v, credit %s", b, err, l.Balance(TenantCredit("acme")))
	}
	_, err = l.Deposit("dep", "acme", usd(11))
	wantCode(t, err, joule.ECONFLICT)
	// a repeated hold is answered even when the credit is now too short for it
	if _, err := l.Hold("h", "acme", "o1", usd(10)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Hold("h", "acme", "o1", usd(10)); err != nil {
		t.Fatalf("repeated hold: %v", err)
	}
	if l.Held("o1") != usd(10) {
		t.Fatalf("held %s", l.Held("o1"))
	}
	rel, _ := l.Release("r", "o1")
	again, err := l.Release("r", "o1")
	if err != nil || !reflect.DeepEqual(rel, again) {
		t.Fatalf("repeated release: %+v %v", again, err)
	}
	mustCheck(t, l)
}

func TestRefusedOperationsWriteNothing(t *testing.T) {
	l, j := newLedger(t)
	if _, err := l.Deposit("d", "acme", usd(5)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		op   func() error
		code string
	}{
		{"zero deposit", func() error { _, err := l.Deposit("x", "acme", 0); return err }, joule.EINVALID},
		{"bad tenant id", func() error { _, err := l.Deposit("x", "Acme Corp", 1); return err }, joule.EINVALID},
		{"hold without order", func() error { _, err := l.Hold("x", "acme", "", 1); return err }, joule.EINVALID},
		{"hold beyond credit", func() error { _, err := l.Hold("x", "acme", "o", usd(6)); return err }, joule.ECREDIT},
		{"release of nothing", func() error { _, err := l.Release("x", "o9"); return err }, joule.ENOTFOUND},
		{"fee over 100%", func() error {
			_, err := l.Charge(Charge{Tenant: "acme", Seller: OwnerRevenue("f"), Amount: 1, FeeBPS: 10_001})
			return err
		}, joule.EINVALID},
		{"charge naming an order", func() error {
			_, err := l.Charge(Charge{Tenant: "acme", Order: "o", Seller: OwnerRevenue("f"), Amount: 1})
			return err
		}, joule.EINVALID},
		{"capture without hold", func() error {
			_, err := l.Capture(Charge{Tenant: "acme", Order: "o", Seller: OwnerRevenue("f"), Amount: 1})
			return err
		}, joule.EFORBIDDEN},
		{"seller is the platform", func() error {
			_, err := l.Charge(Charge{Tenant: "acme", Seller: PlatformFees, Amount: 1})
			return err
		}, joule.EINVALID},
		{"payout of a hold", func() error { _, err := l.Payout("x", TenantHold("acme"), 1); return err }, joule.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, n := l.Balances(), len(j.Txs)
			wantCode(t, tt.op(), tt.code)
			if !reflect.DeepEqual(before, l.Balances()) || len(j.Txs) != n {
				t.Fatal("a refused operation wrote something")
			}
			mustCheck(t, l)
		})
	}
}

func TestJournalFailureChangesNothing(t *testing.T) {
	l, j := newLedger(t)
	j.Fail = errors.New("disk full")
	if _, err := l.Deposit("d", "acme", usd(5)); err == nil || joule.ErrorCode(err) != joule.EINTERNAL {
		t.Fatalf("deposit with a failing journal: %v", err)
	}
	if l.Balance(TenantCredit("acme")) != 0 || len(l.Transactions()) != 0 {
		t.Fatal("applied without journaling")
	}
	j.Fail = nil
	if _, err := l.Deposit("d", "acme", usd(5)); err != nil {
		t.Fatalf("the key of a failed write must be free: %v", err)
	}
}

func TestReplayRejectsBadJournals(t *testing.T) {
	l, j := newLedger(t)
	if _, err := l.Deposit("d", "acme", usd(5)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Hold("h", "acme", "o1", usd(5)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		tamper func([]joule.LedgerTransaction)
	}{
		{"unbalanced", func(txs []joule.LedgerTransaction) { txs[0].Postings[1].Amount++ }},
		{"renumbered", func(txs []joule.LedgerTransaction) { txs[1].ID = 7 }},
		{"credit below zero", func(txs []joule.LedgerTransaction) {
			txs[1].Postings = transfer(TenantCredit("acme"), TenantHold("acme"), usd(6))
		}},
		{"out of order", func(txs []joule.LedgerTransaction) { txs[0], txs[1] = txs[1], txs[0]; txs[0].ID, txs[1].ID = 1, 2 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			txs := make([]joule.LedgerTransaction, len(j.Txs))
			for i := range j.Txs {
				txs[i] = clone(&j.Txs[i])
			}
			tt.tamper(txs)
			if _, err := Replay(Config{}, txs); err == nil {
				t.Fatal("replayed a bad journal")
			}
		})
	}
}
