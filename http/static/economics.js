// Economics: a day's hashprice and breakevens, mining against leasing on the same
// megawatts, and a site's backtest and conversion plan with their charts.
"use strict";

(() => {
  const { $, el, fmt, api } = Joule;

  // table builds a table from column headers and rows of cells; a header ending in
  // " n" is a numeric column. It scrolls sideways in its own box where the card is
  // narrower than the table (a phone).
  function table(headers, rows) {
    const cols = headers.map((h) => (h.endsWith(" n") ? { text: h.slice(0, -2), cls: "n" } : { text: h, cls: "" }));
    return el(
      "div",
      { class: "table-wrap" },
      el(
        "table",
        {},
        el("thead", {}, el("tr", {}, cols.map((c) => el("th", { class: c.cls, text: c.text })))),
        el("tbody", {}, rows.map((r) => el("tr", {}, r.map((cell, i) => el("td", { class: cols[i].cls }, cell))))),
      ),
    );
  }

  const notes = (list) => (list && list.length ? el("ul", { class: "hint" }, list.map((n) => el("li", { text: n }))) : "");

  const formValues = (form) => Object.fromEntries(new FormData(form).entries());

  // --- A day ---

  $("econ-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const v = formValues(e.target);
    Joule.busy(e.target, $("econ-status"), "Pricing the day…", async () => {
      const r = await api("/api/v1/econ" + Joule.query({ date: v.date, pool_fee: Number(v.pool_fee || 0) / 100 }));
      $("econ-result").replaceChildren(
        el(
          "dl",
          { class: "facts" },
          el("div", {}, el("dt", {}, "BTC price"), el("dd", { text: fmt.usd(r.btc_price_usd, 2) })),
          el("div", {}, el("dt", {}, "Hashprice"), el("dd", { id: "econ-hashprice", text: fmt.usdPerPHDay(r.hashprice_usd_per_ph_day) })),
          el("div", {}, el("dt", {}, "Network"), el("dd", { text: `${fmt.num(r.network_hashrate_ehs)} EH/s` })),
          el("div", {}, el("dt", {}, "Fees"), el("dd", { text: `${fmt.num(r.fees_per_block_btc, 3)} BTC/block (${fmt.pct(r.fee_share)})` })),
        ),
        el("h3", {}, "Breakeven energy price by machine"),
        table(
          ["Model", "TH/s n", "Power n", "J/TH n", "Revenue n", "Breakeven n"],
          (r.breakevens || []).map((b) => [
            b.name ? `${b.model} (${b.name})` : b.model,
            fmt.num(b.hashrate_ths),
            `${fmt.num(b.power_w)} W`,
            fmt.num(b.efficiency_j_per_th, 1),
            `${fmt.usd(b.revenue_usd_per_day, 2)}/day`,
            fmt.usdPerMWh(b.breakeven_usd_per_mwh),
          ]),
        ),
        notes(r.notes),
      );
    });
  });

  // --- Mine or lease ---

  $("cmp-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const v = formValues(e.target);
    v.utilization = Number(v.utilization) / 100;
    Joule.busy(e.target, $("cmp-status"), "Comparing…", async () => {
      const r = await api("/api/v1/compare" + Joule.query(v));
      const row = (label, f) => [label, f(r.mining), f(r.leasing)];
      $("cmp-result").replaceChildren(
        el("p", { class: "better " + (r.better === "mining" ? "mine" : "lease") }, r.better === "mining" ? "Mining earns more on these megawatts." : "Leasing earns more on these megawatts."),
        table(
          ["", "Mining n", "Leasing n"],
          [
            row("Model", (o) => o.model),
            row("Machines", (o) => fmt.num(o.units)),
            row("Revenue", (o) => `${fmt.usd(o.revenue_usd_per_day)}/day`),
            row("Energy cost", (o) => `${fmt.usd(o.energy_cost_usd_per_day)}/day`),
            row("Other opex", (o) => `${fmt.usd(o.opex_usd_per_day)}/day`),
            row("Margin", (o) => `${fmt.usd(o.margin_usd_per_day)}/day`),
            row("Value of energy", (o) => fmt.usdPerMWh(o.value_usd_per_mwh)),
            row("Capex", (o) => fmt.usd(o.capex_usd)),
            row("First revenue", (o) => (o.start_months > 0 ? `month ${fmt.num(o.start_months, 1)}` : "at once")),
            row("Payback", (o) => (o.payback_months < 0 ? "never" : `${fmt.num(o.payback_months, 1)} months`)),
            row(`NPV at ${fmt.num(r.discount_rate * 100, 1)}%`, (o) => fmt.usd(o.npv_usd)),
            row("IRR", (o) => (o.irr === null ? `none (${o.no_irr})` : `${fmt.num(o.irr * 100, 1)}%`)),
            row("Profitability index", (o) => (o.profitability_index === null ? "—" : fmt.num(o.profitability_index, 2))),
          ],
        ),
        el(
          "p",
          {},
          `Leasing beats mining above ${fmt.usdPerGPUHour(r.crossover_usd_per_gpu_hour)} with the machines already bought, `,
          `and above ${fmt.usdPerGPUHour(r.crossover_npv_usd_per_gpu_hour)} on NPV at the cost of capital; it breaks even at ${fmt.usdPerGPUHour(r.breakeven_usd_per_gpu_hour)}. `,
          `Hashprice that day: ${fmt.usdPerPHDay(r.hashprice_usd_per_ph_day)}.`,
        ),
        table(
          ["Assumption", "Value", "Source"],
          r.assumptions.map((a) => [a.name, `${a.value} ${a.unit}`, a.source]),
        ),
        notes(r.notes),
      );
    });
  });

  // --- Backtest and plan: JSON summaries, and charts the server draws ---

  // image loads a chart and resolves when it has (or rejects with its URL). It is
  // fetched with the session's token, which an <img> cannot send, and shown from a blob.
  async function image(src, alt) {
    const failed = () => new Error("the chart " + src.split("?")[0] + " did not load");
    let data;
    try {
      data = await Joule.blob(src);
    } catch (err) {
      throw err.status ? err : failed();
    }
    const url = URL.createObjectURL(data);
    return new Promise((resolve, reject) => {
      const img = el("img", { alt, src: url });
      img.addEventListener("load", () => resolve(img));
      img.addEventListener("error", () => reject(failed()));
    });
  }

  const sitePath = (site) => "/api/v1/sites/" + encodeURIComponent(site);

  $("bt-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const v = formValues(e.target);
    const q = Joule.query({ from: v.from, to: v.to });
    const base = sitePath(v.site) + "/backtest";
    Joule.busy(e.target, $("bt-status"), "Replaying history through every strategy…", async () => {
      // The charts come from the same run as the JSON (the server runs a report once
      // for all who ask); a refusal, such as reversed dates, is the API's message.
      const [r, power, margin] = await Promise.all([
        api(base + q),
        image(base + "/power.png" + q, `Power by use under Joule's policy at ${v.site}, ${v.from} to ${v.to}`),
        image(
          base + "/margin.png" + q,
          `Cumulative margin at ${v.site}, ${v.from} to ${v.to}: the mining strategies as the difference from always-mine, and the GPU conversions on their own scale`,
        ),
      ]);
      $("bt-result").replaceChildren(
        el("p", { class: "hint", text: `${r.site} at ${r.node}, ${r.from} to ${r.to}: ${fmt.num(r.intervals)} intervals of ${fmt.num(r.interval_sec / 60)} minutes. GPU-hour prices: ${r.gpu_price_path}.` }),
        el("p", { class: "hint", text: `Plans decide on the ${r.forecaster} forecast of the energy price and the previous day's hashprice, and settle at the real prices; not knowing the real prices cost Joule's policy ${fmt.usd(r.forecast_loss_usd)} (joule-foresight less joule).` }),
        table(
          ["Strategy", "Revenue n", "Energy cost n", "Margin n", "Net of depreciation and opex n", "Energy n", "Curtailed n", "% of optimum n"],
          (r.strategies || []).map((s) => {
            // A bound (the hindsight optimum where the cap binds) has a margin only.
            const bound = s.margin_usd !== 0 && s.revenue_usd === 0 && s.energy_cost_usd === 0;
            const or = (text) => (bound ? "—" : text);
            return [
            el("span", { title: s.description, text: s.name }),
            or(fmt.usd(s.revenue_usd)),
            or(fmt.usd(s.energy_cost_usd)),
            fmt.usd(s.margin_usd),
            fmt.usd(s.net_margin_usd),
            or(`${fmt.num(s.energy_mwh)} MWh`),
            or(`${fmt.num(s.curtailed_mwh)} MWh`),
            s.pct_of_optimum == null ? "—" : `${fmt.num(s.pct_of_optimum, 2)}%`,
            ];
          }),
        ),
        el("div", { class: "figures" }, power, margin),
        notes(r.notes),
      );
    });
  });

  $("plan-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const v = formValues(e.target);
    const q = Joule.query({ convert_mw: v.convert_mw, gpu: v.gpu, at: v.at, years: v.years, paths: v.paths });
    const base = sitePath(v.site) + "/planreport";
    Joule.busy(e.target, $("plan-status"), `Running ${fmt.num(Number(v.paths))} Monte Carlo paths…`, async () => {
      // The JSON first: the charts come from the same (cached or recomputed) plan.
      const r = await api(base + q);
      const [npv, cash] = await Promise.all([
        image(base + "/npv.png" + q, `Distribution of the NPV of converting ${v.convert_mw} MW at ${v.site}`),
        image(base + "/cashflow.png" + q, `Yearly cash flow of converting ${v.convert_mw} MW at ${v.site}`),
      ]);
      const qs = (x, f) => [f(x.p10), f(x.p50), f(x.p90)];
      const usd = (x) => (x == null ? "—" : fmt.usd(x));
      const months = (x) => (x == null ? "never" : `${fmt.num(x, 1)} months`);
      $("plan-result").replaceChildren(
        el(
          "p",
          {},
          `Chance of a loss (NPV < 0): ${fmt.pct(r.prob_loss, 0)}. P50 NPV ${usd(r.npv_usd.p50)} at $${fmt.num(r.gpu_usd_per_hour, 2)}/GPU-hour `,
          r.market_gpu_usd_per_hour === r.gpu_usd_per_hour ? "(today's market price)." : `(the market's today: $${fmt.num(r.market_gpu_usd_per_hour, 2)}).`,
        ),
        el(
          "p",
          {},
          `Retire ${fmt.num(r.asics_retired)} miners and buy ${fmt.num(r.gpu_servers)} ${r.gpu_model} servers; capex ${fmt.usd(r.capex_usd)} at ${r.at} `,
          `(servers ${fmt.usd(r.servers_usd)}, network and storage ${fmt.usd(r.network_storage_usd)}, conversion ${fmt.usd(r.conversion_usd)}, less ASIC resale ${fmt.usd(r.asic_resale_usd)}); `,
          `BTC model ${r.btc_model}, drift ${fmt.num(r.btc_drift_per_year, 2)} a year; over ${r.years} years and ${fmt.num(r.paths)} paths.`,
        ),
        table(
          ["", "P10 n", "P50 n", "P90 n"],
          [["NPV", ...qs(r.npv_usd, usd)], ["Payback", ...qs(r.payback_months, months)], ...(r.yearly_cash_flow_usd || []).map((y, i) => [`Cash flow, year ${i + 1}`, ...qs(y, usd)])],
        ),
        el("div", { class: "figures" }, npv, cash),
        el("h3", {}, "Assumptions"),
        notes(r.assumptions),
        el("h3", {}, "Inputs and their sources"),
        table(
          ["Input", "Value", "Source"],
          (r.inputs || []).map((a) => [a.name, `${a.value} ${a.unit}`, a.source]),
        ),
        notes(r.notes),
      );
    });
  });

  // --- Choices from the server: sites and models ---

  // minerMW is the facility power of a site's miners at stock power, MW (count × the
  // model's power × the site's PUE): the most a plan can convert.
  function minerMW(site, models) {
    const byID = new Map(models.map((m) => [m.id, m]));
    let w = 0;
    for (const f of site.fleets || []) {
      const m = byID.get(f.model);
      if (m && m.kind === "asic") w += f.count * m.power_w;
    }
    return (w * (site.pue || 1)) / 1e6;
  }

  // planDefaults fits the plan form to the site it names: by default it converts half
  // of the site's miners (never more than it has), and it says how many it has. A
  // value the operator typed is kept.
  function planDefaults(sites, models) {
    const form = $("plan-form");
    const site = sites.find((s) => s.name === form.elements.site.value);
    const input = form.elements.convert_mw;
    if (!site) return;
    const mw = minerMW(site, models);
    Joule.setText("plan-site-meta", mw > 0 ? `${site.name} has ${fmt.num(mw, 1)} MW of miners (facility power at stock).` : `${site.name} has no miners to convert.`);
    if (input.dataset.typed) return;
    input.value = mw > 0 ? String(Math.max(0.1, Math.floor(mw * 5) / 10)) : "";
  }

  async function loadChoices() {
    const [sites, models] = await Promise.all([api("/api/v1/sites"), api("/api/v1/models")]);
    const names = (sites.sites || []).map((s) => s.name);
    for (const sel of document.querySelectorAll(".site-pick")) {
      sel.replaceChildren(...(names.length ? names.map((n) => el("option", { value: n, text: n })) : [el("option", { value: "", text: "no sites yet" })]));
    }
    const fill = (sel, kind, dflt) => {
      const ids = (models.models || []).filter((m) => m.kind === kind).map((m) => m.id);
      if (!ids.length) return;
      sel.replaceChildren(...ids.map((id) => el("option", { value: id, text: id })));
      sel.value = ids.includes(dflt) ? dflt : ids[0];
    };
    fill($("cmp-asic"), "asic", "s21");
    fill($("cmp-gpu"), "gpu_server", "h100-sxm");
    fill($("plan-gpu"), "gpu_server", "h100-sxm");
    const form = $("plan-form");
    const fit = () => planDefaults(sites.sites || [], models.models || []);
    form.elements.site.addEventListener("change", fit);
    form.elements.convert_mw.addEventListener("input", (e) => {
      e.target.dataset.typed = "true";
    });
    fit();
  }

  // A demo's clock runs in history: backtest the week before it by default. Otherwise
  // the form keeps a month the example site's prices cover.
  let datesSet = false;
  Joule.onOverview((ov) => {
    if (datesSet || !ov || !ov.demo) return;
    datesSet = true;
    const day = 86400e3;
    const now = Date.parse(ov.now);
    const form = $("bt-form");
    form.elements.from.value = fmt.day(now - 7 * day);
    form.elements.to.value = fmt.day(now - day);
  });

  // The day and the comparison are quick: show their defaults' answers at once.
  loadChoices()
    .catch((err) => Joule.status("status", "Cannot list sites and models: " + err.message, true))
    .then(() => {
      $("econ-form").requestSubmit();
      $("cmp-form").requestSubmit();
    });
})();
