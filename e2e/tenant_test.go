package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// call sends a JSON request to the server's API with a token and decodes the answer
// into out (when not nil); a status other than want fails the test.
func call(t *testing.T, s *server, token, method, path, body string, want int, out any) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, data)
	}
	if out != nil {
		if err := json.NewDecoder(bytes.NewReader(data)).Decode(out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// orderResult is what the API answers an order with, as far as these tests read it.
type orderResult struct {
	Order struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	} `json:"order"`
	Leases []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	} `json:"leases"`
}

// order places an order as the token's tenant and returns what it filled.
func order(t *testing.T, s *server, token, key, body string) orderResult {
	t.Helper()
	var r orderResult
	call(t, s, token, "POST", "/api/v1/orders", fmt.Sprintf(`{"idempotency_key": %q, %s}`, key, body), http.StatusCreated, &r)
	return r
}

// click clicks the element a CSS selector names once it is there.
func click(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	waitFor[bool](t, ctx, loadTimeout, sel, fmt.Sprintf(`!!document.querySelector(%q)`, sel))
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
}

// TestTenantPageActs signs in with a tenant's own token and, from the Tenant page,
// stops an on-demand lease, cancels a resting order and resells hours of a reserved
// block, each after a confirmation; a resale the exchange refuses shows its reason.
func TestTenantPageActs(t *testing.T) {
	ctx := browser(t)
	db := freshDB(t)
	joule(t, "apply", "-f", "examples/west-texas.yaml", "--db", db)
	joule(t, "tenant", "create", "orbit-ml", "--name", "Orbit ML", "--credit-usd", "10000", "--db", db)
	token := strings.TrimSpace(joule(t, "token", "create", "orbit-ml", "--db", db))
	s := startServer(t, db)

	start := time.Now().UTC().Truncate(time.Hour).Add(2 * time.Hour)
	onDemand := order(t, s, token, "now", `"product": "h100-sxm/west-texas", "kind": "on_demand", "gpus": 8, "limit_micro_usd_per_gpu_hour": 3000000`)
	block := order(t, s, token, "block", fmt.Sprintf(`"product": "h100-sxm/west-texas", "kind": "reserved", "gpus": 16, "start": %q, "end": %q, "limit_micro_usd_per_gpu_hour": 3000000`,
		start.Format(time.RFC3339), start.Add(6*time.Hour).Format(time.RFC3339)))
	resting := order(t, s, token, "low", fmt.Sprintf(`"product": "h100-sxm/west-texas", "kind": "reserved", "gpus": 8, "start": %q, "end": %q, "limit_micro_usd_per_gpu_hour": 500000`,
		start.Format(time.RFC3339), start.Add(2*time.Hour).Format(time.RFC3339)))
	if len(onDemand.Leases) != 1 || len(block.Leases) != 1 || resting.Order.Status != "open" {
		t.Fatalf("orders: on demand %+v, block %+v, resting %+v", onDemand, block, resting)
	}
	running, reservedLease := onDemand.Leases[0].ID, block.Leases[0].ID

	open(t, ctx, s, "/tenant")
	signIn(t, ctx, token)
	waitFor[bool](t, ctx, loadTimeout, "the tenant ID form", `!document.getElementById("tenant-id-form").hidden`)
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("tenant-id"), "orbit-ml"),
		chromedp.Click(chromedp.CSS(`#tenant-id-form button[type=submit]`)),
	); err != nil {
		t.Fatalf("name the tenant: %v", err)
	}

	// Stop the on-demand lease: the button asks first, and nothing happens until confirmed.
	click(t, ctx, fmt.Sprintf(`#leases tr[data-lease=%q] button[data-act=stop]`, running))
	if what := waitFor[string](t, ctx, loadTimeout, "the confirmation", `document.getElementById("act").hidden ? "" : document.getElementById("act-h").textContent`); !strings.Contains(what, running) {
		t.Errorf("the confirmation asks %q, want it to name %s", what, running)
	}
	click(t, ctx, "#act-cancel")
	var leases struct {
		Leases []struct {
			ID, Status string
		} `json:"leases"`
	}
	call(t, s, token, "GET", "/api/v1/leases?order="+onDemand.Order.ID, "", 200, &leases)
	if len(leases.Leases) != 1 || leases.Leases[0].Status != "active" {
		t.Fatalf("after Keep it the lease is %+v, want it active", leases.Leases)
	}
	click(t, ctx, fmt.Sprintf(`#leases tr[data-lease=%q] button[data-act=stop]`, running))
	click(t, ctx, "#act-confirm")
	if done := waitFor[string](t, ctx, loadTimeout, "the stop", `document.getElementById("act-done").textContent`); !strings.Contains(done, "stopped") {
		t.Errorf("after the stop the page says %q", done)
	}
	why := waitFor[string](t, ctx, loadTimeout, "the ended lease's reason", fmt.Sprintf(`(r => r && r.textContent.includes("stopped by") ? r.textContent : "")(document.querySelector(%q))`,
		fmt.Sprintf(`#leases tr[data-lease=%q]`, running)))
	t.Logf("stopped lease row: %s", why)

	// Cancel the resting order.
	click(t, ctx, fmt.Sprintf(`#orders tr[data-order=%q] button[data-act=cancel]`, resting.Order.ID))
	click(t, ctx, "#act-confirm")
	waitFor[bool](t, ctx, loadTimeout, "the cancelled order to leave the open orders", fmt.Sprintf(`!document.querySelector(%q)`, fmt.Sprintf(`#orders tr[data-order=%q]`, resting.Order.ID)))
	var cancelled struct{ Status string }
	call(t, s, token, "GET", "/api/v1/orders/"+resting.Order.ID, "", 200, &cancelled)
	if cancelled.Status != "cancelled" {
		t.Errorf("the order is %s after Cancel, want cancelled", cancelled.Status)
	}

	// Resell hours the lease does not hold: the exchange refuses, and the page says why.
	click(t, ctx, fmt.Sprintf(`#leases tr[data-lease=%q] button[data-act=resell]`, reservedLease))
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.ID("resell-from"), start.Add(-time.Hour).Format("2006-01-02T15:04"))); err != nil {
		t.Fatal(err)
	}
	click(t, ctx, "#act-confirm")
	refusal := waitFor[string](t, ctx, loadTimeout, "the refusal", `(e => e.classList.contains("error") ? e.textContent : "")(document.getElementById("act-status"))`)
	t.Logf("resale refused: %s", refusal)
	// Then the last four hours of the block, 8 of its GPUs, at no less than $6.
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("resell-from"), start.Add(2*time.Hour).Format("2006-01-02T15:04")),
		chromedp.SetValue(chromedp.ID("resell-gpus"), "8"),
		chromedp.SetValue(chromedp.ID("resell-price"), "6.00"),
	); err != nil {
		t.Fatal(err)
	}
	click(t, ctx, "#act-confirm")
	done := waitFor[string](t, ctx, loadTimeout, "the resale", `(t => t.includes("Resale order") ? t : "")(document.getElementById("act-done").textContent)`)
	if !strings.Contains(done, "8 GPUs") || !strings.Contains(done, "$6.00/GPU-hour") {
		t.Errorf("the resale says %q", done)
	}
	var orders struct {
		Orders []struct{ Kind, Status, ResaleOf string } `json:"orders"`
	}
	call(t, s, token, "GET", "/api/v1/orders?resting=true", "", 200, &orders)
	if len(orders.Orders) != 1 || orders.Orders[0].Kind != "resale" {
		t.Errorf("resting orders after the resale: %+v, want one resale", orders.Orders)
	}
	waitFor[bool](t, ctx, loadTimeout, "the resale among the open orders", `[...document.querySelectorAll("#orders tbody tr")].some((r) => r.textContent.includes("resale"))`)
	screenshot(t, ctx, "tenant-actions")
}

// TestOwnerPage signs in as the operator, shows the hosted owner's servers, sales and
// fill priority, sets the priority, and pays the owner out: more than the balance is
// refused with the reason shown, and a payout within it is confirmed and listed.
func TestOwnerPage(t *testing.T) {
	ctx := browser(t)
	db := freshDB(t)
	joule(t, "apply", "-f", "examples/west-texas.yaml", "--db", db)
	joule(t, "tenant", "create", "orbit-ml", "--credit-usd", "10000", "--db", db)
	tenant := strings.TrimSpace(joule(t, "token", "create", "orbit-ml", "--db", db))
	opToken := operatorToken(t, db)
	s := startServer(t, db)
	start := time.Now().UTC().Truncate(time.Hour).Add(time.Hour)
	// 16 GPUs for 3 hours at $2.00 from northwind-capital, the older ask: $96, $86.40 net of the 10% fee.
	order(t, s, tenant, "block", fmt.Sprintf(`"product": "h100-sxm/west-texas", "kind": "reserved", "gpus": 16, "start": %q, "end": %q, "limit_micro_usd_per_gpu_hour": 3000000`,
		start.Format(time.RFC3339), start.Add(3*time.Hour).Format(time.RFC3339)))

	open(t, ctx, s, "/owner")
	signIn(t, ctx, opToken)
	if got := waitFor[string](t, ctx, loadTimeout, "the owner picker", `document.getElementById("owner-pick-label").hidden ? "" : document.getElementById("owner-pick").value`); got != "northwind-capital" {
		t.Fatalf("the owner picker shows %q, want northwind-capital", got)
	}
	servers := waitFor[string](t, ctx, loadTimeout, "the owner's servers", `(r => r && !r.querySelector(".empty-row") ? r.textContent : "")(document.querySelector("#servers tbody tr"))`)
	if !strings.Contains(servers, "h100-sxm/west-texas") || !strings.Contains(servers, "128") {
		t.Errorf("servers row %q: want 16 h100-sxm servers, 128 GPUs", servers)
	}
	balance := waitFor[string](t, ctx, loadTimeout, "the balance", `(t => t.startsWith("$") ? t : "")(document.getElementById("balance").textContent)`)
	if balance != "$86.40" {
		t.Errorf("balance %s, want $86.40", balance)
	}
	if sold := waitFor[string](t, ctx, loadTimeout, "the GPU-hours sold", `document.querySelector("#days tbody tr") ? document.getElementById("util-sub").textContent : ""`); !strings.Contains(sold, "48 of") {
		t.Errorf("utilization says %q, want 48 GPU-hours sold", sold)
	}

	// The operator sets the product's fill priority from the page.
	sel := `#listings select[data-product="h100-sxm/west-texas"]`
	waitFor[bool](t, ctx, loadTimeout, "the fill priority picker", fmt.Sprintf(`!!document.querySelector(%q)`, sel))
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.CSS(sel), "operator-first")); err != nil {
		t.Fatal(err)
	}
	eval[bool](t, ctx, fmt.Sprintf(`document.querySelector(%q).dispatchEvent(new Event("change")) || true`, sel))
	waitFor[string](t, ctx, loadTimeout, "the priority set", `document.getElementById("prio-status").textContent`)
	var prios struct {
		FillPriorities []struct {
			Product  string `json:"product"`
			Priority string `json:"fill_priority"`
		} `json:"fill_priorities"`
	}
	call(t, s, opToken, "GET", "/api/v1/fill-priorities", "", 200, &prios)
	if len(prios.FillPriorities) != 1 || prios.FillPriorities[0].Priority != "operator-first" {
		t.Errorf("fill priorities %+v, want operator-first", prios.FillPriorities)
	}

	// More than the balance: refused, the reason shown, nothing paid.
	payOut := func(amount string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.ID("payout-amount"), amount), chromedp.SetValue(chromedp.ID("payout-key"), "wire-"+amount)); err != nil {
			t.Fatal(err)
		}
		click(t, ctx, "#payout-ask")
		waitFor[bool](t, ctx, loadTimeout, "the payout's confirmation", `!document.getElementById("payout-confirm").hidden`)
		click(t, ctx, "#payout-go")
	}
	payOut("1000")
	refusal := waitFor[string](t, ctx, loadTimeout, "the refused payout", `(e => e.classList.contains("error") ? e.textContent : "")(document.getElementById("payout-status"))`)
	if !strings.Contains(refusal, "nothing was paid") {
		t.Errorf("the refusal says %q", refusal)
	}
	click(t, ctx, "#payout-keep")
	payOut("50")
	paid := waitFor[string](t, ctx, loadTimeout, "the payout", `(t => t.startsWith("Paid") ? t : "")(document.getElementById("payout-status").textContent)`)
	if !strings.Contains(paid, "$36.40") {
		t.Errorf("the payout says %q, want a balance of $36.40 left", paid)
	}
	waitFor[bool](t, ctx, loadTimeout, "the payout on the statement", `!!document.querySelector("#statement-lines tr[data-kind=payout]")`)
	if got := waitFor[string](t, ctx, loadTimeout, "the balance after", `(t => t === "$36.40" ? t : "")(document.getElementById("balance").textContent)`); got != "$36.40" {
		t.Errorf("balance after the payout %s", got)
	}
	screenshot(t, ctx, "owner")
	// The printable statement lists the payout.
	req, _ := http.NewRequest("GET", s.URL+"/api/v1/statements/northwind-capital?format=html", nil)
	req.Header.Set("Authorization", "Bearer "+opToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "paid out of the balance") || !strings.Contains(string(page), "−$50.00") {
		t.Errorf("the printable statement does not list the payout:\n%s", page)
	}

	// The owner itself sees its page, without the payout form or the priority picker.
	ownerToken := strings.TrimSpace(joule(t, "token", "create", "northwind-capital", "--db", db))
	call(t, s, ownerToken, "POST", "/api/v1/owners/northwind-capital/payouts", `{"amount_micro_usd": 1000000}`, http.StatusForbidden, nil)
	ctx2 := browser(t)
	open(t, ctx2, s, "/owner")
	signIn(t, ctx2, ownerToken)
	if got := waitFor[string](t, ctx2, loadTimeout, "the owner's own balance", `(t => t.startsWith("$") ? t : "")(document.getElementById("balance").textContent)`); got != "$36.40" {
		t.Errorf("the owner sees a balance of %s, want $36.40", got)
	}
	if eval[bool](t, ctx2, `!document.getElementById("payout").hidden || !!document.querySelector("#listings select")`) {
		t.Error("the owner's own page offers the operator's payout form or priority picker")
	}
}
