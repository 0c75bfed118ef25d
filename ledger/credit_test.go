package ledger

import (
	"testing"

	"github.com/joule-site/joule"
)

// A service credit gives the tenant back what it paid for hours it did not get, taken
// from the seller and the platform as the sale split it, and a penalty on top from the
// operator; the trial balance stays zero and a retry writes nothing twice.
func TestCredit(t *testing.T) {
	l, j := newLedger(t)
	if _, err := l.Deposit("d1", "acme", usd(100)); err != nil {
		t.Fatal(err)
	}
	owner := OwnerRevenue("northwind")
	if _, err := l.Charge(Charge{Key: "c1", Tenant: "acme", Lease: "L1", Seller: owner, Amount: usd(40), FeeBPS: 1000}); err != nil {
		t.Fatal(err)
	}
	op := OperatorRevenue("site")
	c := Credit{Key: "sla:L1:2025-01-06T00", Tenant: "acme", Lease: "L1", Refund: usd(10), Seller: owner, FeeBPS: 1000, Penalty: usd(5), Payer: op, Memo: "1 h of 8 GPUs not served"}
	tx, err := l.Credit(c)
	if err != nil {
		t.Fatal(err)
	}
	want := map[joule.LedgerAccount]joule.MicroUSD{TenantCredit("acme"): usd(75), owner: usd(36 - 9), PlatformFees: usd(4 - 1), op: -usd(5)}
	for a, b := range want {
		if got := l.Balance(a); got != b {
			t.Errorf("%s holds %s, want %s", a, got, b)
		}
	}
	mustCheck(t, l)
	again, err := l.Credit(c)
	if err != nil || again.ID != tx.ID || len(j.Txs) != 3 {
		t.Errorf("retry: %v, id %d (first %d), %d transactions", err, again.ID, tx.ID, len(j.Txs))
	}
	// The operator both sold the hours and pays the penalty: one posting for it.
	tx, err = l.Credit(Credit{Key: "sla:L2", Tenant: "acme", Lease: "L2", Refund: usd(1), Seller: op, Penalty: usd(2), Payer: op})
	if err != nil || len(tx.Postings) != 2 || l.Balance(op) != -usd(8) {
		t.Errorf("%v: %+v, operator holds %s", err, tx.Postings, l.Balance(op))
	}
	mustCheck(t, l)
}

func TestCreditRefusals(t *testing.T) {
	l, j := newLedger(t)
	owner := OwnerRevenue("northwind")
	bad := []Credit{
		{Key: "k", Tenant: "acme", Lease: "L1"},                                                // nothing to credit
		{Key: "k", Tenant: "acme", Lease: "L1", Refund: -1, Penalty: usd(1), Payer: owner},     // negative refund
		{Key: "k", Tenant: "acme", Lease: "L1", Refund: usd(1)},                                // no seller
		{Key: "k", Tenant: "acme", Lease: "L1", Penalty: usd(1), Payer: ExternalCash},          // paid by the outside
		{Key: "k", Tenant: "acme", Lease: "L1", Penalty: usd(1), Payer: TenantCredit("acme")},  // by itself
		{Key: "k", Tenant: "", Lease: "L1", Penalty: usd(1), Payer: owner},                     // no tenant
		{Key: "k", Tenant: "acme", Lease: "L1", Refund: usd(1), Seller: owner, FeeBPS: 10_001}, // fee out of range
	}
	for i, c := range bad {
		if _, err := l.Credit(c); joule.ErrorCode(err) != joule.EINVALID {
			t.Errorf("case %d: %v", i, err)
		}
	}
	// The platform's fees may not go negative: a refund of a fee it never took is refused.
	if _, err := l.Credit(Credit{Key: "k", Tenant: "acme", Lease: "L1", Refund: usd(10), Seller: owner, FeeBPS: 1000}); joule.ErrorCode(err) != joule.EFORBIDDEN {
		t.Errorf("refund of a fee never taken: %v", err)
	}
	if n := len(j.Txs); n != 0 {
		t.Errorf("%d transactions written by refused credits", n)
	}
	mustCheck(t, l)
}
