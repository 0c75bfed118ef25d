// Tenant: the chosen tenant's credit, leases, open orders, spend and this month's
// invoice; stopping a lease, cancelling an order and reselling hours, each confirmed.
"use strict";

(() => {
  const { $, el, fmt, setText, api } = Joule;

  // month is the server's current month, YYYY-MM (a demo's clock is in the past).
  const month = () => new Date(Joule.now()).toISOString().slice(0, 7);

  // billed is this month's invoice: what each lease was billed, and the usage lines.
  let billed = new Map();
  let usageLines = [];
  // accessRoute says whether the server answers GET /api/v1/leases/{id}/access (read
  // from its OpenAPI document once); null until known.
  let accessRoute = null;

  // leaseRow adds the GPU-hours a lease has used so far, what it was billed this month
  // and the actions it takes to the common row.
  function leaseRow(l, nowMs) {
    const start = Date.parse(l.start);
    const end = l.open_ended ? nowMs : Math.min(nowMs, Date.parse(l.end));
    const hours = Math.max(0, (end - start) / 3600e3) * l.gpus;
    const paid = billed.get(l.id) || 0;
    const row = Joule.leaseRow(
      l,
      el("td", { class: "n", text: fmt.num(hours, 1) }),
      el("td", { class: "n", text: paid ? fmt.micro(paid) : "—" }),
      el("td", { class: "n", text: paid && l.price_micro_usd_per_gpu_hour ? fmt.num(paid / l.price_micro_usd_per_gpu_hour, 1) : "—" }),
    );
    const status = row.lastElementChild;
    if (l.notice_at) status.append(el("div", { class: "sub", text: `notice given ${fmt.short(l.notice_at)}` + (l.notice_sec ? `, ${fmt.num(l.notice_sec)} s ahead` : "") }));
    if (l.usage !== undefined && l.usage !== null) status.append(el("div", { class: "sub", text: "usage: " + usageText(l.usage) }));
    row.append(el("td", { class: "actions" }, ...leaseActions(l, nowMs)));
    return row;
  }

  // usageText shows a lease's usage field, whatever its shape, without inventing one.
  function usageText(u) {
    if (typeof u !== "object") return String(u);
    return Object.entries(u)
      .map(([k, v]) => `${k.replaceAll("_", " ")} ${typeof v === "number" ? fmt.num(v, 1) : v}`)
      .join(", ");
  }

  // leaseActions are the buttons of a lease: stop a running on-demand or spot lease,
  // resell future hours of a reserved one, and read its access where the server has it.
  function leaseActions(l, nowMs) {
    const out = [];
    const live = l.status !== "ended" && (l.open_ended || Date.parse(l.end) > nowMs);
    if (live && l.open_ended) out.push(el("button", { type: "button", class: "quiet", "data-act": "stop", onclick: () => askStop(l) }, "Stop"));
    if (live && !l.open_ended && Date.parse(l.end) > nextHour(nowMs)) {
      out.push(el("button", { type: "button", class: "quiet", "data-act": "resell", onclick: () => askResell(l, nowMs) }, "Resell hours"));
    }
    if (accessRoute) out.push(el("button", { type: "button", class: "quiet", "data-act": "access", onclick: () => showAccess(l) }, "Access"));
    return out;
  }

  const nextHour = (ms) => Math.ceil(ms / 3600e3) * 3600e3;
  // local is a time as a datetime-local input shows it, in UTC; utc reads one back.
  const local = (ms) => new Date(ms).toISOString().slice(0, 16);
  const utc = (v) => (v ? new Date(v + ":00Z").toISOString() : "");

  // --- Confirmed actions ---

  // pending is the action the panel asks to confirm: a function that calls the API
  // and returns what to say once it is done.
  let pending = null;

  function ask(title, what, resell, run) {
    pending = run;
    setText("act-h", title);
    setText("act-what", what);
    $("resell-fields").hidden = !resell;
    Joule.status("act-status", "");
    $("act").hidden = false;
    $("act-confirm").focus();
  }

  function closeAsk() {
    pending = null;
    $("act").hidden = true;
  }

  function askStop(l) {
    ask(
      `Stop lease ${l.id}?`,
      `Its ${fmt.num(l.gpus)} GPUs of ${l.product} stop now and it is billed to this moment; the hour it stops in stays held to its end.`,
      false,
      async (who) => {
        const stopped = await api(`/api/v1/leases/${encodeURIComponent(l.id)}/stop`, { method: "POST", token: who.token });
        return `Lease ${stopped.id} stopped at ${fmt.time(stopped.end)}.`;
      },
    );
  }

  function askCancel(o) {
    ask(`Cancel order ${o.id}?`, `What is left of its hold goes back to credit; fills it already made stay.`, false, async (who) => {
      const c = await api(`/api/v1/orders/${encodeURIComponent(o.id)}`, { method: "DELETE", token: who.token });
      return `Order ${c.id} cancelled.`;
    });
  }

  function askResell(l, nowMs) {
    const from = Math.max(Date.parse(l.start), nextHour(nowMs));
    $("resell-from").value = local(from);
    $("resell-to").value = "";
    $("resell-gpus").value = l.gpus;
    $("resell-gpus").max = l.gpus;
    $("resell-price").value = (l.price_micro_usd_per_gpu_hour / 1e6).toFixed(2);
    const key = `resell-${l.id}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    ask(
      `Resell hours of lease ${l.id}?`,
      `Offer hours of its ${fmt.num(l.gpus)} GPUs back to the market at no less than the price below; what buyers pay, less the platform's fee, comes to your credit.`,
      true,
      async (who) => {
        const price = Number($("resell-price").value);
        const gpus = Number($("resell-gpus").value);
        if (!Number.isFinite(price) || price < 0) throw new Error("the least price must be a number of dollars, zero or more");
        const body = {
          idempotency_key: key,
          from: utc($("resell-from").value),
          gpus: Number.isInteger(gpus) && gpus > 0 ? gpus : undefined,
          limit_micro_usd_per_gpu_hour: Math.round(price * 1e6),
        };
        if ($("resell-to").value) body.to = utc($("resell-to").value);
        const r = await api(`/api/v1/leases/${encodeURIComponent(l.id)}/resell`, { method: "POST", token: who.token, body });
        const o = r.order;
        return `Resale order ${o.id}: ${fmt.num(o.gpus)} GPUs ${fmt.short(o.start)} → ${fmt.short(o.end)} at no less than ${fmt.microPerGPUHour(o.limit_micro_usd_per_gpu_hour)}, ${o.status.replace("_", " ")}.`;
      },
    );
  }

  $("act-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const who = Joule.tenantAuth();
    const run = pending;
    if (!who || !run) return;
    let done = "";
    Joule.busy(e.target, $("act-status"), "Asking the exchange…", async () => {
      done = await run(who);
    }).then(() => {
      if (!done) return; // refused: the API's error stays in the panel
      closeAsk();
      Joule.status("act-done", done);
      refresh();
    });
  });
  $("act-cancel").addEventListener("click", closeAsk);

  // showAccess reads how to reach a lease's servers, as the server says.
  async function showAccess(l) {
    const who = Joule.tenantAuth();
    if (!who) return;
    setText("access-lease", l.id);
    $("access").hidden = false;
    try {
      const a = await api(`/api/v1/leases/${encodeURIComponent(l.id)}/access`, { token: who.token });
      $("access-facts").replaceChildren(
        ...Object.entries(a || {}).map(([k, v]) =>
          el("div", {}, el("dt", { text: k.replaceAll("_", " ") }), el("dd", { text: typeof v === "object" ? JSON.stringify(v) : String(v) })),
        ),
      );
    } catch (err) {
      $("access-facts").replaceChildren(el("div", { class: "wide" }, el("dd", { class: "error", text: err.message })));
    }
  }

  // hasAccessRoute reads the server's OpenAPI document for the access route, once.
  async function hasAccessRoute() {
    if (accessRoute !== null) return accessRoute;
    try {
      const doc = await api("/api/v1/openapi.json", { token: "" });
      accessRoute = !!(doc && doc.paths && doc.paths["/api/v1/leases/{id}/access"]);
    } catch {
      accessRoute = false;
    }
    return accessRoute;
  }

  async function pollLeases() {
    const who = Joule.tenantAuth();
    if (!who) return;
    await hasAccessRoute();
    const r = await api("/api/v1/leases" + Joule.query({ tenant: who.id, limit: 50 }), { token: who.token });
    const nowMs = Joule.now();
    const leases = r.leases || [];
    Joule.rows($("leases").tBodies[0], leases, (l) => leaseRow(l, nowMs), "No leases yet: order GPU time on the Market page.");
    const running = leases.filter((l) => l.status !== "ended" && Date.parse(l.start) <= nowMs && (l.open_ended || Date.parse(l.end) > nowMs));
    setText("gpus-now", fmt.num(running.reduce((n, l) => n + l.gpus, 0)) + " GPUs");
    setText("gpus-now-sub", `in ${running.length} lease${running.length === 1 ? "" : "s"}`);
  }

  async function pollOrders() {
    const who = Joule.tenantAuth();
    if (!who) return;
    const r = await api("/api/v1/orders" + Joule.query({ account: who.id, resting: "true", limit: 50 }), { token: who.token });
    Joule.rows(
      $("orders").tBodies[0],
      r.orders || [],
      (o) =>
        el(
          "tr",
          { "data-order": o.id },
          el("td", {}, el("code", { text: o.id })),
          el("td", { text: o.kind.replace("_", " ") }),
          el("td", { text: o.product }),
          el("td", { class: "n", text: fmt.num(o.gpus) }),
          el("td", { class: "n", text: fmt.num(o.filled_gpus || 0) }),
          el("td", { text: o.start ? `${fmt.short(o.start)} → ${fmt.short(o.end)}` : o.end ? `until ${fmt.short(o.end)}` : "until stopped", class: "time" }),
          el("td", { class: "n", text: fmt.micro(o.limit_micro_usd_per_gpu_hour) }),
          el("td", { text: o.status.replace("_", " ") }),
          el("td", { class: "time", text: fmt.short(o.created_at) }),
          el("td", { class: "actions" }, el("button", { type: "button", class: "quiet", "data-act": "cancel", onclick: () => askCancel(o) }, "Cancel")),
        ),
      "No open orders.",
    );
  }

  async function pollInvoice() {
    const who = Joule.tenantAuth();
    if (!who) return;
    const m = month();
    const inv = await api(`/api/v1/invoices/${encodeURIComponent(who.id)}` + Joule.query({ month: m }), { token: who.token });
    setText("invoice-month", inv.month);
    setText("credit", fmt.micro(inv.closing_credit_micro_usd));
    setText("held", fmt.micro(inv.closing_held_micro_usd));
    setText("usage", fmt.micro(inv.usage_micro_usd));
    setText("usage-sub", `billed in ${inv.month}`);
    setText("inv-opening", fmt.micro(inv.opening_credit_micro_usd));
    setText("inv-deposits", fmt.micro(inv.deposits_micro_usd));
    setText("inv-usage", fmt.micro(inv.usage_micro_usd));
    setText("inv-resale", fmt.micro(inv.resale_micro_usd));
    setText("inv-payouts", fmt.micro(inv.payouts_micro_usd));
    setText("inv-closing", fmt.micro(inv.closing_credit_micro_usd));
    billed = new Map();
    usageLines = [];
    for (const l of inv.lines || []) {
      if (l.kind !== "usage") continue;
      usageLines.push(l);
      if (l.lease) billed.set(l.lease, (billed.get(l.lease) || 0) - l.amount_micro_usd);
    }
    drawSpend(inv.month);
    Joule.rows(
      $("invoice-lines").tBodies[0],
      (inv.lines || []).slice().reverse(),
      (l) =>
        el(
          "tr",
          {},
          el("td", { class: "time", text: fmt.short(l.at) }),
          el("td", { text: l.kind }),
          el("td", {}, l.lease ? el("code", { text: l.lease }) : ""),
          el("td", { text: l.memo }),
          el("td", { class: "n", text: fmt.micro(l.amount_micro_usd) }),
        ),
      "Nothing this month.",
    );
  }

  // The spend chart: GPU time billed per day or hour of the month, from the invoice.
  const spend = Joule.chart($("spend-chart"), {
    type: "bar",
    data: { datasets: [{ label: "GPU time billed", data: [], backgroundColor: Joule.color("firm"), maxBarThickness: 28 }] },
    options: {
      parsing: false,
      scales: {
        x: Joule.timeAxis(),
        y: { beginAtZero: true, title: { display: true, text: "$" }, grid: { color: "#eef0f3" } },
      },
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { title: (items) => (items.length ? fmt.time(items[0].parsed.x) : ""), label: (i) => fmt.usd(i.parsed.y, 2) } },
      },
    },
  });

  function drawSpend(m) {
    setText("spend-month", m ? `in ${m}, by ${$("spend-by").value}` : "");
    if (!spend) return;
    const step = $("spend-by").value === "hour" ? 3600e3 : 86400e3;
    const sums = new Map();
    for (const l of usageLines) {
      const t = Math.floor(Date.parse(l.at) / step) * step;
      sums.set(t, (sums.get(t) || 0) - l.amount_micro_usd / 1e6);
    }
    spend.data.datasets[0].data = [...sums].sort((a, b) => a[0] - b[0]).map(([x, y]) => ({ x: x + step / 2, y }));
    // The month by day; by hour, the last two days. A bar spans its day or hour.
    const x = spend.options.scales.x;
    if (step === 86400e3 && m) {
      x.min = Date.parse(m + "-01T00:00:00Z");
      const next = new Date(x.min);
      next.setUTCMonth(next.getUTCMonth() + 1);
      x.max = next.getTime();
    } else {
      x.max = Math.ceil(Joule.now() / 3600e3) * 3600e3;
      x.min = x.max - 48 * 3600e3;
    }
    spend.update();
  }
  $("spend-by").addEventListener("change", () => drawSpend(month()));

  // refresh reads everything again after an action.
  function refresh() {
    pollLeases().catch(() => {});
    pollOrders().catch(() => {});
    pollInvoice().catch(() => {});
  }

  // printInvoice opens the server's printable invoice; it needs the token, so it is
  // fetched here and shown from a blob rather than linked.
  async function printInvoice() {
    const who = Joule.tenantAuth();
    if (!who) return;
    const win = window.open("", "_blank");
    try {
      const resp = await fetch(`/api/v1/invoices/${encodeURIComponent(who.id)}` + Joule.query({ month: month(), format: "html" }), {
        headers: { Authorization: "Bearer " + who.token },
      });
      if (!resp.ok) throw new Error(resp.status + " " + resp.statusText);
      const url = URL.createObjectURL(new Blob([await resp.text()], { type: "text/html" }));
      if (win) win.location = url;
      else window.location = url;
    } catch (err) {
      if (win) win.close();
      Joule.status("status", "Cannot open the printable invoice: " + err.message, true);
    }
  }

  $("invoice-print").addEventListener("click", printInvoice);
  $("tenant-id-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const id = $("tenant-id").value.trim();
    if (id) Joule.chooseTenant(id);
  });

  let started = false;
  Joule.onSession((s) => {
    const who = Joule.tenantAuth();
    // A tenant's own token cannot list accounts, so it names its tenant here.
    $("tenant-id-form").hidden = !(s.token && !s.operator && !s.demo);
    setText("tenant-name", who ? who.name || who.id : "");
    setText("tenant-meta", who ? (who.name && who.name !== who.id ? who.id : "") : "");
    if (!who) {
      Joule.status("status", s.demo || s.token ? "Choose a tenant." : "This page needs a token: enter one under API token in the header.", true);
      return;
    }
    if (started) {
      closeAsk();
      refresh();
      return;
    }
    started = true;
    Joule.pollParts("status", [
      [pollInvoice, "the invoice"],
      [pollLeases, "leases"],
      [pollOrders, "open orders"],
    ]);
  });
})();
