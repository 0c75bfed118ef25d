// A demand-response event's evidence report: the baseline before notice, the meter's
// and the devices' power through the event against the target, each step's time, the
// shortfall and the audit rows. It prints as a clean report (the print stylesheet).
"use strict";

(() => {
  const { $, el, fmt, setText, api } = Joule;
  const site = document.body.dataset.site;
  const id = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop());
  const path = "/api/v1/sites/" + encodeURIComponent(site) + "/dr/" + encodeURIComponent(id) + "/report";
  // ?baseline=15m on the page's address sets the baseline's window, as the API's does.
  const baseline = new URLSearchParams(location.search).get("baseline") || "";
  const AUDIT_SHOWN = 2000; // rows in the table; the JSON and the CLI have them all

  const kw = (w) => (Number.isFinite(w) ? (Math.abs(w) >= 1e6 ? fmt.mw(w, 3) : fmt.num(w / 1e3, 2) + " kW") : "—");
  const at = (t) => (t && !t.startsWith("0001") ? new Date(t).toISOString().replace("T", " ").replace("Z", "") : "—");
  const mwh = (x) => (Number.isFinite(x) ? x.toFixed(4) + " MWh" : "—"); // fmt.num stops at 3 decimals
  const secs = (ns) => fmt.num(ns / 1e9, 3) + " s";
  const after = (t, notice) => (t && !t.startsWith("0001") ? "+" + fmt.num((new Date(t) - new Date(notice)) / 1e3, 3) + " s" : "");

  function render(r) {
    const e = r.event;
    setText("dr-id", String(e.id));
    document.title = `Demand response ${e.id} · ${site} · Joule`;
    setText("dr-target", kw(r.target_w));
    setText("dr-deadline", at(e.deadline));
    setText("dr-notice", at(e.created_at));
    setText("dr-end", e.end && !e.end.startsWith("0001") ? at(e.end) + (e.cancelled_at ? " (cancelled)" : "") : "until cancelled");
    setText("dr-by", e.by || "—");
    setText("dr-at", at(r.at) + (r.complete ? ", after the event" : ", while the event holds"));
    const b = r.baseline;
    setText("dr-baseline", b.readings ? `${kw(b.power_w)}: mean of ${b.readings} ${b.metered ? "meter" : "device (no meter)"} readings, ${at(b.from)} to ${at(b.to)}` : "none: no reading before notice");
    setText("dr-method", `Baseline method: ${b.method}. Source: ${b.source}.`);
    const reached = r.target_reached_at && !r.target_reached_at.startsWith("0001");
    setText("dr-reached", reached ? `${at(r.target_reached_at)}, ${secs(r.time_to_target_ns)} after notice, ${r.before_deadline ? "by" : "after"} the deadline` : "not reached");
    const p = r.performance;
    setText("dr-held", p.readings ? `mean ${kw(p.mean_w)}, peak ${kw(p.max_w)} over ${p.readings} readings` : "no reading from the deadline on");
    setText("dr-reduction", b.readings && p.readings ? `${kw(p.reduction_w)}, ${mwh(p.reduction_mwh)}` : "—");
    setText("dr-shortfall", p.readings ? `at most ${kw(p.shortfall_max_w)} above the target, ${mwh(p.shortfall_mwh)}, for ${secs(p.above_target_ns)}` : "—");
    const met = reached && r.before_deadline && p.shortfall_max_w === 0;
    $("dr-verdict").textContent = !r.complete ? "holding" : met ? "target met" : "target missed";
    $("dr-verdict").className = "pill " + (!r.complete ? "warn" : met ? "ok" : "alert");

    const s = r.steps;
    const steps = [
      ["notice received", s.notice_at],
      ["plan made" + (s.plan_seq ? ` (plan ${s.plan_seq})` : ""), s.plan_at],
      [`first command sent (${s.sent} in all)`, s.first_sent_at],
      ["last command sent", s.last_sent_at],
      [`last acknowledged (${s.acked})`, s.last_ack_at],
      [`last verified (${s.verified}; ${s.failed} failed)`, s.last_verified_at],
      ["target reached", r.target_reached_at],
      ["deadline", s.deadline],
    ];
    Joule.rows($("dr-steps").tBodies[0], steps, ([name, t]) =>
      el("tr", {}, el("td", { text: name }), el("td", { class: "time", text: at(t) }), el("td", { class: "n", text: after(t, s.notice_at) })),
    );
    Joule.rows(
      $("dr-fleets").tBodies[0],
      r.fleets,
      (f) =>
        el(
          "tr",
          {},
          el("td", { text: f.fleet || "(not in the device table)" }),
          ...[f.sent, f.acked, f.verified, f.failed].map((n) => el("td", { class: "n", text: String(n) })),
          el("td", { class: "n", text: after(f.first_sent_at, s.notice_at) }),
          el("td", { class: "n", text: after(f.last_verified_at, s.notice_at) }),
        ),
      "No command was sent for this event.",
    );
    const shown = r.audit.slice(0, AUDIT_SHOWN);
    setText("dr-audit-meta", `${r.audit_rows} rows from notice to the ${r.complete ? "end" : "report"}${r.audit_rows > shown.length ? `; the first ${shown.length} shown (joule dr report --json has them all)` : ""}.`);
    Joule.rows(
      $("dr-audit").tBodies[0],
      shown,
      (a) =>
        el(
          "tr",
          { class: a.outcome === "failed" || a.outcome === "degraded" ? "bad" : "" },
          el("td", { class: "n", text: String(a.id) }),
          el("td", { class: "time", text: at(a.at) }),
          el("td", { text: a.kind }),
          el("td", { class: "n", text: a.seq ? String(a.seq) : "" }),
          el("td", { text: a.device || "" }),
          el("td", { text: a.outcome || "" }),
          el("td", { text: a.actor || "" }),
          el("td", { text: a.detail }),
        ),
      "No audit row.",
    );
    draw(r);
  }

  function draw(r) {
    const pts = r.series.map((p) => ({ x: new Date(p.at).getTime(), meter: p.metered ? p.meter_w / 1e6 : null, devices: p.devices_w / 1e6 }));
    const xs = pts.map((p) => p.x);
    const from = xs.length ? Math.min(...xs, new Date(r.baseline.from).getTime()) : new Date(r.baseline.from).getTime();
    const to = new Date(r.performance.to).getTime();
    const level = (w) => (Number.isFinite(w) ? [{ x: from, y: w / 1e6 }, { x: to, y: w / 1e6 }] : []);
    const target = [
      { x: from, y: null },
      { x: new Date(r.steps.deadline).getTime(), y: r.target_w / 1e6 },
      { x: to, y: r.target_w / 1e6 },
    ];
    const span = to - from;
    const label = (v) => new Date(v).toISOString().slice(span > 86400e3 ? 5 : 11, span > 600e3 ? 16 : 19).replace("T", " ");
    Joule.chart($("dr-chart"), {
      type: "line",
      data: {
        datasets: [
          { label: "Site meter", data: pts.map((p) => ({ x: p.x, y: p.meter })), borderColor: "#14181f", borderWidth: 2, pointRadius: 0, stepped: "before", spanGaps: false },
          { label: "Devices (own readings)", data: pts.map((p) => ({ x: p.x, y: p.devices })), borderColor: Joule.color("mining"), borderWidth: 1.5, pointRadius: 0, stepped: "before" },
          { label: "Baseline", data: r.baseline.readings ? level(r.baseline.power_w) : [], borderColor: "#6b7280", borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0 },
          { label: "Target (from the deadline)", data: target, borderColor: "#b42318", borderWidth: 2, pointRadius: 0, stepped: "after" },
        ],
      },
      options: {
        parsing: false,
        interaction: { mode: "nearest", axis: "x", intersect: false },
        scales: {
          x: { type: "linear", min: from, max: to, ticks: { maxTicksLimit: 8, callback: label }, grid: { color: "#eef0f3" } },
          y: { beginAtZero: true, title: { display: true, text: "MW" }, grid: { color: "#eef0f3" } },
        },
        plugins: {
          legend: { position: "bottom" },
          tooltip: { callbacks: { title: (items) => (items.length ? label(items[0].parsed.x) + " UTC" : ""), label: (i) => `${i.dataset.label}: ${fmt.num(i.parsed.y, 3)} MW` } },
        },
      },
    });
    setText("dr-chart-meta", `${r.series.length} points${r.series_bucket_ns ? `, each the mean of ${secs(r.series_bucket_ns)}` : ", one a census"}; times in UTC.`);
  }

  $("dr-print").addEventListener("click", (e) => {
    e.preventDefault();
    window.print();
  });
  $("dr-csv").addEventListener("click", async (e) => {
    e.preventDefault();
    try {
      const b = await Joule.blob(path + Joule.query({ format: "csv", baseline }));
      const a = el("a", { href: URL.createObjectURL(b), download: `dr-${site}-${id}.csv` });
      a.click();
      URL.revokeObjectURL(a.href);
    } catch (err) {
      Joule.status("status", err.message, true);
    }
  });

  (async () => {
    try {
      render(await api(path + Joule.query({ baseline })));
      Joule.status("status", "");
    } catch (err) {
      Joule.status("status", err.status === 404 ? `No demand-response event ${id} at ${site}.` : err.message, true);
    }
  })();
})();
