package billing_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/billing"
	"github.com/joule-site/joule/sqlite"
)

// A month's invoice and statement read that month of the stored journal and the
// balances before it. The capture's payer posting stands last, as another writer of the
// journal may put it: what the tenant paid and what the sale grossed come from the
// accounts, not from the postings' order.
func TestInvoiceAndStatementFromAMonthOfTheStore(t *testing.T) {
	ctx := context.Background()
	db := sqlite.NewDB(filepath.Join(t.TempDir(), "joule.db"))
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store := sqlite.NewLeasingStore(db)
	dec := time.Date(2024, 12, 20, 10, 0, 0, 0, time.UTC)
	jan := time.Date(2025, 1, 6, 10, 0, 0, 0, time.UTC)
	ps := func(kv ...any) []joule.LedgerPosting {
		var out []joule.LedgerPosting
		for i := 0; i < len(kv); i += 2 {
			out = append(out, joule.LedgerPosting{Account: joule.LedgerAccount(kv[i].(string)), Amount: joule.MicroUSD(kv[i+1].(int))})
		}
		return out
	}
	v, err := store.SaveLeasing(ctx, &joule.LeasingChange{At: dec,
		Accounts: []joule.NewAccount{
			{Account: joule.Account{ID: "acme", Name: "Acme AI", Role: joule.RoleTenant}},
			{Account: joule.Account{ID: "northwind", Name: "Northwind", Role: joule.RoleOwner}},
		},
		Journal: []joule.LedgerTransaction{
			{ID: 1, Kind: "deposit", At: dec, Tenant: "acme", Postings: ps("external:cash", -1_000_000_000, "tenant:acme:credit", 1_000_000_000)},
			{ID: 2, Kind: "charge", At: dec, Tenant: "acme", Lease: "l0", Postings: ps("owner:northwind:revenue", 9_000_000, "platform:fees", 1_000_000, "tenant:acme:credit", -10_000_000)},
		}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.SaveLeasing(ctx, &joule.LeasingChange{BaseVersion: v, At: jan, Journal: []joule.LedgerTransaction{
		{ID: 3, Kind: "hold", At: jan, Tenant: "acme", Order: "o1", Postings: ps("tenant:acme:credit", -80_000_000, "tenant:acme:hold", 80_000_000)},
		{ID: 4, Kind: "capture", At: jan, Tenant: "acme", Order: "o1", Lease: "l1", Memo: "block",
			Postings: ps("owner:northwind:revenue", 59_040_000, "platform:fees", 6_560_000, "tenant:acme:hold", -65_600_000)},
	}}); err != nil {
		t.Fatal(err)
	}
	b := &billing.Service{Store: store}
	acme := &joule.Account{ID: "acme", Role: joule.RoleTenant}
	inv, err := b.Invoice(ctx, acme, "acme", "2025-01")
	if err != nil {
		t.Fatal(err)
	}
	// Opening credit: $1,000 deposited less the $10 December charge = $990. January:
	// $80 held, $65.60 of it captured for the block: credit $910, $14.40 still held.
	if inv.OpeningCreditMicroUSD != 990_000_000 || inv.UsageMicroUSD != 65_600_000 || inv.ClosingCreditMicroUSD != 910_000_000 ||
		inv.ClosingHeldMicroUSD != 14_400_000 || len(inv.Lines) != 1 || inv.Lines[0].Amount != -65_600_000 {
		t.Errorf("January invoice: %+v", inv)
	}
	op := &joule.Account{ID: "operator", Role: joule.RoleOperator}
	st, err := b.Statement(ctx, op, "northwind", "2025-01")
	if err != nil {
		t.Fatal(err)
	}
	// December's $9 net is the opening balance; January's sale grossed $65.60, $6.56 fee.
	if st.OpeningBalanceMicroUSD != 9_000_000 || st.GrossMicroUSD != 65_600_000 || st.FeesMicroUSD != 6_560_000 || st.NetMicroUSD != 59_040_000 ||
		st.ClosingBalanceMicroUSD != 68_040_000 || len(st.Lines) != 1 || st.Lines[0].Gross != 65_600_000 {
		t.Errorf("January statement: %+v", st)
	}
	if _, err := b.Invoice(ctx, &joule.Account{ID: "bob", Role: joule.RoleTenant}, "acme", "2025-01"); joule.ErrorCode(err) != joule.EFORBIDDEN {
		t.Errorf("another tenant's invoice: %v, want EFORBIDDEN", err)
	}
	if _, err := b.Invoice(ctx, acme, "acme", "January"); joule.ErrorCode(err) != joule.EINVALID {
		t.Errorf("a bad month: %v, want EINVALID", err)
	}
}
