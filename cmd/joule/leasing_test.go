package main_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// nextMonday is the first Monday 00:00 UTC at least two days ahead: blocks the tests
// order are always in the future.
func nextMonday() time.Time {
	t := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 2)
	for t.Weekday() != time.Monday {
		t = t.AddDate(0, 0, 1)
	}
	return t
}

// jsonRun runs joule and decodes its JSON output into out, failing on a non-zero exit.
func jsonRun(t *testing.T, dir string, out any, args ...string) {
	t.Helper()
	r := run(t, dir, args...)
	if r.code != 0 {
		t.Fatalf("joule %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	if err := json.Unmarshal([]byte(r.stdout), out); err != nil {
		t.Fatalf("joule %s: %v\n%s", strings.Join(args, " "), err, r.stdout)
	}
}

// TestExchangeCommands runs the session on a local store: the CLI acts as the
// operator, or as a tenant with --as.
func TestExchangeCommands(t *testing.T) {
	dir := t.TempDir()
	example, _ := filepath.Abs("../../examples/west-texas.yaml")
	if r := run(t, dir, "apply", "-f", example); r.code != 0 {
		t.Fatal(r.stderr)
	}
	var created struct {
		Account struct{ ID, Role string }
		Token   string
	}
	jsonRun(t, dir, &created, "tenant", "create", "acme", "--credit-usd", "50000", "--json")
	if created.Account.ID != "acme" || !strings.HasPrefix(created.Token, "jl_") {
		t.Fatalf("created %+v", created)
	}
	if r := run(t, dir, "tenant", "create", "bob", "--credit-usd", "10"); r.code != 0 || !strings.Contains(r.stdout, "API token") {
		t.Fatalf("bob: %d %s%s", r.code, r.stdout, r.stderr)
	}
	monday := nextMonday()
	start, end := monday.Format("2006-01-02T15:04Z"), monday.AddDate(0, 0, 7).Format("2006-01-02T15:04Z")
	var order struct {
		Order  struct{ ID, Status string }
		Leases []struct {
			ID   string
			GPUs int `json:"gpus"`
		}
	}
	jsonRun(t, dir, &order, "--as", "acme", "order", "create", "--product", "h100-sxm/west-texas", "--gpus", "16",
		"--start", start, "--end", end, "--limit-usd-gpu-hour", "2.10", "--idempotency-key", "week-1", "--json")
	if order.Order.Status != "filled" || len(order.Leases) != 1 || order.Leases[0].GPUs != 16 {
		t.Fatalf("reserved order: %+v", order)
	}
	lease := order.Leases[0].ID
	if r := run(t, dir, "--as", "acme", "order", "create", "--product", "h100-sxm/west-texas", "--gpus", "8", "--on-demand"); r.code != 0 || !strings.Contains(r.stdout, "until stopped") {
		t.Errorf("on-demand: %d %s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, dir, "order", "create", "--for", "acme", "--product", "h100-sxm/west-texas", "--gpus", "8", "--spot", "--bid-usd-gpu-hour", "0.90"); r.code != 0 || !strings.Contains(r.stdout, "open") {
		t.Errorf("spot: %d %s%s", r.code, r.stdout, r.stderr)
	}
	// bob has $10: a clear error, nothing held.
	r := run(t, dir, "--as", "bob", "order", "create", "--product", "h100-sxm/west-texas", "--gpus", "8", "--start", start, "--end", end, "--limit-usd-gpu-hour", "2.10")
	if r.code != 1 || !strings.Contains(r.stderr, "insufficient credit: tenant bob has $10.00 available and needs $2,822.40") {
		t.Errorf("bob without credit: exit %d: %s", r.code, r.stderr)
	}

	var book struct {
		CapacityGPUs int `json:"capacity_gpus"`
		Slots        []struct {
			Start      time.Time `json:"start"`
			Capacity   int       `json:"capacity_gpus"`
			Leased     int       `json:"leased_gpus"`
			Free       int       `json:"free_gpus"`
			BestAsk    int64     `json:"best_ask_micro_usd_per_gpu_hour"`
			Clearing   int64     `json:"clearing_price_micro_usd_per_gpu_hour"`
			BestBid    int64     `json:"best_bid_micro_usd_per_gpu_hour"`
			Interrupts int       `json:"interruptible_gpus"`
		} `json:"slots"`
		RecentFills []struct {
			GPUs int `json:"gpus"`
		} `json:"recent_fills"`
	}
	jsonRun(t, dir, &book, "book", "h100-sxm/west-texas", "--from", start, "--json")
	if book.CapacityGPUs != 256 || len(book.Slots) != 168 || !book.Slots[0].Start.Equal(monday) {
		t.Fatalf("book: capacity %d, %d slots from %v", book.CapacityGPUs, len(book.Slots), book.Slots)
	}
	for _, s := range book.Slots {
		if s.Capacity != 256 || s.Leased != 16 || s.Free != 240 || s.BestAsk != 2_000_000 || s.Clearing != 2_000_000 {
			t.Fatalf("slot %+v", s)
		}
	}
	if r := run(t, dir, "book", "h100-sxm/west-texas", "--from", start); r.code != 0 || !strings.Contains(r.stdout, "256 GPUs") || strings.Count(r.stdout, "\n") > 12 {
		t.Errorf("book table: %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	var leases struct {
		Leases []struct {
			ID, Tenant, Product, Class, Status string
			GPUs                               int  `json:"gpus"`
			OpenEnded                          bool `json:"open_ended"`
			Sellers                            []struct {
				Seller string
				GPUs   int `json:"gpus"`
			}
		}
	}
	jsonRun(t, dir, &leases, "--as", "acme", "lease", "ls", "--json")
	if len(leases.Leases) != 2 || leases.Leases[1].ID != lease || leases.Leases[1].Sellers[0].Seller != "northwind-capital" || !leases.Leases[0].OpenEnded {
		t.Errorf("acme's leases: %+v", leases)
	}
	jsonRun(t, dir, &leases, "--as", "bob", "lease", "ls", "--json")
	if len(leases.Leases) != 0 {
		t.Errorf("bob sees leases: %+v", leases)
	}

	if r := run(t, dir, "--as", "acme", "resell", lease, "--from", monday.Add(96*time.Hour).Format(time.RFC3339), "--limit-usd-gpu-hour", "2.30"); r.code != 0 || !strings.Contains(r.stdout, "resale") {
		t.Errorf("resell: %d %s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, dir, "--as", "bob", "resell", lease, "--from", monday.Add(96*time.Hour).Format(time.RFC3339), "--limit-usd-gpu-hour", "0.01"); r.code != 1 || !strings.Contains(r.stderr, "not found") {
		t.Errorf("bob resells acme's lease: %d %s", r.code, r.stderr)
	}
	month := time.Now().UTC().Format("2006-01")
	var inv struct {
		Usage   int64 `json:"usage_micro_usd"`
		Credit  int64 `json:"closing_credit_micro_usd"`
		Deposit int64 `json:"deposits_micro_usd"`
	}
	jsonRun(t, dir, &inv, "--as", "acme", "invoice", "acme", "--month", month, "--json")
	if inv.Usage < 16*168*2_000_000 || inv.Deposit != 50_000_000_000 {
		t.Errorf("invoice %+v", inv)
	}
	if r := run(t, dir, "--as", "bob", "invoice", "acme", "--month", month); r.code != 1 || !strings.Contains(r.stderr, "only to its tenant") {
		t.Errorf("bob reads acme's invoice: %d %s", r.code, r.stderr)
	}
	if r := run(t, dir, "invoice", "acme", "--month", month, "--html"); r.code != 0 || !strings.Contains(r.stdout, "<!doctype html>") || !strings.Contains(r.stdout, "$5,376.00") {
		t.Errorf("invoice page: %d %s", r.code, r.stderr)
	}
	if r := run(t, dir, "statement", "northwind-capital", "--month", month); r.code != 0 || !strings.Contains(r.stdout, "$5,376.00") {
		t.Errorf("statement: %d %s%s", r.code, r.stdout, r.stderr)
	}
	var orders struct {
		Orders []struct{ ID, Kind, Status string }
	}
	jsonRun(t, dir, &orders, "order", "ls", "--json")
	if len(orders.Orders) != 4 || orders.Orders[0].Kind != "resale" {
		t.Errorf("the operator's order list: %+v", orders)
	}
}

// TestLocalLeaseStopReleasesTheHold stops an on-demand lease on the local store, where
// no server runs a Tick afterwards: the order's hold must be released by the stop.
func TestLocalLeaseStopReleasesTheHold(t *testing.T) {
	dir := t.TempDir()
	example, _ := filepath.Abs("../../examples/west-texas.yaml")
	if r := run(t, dir, "apply", "-f", example); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := run(t, dir, "tenant", "create", "acme", "--credit-usd", "1000"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	var order struct {
		Leases []struct{ ID string }
	}
	jsonRun(t, dir, &order, "--as", "acme", "order", "create", "--product", "h100-sxm/west-texas", "--gpus", "8", "--on-demand", "--json")
	if len(order.Leases) != 1 {
		t.Fatalf("on-demand order: %+v", order)
	}
	if r := run(t, dir, "--as", "acme", "lease", "stop", order.Leases[0].ID); r.code != 0 {
		t.Fatalf("lease stop: %d %s", r.code, r.stderr)
	}
	var inv struct {
		Held int64 `json:"closing_held_micro_usd"`
	}
	jsonRun(t, dir, &inv, "--as", "acme", "invoice", "acme", "--month", time.Now().UTC().Format("2006-01"), "--json")
	if inv.Held != 0 {
		t.Errorf("after lease stop, %d µUSD is still held", inv.Held)
	}
}
