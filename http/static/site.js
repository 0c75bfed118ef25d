// Site: planned power by use over time, the next megawatt's best use, demand response,
// the agent's census of devices and the audit log, all live.
"use strict";

(() => {
  const { $, el, fmt, setText, api } = Joule;
  const site = document.body.dataset.site;
  const base = "/api/v1/sites/" + encodeURIComponent(site);
  const MAX_POINTS = 720;

  // SERIES are the stacked areas of the chart, bottom up, with the colours of the
  // overview's bars.
  const SERIES = [
    { key: "firm_gpu_w", color: "firm", label: "Firm GPU" },
    { key: "interruptible_gpu_w", color: "interruptible", label: "Interruptible GPU" },
    { key: "open_gpu_w", color: "open", label: "Open-market GPU" },
    { key: "mining_w", color: "mining", label: "Mining" },
    { key: "idle_w", color: "idle", label: "Idle" },
    { key: "curtailed_w", color: "curtailed", label: "Curtailed (not drawn)" },
  ];

  const plans = []; // oldest first, at most MAX_POINTS, by seq
  const power = Joule.chart($("power-chart"), {
    type: "line",
    data: {
      datasets: [
        ...SERIES.map((s) => ({
          label: s.label,
          data: [],
          stack: "power",
          fill: "stack",
          pointRadius: 0,
          borderWidth: 1,
          borderColor: Joule.color(s.color),
          backgroundColor: Joule.color(s.color) + (s.key === "curtailed_w" ? "99" : "dd"),
        })),
        { label: "Cap", data: [], stack: "cap", fill: false, pointRadius: 0, borderWidth: 2, borderDash: [6, 4], borderColor: "#14181f" },
      ],
    },
    options: {
      parsing: false,
      normalized: true,
      interaction: { mode: "index", intersect: false },
      scales: {
        x: Joule.timeAxis(),
        y: { stacked: true, beginAtZero: true, title: { display: true, text: "MW" }, grid: { color: "#eef0f3" } },
      },
      plugins: {
        legend: { position: "bottom" },
        tooltip: {
          callbacks: {
            title: (items) => (items.length ? fmt.time(items[0].parsed.x) : ""),
            label: (item) => `${item.dataset.label}: ${fmt.num(item.parsed.y, 2)} MW`,
          },
        },
      },
    },
  });

  function addPlans(list) {
    const last = plans.length ? plans[plans.length - 1].seq : -1;
    for (const p of list) if (p.seq > last) plans.push(p);
    plans.splice(0, Math.max(0, plans.length - MAX_POINTS));
    if (power) {
      const x = plans.map((p) => Date.parse(p.at));
      SERIES.forEach((s, i) => {
        power.data.datasets[i].data = plans.map((p, j) => ({ x: x[j], y: ((p.use && p.use[s.key]) || 0) / 1e6 }));
      });
      power.data.datasets[SERIES.length].data = plans.map((p, j) => ({ x: x[j], y: p.cap_w / 1e6 }));
      power.update("none");
    }
    const n = plans.length;
    setText("power-meta", n ? `${n} plan${n === 1 ? "" : "s"} from ${fmt.time(plans[0].at)} to ${fmt.time(plans[n - 1].at)}; one every dispatch interval.` : "No plans yet: the live loop plans every interval.");
    if (n) showNow(plans[n - 1]);
  }

  function showNow(p) {
    setText("reason", p.reason);
    $("reason").className = "pill " + (/stale/i.test(p.reason) ? "alert" : /demand|spike|cap/i.test(p.reason) ? "warn" : "ok");
    setText("plan-at", "plan " + p.seq + " at " + fmt.time(p.at));
    setText("now-draw", fmt.mw(p.draw_w));
    setText("now-cap", fmt.mw(p.cap_w, 1));
    setText("now-revenue", fmt.usdPerHour(p.revenue_usd_per_hour));
    setText("now-cost", fmt.usdPerHour(p.energy_usd_per_hour));
    // A plan made on stale feeds priced nothing: its zeros are missing prices.
    const stale = (p.reason || "").startsWith("stale feeds");
    setText("now-energy", Joule.price(fmt.usdPerMWh, p.energy_usd_per_mwh, !stale));
    setText("now-hashprice", Joule.price(fmt.usdPerPHDay, p.hashprice_usd_per_ph_day, p.hashprice_usd_per_ph_day > 0));
  }

  async function pollPlans() {
    const since = plans.length ? plans[plans.length - 1].at : "";
    const r = await api(base + "/plans" + Joule.query({ since, limit: since ? "" : MAX_POINTS }));
    addPlans(r.plans || []);
  }

  async function pollNextMW() {
    const n = await api(base + "/next-mw");
    setText("nm-mining-model", n.mining && n.mining.model ? `(${n.mining.model})` : "");
    setText("nm-mining", n.mining ? fmt.usdPerMWh(n.mining.usd_per_mwh) : "—");
    setText("nm-gpu-model", n.gpu && n.gpu.model ? `(${n.gpu.model})` : "");
    setText(
      "nm-gpu",
      n.gpu ? `${fmt.usdPerMWh(n.gpu.usd_per_mwh)} · ${fmt.usdPerGPUHour(n.gpu.usd_per_gpu_hour)} at ${fmt.pct(n.gpu.utilization, 0)} sold` : "—",
    );
    setText("nm-energy", Joule.price(fmt.usdPerMWh, n.energy_usd_per_mwh, n.energy_fresh));
    const verdict = { mine: "Mine the next megawatt.", lease: "Lease the next megawatt to GPUs.", neither: "Neither pays for the next megawatt: leave it off." }[n.better] || "";
    setText("nm-better", verdict);
    $("nm-better").className = "better " + (n.better || "");
  }

  async function pollDRHistory() {
    const r = await api(base + "/dr" + Joule.query({ history: 20 }));
    const ended = (e) => e.cancelled_at ? `${fmt.time(e.end)} (cancelled)` : e.end && !e.end.startsWith("0001") ? fmt.time(e.end) : "until cancelled";
    Joule.rows(
      $("dr-history").tBodies[0],
      r.events || [],
      (e) =>
        el(
          "tr",
          { "data-id": e.id },
          el("td", { class: "n" }, el("a", { href: `/sites/${encodeURIComponent(site)}/dr/${e.id}`, text: String(e.id), title: "The event's evidence report" })),
          el("td", { class: "n", text: fmt.mw(e.reduce_to_w) }),
          el("td", { class: "time", text: fmt.time(e.deadline) }),
          el("td", { class: "time", text: ended(e) }),
          el("td", { text: e.by || "" }),
        ),
      "No demand-response event yet.",
    );
  }

  async function pollDR() {
    const r = await api(base + "/dr");
    const events = r.events || [];
    $("dr").replaceChildren(
      events.length
        ? el(
            "ul",
            { class: "problems" },
            events.map((e) =>
              el(
                "li",
                {},
                `Event ${e.id}: at most ${fmt.mw(e.reduce_to_w)} by ${fmt.time(e.deadline)}`,
                e.end && !e.end.startsWith("0001") ? ` until ${fmt.time(e.end)}` : " until cancelled",
                e.shed_firm ? ", firm GPU load may be shed" : "",
                e.by ? ` (declared by ${e.by})` : "",
                " · ",
                el("a", { href: `/sites/${encodeURIComponent(site)}/dr/${e.id}`, text: "report" }),
              ),
            ),
          )
        : el("p", { class: "hint", text: "No demand-response event is active." }),
    );
  }

  // pollAlerts shows the site's alerts, firing first, with an acknowledge button on
  // each firing one for an operator; a resolved one says when it cleared.
  let operator = false;
  Joule.onSession((s) => {
    operator = !!s.operator;
    pollAlerts().catch((err) => Joule.status("status", err.message, true));
  });
  async function pollAlerts() {
    const r = await api(base + "/alerts" + Joule.query({ limit: 50 }));
    const list = r.alerts || [];
    const firing = list.filter((a) => a.state === "firing").length;
    const acked = list.filter((a) => a.state === "acknowledged").length;
    setText("alerts-meta", firing || acked ? `${fmt.num(firing)} firing, ${fmt.num(acked)} acknowledged and still firing.` : "Nothing is firing.");
    Joule.rows(
      $("alerts").tBodies[0],
      list,
      (a) => {
        let state = a.state;
        if (a.state === "acknowledged") state += " by " + a.acked_by;
        if (a.state === "resolved") state += " " + fmt.time(a.resolved_at);
        const ack =
          operator && a.state === "firing"
            ? el("button", { type: "button", class: "ack", "data-alert": a.id, onclick: () => ackAlert(a.id).catch((err) => Joule.status("status", err.message, true)) }, "Acknowledge")
            : "";
        return el("tr", { class: "alert-" + a.state }, el("td", { text: state }), el("td", { text: a.rule }), el("td", {}, el("code", { text: a.subject })),
          el("td", { text: fmt.time(a.fired_at) }), el("td", { text: a.summary }), el("td", {}, ack));
      },
      "No alerts yet.",
    );
  }
  async function ackAlert(id) {
    await api(base + "/alerts/" + id + "/ack", { method: "POST", body: {} });
    await pollAlerts();
  }

  async function pollDevices() {
    let r;
    try {
      r = await api(base + "/devices");
    } catch (err) {
      if (err.status !== 404) throw err;
      setText("devices-meta", "No agent has reported this site's devices yet. Run joule agent --site " + site + " to take over its machines.");
      Joule.rows($("devices").tBodies[0], [], null, "No census yet.");
      $("problems").replaceChildren();
      return;
    }
    let meta = "As the agent's telemetry showed them at " + fmt.time(r.at) + ".";
    const m = r.meter;
    if (m) {
      const reported = (r.fleets || []).reduce((sum, f) => sum + (f.power_w || 0), 0);
      meta += m.error
        ? " Site meter: not answering (" + m.error + ")."
        : " Site meter: " + fmt.mw(m.power_w) + " at " + fmt.time(m.at) + "; the devices report " + fmt.mw(reported) + ".";
    }
    setText("devices-meta", meta);
    Joule.rows(
      $("devices").tBodies[0],
      r.fleets || [],
      (f) =>
        el(
          "tr",
          {},
          el("td", { text: f.fleet }),
          el("td", { text: f.kind }),
          ...[f.machines, f.found, f.running, f.sleeping, f.ramping, f.off, f.unknown].map((v) => el("td", { class: "n", text: fmt.num(v) })),
          el("td", { class: "n", text: fmt.mw(f.power_w) }),
        ),
      "No fleets reported.",
    );
    const problems = r.problems || [];
    const items = problems.map((p) => el("li", {}, el("code", { text: p.address }), ` ${p.fleet}: ${p.state}`, p.detail ? ` — ${p.detail}` : ""));
    const check = m && m.check;
    if (check && check.mismatch) {
      items.unshift(el("li", { class: "meter-mismatch" }, el("strong", { text: "Site meter" }), ` (plan ${check.seq}, ${fmt.time(check.at)}): ${check.detail}`));
    }
    $("problems").replaceChildren(...(items.length ? items : [el("li", { class: "hint", text: "None: every device answers and obeys." })]));
  }

  // foldPlans turns each run of plans made for one reason (newest first) into one line
  // that counts them, as joule audit does: the loop plans every interval, and a log of
  // identical plan lines hides what happened.
  function foldPlans(lines) {
    const out = [];
    for (const a of lines) {
      const prev = out[out.length - 1];
      if (prev && a.kind === "plan" && prev.kind === "plan" && prev.reason === a.reason && prev.outcome === a.outcome) {
        prev.folded = (prev.folded || 1) + 1;
        prev.firstSeq = a.seq;
        continue;
      }
      out.push({ ...a });
    }
    return out;
  }

  async function pollAudit() {
    const kind = $("audit-kind").value;
    const device = $("audit-device").value.trim();
    const r = await api(base + "/audit" + Joule.query({ tail: 200, kind, device }));
    const lines = foldPlans((r.audit || []).slice().reverse());
    Joule.rows(
      $("audit").tBodies[0],
      lines,
      (a) =>
        el(
          "tr",
          { class: a.outcome === "failed" ? "failed" : "", "data-id": a.id },
          el("td", { class: "time", text: fmt.short(a.at) }),
          el("td", { text: a.kind }),
          el("td", { text: a.actor || "" }),
          el("td", {}, a.device ? el("code", { text: a.device }) : ""),
          el("td", { class: "detail", text: a.folded ? `${a.folded} plans, ${a.firstSeq} to ${a.seq}: ${a.reason || a.detail}` : a.detail }),
        ),
      kind || device ? "No event matches." : "The audit log is empty.",
    );
  }
  for (const id of ["audit-kind", "audit-device"]) {
    $(id).addEventListener("change", () => pollAudit().catch((err) => Joule.status("status", err.message, true)));
  }
  $("audit-filter").addEventListener("submit", (e) => e.preventDefault());

  // The device table: a page of every device's latest reading from the telemetry
  // history, sorted, searched and filtered by the server.
  const table = { sort: "address", order: "asc", page: 1, limit: 50, total: 0, addresses: [] };

  async function pollTable() {
    let r;
    try {
      r = await api(base + "/telemetry" + Joule.query({ sort: table.sort, order: table.order, page: table.page, limit: table.limit, q: $("table-q").value.trim(), state: $("table-state").value }));
    } catch (err) {
      if (err.status !== 404) throw err;
      setText("table-meta", "This server keeps no telemetry history.");
      Joule.rows($("device-table").tBodies[0], [], null, "No readings.");
      return;
    } finally {
      queueMicrotask(showSelection);
    }
    table.total = r.total;
    table.addresses = (r.devices || []).map((d) => d.address);
    setText("matching-n", fmt.num(r.total));
    const first = (table.page - 1) * table.limit;
    setText("table-meta", r.total ? `Devices ${fmt.num(first + 1)}–${fmt.num(first + r.devices.length)} of ${fmt.num(r.total)}, by ${table.sort} (${table.order}).` : "No device matches.");
    $("table-prev").disabled = table.page <= 1;
    $("table-next").disabled = first + r.devices.length >= r.total;
    Joule.rows(
      $("device-table").tBodies[0],
      r.devices || [],
      (d) =>
        el(
          "tr",
          {},
          el("td", {}, el("input", { type: "checkbox", class: "select-device", "aria-label": "Select " + d.address, checked: selection.matching || selection.addresses.has(d.address), disabled: selection.matching, onchange: (e) => select(d.address, e.target.checked) })),
          el("td", {}, el("a", { href: "#device-history", class: "device-link", onclick: (e) => (e.preventDefault(), showHistory(d.address)) }, el("code", { text: d.address }))),
          el("td", { text: d.fleet }),
          el("td", { text: d.state }),
          el("td", { class: "n", text: fmt.num(d.hashrate_ths, 1) + " TH/s" + (d.expected_hashrate_ths > 0 ? " (" + fmt.pct(d.hashrate_ths / d.expected_hashrate_ths, 0) + ")" : "") }),
          el("td", { class: "n", text: fmt.num(d.power_w / 1000, 2) + " kW" }),
          el("td", { class: "n", text: d.temp_c ? fmt.num(d.temp_c, 1) + " °C" : "—" }),
          el("td", { class: "n", text: d.chip_temp_c ? fmt.num(d.chip_temp_c, 1) + " °C" : "—" }),
          el("td", { class: "n", text: d.fan_max_rpm ? fmt.num(d.fan_min_rpm) + "–" + fmt.num(d.fan_max_rpm) : "—" }),
          el("td", { text: d.pool ? d.pool + (d.pool_state ? " (" + d.pool_state + ")" : "") : "—" }),
          el("td", { text: [d.firmware, d.firmware_version].filter(Boolean).join(" ") }),
          el("td", { class: "tags", text: tagText(d.tags) || "—" }),
          el("td", { text: fmt.short(d.at) }),
        ),
      "No device matches.",
    );
  }

  // The selection for a bulk action: addresses ticked on any page, or every device the
  // table's search and state keep ("select all matching"), which the server resolves
  // when the action is asked.
  const selection = { addresses: new Set(), matching: false };
  const tagText = (tags) =>
    Object.keys(tags || {})
      .sort()
      .map((k) => k + "=" + tags[k])
      .join(" ");

  function showSelection() {
    const n = selection.matching ? table.total : selection.addresses.size;
    setText("selected-n", n ? `${fmt.num(n)} device${n === 1 ? "" : "s"} selected${selection.matching ? " (every one the search keeps)" : ""}.` : "No device selected.");
    $("action-send").disabled = n === 0;
    $("select-page").checked = selection.matching || (table.addresses.length > 0 && table.addresses.every((a) => selection.addresses.has(a)));
  }

  function select(address, on) {
    if (on) selection.addresses.add(address);
    else selection.addresses.delete(address);
    showSelection();
  }

  $("select-page").addEventListener("change", (e) => {
    for (const a of table.addresses) {
      if (e.target.checked) selection.addresses.add(a);
      else selection.addresses.delete(a);
    }
    for (const box of $("device-table").querySelectorAll("input.select-device")) box.checked = e.target.checked;
    showSelection();
  });
  $("select-matching").addEventListener("change", (e) => {
    selection.matching = e.target.checked;
    refreshTable();
  });
  $("action-kind").addEventListener("change", () => {
    const kind = $("action-kind").value;
    $("action-limit-l").hidden = kind !== "power";
    $("action-pool-l").hidden = kind !== "pool";
    $("action-user-l").hidden = kind !== "pool";
  });
  $("action-bar").addEventListener("submit", async (e) => {
    e.preventDefault();
    const kind = $("action-kind").value;
    const body = { action: kind };
    if (selection.matching) body.filter = { q: $("table-q").value.trim(), state: $("table-state").value };
    else body.addresses = [...selection.addresses];
    if (kind === "power") body.limit_w = Number($("action-limit").value);
    if (kind === "pool") Object.assign(body, { pool_url: $("action-pool").value.trim(), pool_user: $("action-user").value.trim() });
    try {
      const a = await api(base + "/actions", { method: "POST", body });
      setText("action-meta", `Action ${a.id}: ${a.action} of ${fmt.num(a.addresses.length)} devices sent to the site's agent, which carries it out at its next step.`);
      selection.addresses.clear();
      selection.matching = $("select-matching").checked = false;
      refreshTable();
      pollActions().catch(() => {});
    } catch (err) {
      setText("action-meta", err.status === 403 || err.status === 401 ? "Only the operator asks actions of devices: " + err.message : err.message);
    }
  });

  async function pollActions() {
    let r;
    try {
      r = await api(base + "/actions" + Joule.query({ limit: 10 }));
    } catch (err) {
      if (err.status !== 404) throw err;
      return;
    }
    Joule.rows(
      $("actions").tBodies[0],
      r.actions || [],
      (a) => {
        const done = a.status === "done";
        const what = a.action + (a.action === "power" ? " " + fmt.num(a.limit_w) + " W" : a.action === "pool" ? " " + a.pool_url : "");
        return el(
          "tr",
          { class: done && a.failed > 0 ? "bad" : "" },
          el("td", { class: "n", text: String(a.id) }),
          el("td", { text: what }),
          el("td", { class: "n", text: fmt.num(done ? a.sent : a.addresses.length) }),
          el("td", { text: a.by }),
          el("td", { text: fmt.short(a.created_at) }),
          el("td", { text: done ? "done" : "pending" }),
          el("td", { class: "n", text: done ? fmt.num(a.sent) : "—" }),
          el("td", { class: "n", text: done ? fmt.num(a.verified) : "—" }),
          el("td", { class: "n", text: done ? fmt.num(a.failed) : "—" }),
        );
      },
      "No bulk action yet.",
    );
  }

  // A device's history: its power and hashrate over a span, at the span's resolution.
  const SPANS = { raw: 2 * 3600e3, "5m": 86400e3, "1h": 30 * 86400e3 };
  let historyOf = "";
  const history = Joule.chart($("history-chart"), {
    type: "line",
    data: {
      datasets: [
        { label: "Power (kW)", data: [], yAxisID: "kw", pointRadius: 0, borderWidth: 2, borderColor: Joule.color("mining") },
        { label: "Hashrate (TH/s)", data: [], yAxisID: "ths", pointRadius: 0, borderWidth: 2, borderColor: "#14181f" },
      ],
    },
    options: {
      parsing: false,
      normalized: true,
      interaction: { mode: "index", intersect: false },
      scales: {
        x: Joule.timeAxis(),
        kw: { position: "left", beginAtZero: true, title: { display: true, text: "kW" }, grid: { color: "#eef0f3" } },
        ths: { position: "right", beginAtZero: true, title: { display: true, text: "TH/s" }, grid: { display: false } },
      },
      plugins: { legend: { position: "bottom" }, tooltip: { callbacks: { title: (items) => (items.length ? fmt.time(items[0].parsed.x) : "") } } },
    },
  });

  async function pollHistory() {
    if (!historyOf) return;
    const resolution = $("history-span").value;
    const to = Joule.now();
    const r = await api(base + "/devices/" + encodeURIComponent(historyOf) + "/history" + Joule.query({ resolution, from: new Date(to - SPANS[resolution]).toISOString(), to: new Date(to + 60e3).toISOString() }));
    const pts = r.points || [];
    setText("history-meta", pts.length ? `${fmt.num(pts.length)} points from ${fmt.time(pts[0].at)} to ${fmt.time(pts[pts.length - 1].at)}${r.truncated ? " (the first of more)" : ""}.` : "No points in this span yet: the rollups follow the samples by up to five minutes.");
    if (history) {
      const x = pts.map((p) => Date.parse(p.at));
      history.data.datasets[0].data = pts.map((p, i) => ({ x: x[i], y: p.power_w / 1000 }));
      history.data.datasets[1].data = pts.map((p, i) => ({ x: x[i], y: p.hashrate_ths }));
      history.update("none");
    }
  }

  function showHistory(address) {
    historyOf = address;
    setText("history-device", address);
    $("device-history").hidden = false;
    pollHistory().catch((err) => Joule.status("status", err.message, true));
    $("device-history").scrollIntoView({ block: "nearest" });
  }
  $("history-span").addEventListener("change", () => pollHistory().catch((err) => Joule.status("status", err.message, true)));
  $("history-filter").addEventListener("submit", (e) => e.preventDefault());

  const refreshTable = () => pollTable().catch((err) => Joule.status("status", err.message, true));
  for (const th of $("device-table").tHead.querySelectorAll("th[data-sort]")) {
    th.classList.add("sortable");
    th.addEventListener("click", () => {
      const key = th.dataset.sort;
      table.order = table.sort === key && table.order === "asc" ? "desc" : "asc";
      table.sort = key;
      table.page = 1;
      refreshTable();
    });
  }
  for (const id of ["table-q", "table-state"]) {
    $(id).addEventListener("change", () => {
      table.page = 1;
      refreshTable();
    });
  }
  $("table-prev").addEventListener("click", () => {
    table.page = Math.max(1, table.page - 1);
    refreshTable();
  });
  $("table-next").addEventListener("click", () => {
    table.page++;
    refreshTable();
  });
  $("table-filter").addEventListener("submit", (e) => e.preventDefault());

  // noSuchSite replaces the page with what the server's not-found page says: the page
  // itself is served for any name, so that only a signed-in reader learns which exist.
  function noSuchSite() {
    const main = document.querySelector("main");
    main.replaceChildren(
      el("h1", { text: `No site named “${site}”` }),
      el("p", { text: "This server has no such site. The Overview lists the sites it has." }),
    );
  }

  (async () => {
    try {
      await api(base);
    } catch (err) {
      if (err.status === 404) return noSuchSite();
    }
    Joule.pollParts("status", [
      [pollPlans, "power plans"],
      [pollNextMW, "the next megawatt"],
      [pollDR, "demand response"],
      [pollDRHistory, "past events"],
      [pollAlerts, "alerts"],
      [pollDevices, "devices"],
      [pollTable, "the device table"],
      [pollActions, "bulk actions"],
      [pollHistory, "the device's history"],
      [pollAudit, "the audit log"],
    ]);
  })();
})();
