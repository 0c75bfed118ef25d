// Overview: every site's power now by use, its money rates and plan, and the markets.
"use strict";

(() => {
  const { $, el, fmt, setText } = Joule;

  // USES are the parts of a plan's power, in the order the bar stacks them. Curtailed
  // power is not drawn: it is load that could have run.
  const USES = [
    { key: "firm_gpu_w", cls: "firm", label: "Firm GPU" },
    { key: "interruptible_gpu_w", cls: "interruptible", label: "Interruptible GPU" },
    { key: "open_gpu_w", cls: "open", label: "Open-market GPU" },
    { key: "mining_w", cls: "mining", label: "Mining" },
    { key: "idle_w", cls: "idle", label: "Idle" },
    { key: "curtailed_w", cls: "curtailed", label: "Curtailed" },
    { key: "shed_firm_w", cls: "shed", label: "Firm shed", onlyWhenSet: true },
  ];

  const cards = new Map(); // site name → its card's live elements

  function card(name) {
    let c = cards.get(name);
    if (c) return c;
    c = { uses: {} };
    const href = "/sites/" + encodeURIComponent(name);
    c.reason = el("span", { class: "pill" });
    c.draw = el("span", { class: "big", "data-k": "draw" });
    c.cap = el("span", { "data-k": "cap" });
    c.bar = el("div", { class: "stackbar", role: "img" });
    c.segs = {};
    for (const u of USES) {
      c.segs[u.cls] = el("span", { class: "seg " + u.cls });
      c.bar.append(c.segs[u.cls]);
    }
    c.capMark = el("span", { class: "cap", title: "cap" });
    c.bar.append(c.capMark);
    const uses = el("dl", { class: "uses" });
    for (const u of USES) {
      c.uses[u.key] = el("dd", { "data-use": u.cls });
      const row = el("div", {}, el("dt", {}, el("span", { class: "sw " + u.cls, "aria-hidden": "true" }), u.label), c.uses[u.key]);
      if (u.onlyWhenSet) row.hidden = true;
      c.uses[u.key].row = row;
      uses.append(row);
    }
    c.revenue = el("dd", { "data-k": "revenue" });
    c.cost = el("dd", { "data-k": "cost" });
    c.energy = el("dd", { "data-k": "energy" });
    c.measured = el("dd", { "data-k": "measured" });
    c.metered = el("dd", { "data-k": "metered" });
    c.planAt = el("dd", { "data-k": "plan-at" });
    c.margin = el("dd", { "data-k": "margin" });
    c.root = el(
      "article",
      { class: "card site-card", "data-site": name, "aria-label": "Site " + name },
      el("header", {}, el("h2", {}, el("a", { href }, name)), c.reason),
      el("p", { class: "headline" }, c.draw, " planned of a ", c.cap, " cap"),
      c.bar,
      uses,
      el(
        "dl",
        { class: "facts" },
        el("div", {}, el("dt", {}, "Revenue"), c.revenue),
        el("div", {}, el("dt", {}, "Energy cost"), c.cost),
        el("div", {}, el("dt", {}, "Margin"), c.margin),
        el("div", {}, el("dt", {}, "Energy price"), c.energy),
        el("div", {}, el("dt", {}, "Planned at"), c.planAt),
        // What the plan expects, what the devices report and what the site meter
        // reads are three figures: each has its own line.
        el("div", { class: "wide" }, el("dt", {}, "Devices report"), c.measured),
        el("div", { class: "wide" }, el("dt", {}, "Site meter"), c.metered),
      ),
    );
    cards.set(name, c);
    $("sites").append(c.root);
    return c;
  }

  function updateCard(s) {
    const c = card(s.name);
    const p = s.plan;
    const use = (p && p.use) || {};
    const cap = (p && p.cap_w) || s.cap_w;
    setText(c.cap, fmt.mw(cap, 1));
    setText(c.draw, p ? fmt.mw(p.draw_w) : "no plan yet");
    setText(c.reason, p ? p.reason : "waiting for the first plan");
    c.reason.className = "pill " + reasonClass(p && p.reason);
    const scale = Math.max(cap, (p ? p.draw_w : 0) + (use.curtailed_w || 0), 1);
    const parts = [];
    for (const u of USES) {
      const w = use[u.key] || 0;
      c.segs[u.cls].style.width = ((100 * w) / scale).toFixed(2) + "%";
      setText(c.uses[u.key], p ? fmt.mw(w) : "—");
      if (u.onlyWhenSet) c.uses[u.key].row.hidden = !(w > 0);
      if (w > 0) parts.push(`${u.label} ${fmt.mw(w)}`);
    }
    c.capMark.style.left = `calc(${((100 * cap) / scale).toFixed(2)}% - 1px)`;
    c.bar.setAttribute("aria-label", `Power by use: ${parts.join(", ") || "none"}; cap ${fmt.mw(cap, 1)}`);
    setText(c.revenue, p ? fmt.usdPerHour(p.revenue_usd_per_hour) : "—");
    setText(c.cost, p ? fmt.usdPerHour(p.energy_usd_per_hour) : "—");
    setText(c.margin, p ? fmt.usdPerHour(p.revenue_usd_per_hour - p.energy_usd_per_hour) : "—");
    setText(c.energy, Joule.price(fmt.usdPerMWh, s.energy_usd_per_mwh, s.energy_fresh) + (s.energy_fresh === false && s.energy_usd_per_mwh ? " (stale)" : ""));
    setText(c.measured, s.measured_w != null ? `${fmt.mw(s.measured_w)} at ${fmt.hhmm(Date.parse(s.measured_at))}` : "no agent report");
    setText(c.metered, s.metered_w != null ? fmt.mw(s.metered_w) + (s.meter_mismatch ? " (does not match the devices' telemetry)" : "") : "no meter");
    setText(c.planAt, p ? fmt.hhmm(Date.parse(p.at)) + " UTC" : "—");
  }

  // reasonClass colours a plan's reason: a safe state or an event stands out.
  function reasonClass(reason) {
    if (!reason) return "";
    if (/stale/i.test(reason)) return "alert";
    if (/demand|spike|cap/i.test(reason)) return "warn";
    return "ok";
  }

  function tickers(ov) {
    const m = ov.market || {};
    setText("t-btc", m.btc_usd ? fmt.usd(m.btc_usd, 0) : "—");
    setText("t-btc-sub", m.btc_usd ? (m.btc_fresh ? "USD per BTC" : "stale feed") : "no feed");
    setText("t-hashprice", m.hashprice_usd_per_ph_day ? fmt.usdPerPHDay(m.hashprice_usd_per_ph_day) : "—");
    setText("t-hashprice-sub", m.hashprice_usd_per_ph_day ? (m.hashprice_fresh ? "net of pool fee" : "stale feed") : "no feed");
    setText("t-gpu", m.gpu_usd_per_gpu_hour ? fmt.usdPerGPUHour(m.gpu_usd_per_gpu_hour) : "no fills yet");
    setText("t-gpu-sub", m.gpu_product || "");
    const box = $("t-energy");
    const want = (ov.sites || []).map((s) => s.name).join("\n");
    if (box.dataset.sites !== want) {
      box.dataset.sites = want;
      box.replaceChildren(
        ...(ov.sites || []).map((s) =>
          el(
            "div",
            { class: "ticker", "data-site": s.name },
            el("span", { class: "label", text: "Energy, " + s.name }),
            el("span", { class: "value" }),
            el("span", { class: "sub" }),
          ),
        ),
      );
    }
    for (const s of ov.sites || []) {
      const t = box.querySelector(`[data-site="${CSS.escape(s.name)}"]`);
      setText(t.querySelector(".value"), Joule.price(fmt.usdPerMWh, s.energy_usd_per_mwh, s.energy_fresh));
      setText(t.querySelector(".sub"), s.energy_fresh ? "price now" : s.energy_usd_per_mwh ? "stale feed" : "no feed");
    }
  }

  Joule.onOverview((ov, err) => {
    if (err) {
      Joule.status("status", "Cannot read the overview: " + err.message, true);
      return;
    }
    Joule.status("status", "");
    tickers(ov);
    const sites = ov.sites || [];
    $("empty").hidden = sites.length > 0;
    for (const s of sites) updateCard(s);
    for (const [name, c] of cards) {
      if (!sites.some((s) => s.name === name)) {
        c.root.remove();
        cards.delete(name);
      }
    }
  });
})();
