package main_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestPayoutCommand pays an owner out on a local store: the operator only, never more
// than the balance, once per key; the owner's report and statement show it.
func TestPayoutCommand(t *testing.T) {
	dir := t.TempDir()
	example, _ := filepath.Abs("../../examples/west-texas.yaml")
	if r := run(t, dir, "apply", "-f", example); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := run(t, dir, "tenant", "create", "acme", "--credit-usd", "50000"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	monday := nextMonday()
	start, end := monday.Format("2006-01-02T15:04Z"), monday.AddDate(0, 0, 7).Format("2006-01-02T15:04Z")
	// 16 GPUs × 168 h × $2.00 from northwind-capital, the older ask: $4,838.40 net of the fee.
	if r := run(t, dir, "--as", "acme", "order", "create", "--product", "h100-sxm/west-texas", "--gpus", "16",
		"--start", start, "--end", end, "--limit-usd-gpu-hour", "2.10"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	r := run(t, dir, "payout", "--owner", "northwind-capital", "--amount", "5000")
	if r.code != 1 || !strings.Contains(r.stderr, "owner northwind-capital has a balance of $4,838.40: it cannot be paid $5,000.00; nothing was paid") {
		t.Errorf("more than the balance: exit %d: %s", r.code, r.stderr)
	}
	r = run(t, dir, "--as", "northwind-capital", "payout", "--owner", "northwind-capital", "--amount", "10")
	if r.code != 1 || !strings.Contains(r.stderr, "only the operator may POST /api/v1/owners/northwind-capital/payouts") {
		t.Errorf("the owner paying itself: exit %d: %s", r.code, r.stderr)
	}
	for range 2 { // the same key pays once
		r = run(t, dir, "payout", "--owner", "northwind-capital", "--amount", "1000", "--key", "wire-1")
		if r.code != 0 || !strings.Contains(r.stdout, "paid $1,000.00 to owner northwind-capital") || !strings.Contains(r.stdout, "its balance is now $3,838.40") {
			t.Errorf("payout: exit %d: %s%s", r.code, r.stdout, r.stderr)
		}
	}
	var rep struct {
		Balance int64 `json:"balance_micro_usd"`
		Servers []struct {
			Servers int `json:"servers"`
		} `json:"servers"`
	}
	jsonRun(t, dir, &rep, "owner", "northwind-capital", "--json")
	if rep.Balance != 3_838_400_000 || len(rep.Servers) != 1 || rep.Servers[0].Servers != 16 {
		t.Errorf("owner report %+v", rep)
	}
	var st struct {
		Payouts int64 `json:"payouts_micro_usd"`
	}
	jsonRun(t, dir, &st, "statement", "northwind-capital", "--json")
	if st.Payouts != 1_000_000_000 {
		t.Errorf("the statement pays out %d micro-USD, want $1,000", st.Payouts)
	}
	if r := run(t, dir, "listing", "priority", "h100-sxm/west-texas", "pro-rata"); r.code == 0 || !strings.Contains(r.stderr, "fill priority must be one of") {
		t.Errorf("an unknown priority: exit %d: %s", r.code, r.stderr)
	}
}
