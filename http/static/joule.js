// Joule's dashboard: what every page shares. The API calls, number formats, polling
// that stops while the tab is hidden, the header's clock and the token every API call
// sends. Each page's own script uses window.Joule.
"use strict";

window.Joule = (() => {
  const POLL_MS = 2500;

  // --- The API ---

  // APIError is an error the API answered with: its HTTP status and error code.
  class APIError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  // api fetches a JSON endpoint. opts: token (sent as a bearer token; by default the
  // session's, which every endpoint but a few public ones needs), method, body (sent
  // as JSON), headers. It throws an APIError with the server's message.
  async function api(path, opts = {}) {
    if (opts.token === undefined) await sessionReady;
    const headers = { Accept: "application/json", ...(opts.headers || {}) };
    const token = opts.token !== undefined ? opts.token : readToken();
    if (token) headers.Authorization = "Bearer " + token;
    const init = { method: opts.method || "GET", headers };
    if (opts.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(opts.body);
    }
    let resp;
    try {
      resp = await fetch(path, init);
    } catch (err) {
      throw new APIError(0, "unreachable", "the server does not answer (" + err.message + ")");
    }
    const text = await resp.text();
    if (!resp.ok) throw refusal(resp, text);
    return parseJSON(text);
  }

  const parseJSON = (text) => {
    try {
      return text ? JSON.parse(text) : null;
    } catch {
      return null;
    }
  };

  // refusal is the APIError of a response that is not ok: the message of its JSON
  // {"error": {"code", "message"}}, or its status where it has none.
  function refusal(resp, text) {
    const data = parseJSON(text);
    const e = data && data.error;
    return new APIError(resp.status, e ? e.code : "http_" + resp.status, e ? e.message : resp.status + " " + resp.statusText);
  }

  // sessionReady resolves once the page knows its token: calls that send the
  // session's wait for it, so that a page's first requests are not sent without.
  let readySession;
  const sessionReady = new Promise((resolve) => {
    readySession = resolve;
  });

  // blob fetches a file the API draws (a chart) with the session's token. A refusal
  // throws the API's own message, as api does.
  async function blob(path) {
    await sessionReady;
    const headers = {};
    const token = readToken();
    if (token) headers.Authorization = "Bearer " + token;
    const resp = await fetch(path, { headers });
    if (!resp.ok) throw refusal(resp, await resp.text());
    return resp.blob();
  }

  // query encodes parameters, leaving out empty ones.
  function query(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      if (v !== undefined && v !== null && v !== "") q.set(k, v);
    }
    const s = q.toString();
    return s ? "?" + s : "";
  }

  // --- Numbers, with their units ---

  const nf = (digits) => new Intl.NumberFormat("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  const formats = [0, 1, 2, 3].map(nf);
  const num = (x, digits = 0) => (Number.isFinite(x) ? formats[digits].format(x) : "—");

  const fmt = {
    num,
    // mw formats watts as megawatts.
    mw: (w, digits = 2) => (Number.isFinite(w) ? num(w / 1e6, digits) + " MW" : "—"),
    usd: (x, digits = 0) => (Number.isFinite(x) ? (x < 0 ? "−$" : "$") + num(Math.abs(x), digits) : "—"),
    usdPerHour: (x) => fmt.usd(x, 0) + "/h",
    usdPerMWh: (x) => (Number.isFinite(x) ? fmt.usd(x, 2) + "/MWh" : "—"),
    usdPerPHDay: (x) => (Number.isFinite(x) ? fmt.usd(x, 2) + "/PH/day" : "—"),
    usdPerGPUHour: (x) => (Number.isFinite(x) ? fmt.usd(x, 2) + "/GPU-hour" : "—"),
    // micro formats MicroUSD as dollars.
    micro: (m, digits = 2) => fmt.usd(m / 1e6, digits),
    microPerGPUHour: (m) => fmt.usdPerGPUHour(m / 1e6),
    pct: (x, digits = 1) => (Number.isFinite(x) ? num(x * 100, digits) + "%" : "—"),
    // time formats an RFC 3339 time (or ms) in UTC: "2024-06-01 14:05 UTC".
    time: (t, withZone = true) => {
      if (!t) return "—";
      const d = new Date(t);
      if (Number.isNaN(d.getTime()) || d.getTime() <= 0) return "—";
      return d.toISOString().slice(0, 16).replace("T", " ") + (withZone ? " UTC" : "");
    },
    // short formats a time as "08-20 14:05" (UTC), for tables.
    short: (t) => (t ? fmt.time(t, false).slice(5) : "—"),
    hhmm: (ms) => new Date(ms).toISOString().slice(11, 16),
    day: (ms) => new Date(ms).toISOString().slice(0, 10),
  };

  // --- The DOM ---

  // el builds an element: attributes (class, text, on* handlers, the rest as
  // attributes) and children (nodes or strings, which become text, never HTML).
  function el(tag, attrs = {}, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  const $ = (id) => document.getElementById(id);

  // setText sets an element's text by id, when it changed.
  function setText(id, text) {
    const e = typeof id === "string" ? $(id) : id;
    if (e && e.textContent !== text) e.textContent = text;
  }

  // rows replaces a table body's rows; empty is the text of the row shown when there
  // are none.
  function rows(tbody, list, render, empty) {
    const cols = tbody.closest("table").querySelectorAll("thead th").length || 1;
    const out = list.length ? list.map(render) : [el("tr", {}, el("td", { class: "empty-row", colspan: cols, text: empty }))];
    tbody.replaceChildren(...out);
  }

  // status shows a line in a status element; error marks it as one.
  function status(id, text, error = false) {
    const e = $(id);
    if (!e) return;
    e.textContent = text || "";
    e.classList.toggle("error", !!error);
  }

  // busy marks a form's submit button busy while fn runs, with a message in status.
  // Past a second it counts the seconds beside the message, so that a long report is
  // seen to be running however long it takes (the count is not read aloud).
  async function busy(form, statusEl, message, fn) {
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    statusEl.classList.add("busy");
    statusEl.classList.remove("error");
    const elapsed = el("span", { class: "elapsed", "aria-hidden": "true" });
    statusEl.replaceChildren(message, elapsed);
    const started = performance.now();
    const tick = setInterval(() => {
      const s = Math.floor((performance.now() - started) / 1000);
      if (s >= 1) setText(elapsed, ` ${fmt.num(s)} s`);
    }, 250);
    try {
      await fn();
      statusEl.textContent = "";
    } catch (err) {
      statusEl.textContent = err.message;
      statusEl.classList.add("error");
    } finally {
      clearInterval(tick);
      statusEl.classList.remove("busy");
      form.removeAttribute("aria-busy");
      button.disabled = false;
    }
  }

  // --- Polling ---

  const pollers = [];

  // poll runs fn now (or, if later, in ms) and every ms after it finishes, while the
  // tab is visible.
  function poll(fn, ms = POLL_MS, later = false) {
    const p = { fn, ms, timer: null, running: false };
    pollers.push(p);
    if (later) p.timer = setTimeout(() => run(p), ms);
    else run(p);
  }

  async function run(p) {
    clearTimeout(p.timer);
    if (document.hidden || p.running) return;
    p.running = true;
    try {
      await p.fn();
    } catch (err) {
      console.error(err);
    } finally {
      p.running = false;
    }
    if (!document.hidden) p.timer = setTimeout(() => run(p), p.ms);
  }

  // pollParts polls each [fn, what] on its own, so that one failing leaves the others
  // live, and says in the status element which cannot be read.
  function pollParts(statusId, parts) {
    const failures = new Map();
    for (const [fn, what] of parts) {
      poll(async () => {
        try {
          await fn();
          failures.delete(what);
        } catch (err) {
          failures.set(what, err.message);
        }
        status(statusId, [...failures].map(([w, m]) => `Cannot read ${w}: ${m}`).join(" · "), failures.size > 0);
      });
    }
  }

  document.addEventListener("visibilitychange", () => {
    for (const p of pollers) {
      if (document.hidden) clearTimeout(p.timer);
      else run(p);
    }
  });

  // --- Charts ---

  // chart makes a Chart.js chart on a canvas, or, without the library, puts the note
  // that says so in the canvas's place and returns null.
  function chart(canvas, config) {
    if (!window.Chart) {
      const note = $("no-charts");
      const box = canvas.closest(".chart-box") || canvas;
      box.replaceWith(note ? note.content.cloneNode(true) : el("p", { class: "note", text: "Charts are not available." }));
      return null;
    }
    return new window.Chart(canvas, config);
  }

  // Colours of power by use, the same as the stylesheet's.
  const css = getComputedStyle(document.documentElement);
  const color = (name) => css.getPropertyValue("--" + name).trim();

  if (window.Chart) {
    const d = window.Chart.defaults;
    d.font.family = css.fontFamily;
    d.font.size = 12;
    d.color = "#4a5260";
    d.animation = false;
    d.maintainAspectRatio = false;
    d.plugins.legend.labels.boxWidth = 12;
  }

  // TICK_STEPS are the spacings of time ticks, in ms: whole minutes, hours and days.
  const TICK_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080].map((m) => m * 60e3);

  // timeAxis is a linear x axis of milliseconds labelled in UTC, with ticks on round
  // times (Chart.js's time axis needs a date library; a linear one does not).
  function timeAxis(extra = {}) {
    return {
      type: "linear",
      // At least an hour wide, so that a few points close together do not spread
      // over years or share one label.
      afterDataLimits(axis) {
        if (axis.max - axis.min < 3600e3) axis.max = axis.min + 3600e3;
      },
      afterBuildTicks(axis) {
        const step = TICK_STEPS.find((s) => (axis.max - axis.min) / s <= 7) || TICK_STEPS[TICK_STEPS.length - 1];
        const ticks = [];
        for (let v = Math.ceil(axis.min / step) * step; v <= axis.max; v += step) ticks.push({ value: v });
        if (ticks.length) axis.ticks = ticks;
      },
      ticks: {
        maxTicksLimit: 8,
        callback(v) {
          const span = this.max - this.min;
          return span > 2 * 86400e3 ? fmt.day(v) : span > 86400e3 ? fmt.day(v).slice(5) + " " + fmt.hhmm(v) : fmt.hhmm(v);
        },
      },
      grid: { color: "#eef0f3" },
      ...extra,
    };
  }

  // --- Who is signed in ---

  const store = {
    get: (k) => {
      try {
        return localStorage.getItem("joule." + k) || "";
      } catch {
        return "";
      }
    },
    set: (k, v) => {
      try {
        if (v) localStorage.setItem("joule." + k, v);
        else localStorage.removeItem("joule." + k);
      } catch {
        // storage disabled: the choice lasts this page only
      }
    },
  };

  // The session: in a demo, the operator's and the demo tenants' tokens come from
  // /api/v1/demo; otherwise the token saved in this browser, and, when it is the
  // operator's, the tenants /api/v1/accounts lists.
  const session = {
    demo: null, // /api/v1/demo, when the server runs one
    token: store.get("token"),
    operator: false, // the token is the operator's
    role: "", // otherwise its role (viewer, tenant, owner), as /api/v1/whoami says
    tenants: [], // [{id, name, token?}]
    tenant: store.get("tenant"),
    loaded: false,
  };
  const sessionListeners = [];

  // readToken is the token the pages read with: the demo's operator's, or the one
  // saved in this browser.
  const readToken = () => (session.demo ? session.demo.operator_token : session.token);

  // tenantAuth says how to act for the chosen tenant: its id, the token to send, and
  // the account to name in an order (when the operator orders on a tenant's behalf).
  function tenantAuth() {
    const t = session.tenants.find((x) => x.id === session.tenant);
    if (!t) return null;
    if (t.token) return { id: t.id, name: t.name, token: t.token, account: "" };
    if (session.operator) return { id: t.id, name: t.name, token: session.token, account: t.id };
    return { id: t.id, name: t.name, token: session.token, account: "" };
  }

  // loadSession reads who is signed in and tells the pages, unless quiet.
  async function loadSession(quiet = false) {
    session.tokenError = "";
    session.role = "";
    try {
      session.demo = await api("/api/v1/demo", { token: "" });
    } catch (err) {
      // Without a demo the route is not found, or not public (401, 403).
      if (![401, 403, 404].includes(err.status)) console.error(err);
      session.demo = null;
    }
    if (session.demo) {
      session.operator = true;
      session.tenants = session.demo.tenants || [];
    } else if (session.token) {
      try {
        const r = await api("/api/v1/accounts", { token: session.token });
        session.operator = true;
        session.tenants = (r.accounts || []).filter((a) => a.role === "tenant").map((a) => ({ id: a.id, name: a.name }));
      } catch (err) {
        session.operator = false;
        // A tenant's token may not list accounts; the tenant names itself in the picker.
        session.tenants = session.tenant ? [{ id: session.tenant, name: session.tenant }] : [];
        if (err.status === 401) session.tokenError = "The saved token was refused: " + err.message;
        else session.role = await api("/api/v1/whoami", { token: session.token }).then((a) => a.role, () => "");
      }
    } else {
      session.tenants = [];
    }
    if (!session.tenants.some((t) => t.id === session.tenant)) session.tenant = session.tenants.length ? session.tenants[0].id : "";
    renderAuth();
    if (quiet) return;
    session.loaded = true;
    sessionListeners.forEach((fn) => fn(session));
  }

  function renderAuth() {
    const pick = $("tenant-pick");
    const label = $("tenant-pick-label");
    const box = $("token-box");
    label.hidden = !(session.demo || session.operator) || session.tenants.length === 0;
    pick.replaceChildren(...session.tenants.map((t) => el("option", { value: t.id, text: t.name || t.id })));
    pick.value = session.tenant;
    box.hidden = !!session.demo;
    const summary = box.querySelector("summary");
    summary.textContent = session.tokenError
      ? "Token refused"
      : session.token
        ? session.operator
          ? "Token: operator"
          : session.role && session.role !== "tenant"
            ? "Token: " + session.role
            : "Token: tenant " + (session.tenant || "?")
        : "API token";
    setText("token-error", session.tokenError);
  }

  function initAuth() {
    $("tenant-pick").addEventListener("change", (e) => {
      session.tenant = e.target.value;
      store.set("tenant", session.tenant);
      sessionListeners.forEach((fn) => fn(session));
    });
    $("token-form").addEventListener("submit", (e) => {
      e.preventDefault();
      session.token = $("token-input").value.trim();
      store.set("token", session.token);
      $("token-input").value = "";
      $("token-box").open = false;
      loadSession();
    });
    $("token-clear").addEventListener("click", () => {
      session.token = "";
      store.set("token", "");
      loadSession();
    });
  }

  // onSession calls fn with the session once it is loaded and whenever it changes.
  function onSession(fn) {
    sessionListeners.push(fn);
    if (session.loaded) fn(session);
  }

  // chooseTenant sets the tenant a tenant's own token acts as (it cannot list accounts).
  function chooseTenant(id) {
    session.tenant = id;
    store.set("tenant", id);
    if (!session.tenants.some((t) => t.id === id)) session.tenants = [{ id, name: id }];
    renderAuth();
    sessionListeners.forEach((fn) => fn(session));
  }

  // --- The clock and the overview every page polls ---

  // The server's clock: its "now" at the last overview, and when that arrived here. A
  // demo's clock runs at its speed between polls.
  const clock = { serverMs: 0, localMs: 0, speed: 1 };
  const overviewListeners = [];
  let lastOverview = null;

  // now is the server's time now, in ms (the browser's until the first overview).
  function now() {
    if (!clock.serverMs) return Date.now();
    return clock.serverMs + (performance.now() - clock.localMs) * clock.speed;
  }

  function tickClock() {
    setText("clock", clock.serverMs ? fmt.time(now()) : "—");
  }

  async function pollOverview() {
    let ov;
    try {
      ov = await api("/api/v1/overview");
    } catch (err) {
      overviewListeners.forEach((fn) => fn(null, err));
      return;
    }
    lastOverview = ov;
    clock.serverMs = Date.parse(ov.now);
    clock.localMs = performance.now();
    clock.speed = ov.demo && session.demo ? session.demo.speed || 1 : 1;
    const badge = $("demo-badge");
    badge.hidden = !ov.demo;
    badge.textContent = session.demo ? "demo ×" + session.demo.speed : "demo";
    $("clock").setAttribute("datetime", ov.now);
    tickClock();
    overviewListeners.forEach((fn) => fn(ov, null));
  }

  // onOverview calls fn(overview, error) after every poll of /api/v1/overview.
  function onOverview(fn) {
    overviewListeners.push(fn);
    if (lastOverview) fn(lastOverview, null);
  }

  document.addEventListener("DOMContentLoaded", () => {
    initAuth();
    // The pages hear of the session once the server's clock is known: a demo's month
    // is not the browser's.
    loadSession(true)
      .finally(readySession)
      .then(pollOverview)
      .then(() => {
        session.loaded = true;
        sessionListeners.forEach((fn) => fn(session));
        poll(pollOverview, POLL_MS, true);
      });
    setInterval(() => document.hidden || tickClock(), 1000);
  });

  // leaseRow is a lease as the Market and Tenant pages list it; extra cells (what a
  // page adds) go before its status.
  function leaseRow(l, ...extra) {
    return el(
      "tr",
      { "data-lease": l.id },
      el("td", {}, el("code", { text: l.id })),
      el("td", {}, el("code", { text: l.order })),
      el("td", { text: l.product }),
      el("td", { text: l.class }),
      el("td", { class: "n", text: fmt.num(l.gpus) }),
      el("td", { class: "time", text: fmt.short(l.start) }),
      el("td", { class: "time", text: l.open_ended ? "until stopped" : fmt.short(l.end) }),
      el("td", { class: "n", text: fmt.micro(l.price_micro_usd_per_gpu_hour) }),
      ...extra,
      el("td", { text: l.status }, l.end_reason ? el("div", { class: "sub", text: leaseEnd(l) }) : ""),
    );
  }

  // leaseEnd says why a lease ended or will end, as joule.LeaseEnd.Describe does.
  function leaseEnd(l) {
    const why = {
      term: "reached the end its order asked for",
      stopped: l.ended_by ? `stopped by ${l.ended_by}` : "stopped",
      credit: "stopped: the tenant's credit ran out",
      preempted: "preempted after notice by a bid of higher priority",
      renewal: "not renewed: no GPUs for the next hour at its limit",
    };
    return why[l.end_reason] || l.end_reason;
  }

  // price formats a price, or "—" where it is missing: not known now (fresh false) and
  // never read (zero). A stale price that was read still shows; the caller says stale.
  function price(format, v, fresh) {
    return fresh === false && !v ? "—" : format(v);
  }

  return {
    api,
    price,
    blob,
    query,
    leaseRow,
    fmt,
    el,
    $,
    setText,
    rows,
    status,
    busy,
    pollParts,
    chart,
    color,
    timeAxis,
    store,
    readToken,
    tenantAuth,
    onSession,
    chooseTenant,
    now,
    onOverview,
  };
})();
