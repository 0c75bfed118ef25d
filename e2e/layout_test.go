package e2e_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// layoutWidths are the viewport widths every page must read right at: a phone, a
// laptop and a desktop monitor, with a height typical of each.
var layoutWidths = []struct{ width, height int64 }{{390, 844}, {1366, 900}, {1920, 1080}}

// layoutPage is a page the layout check opens: its path, and an expression that is
// truthy once the page shows its data (the layout worth checking is the loaded one).
type layoutPage struct {
	name, path, loaded string
	// prepare, when set, is run once the page is loaded, to show more of it (the
	// Economics page's reports); it is given the width the page is open at.
	prepare func(t *testing.T, ctx context.Context)
}

// TestDashboardLayout opens every page at a phone's, a laptop's and a desktop's
// width, on a demo server and on a server with a site applied and a token, and fails
// where two texts overlap, a text leaves its card, or anything runs off the right edge
// of the screen. Screenshots of each are saved as PAGE-WIDTH.png (the demo's) and
// PAGE-WIDTH-applied.png.
func TestDashboardLayout(t *testing.T) {
	t.Run("demo", func(t *testing.T) {
		ctx := browser(t)
		s := startServer(t, freshDB(t), "--demo")
		open(t, ctx, s, "/")
		site := waitFor[string](t, ctx, loadTimeout, "a site card", `(document.querySelector(".site-card") || {dataset: {}}).dataset.site || ""`)
		checkLayouts(t, ctx, s, layoutPages(site, true), "")
	})
	t.Run("applied", func(t *testing.T) {
		ctx := browser(t)
		db := freshDB(t)
		joule(t, "apply", "-f", "examples/west-texas.yaml", "--db", db)
		joule(t, "tenant", "create", "orbit-ml", "--name", "Orbit ML", "--credit-usd", "10000", "--db", db)
		token := operatorToken(t, db)
		s := startServer(t, db)
		open(t, ctx, s, "/")
		signIn(t, ctx, token)
		waitFor[bool](t, ctx, loadTimeout, "the operator's token to be taken", `document.querySelector("#token-box summary").textContent === "Token: operator"`)
		checkLayouts(t, ctx, s, layoutPages("west-texas", false), "-applied")
	})
}

// layoutPages are the pages of a server whose site is site; demo says whether the
// server runs the demo, whose agent reports the site's devices and meter.
func layoutPages(site string, demo bool) []layoutPage {
	overview := `document.getElementById("t-btc-sub").textContent && (e => e && e.textContent !== "—")(document.querySelector(".site-card [data-k=plan-at]"))`
	sitePage := `document.getElementById("power-meta").textContent && document.getElementById("devices-meta").textContent &&
		document.querySelectorAll("#audit tbody tr").length > 0 && (document.getElementById("nm-better").textContent || document.getElementById("status").textContent)`
	tenant := `document.getElementById("credit").textContent.startsWith("$") && document.querySelectorAll("#leases tbody tr").length > 0 &&
		document.querySelectorAll("#orders tbody tr").length > 0 && document.querySelectorAll("#invoice-lines tbody tr").length > 0`
	// The example's fleets and the demo's name an owner, northwind-capital.
	owner := `document.getElementById("balance").textContent.startsWith("$") && ` + rowsOf("#servers") + ` > 0 &&
		document.querySelectorAll("#days tbody tr").length > 0 && document.querySelectorAll("#statement-lines tbody tr").length > 0`
	if demo {
		// The demo's agent reads a site meter, which the card shows on its own line.
		overview += ` && /MW/.test(document.querySelector(".site-card [data-k=metered]").textContent)`
		sitePage += ` && /Site meter:/.test(document.getElementById("devices-meta").textContent) && ` + rowsOf("#devices") + ` > 0`
		tenant += ` && ` + rowsOf("#leases") + ` > 0`
	}
	return []layoutPage{
		{name: "overview", path: "/", loaded: overview},
		{name: "site", path: "/sites/" + site, loaded: sitePage},
		{name: "economics", path: "/economics", loaded: `document.getElementById("econ-hashprice") && document.querySelectorAll("#cmp-result tbody tr").length > 0 &&
			document.querySelector("#plan-form select[name=site]").value`, prepare: runReports(demo)},
		{name: "market", path: "/market", loaded: `document.getElementById("product-meta").textContent && document.getElementById("book-meta").textContent &&
			document.querySelectorAll("#fills tbody tr").length > 0 && document.querySelectorAll("#my-leases tbody tr").length > 0`},
		{name: "tenant", path: "/tenant", loaded: tenant},
		{name: "owner", path: "/owner", loaded: owner},
		{name: "notfound", path: "/sites/no-such-site", loaded: `document.querySelector("main h1").textContent.includes("no-such-site")`},
	}
}

// runReports runs the Economics page's backtest and plan, so that their tables and
// charts are in the layout. The server keeps a report it ran, so the same query at
// the next width is answered at once. A demo backtests the week before its clock; the
// applied site a week of the month the form starts on.
func runReports(demo bool) func(t *testing.T, ctx context.Context) {
	return func(t *testing.T, ctx context.Context) {
		t.Helper()
		steps := []chromedp.Action[chromedp.Void]{}
		if demo {
			waitFor[string](t, ctx, loadTimeout, "the backtest's dates in the demo's history", `(v => v.startsWith("2024-") ? v : "")(document.querySelector("#bt-form input[name=from]").value)`)
		} else {
			steps = append(steps,
				chromedp.SetValue(chromedp.CSS(`#bt-form input[name=from]`), "2023-01-01"),
				chromedp.SetValue(chromedp.CSS(`#bt-form input[name=to]`), "2023-01-07"))
		}
		// One after the other: the backtest's result moves the plan's form down the
		// page, and a click must not land where the button was.
		steps = append(steps, chromedp.Click(chromedp.CSS(`#bt-form button[type=submit]`)))
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("run the backtest: %v", err)
		}
		if got := waitFor[string](t, ctx, reportTimeout, "the backtest's table and charts", reportShown("bt", 3)); got != "ok" {
			t.Fatalf("backtest: %s", got)
		}
		settle(t, ctx)
		if err := chromedp.Do(ctx,
			chromedp.SetValue(chromedp.CSS(`#plan-form input[name=paths]`), "100"),
			chromedp.Click(chromedp.CSS(`#plan-form button[type=submit]`)),
		); err != nil {
			t.Fatalf("run the plan: %v", err)
		}
		if got := waitFor[string](t, ctx, reportTimeout, "the plan's quantiles and charts", reportShown("plan", 2)); got != "ok" {
			t.Fatalf("plan: %s", got)
		}
	}
}

// checkLayouts opens each page at each width, waits for its data, saves a screenshot
// PAGE-WIDTH+suffix.png and fails on every layout problem the page has.
func checkLayouts(t *testing.T, ctx context.Context, s *server, pages []layoutPage, suffix string) {
	t.Helper()
	for _, p := range pages {
		for _, w := range layoutWidths {
			name := fmt.Sprintf("%s-%d%s", p.name, w.width, suffix)
			if err := chromedp.Do(ctx, chromedp.EmulateViewport(w.width, w.height)); err != nil {
				t.Fatalf("%s: set the viewport: %v", name, err)
			}
			open(t, ctx, s, p.path)
			waitFor[bool](t, ctx, loadTimeout, p.name+"'s data at "+fmt.Sprint(w.width)+" px", "!!("+p.loaded+")")
			if p.prepare != nil {
				p.prepare(t, ctx)
			}
			settle(t, ctx)
			screenshot(t, ctx, name)
			for _, problem := range layoutProblems(t, ctx) {
				t.Errorf("%s at %d px: %s", p.name, w.width, problem)
			}
		}
	}
	// The next test's pages open at the browser's usual size.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1366, 900)); err != nil {
		t.Fatal(err)
	}
}

// settle waits until the page has laid out and painted what it last changed: two
// animation frames.
func settle(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatalf("wait for the page to paint: %v", err)
	}
}

// layoutProblems evaluates layoutCheck in the page.
func layoutProblems(t *testing.T, ctx context.Context) []string {
	t.Helper()
	problems := eval[[]string](t, ctx, layoutCheck)
	if len(problems) > 0 {
		t.Logf("%d layout problems", len(problems))
	}
	return problems
}

// layoutCheck is a JavaScript expression that lists what is wrong with the page's
// layout as it is drawn now:
//
//   - two visible texts (text nodes, or form controls) whose boxes overlap by more than
//     a pixel each way, one line box at a time, so that a paragraph's lines are not one
//     box; texts inside one another (a control and its own text) are not compared;
//   - a text that runs out of its card (.card, .panel, .ticker);
//   - an element whose right edge passes the right edge of the viewport
//     (document.documentElement.clientWidth), and a page wider than its viewport.
//
// Boxes are clipped by every ancestor that clips (overflow other than visible), so
// that what a table's own scroll box hides, or a visually hidden heading, does not
// count. Each problem names the texts and the card they are in.
const layoutCheck = `(() => {
	const slack = 1; // px: a shared edge or a rounding is not an overlap
	const vw = document.documentElement.clientWidth;
	const problems = [];
	const shown = (el) => el.checkVisibility({ opacityProperty: true, visibilityProperty: true });
	const short = (s) => { s = s.replace(/\s+/g, " ").trim(); return s.length > 60 ? s.slice(0, 57) + "…" : s; };
	const card = (el) => el.closest(".card, .panel, .ticker, .empty");
	const where = (el) => {
		const c = el.closest(".card, .panel, .ticker, .empty, section, header, main");
		if (!c) return "the page";
		const label = c.getAttribute("aria-label") || (c.querySelector("h1, h2, .label") || {}).textContent || c.className || c.tagName.toLowerCase();
		return (c.matches(".card, .panel, .ticker") ? "card " : "") + JSON.stringify(short(label));
	};
	// clip intersects a rectangle with the boxes of from and its ancestors that clip.
	const clip = (from, r) => {
		let { left, top, right, bottom } = r;
		for (let a = from; a && a !== document.documentElement && a !== document.body; a = a.parentElement) {
			const s = getComputedStyle(a);
			if (s.overflowX === "visible" && s.overflowY === "visible") continue;
			const b = a.getBoundingClientRect();
			if (s.overflowX !== "visible") { left = Math.max(left, b.left); right = Math.min(right, b.right); }
			if (s.overflowY !== "visible") { top = Math.max(top, b.top); bottom = Math.min(bottom, b.bottom); }
		}
		return right - left > slack && bottom - top > slack ? { left, top, right, bottom } : null;
	};

	// Every visible text: its node, the element it is in, its text and its line boxes.
	const texts = [];
	const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
	for (let n = walker.nextNode(); n; n = walker.nextNode()) {
		const el = n.parentElement;
		if (!el || el.closest("script, style, template, select, textarea") || !shown(el)) continue;
		const s = n.textContent;
		const first = s.search(/\S/);
		if (first < 0) continue;
		const range = document.createRange();
		range.setStart(n, first);
		range.setEnd(n, s.length - (s.length - s.trimEnd().length));
		const rects = [...range.getClientRects()].map((r) => clip(el, r)).filter(Boolean);
		if (rects.length) texts.push({ node: n, el, text: short(s), rects });
	}
	for (const el of document.body.querySelectorAll("input:not([type=hidden]):not([type=radio]):not([type=checkbox]), select, textarea")) {
		if (!shown(el)) continue;
		const r = clip(el.parentElement, el.getBoundingClientRect());
		if (r) texts.push({ node: el, el, text: short("[" + (el.name || el.id || el.tagName.toLowerCase()) + ": " + (el.value || el.placeholder || "") + "]"), rects: [r] });
	}

	const overlap = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > slack && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > slack;
	for (let i = 0; i < texts.length; i++) {
		for (let j = i + 1; j < texts.length; j++) {
			const a = texts[i], b = texts[j];
			if (a.node.contains(b.node) || b.node.contains(a.node)) continue;
			if (a.rects.some((ra) => b.rects.some((rb) => overlap(ra, rb)))) {
				problems.push(JSON.stringify(a.text) + " overlaps " + JSON.stringify(b.text) + " in " + where(a.el));
			}
		}
	}
	for (const t of texts) {
		const c = card(t.el);
		if (!c) continue;
		const b = c.getBoundingClientRect();
		if (t.rects.some((r) => r.left < b.left - slack || r.right > b.right + slack || r.top < b.top - slack || r.bottom > b.bottom + slack)) {
			problems.push(JSON.stringify(t.text) + " runs out of its " + where(t.el));
		}
	}

	// Horizontal overflow: report the outermost element that passes the edge.
	const over = new Set();
	for (const el of document.body.querySelectorAll("*")) {
		if (!shown(el)) continue;
		const r = clip(el.parentElement, el.getBoundingClientRect());
		if (!r || r.right <= vw + slack) continue;
		over.add(el);
		if (el.parentElement && over.has(el.parentElement)) continue;
		const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.classList.length ? "." + [...el.classList].join(".") : "");
		problems.push(name + " (" + JSON.stringify(short(el.textContent || "")) + ") in " + where(el) + " ends at " + Math.round(r.right) + " px, past the viewport's " + vw + " px");
	}
	const sw = document.documentElement.scrollWidth;
	if (sw > vw + slack) problems.push("the page is " + sw + " px wide in a " + vw + " px viewport: it scrolls sideways");
	return problems;
})()`
