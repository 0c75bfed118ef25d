// Tenant: the chosen tenant's credit, leases, open orders, usage and this month's
// invoice.
"use strict";

(() => {
  const { $, el, fmt, setText, api } = Joule;

  // month is the server's current month, YYYY-MM (a demo's clock is in the past).
  const month = () => new Date(Joule.now()).toISOString().slice(0, 7);

  // leaseRow adds the GPU-hours a lease has used so far to the common row.
  function leaseRow(l, nowMs) {
    const start = Date.parse(l.start);
    const end = l.open_ended ? nowMs : Math.min(nowMs, Date.parse(l.end));
    const hours = Math.max(0, (end - start) / 3600e3) * l.gpus;
    return Joule.leaseRow(l, el("td", { class: "n", text: fmt.num(hours, 1) }));
  }


  async function pollLeases() {
    const who = Joule.tenantAuth();
    if (!who) return;
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
      pollLeases().catch(() => {});
      pollOrders().catch(() => {});
      pollInvoice().catch(() => {});
      return;
    }
    started = true;
    Joule.pollParts("status", [
      [pollLeases, "leases"],
      [pollOrders, "open orders"],
      [pollInvoice, "the invoice"],
    ]);
  });
})();
