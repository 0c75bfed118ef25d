package e2e_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// reportTimeout bounds the wait for a report the Economics page runs with its
// defaults: a thousand Monte Carlo paths over five years of hours take a while on a
// busy machine.
const reportTimeout = 3 * time.Minute

// reportShown is an expression that is "ok" once the Economics page shows a report
// (ID-result) with at least rows table rows and its two charts loaded, or the error
// the page reports instead.
func reportShown(id string, rows int) string {
	return fmt.Sprintf(`(() => {
		const status = document.getElementById("%[1]s-status");
		if (status.classList.contains("error")) return "error: " + status.textContent;
		const imgs = [...document.querySelectorAll("#%[1]s-result img")];
		const done = document.querySelectorAll("#%[1]s-result tbody tr").length >= %[2]d && imgs.length === 2 && imgs.every((i) => i.complete && i.naturalWidth > 0);
		return done ? "ok" : "";
	})()`, id, rows)
}

// TestDashboardDemo drives every page against `joule serve --demo`, in one browser
// and one server, page after page.
func TestDashboardDemo(t *testing.T) {
	ctx := browser(t)
	s := startServer(t, freshDB(t), "--demo")
	t.Run("overview", func(t *testing.T) { overviewPage(t, ctx, s) })
	t.Run("market order", func(t *testing.T) { marketOrder(t, ctx, s) })
	t.Run("economics", func(t *testing.T) { economicsPage(t, ctx, s) })
	t.Run("site", func(t *testing.T) { sitePage(t, ctx, s) }) // last: the chart has had time to fill
	t.Run("demand-response report", func(t *testing.T) { drReportPage(t, ctx, s) })
}

// drReportPage opens the report of the demo grid's first event from the Site page's
// past events: its facts, steps, chart and audit rows, with the print stylesheet.
func drReportPage(t *testing.T, ctx context.Context, s *server) {
	href := waitFor[string](t, ctx, liveTimeout, "a past event's report link", `(a => a ? a.getAttribute("href") : "")(document.querySelector("#dr-history tbody a"))`)
	open(t, ctx, s, href)
	target := waitFor[string](t, ctx, loadTimeout, "the event's target", `(t => t !== "—" ? t : "")(document.getElementById("dr-target").textContent)`)
	if !strings.Contains(target, "MW") {
		t.Errorf("target %q", target)
	}
	if b := waitFor[string](t, ctx, loadTimeout, "the baseline", `(t => t !== "—" ? t : "")(document.getElementById("dr-baseline").textContent)`); !strings.Contains(b, "mean of") {
		t.Errorf("baseline %q", b)
	}
	waitFor[int](t, ctx, loadTimeout, "the steps", rowsOf("#dr-steps"))
	waitFor[int](t, ctx, loadTimeout, "the audit rows", rowsOf("#dr-audit"))
	if chartsBuilt() {
		waitFor[int](t, ctx, loadTimeout, "the meter's points on the chart", `(window.Chart && Chart.getChart("dr-chart") ? Chart.getChart("dr-chart").data.datasets[0].data.length : 0)`)
	}
	// Printed, the header and the links are gone.
	if hidden := eval[bool](t, ctx, `(() => { const r = [...document.styleSheets].flatMap(s => [...s.cssRules]).find(r => r.media && r.media.mediaText === "print" && r.cssText.includes('data-page="dr"')); return !!r; })()`); !hidden {
		t.Error("no print stylesheet for the report")
	}
	t.Logf("report of %s: %s, reached %s", href, target, eval[string](t, ctx, `document.getElementById("dr-reached").textContent`))
	screenshot(t, ctx, "dr-report")
}

// overviewPage checks the Overview: every site's power, cap and market tickers, live,
// and the demo's clock.
func overviewPage(t *testing.T, ctx context.Context, s *server) {
	open(t, ctx, s, "/")
	draw := waitFor[string](t, ctx, loadTimeout, "a site's power to be non-zero", `(() => {
		const d = document.querySelector(".site-card [data-k=draw]");
		return d && parseFloat(d.textContent) > 0 ? d.textContent : "";
	})()`)
	if mw := megawatts(t, draw); mw <= 0 || mw > 1000 {
		t.Errorf("site power %q: want a positive number of MW", draw)
	}
	capMW := eval[string](t, ctx, `document.querySelector(".site-card [data-k=cap]").textContent`)
	if megawatts(t, capMW) <= 0 {
		t.Errorf("cap %q: want a positive number of MW", capMW)
	}
	for _, id := range []string{"t-btc", "t-hashprice"} {
		if v := eval[string](t, ctx, fmt.Sprintf(`document.getElementById(%q).textContent`, id)); !strings.HasPrefix(v, "$") {
			t.Errorf("ticker %s shows %q, want a price", id, v)
		}
	}
	if v := eval[string](t, ctx, `document.getElementById("t-hashprice").textContent`); !strings.HasSuffix(v, "/PH/day") {
		t.Errorf("hashprice %q has no unit", v)
	}
	badge := waitFor[string](t, ctx, loadTimeout, "the demo badge", `(() => { const b = document.getElementById("demo-badge"); return b.hidden ? "" : b.textContent; })()`)
	if badge != "demo ×60" {
		t.Errorf("demo badge %q, want %q", badge, "demo ×60")
	}
	clock := eval[string](t, ctx, `document.getElementById("clock").textContent`)
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d UTC$`).MatchString(clock) {
		t.Errorf("clock %q: want the server's time in UTC", clock)
	}
	if empty := eval[bool](t, ctx, `document.getElementById("empty").hidden`); !empty {
		t.Error("the demo's overview shows the no-sites panel")
	}
	// The demo's first plan may be made before its feeds have a price (a safe
	// state); the next ones run on fresh prices and earn revenue.
	reason := waitFor[string](t, ctx, liveTimeout, "a plan on fresh feeds that earns revenue", `(() => {
		const c = document.querySelector(".site-card");
		const reason = c.querySelector("header .pill").textContent;
		return !/stale/.test(reason) && /^\$[1-9]/.test(c.querySelector("[data-k=revenue]").textContent) ? reason : "";
	})()`)
	t.Logf("plan reason %q, site power %s", reason, eval[string](t, ctx, `document.querySelector(".site-card [data-k=draw]").textContent`))
	screenshot(t, ctx, "overview")
}

// marketOrder checks the Market page's order form: an on-demand order as a demo
// tenant fills, and its lease shows on the Market and Tenant pages.
func marketOrder(t *testing.T, ctx context.Context, s *server) {
	open(t, ctx, s, "/market")
	waitFor[string](t, ctx, loadTimeout, "the product picker", `document.getElementById("product").value`)
	tenant := waitFor[string](t, ctx, loadTimeout, "the demo's tenants", `document.getElementById("tenant-pick").value`)
	waitFor[string](t, ctx, loadTimeout, "the book's capacity", `(document.getElementById("product-meta").textContent.match(/^[1-9][\d,]* GPUs listed/) || [""])[0]`)
	// The demo sets no cap terms: the page says its leases are never capped.
	waitFor[string](t, ctx, loadTimeout, "the product's cap terms", `(document.getElementById("cap-terms").textContent.match(/never capped/) || [""])[0]`)
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`input[name=kind][value=on_demand]`)),
		chromedp.SetValue(chromedp.ID("o-gpus"), "8"),
		chromedp.SetValue(chromedp.ID("o-limit"), "10.00"),
		chromedp.Click(chromedp.CSS(`#order-form button[type=submit]`)),
	); err != nil {
		t.Fatalf("fill and submit the order form: %v", err)
	}
	result := waitFor[string](t, ctx, loadTimeout, "the order's result", `(() => {
		const r = document.getElementById("order-result");
		return r.querySelector(".busy") ? "" : r.textContent;
	})()`)
	if !strings.Contains(result, ": filled") {
		t.Fatalf("the order did not fill: %q", result)
	}
	lease := eval[string](t, ctx, `document.querySelector("#order-result li code").textContent`)
	if lease == "" {
		t.Fatalf("the order's result names no lease: %q", result)
	}
	row := fmt.Sprintf(`#my-leases tr[data-lease=%q]`, lease)
	gpus := waitFor[string](t, ctx, loadTimeout, "the new lease under Your leases", fmt.Sprintf(`(document.querySelector(%q) || {}).children?.[4]?.textContent || ""`, row))
	if gpus != "8" {
		t.Errorf("lease %s shows %q GPUs, want 8", lease, gpus)
	}
	screenshot(t, ctx, "market")

	open(t, ctx, s, "/tenant")
	if got := waitFor[string](t, ctx, loadTimeout, "the tenant picker", `document.getElementById("tenant-pick").value`); got != tenant {
		t.Errorf("the Tenant page shows tenant %q, the Market page ordered as %q", got, tenant)
	}
	waitFor[bool](t, ctx, loadTimeout, "lease "+lease+" on the Tenant page", fmt.Sprintf(`!!document.querySelector(%q)`, fmt.Sprintf(`#leases tr[data-lease=%q]`, lease)))
	credit := waitFor[string](t, ctx, loadTimeout, "the tenant's credit", `(t => t.startsWith("$") ? t : "")(document.getElementById("credit").textContent)`)
	t.Logf("tenant %s: credit %s, lease %s", tenant, credit, lease)
	if month := eval[string](t, ctx, `document.getElementById("invoice-month").textContent`); !regexp.MustCompile(`^\d{4}-\d\d$`).MatchString(month) {
		t.Errorf("invoice month %q", month)
	}
	screenshot(t, ctx, "tenant")
}

// economicsPage checks the Economics page: a day's hashprice, a comparison, and a
// backtest and a plan with the charts the server draws.
func economicsPage(t *testing.T, ctx context.Context, s *server) {
	open(t, ctx, s, "/economics")
	hp := waitFor[string](t, ctx, loadTimeout, "the day's hashprice", `(document.getElementById("econ-hashprice") || {}).textContent || ""`)
	if !strings.HasSuffix(hp, "/PH/day") {
		t.Errorf("hashprice %q", hp)
	}
	waitFor[int](t, ctx, loadTimeout, "the comparison", `document.querySelectorAll("#cmp-result tbody tr").length`)
	waitFor[string](t, ctx, loadTimeout, "a site to backtest", `document.querySelector("#bt-form select[name=site]").value`)
	from := waitFor[string](t, ctx, loadTimeout, "the backtest's dates in the demo's history", `(v => v.startsWith("2024-") ? v : "")(document.querySelector("#bt-form input[name=from]").value)`)
	to := eval[string](t, ctx, `document.querySelector("#bt-form input[name=to]").value`)

	// Reversed dates: the page shows the API's own message, which names the field.
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#bt-form input[name=from]`), to),
		chromedp.SetValue(chromedp.CSS(`#bt-form input[name=to]`), from),
		chromedp.Click(chromedp.CSS(`#bt-form button[type=submit]`)),
	); err != nil {
		t.Fatal(err)
	}
	refused := waitFor[string](t, ctx, loadTimeout, "the refusal of reversed dates", `(s => s.classList.contains("error") ? s.textContent : "")(document.getElementById("bt-status"))`)
	if want := fmt.Sprintf("to: %s is before from %s", from, to); refused != want {
		t.Errorf("a backtest from %s to %s shows %q, want the API's %q", to, from, refused, want)
	}

	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#bt-form input[name=from]`), from),
		chromedp.SetValue(chromedp.CSS(`#bt-form input[name=to]`), to),
		chromedp.Click(chromedp.CSS(`#bt-form button[type=submit]`)),
	); err != nil {
		t.Fatal(err)
	}
	if got := waitFor[string](t, ctx, liveTimeout, "the backtest's table and charts", reportShown("bt", 3)); got != "ok" {
		t.Fatalf("backtest: %s", got)
	}

	// The plan as the form first stands: it converts no more than the site's miners.
	convert := eval[string](t, ctx, `document.querySelector("#plan-form input[name=convert_mw]").value`)
	has := eval[string](t, ctx, `(document.getElementById("plan-site-meta").textContent.match(/has ([\d.,]+) MW of miners/) || ["", ""])[1]`)
	if c, m := megawatts(t, convert), megawatts(t, has); c <= 0 || c > m {
		t.Errorf("the plan converts %q MW by default; the page says the site has %q MW of miners", convert, has)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#plan-form button[type=submit]`))); err != nil {
		t.Fatal(err)
	}
	// A plan that runs past a second counts its seconds, and promises no time.
	progress := waitFor[string](t, ctx, reportTimeout, "the plan to count its seconds or finish", `(s => {
		const e = s.querySelector(".elapsed");
		if (e && e.textContent) return "counting:" + s.textContent;
		return s.classList.contains("busy") ? "" : "done";
	})(document.getElementById("plan-status"))`)
	if text, counting := strings.CutPrefix(progress, "counting:"); counting {
		if !regexp.MustCompile(`… \d+ s$`).MatchString(text) || strings.Contains(text, "few seconds") {
			t.Errorf("a running plan says %q: want its message and the seconds it has run", text)
		}
		t.Logf("while it runs the plan says %q", text)
	}
	if got := waitFor[string](t, ctx, reportTimeout, "the default plan's quantiles and charts", reportShown("plan", 2)); got != "ok" {
		t.Fatalf("the default plan (%s MW): %s", convert, got)
	}
	if e := eval[string](t, ctx, `document.getElementById("status").textContent + document.getElementById("bt-status").textContent + document.getElementById("plan-status").textContent`); e != "" {
		t.Errorf("the page reports: %s", e)
	}
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById("bt-h").scrollIntoView()`)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "economics")
}

// sitePage checks a Site page: the power chart, devices, audit log and the next
// megawatt, and the chart growing as the demo plans.
func sitePage(t *testing.T, ctx context.Context, s *server) {
	open(t, ctx, s, "/")
	site := waitFor[string](t, ctx, loadTimeout, "a site card", `(document.querySelector(".site-card") || {dataset: {}}).dataset.site || ""`)
	open(t, ctx, s, "/sites/"+site)
	if !chartsBuilt() {
		waitFor[bool](t, ctx, loadTimeout, "the note that charts are missing", `!!document.querySelector(".note")`)
		t.Log("the chart library is not built (make web): checked the note in its place")
	}
	points := `(window.Chart && Chart.getChart("power-chart") ? Chart.getChart("power-chart").data.datasets[0].data.length : 0)`
	if chartsBuilt() {
		waitFor[int](t, ctx, loadTimeout, "the power chart's first data points", points)
	}
	waitFor[int](t, ctx, loadTimeout, "rows in the devices table", rowsOf("#devices"))
	// The demo's agent reads a simulated site meter: its reading stands beside the
	// devices' own sum.
	meta := waitFor[string](t, ctx, loadTimeout, "the site meter's reading", `(t => t.includes("Site meter:") ? t : "")(document.getElementById("devices-meta").textContent)`)
	if !strings.Contains(meta, "the devices report") || strings.Contains(meta, "not answering") {
		t.Errorf("devices panel: %q", meta)
	}
	// The device table: the agent's readings, sorted by the server on a column's click
	// (twice: hottest first) and searched.
	waitFor[int](t, ctx, loadTimeout, "rows in the device table", rowsOf("#device-table"))
	eval[bool](t, ctx, `(() => { const th = document.querySelector('#device-table th[data-sort="temp"]'); th.click(); th.click(); return true; })()`)
	hottest := waitFor[string](t, ctx, loadTimeout, "the device table sorted hottest first", `(() => {
		if (!document.getElementById("table-meta").textContent.includes("by temp (desc)")) return "";
		const rows = [...document.querySelectorAll("#device-table tbody tr")].filter((r) => !r.querySelector(".empty-row"));
		const temps = rows.map((r) => parseFloat(r.children[6].textContent)).filter((x) => !Number.isNaN(x));
		return temps.length > 1 && temps.every((x, i) => i === 0 || temps[i - 1] >= x) ? rows[0].children[1].textContent : "";
	})()`)
	eval[bool](t, ctx, fmt.Sprintf(`(() => { const q = document.getElementById("table-q"); q.value = %q; q.dispatchEvent(new Event("change")); return true; })()`, hottest))
	if meta := waitFor[string](t, ctx, loadTimeout, "the search for the hottest device", `(t => / of 1, by /.test(t) ? t : "")(document.getElementById("table-meta").textContent)`); meta == "" {
		t.Errorf("search for %s", hottest)
	}
	// Its address opens its history: every raw sample of the last two hours.
	eval[bool](t, ctx, `(() => { document.querySelector("#device-table .device-link").click(); const s = document.getElementById("history-span"); s.value = "raw"; s.dispatchEvent(new Event("change")); return true; })()`)
	samples := waitFor[string](t, ctx, liveTimeout, "the device's raw history", `(t => /^\d+ points from /.test(t) ? t : "")(document.getElementById("history-meta").textContent)`)
	if chartsBuilt() {
		waitFor[int](t, ctx, loadTimeout, "the history chart's points", `(window.Chart && Chart.getChart("history-chart") ? Chart.getChart("history-chart").data.datasets[0].data.length : 0)`)
	}
	t.Logf("history of %s: %s", hottest, samples)
	// A bulk action on the selection: the hottest device, ticked, is put to sleep by the
	// site's agent, which reports it sent and verified.
	eval[bool](t, ctx, `(() => {
		const box = document.querySelector("#device-table input.select-device");
		box.checked = true; box.dispatchEvent(new Event("change"));
		document.getElementById("action-kind").value = "sleep";
		document.getElementById("action-send").click();
		return true;
	})()`)
	result := waitFor[string](t, ctx, liveTimeout, "the bulk action's verified result", `(() => {
		const row = document.querySelector("#actions tbody tr");
		return row && row.children.length > 5 && row.children[5].textContent === "done" ? [...row.children].map((c) => c.textContent).join(" | ") : "";
	})()`)
	if !strings.Contains(result, "sleep | 1 |") || !strings.HasSuffix(result, "| 1 | 1 | 0") {
		t.Errorf("the bulk action's row: %q, want a sleep of 1 device sent, verified and not failed", result)
	}
	waitFor[int](t, ctx, loadTimeout, "rows in the audit log", rowsOf("#audit"))
	if d := eval[string](t, ctx, `document.getElementById("now-draw").textContent`); megawatts(t, d) <= 0 {
		t.Errorf("the site's power now is %q", d)
	}
	if b := waitFor[string](t, ctx, loadTimeout, "the next megawatt's verdict", `document.getElementById("nm-better").textContent`); !strings.Contains(b, "megawatt") {
		t.Errorf("next-megawatt verdict %q", b)
	}
	first := eval[string](t, ctx, `document.querySelector("#audit tbody tr td:nth-child(2)").textContent`)
	if first == "" {
		t.Error("the newest audit line has no kind")
	}
	// Filtered to plans, the log folds each run of plans for one reason into a line.
	eval[bool](t, ctx, `(() => { const k = document.getElementById("audit-kind"); k.value = "plan"; k.dispatchEvent(new Event("change")); return true; })()`)
	folded := waitFor[string](t, ctx, liveTimeout, "a folded run of plans", `(() => {
		const rows = [...document.querySelectorAll("#audit tbody tr")].filter((r) => !r.querySelector(".empty-row"));
		if (!rows.length || rows.some((r) => r.children[1].textContent !== "plan")) return "";
		const run = rows.map((r) => r.children[4].textContent).find((d) => /^\d+ plans, \d+ to \d+: /.test(d));
		return run || "";
	})()`)
	t.Logf("folded plans: %q", folded)
	waitFor[int](t, ctx, loadTimeout, "the past events table", `document.querySelectorAll("#dr-history tbody tr").length`)
	if chartsBuilt() {
		n0 := eval[int](t, ctx, points)
		// Three more plans: the demo dispatches every five seconds.
		n := waitFor[int](t, ctx, liveTimeout, fmt.Sprintf("the power chart to grow from %d points to %d", n0, n0+3), fmt.Sprintf(`(%s >= %d) && %s`, points, n0+3, points))
		t.Logf("power chart: %d points, then %d", n0, n)
	}
	screenshot(t, ctx, "site")
}

// TestDashboardEmpty opens the Overview of a server with no sites: it tells the
// operator how to add one.
func TestDashboardEmpty(t *testing.T) {
	ctx := browser(t)
	db := freshDB(t)
	token := operatorToken(t, db)
	s := startServer(t, db)
	open(t, ctx, s, "/")
	signIn(t, ctx, token)
	text := waitFor[string](t, ctx, loadTimeout, "the no-sites panel", `(e => e.hidden ? "" : e.textContent)(document.getElementById("empty"))`)
	for _, want := range []string{"joule apply -f examples/west-texas.yaml", "joule serve --demo"} {
		if !strings.Contains(text, want) {
			t.Errorf("the no-sites panel does not say %q: %q", want, text)
		}
	}
	if n := eval[int](t, ctx, `document.querySelectorAll(".site-card").length`); n != 0 {
		t.Errorf("%d site cards on an empty store", n)
	}
	if badge := eval[bool](t, ctx, `document.getElementById("demo-badge").hidden`); !badge {
		t.Error("the demo badge shows on a server that runs no demo")
	}
	// Without a demo, the exchange's pages need a token: the header asks for one and
	// says how to print the operator's.
	hint := eval[string](t, ctx, `(b => b.hidden ? "" : b.textContent)(document.getElementById("token-box"))`)
	if !strings.Contains(hint, "joule token create operator") {
		t.Errorf("the token box is hidden or does not say how to get a token: %q", hint)
	}
	screenshot(t, ctx, "overview-empty")
}

// signIn enters token in the header's token box, as a person pastes it.
func signIn(t *testing.T, ctx context.Context, token string) {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#token-box summary")),
		chromedp.SendKeys(chromedp.ID("token-input"), token),
		chromedp.Click(chromedp.CSS(`#token-form button[type=submit]`)),
	); err != nil {
		t.Fatalf("enter the token: %v", err)
	}
}

// TestDashboardToken signs in with the operator's token, as `joule token create
// operator` prints it, on a server that runs no demo, and orders GPUs for a tenant.
func TestDashboardToken(t *testing.T) {
	ctx := browser(t)
	db := freshDB(t)
	joule(t, "apply", "-f", "examples/west-texas.yaml", "--db", db)
	joule(t, "tenant", "create", "orbit-ml", "--name", "Orbit ML", "--credit-usd", "10000", "--db", db)
	token := operatorToken(t, db)
	s := startServer(t, db)

	open(t, ctx, s, "/market")
	if msg := waitFor[string](t, ctx, loadTimeout, "the request for a token", `document.getElementById("status").textContent`); !strings.Contains(msg, "token") {
		t.Errorf("without a token the Market page says %q", msg)
	}
	signIn(t, ctx, token)
	if got := waitFor[string](t, ctx, loadTimeout, "the tenant picker", `document.getElementById("tenant-pick-label").hidden ? "" : document.getElementById("tenant-pick").value`); got != "orbit-ml" {
		t.Fatalf("tenant picker shows %q, want orbit-ml", got)
	}
	waitFor[string](t, ctx, loadTimeout, "the product picker", `document.getElementById("product").value`)
	// This server has no market feeds: the Overview shows the prices as missing, not as $0.00.
	open(t, ctx, s, "/")
	energy := waitFor[string](t, ctx, loadTimeout, "the site's energy price", `(document.querySelector(".site-card [data-k=energy]") || {}).textContent || ""`)
	hashprice := waitFor[string](t, ctx, loadTimeout, "the hashprice ticker", `document.getElementById("t-hashprice").textContent`)
	if energy != "—" || hashprice != "—" {
		t.Errorf("without feeds the Overview shows energy %q and hashprice %q, want — for both", energy, hashprice)
	}
	open(t, ctx, s, "/market")
	waitFor[string](t, ctx, loadTimeout, "the product picker", `document.getElementById("product").value`)
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`input[name=kind][value=reserved]`)),
		chromedp.SetValue(chromedp.ID("o-gpus"), "16"),
		chromedp.SetValue(chromedp.ID("o-hours"), "3"),
		chromedp.SetValue(chromedp.ID("o-limit"), "5.00"),
		chromedp.Click(chromedp.CSS(`#order-form button[type=submit]`)),
	); err != nil {
		t.Fatalf("fill and submit the order form: %v", err)
	}
	result := waitFor[string](t, ctx, loadTimeout, "the order's result", `(r => r.querySelector(".busy") ? "" : r.textContent)(document.getElementById("order-result"))`)
	if !strings.Contains(result, ": filled, 16 of 16 GPUs leased") {
		t.Fatalf("the reserved order did not fill: %q", result)
	}
	lease := eval[string](t, ctx, `document.querySelector("#order-result li code").textContent`)
	waitFor[bool](t, ctx, loadTimeout, "the lease under Your leases", fmt.Sprintf(`!!document.querySelector(%q)`, fmt.Sprintf(`#my-leases tr[data-lease=%q]`, lease)))

	// The token stays in the browser: the Tenant page shows the tenant's new hold.
	open(t, ctx, s, "/tenant")
	waitFor[bool](t, ctx, loadTimeout, "lease "+lease+" on the Tenant page", fmt.Sprintf(`!!document.querySelector(%q)`, fmt.Sprintf(`#leases tr[data-lease=%q]`, lease)))
	if credit := waitFor[string](t, ctx, loadTimeout, "the tenant's credit", `(t => t.startsWith("$") ? t : "")(document.getElementById("credit").textContent)`); credit == "$10,000.00" {
		t.Errorf("credit is still %s after a 48 GPU-hour lease", credit)
	}
}
