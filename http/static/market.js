// Market: a product's book by hour slot, its fills and their prices, and an order form
// that buys GPU time as the chosen tenant and shows the leases it got.
"use strict";

(() => {
  const { $, el, fmt, setText, api } = Joule;
  const BOOK_HOURS = 48;

  const KIND_HINTS = {
    on_demand: "Firm GPUs from now until you stop them (or for the hours given): it fills at once or is rejected.",
    reserved: "A block of hours from its start, all GPUs or none; its most cost is held from credit while it rests.",
    spot: "Leftover GPUs from when it fills, until stopped; a firm order may take them back after notice.",
  };

  let product = "";
  const fills = new Map(); // every fill seen, by its content

  const book = Joule.chart($("book-chart"), {
    type: "bar",
    data: {
      labels: [],
      datasets: [
        { label: "Leased, firm", data: [], stack: "gpus", backgroundColor: Joule.color("firm") },
        { label: "Leased, spot", data: [], stack: "gpus", backgroundColor: Joule.color("interruptible") },
        { label: "Resold", data: [], stack: "gpus", backgroundColor: Joule.color("open") },
        { label: "Free", data: [], stack: "gpus", backgroundColor: "#d5dbe3" },
        { label: "Resting bids", data: [], stack: "bids", backgroundColor: Joule.color("mining") },
      ],
    },
    options: {
      scales: {
        x: { stacked: true, ticks: { maxTicksLimit: 12, autoSkip: true }, grid: { display: false } },
        y: { stacked: true, beginAtZero: true, title: { display: true, text: "GPUs" }, grid: { color: "#eef0f3" } },
      },
      plugins: { legend: { position: "bottom" } },
    },
  });

  const prices = Joule.chart($("price-chart"), {
    type: "line",
    data: { datasets: [{ label: "Fill price", data: [], borderColor: Joule.color("firm"), backgroundColor: Joule.color("firm"), pointRadius: 3, borderWidth: 1.5 }] },
    options: {
      parsing: false,
      scales: {
        x: Joule.timeAxis(),
        y: { beginAtZero: false, title: { display: true, text: "$/GPU-hour" }, grid: { color: "#eef0f3" } },
      },
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { title: (items) => (items.length ? fmt.time(items[0].parsed.x) : ""), label: (i) => fmt.usdPerGPUHour(i.parsed.y) } },
      },
    },
  });

  // bookPath is a product's book endpoint; a product ID has a slash, kept as one.
  const bookPath = (id) => "/api/v1/book/" + id.split("/").map(encodeURIComponent).join("/");

  // loadProducts fills the product picker; without a token it says one is needed and
  // returns false.
  async function loadProducts() {
    const token = Joule.readToken();
    if (!token) {
      Joule.status("status", "The market needs a token: enter one under API token in the header.", true);
      return false;
    }
    const r = await api("/api/v1/products", { token });
    const list = r.products || [];
    const sel = $("product");
    sel.replaceChildren(...list.map((p) => el("option", { value: p.id, text: p.id })));
    const saved = Joule.store.get("product");
    product = list.some((p) => p.id === saved) ? saved : list.length ? list[0].id : "";
    sel.value = product;
    if (!list.length) Joule.status("status", "The exchange lists no products yet: declare GPU servers in a site's manifest.", true);
    return true;
  }

  // capTermsText says how the product's spot and curtailable leases may be capped.
  function capTermsText(c) {
    if (!c || !(c.cap_frac > 0)) return "Spot and curtailable leases are never capped, only stopped.";
    return `Spot and curtailable leases may be capped to ${Math.round(c.cap_frac * 100)}% of power, billed at ${c.capped_price_bps / 100}% while capped.`;
  }

  async function pollBook() {
    const token = Joule.readToken();
    if (!token) return;
    if (!product) throw new Error("the exchange lists no products yet: declare GPU servers in a site's manifest");
    const b = await api(bookPath(product) + Joule.query({ hours: BOOK_HOURS }), { token });
    setText("product-meta", `${fmt.num(b.capacity_gpus)} GPUs listed, ${b.product.gpus_per_node} per server`);
    const terms = ((await api("/api/v1/cap-terms", { token })).cap_terms || []).find((c) => c.product === product);
    setText("cap-terms", capTermsText(terms));
    const slots = b.slots || [];
    if (book) {
      book.data.labels = slots.map((s) => {
        const ms = Date.parse(s.start);
        return fmt.hhmm(ms) === "00:00" ? fmt.day(ms).slice(5) : fmt.hhmm(ms);
      });
      const d = book.data.datasets;
      d[0].data = slots.map((s) => s.leased_gpus - s.interruptible_gpus);
      d[1].data = slots.map((s) => s.interruptible_gpus);
      d[2].data = slots.map((s) => s.resold_gpus);
      d[3].data = slots.map((s) => s.free_gpus);
      d[4].data = slots.map((s) => (s.bids || []).reduce((n, l) => n + l.gpus, 0));
      book.update("none");
    }
    const first = slots[0];
    setText(
      "book-meta",
      first
        ? `This hour (${fmt.time(first.start)}): ${fmt.num(first.free_gpus)} of ${fmt.num(first.capacity_gpus + first.resale_gpus)} GPUs free` +
            (first.best_ask_micro_usd_per_gpu_hour ? `, best ask ${fmt.microPerGPUHour(first.best_ask_micro_usd_per_gpu_hour)}` : "") +
            (first.clearing_price_micro_usd_per_gpu_hour ? `, last cleared at ${fmt.microPerGPUHour(first.clearing_price_micro_usd_per_gpu_hour)}` : "") +
            "."
        : "",
    );
    for (const f of b.recent_fills || []) fills.set([f.at, f.start, f.end, f.gpus, f.price_micro_usd_per_gpu_hour].join("|"), f);
    let all = [...fills.values()].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
    // A page left open keeps the newest fills only.
    for (const f of all.slice(0, Math.max(0, all.length - 500))) fills.delete([f.at, f.start, f.end, f.gpus, f.price_micro_usd_per_gpu_hour].join("|"));
    all = all.slice(-500);
    if (prices) {
      const points = all.map((f) => ({ x: Date.parse(f.at), y: f.price_micro_usd_per_gpu_hour / 1e6 }));
      prices.data.datasets[0].data = points;
      // One fill, or several at one moment, would leave the time axis no span: give it an hour each side.
      const x = prices.options.scales.x;
      const single = points.length > 0 && points[0].x === points[points.length - 1].x;
      x.min = single ? points[0].x - 3600e3 : undefined;
      x.max = single ? points[0].x + 3600e3 : undefined;
      prices.update("none");
    }
    Joule.rows(
      $("fills").tBodies[0],
      all.slice(-50).reverse(),
      (f) =>
        el(
          "tr",
          {},
          el("td", { class: "time", text: fmt.short(f.at) }),
          el("td", { class: "n", text: fmt.num(f.gpus) }),
          el("td", { class: "time", text: `${fmt.short(f.start)} → ${fmt.short(f.end)}` }),
          el("td", { class: "n", text: fmt.micro(f.price_micro_usd_per_gpu_hour) }),
        ),
      "No fills yet.",
    );
  }

  async function pollLeases() {
    const who = Joule.tenantAuth();
    if (!who) {
      setText("leases-who", "Choose a tenant in the header to see its leases.");
      Joule.rows($("my-leases").tBodies[0], [], null, "No tenant chosen.");
      return;
    }
    setText("leases-who", `Leases of ${who.name || who.id}, newest first.`);
    const r = await api("/api/v1/leases" + Joule.query({ tenant: who.id, limit: 20 }), { token: who.token });
    Joule.rows($("my-leases").tBodies[0], r.leases || [], (l) => Joule.leaseRow(l), "No leases yet: place an order.");
  }

  // --- The order form ---

  const kind = () => document.querySelector('input[name="kind"]:checked').value;

  // nextHour is the start of the server's next hour, as a datetime-local value in UTC.
  function nextHour() {
    const ms = Math.ceil(Joule.now() / 3600e3) * 3600e3;
    return new Date(ms).toISOString().slice(0, 16);
  }

  function showKind() {
    const k = kind();
    setText("kind-hint", KIND_HINTS[k]);
    const reserved = k === "reserved";
    $("o-start").disabled = !reserved;
    $("o-start").required = reserved;
    $("o-start-label").hidden = !reserved;
    $("o-hours").required = reserved;
    $("o-hours").placeholder = reserved ? "" : "until stopped";
    if (reserved && !$("o-start").value) $("o-start").value = nextHour();
    if (reserved && !$("o-hours").value) $("o-hours").value = "4";
  }

  // idempotencyKey is a fresh random key for one submission.
  function idempotencyKey() {
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return "web-" + [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  }

  // orderBody reads the form into the body of POST /api/v1/orders, or throws what is wrong.
  function orderBody(who) {
    const k = kind();
    const gpus = Number($("o-gpus").value);
    const limit = Number($("o-limit").value);
    const hours = $("o-hours").value === "" ? 0 : Number($("o-hours").value);
    if (!product) throw new Error("Choose a product.");
    if (!Number.isInteger(gpus) || gpus < 1) throw new Error("GPUs must be a whole number, at least 1.");
    if (!(limit > 0)) throw new Error("The limit must be a positive price in $/GPU-hour.");
    if (!Number.isInteger(hours) || hours < 0) throw new Error("Hours must be a whole number.");
    const body = { product, kind: k, gpus, limit_micro_usd_per_gpu_hour: Math.round(limit * 1e6) };
    if (who.account) body.account = who.account;
    if (k === "reserved") {
      const start = Date.parse($("o-start").value + ":00Z");
      if (Number.isNaN(start) || start % 3600e3 !== 0) throw new Error("The start must be on the hour (UTC).");
      if (hours < 1) throw new Error("A reserved block needs its hours.");
      body.start = new Date(start).toISOString().replace(".000Z", "Z");
      body.end = new Date(start + hours * 3600e3).toISOString().replace(".000Z", "Z");
    } else if (hours > 0) {
      // It stops at the hour boundary at least that many hours from now.
      const end = Math.ceil((Joule.now() + hours * 3600e3) / 3600e3) * 3600e3;
      body.end = new Date(end).toISOString().replace(".000Z", "Z");
    }
    return body;
  }

  function showResult(res) {
    const o = res.order;
    const leases = res.leases || [];
    const ok = o.status === "filled" || o.status === "partially_filled" || o.status === "open";
    $("order-result").replaceChildren(
      el(
        "p",
        { class: ok ? "" : "error" },
        "Order ",
        el("code", { text: o.id }),
        `: ${o.status.replace("_", " ")}`,
        o.filled_gpus ? `, ${o.filled_gpus} of ${o.gpus} GPUs leased` : "",
        res.replayed ? " (submitted before)" : "",
        ".",
      ),
      leases.length
        ? el(
            "ul",
            { class: "problems" },
            leases.map((l) =>
              el("li", {}, "Lease ", el("code", { text: l.id }), `: ${l.gpus} GPUs ${l.class} from ${fmt.time(l.start)}`, l.open_ended ? " until stopped" : ` to ${fmt.time(l.end)}`, ` at ${fmt.microPerGPUHour(l.price_micro_usd_per_gpu_hour)}`),
            ),
          )
        : "",
    );
  }

  async function submitOrder(e) {
    e.preventDefault();
    const who = Joule.tenantAuth();
    const out = $("order-result");
    if (!who) {
      out.replaceChildren(el("p", { class: "error", text: "Choose the tenant to order as in the header first." }));
      return;
    }
    let body;
    try {
      body = orderBody(who);
    } catch (err) {
      out.replaceChildren(el("p", { class: "error", text: err.message }));
      return;
    }
    const msg = el("p", {});
    out.replaceChildren(msg);
    await Joule.busy($("order-form"), msg, "Placing the order…", async () => {
      const res = await api("/api/v1/orders", { method: "POST", token: who.token, body, headers: { "Idempotency-Key": idempotencyKey() } });
      showResult(res);
      await Promise.all([pollLeases(), pollBook()]);
    });
  }

  function showWho() {
    const who = Joule.tenantAuth();
    setText("order-who", who ? `Ordering as tenant ${who.name || who.id}${who.account ? " (the operator on its behalf)" : ""}.` : "Choose a tenant in the header to order as it.");
  }

  for (const r of document.querySelectorAll('input[name="kind"]')) r.addEventListener("change", showKind);
  $("order-form").addEventListener("submit", submitOrder);
  $("product").addEventListener("change", (e) => {
    product = e.target.value;
    Joule.store.set("product", product);
    fills.clear();
    pollBook();
  });
  showKind();

  let started = false;
  Joule.onSession(async () => {
    showWho();
    try {
      if (!(await loadProducts())) return;
    } catch (err) {
      Joule.status("status", "Cannot list products: " + err.message, true);
      return;
    }
    if (started) {
      pollLeases().catch(() => {});
      return;
    }
    started = true;
    Joule.pollParts("status", [
      [pollBook, "the book"],
      [pollLeases, "leases"],
    ]);
  });
})();
