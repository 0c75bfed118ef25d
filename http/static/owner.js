// Owner: an owner's servers at the sites, its listings and their fill priority, the
// GPU-hours it offered and sold day by day, its earnings, fees, payouts and balance.
// The operator picks any owner, sets fill priorities and pays owners out.
"use strict";

(() => {
  const { $, el, fmt, setText, api } = Joule;
  const DAYS = 7;
  const PRIORITIES = [
    ["time", "longest-standing ask"],
    ["owners-first", "owners' servers"],
    ["operator-first", "operator's servers"],
  ];

  const month = () => new Date(Joule.now()).toISOString().slice(0, 7);
  let owner = ""; // the owner shown
  let operator = false; // the page acts as the operator
  let last = null; // the last report

  const util = Joule.chart($("util-chart"), {
    type: "bar",
    data: {
      labels: [],
      datasets: [
        { label: "Offered", data: [], backgroundColor: "#d5dbe3", maxBarThickness: 28 },
        { label: "Sold", data: [], backgroundColor: Joule.color("firm"), maxBarThickness: 28 },
      ],
    },
    options: {
      scales: {
        x: { grid: { display: false } },
        y: { beginAtZero: true, title: { display: true, text: "GPU-hours" }, grid: { color: "#eef0f3" } },
      },
      plugins: { legend: { position: "bottom" } },
    },
  });

  async function pollReport() {
    if (!owner) return;
    const rep = await api(`/api/v1/owners/${encodeURIComponent(owner)}` + Joule.query({ days: DAYS }));
    last = rep;
    setText("owner-name", rep.name && rep.name !== rep.owner ? `${rep.name} (${rep.owner})` : rep.owner);
    setText("balance", fmt.micro(rep.balance_micro_usd));
    const offered = rep.days.reduce((n, d) => n + d.offered_gpu_hours, 0);
    const sold = rep.days.reduce((n, d) => n + d.sold_gpu_hours, 0);
    setText("util", offered ? fmt.pct(sold / offered) : "—");
    setText("util-sub", `${fmt.num(sold)} of ${fmt.num(offered)} GPU-hours, ${rep.days.length} days`);
    Joule.rows(
      $("servers").tBodies[0],
      rep.servers,
      (s) =>
        el(
          "tr",
          {},
          el("td", {}, el("a", { href: "/sites/" + encodeURIComponent(s.site), text: s.site })),
          el("td", { text: s.fleet }),
          el("td", { text: s.model }),
          el("td", { text: s.product }),
          el("td", { class: "n", text: fmt.num(s.servers) }),
          el("td", { class: "n", text: fmt.num(s.gpus) }),
        ),
      "No fleet of any site names this owner.",
    );
    Joule.rows($("listings").tBodies[0], rep.listings, listingRow, "No listings: the exchange lists an owner's GPU servers once a site's manifest names it.");
    Joule.rows(
      $("days").tBodies[0],
      rep.days.slice().reverse(),
      (d) =>
        el(
          "tr",
          {},
          el("td", { class: "time", text: fmt.day(Date.parse(d.day)) }),
          el("td", { class: "n", text: fmt.num(d.offered_gpu_hours) }),
          el("td", { class: "n", text: fmt.num(d.sold_gpu_hours) }),
          el("td", { class: "n", text: d.offered_gpu_hours ? fmt.pct(d.sold_gpu_hours / d.offered_gpu_hours) : "—" }),
        ),
      "No days.",
    );
    if (util) {
      util.data.labels = rep.days.map((d) => fmt.day(Date.parse(d.day)));
      util.data.datasets[0].data = rep.days.map((d) => d.offered_gpu_hours);
      util.data.datasets[1].data = rep.days.map((d) => d.sold_gpu_hours);
      util.update();
    }
    Joule.rows($("owner-leases").tBodies[0], rep.leases, (l) => Joule.leaseRow(l), "No leases on these servers yet.");
  }

  // listingRow shows a listing with its product's fill priority: a picker for the
  // operator, words for the owner.
  function listingRow(l) {
    const prio = operator
      ? el(
          "select",
          { "data-product": l.product, "aria-label": `Fill priority of ${l.product}`, onchange: (e) => setPriority(l.product, e.target) },
          ...PRIORITIES.map(([v, text]) => el("option", { value: v, text, selected: v === l.fill_priority })),
        )
      : (PRIORITIES.find(([v]) => v === l.fill_priority) || [l.fill_priority, l.fill_priority])[1];
    return el(
      "tr",
      { "data-product": l.product },
      el("td", { text: l.product }),
      el("td", { class: "n", text: fmt.num(l.servers) }),
      el("td", { class: "n", text: fmt.num(l.gpus) }),
      el("td", { class: "n", text: l.opportunity_cost ? `≥ ${fmt.micro(l.ask_micro_usd_per_gpu_hour)}, opportunity cost` : fmt.micro(l.ask_micro_usd_per_gpu_hour) }),
      el("td", {}, prio),
    );
  }

  async function setPriority(product, select) {
    select.disabled = true;
    try {
      const p = await api("/api/v1/fill-priorities", { method: "PUT", body: { product, fill_priority: select.value } });
      Joule.status("prio-status", `${p.product}: at one ask, ${p.fill_priority} from now on.`);
    } catch (err) {
      Joule.status("prio-status", err.message, true);
    } finally {
      select.disabled = false;
      pollReport().catch(() => {});
    }
  }

  async function pollStatement() {
    if (!owner) return;
    const st = await api(`/api/v1/statements/${encodeURIComponent(owner)}` + Joule.query({ month: month() }));
    setText("statement-month", st.month);
    setText("net", fmt.micro(st.net_micro_usd));
    setText("net-sub", `sales net of fees in ${st.month}`);
    setText("fees", fmt.micro(st.fees_micro_usd));
    setText("paid", fmt.micro(st.payouts_micro_usd));
    setText("paid-sub", `in ${st.month}`);
    setText("st-opening", fmt.micro(st.opening_balance_micro_usd));
    setText("st-gross", fmt.micro(st.gross_micro_usd));
    setText("st-fees", fmt.micro(st.fees_micro_usd));
    setText("st-net", fmt.micro(st.net_micro_usd));
    setText("st-hosting", fmt.micro(st.hosting_micro_usd));
    setText("st-energy", fmt.micro(st.energy_micro_usd));
    setText("st-payouts", fmt.micro(st.payouts_micro_usd));
    setText("st-closing", fmt.micro(st.closing_balance_micro_usd));
    Joule.rows(
      $("statement-lines").tBodies[0],
      (st.lines || []).slice().reverse(),
      (l) =>
        el(
          "tr",
          { "data-kind": l.kind },
          el("td", { class: "time", text: fmt.short(l.at) }),
          el("td", { text: l.kind }),
          el("td", {}, l.lease ? el("code", { text: l.lease }) : ""),
          el("td", { text: l.memo }),
          el("td", { class: "n", text: l.gross_micro_usd ? fmt.micro(l.gross_micro_usd) : "" }),
          el("td", { class: "n", text: l.fee_micro_usd ? fmt.micro(l.fee_micro_usd) : "" }),
          el("td", { class: "n", text: fmt.micro(l.amount_micro_usd) }),
        ),
      "Nothing this month.",
    );
  }

  // printStatement opens the server's printable statement; it needs the token, so it
  // is fetched here and shown from a blob rather than linked (as the Tenant page's
  // invoice is).
  async function printStatement() {
    if (!owner) return;
    const win = window.open("", "_blank");
    try {
      const resp = await fetch(`/api/v1/statements/${encodeURIComponent(owner)}` + Joule.query({ month: month(), format: "html" }), {
        headers: { Authorization: "Bearer " + Joule.readToken() },
      });
      if (!resp.ok) throw new Error(resp.status + " " + resp.statusText);
      const url = URL.createObjectURL(new Blob([await resp.text()], { type: "text/html" }));
      if (win) win.location = url;
      else window.location = url;
    } catch (err) {
      if (win) win.close();
      Joule.status("status", "Cannot open the printable statement: " + err.message, true);
    }
  }
  $("statement-print").addEventListener("click", printStatement);

  // --- Payouts, confirmed (operator) ---

  let payout = null; // {amount, key} awaiting confirmation

  $("payout-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const amount = Number($("payout-amount").value);
    if (!Number.isFinite(amount) || amount <= 0) {
      Joule.status("payout-status", "The amount must be a positive number of dollars.", true);
      return;
    }
    const key = $("payout-key").value.trim();
    payout = { amount, key };
    const bal = last ? ` of a balance of ${fmt.micro(last.balance_micro_usd)}` : "";
    setText("payout-what", `Pay ${fmt.usd(amount, 2)}${bal} out to ${owner}${key ? ` (reference ${key})` : ""}?`);
    Joule.status("payout-status", "");
    $("payout-confirm").hidden = false;
    $("payout-go").focus();
  });
  $("payout-keep").addEventListener("click", () => {
    payout = null;
    $("payout-confirm").hidden = true;
  });
  $("payout-confirm").addEventListener("submit", (e) => {
    e.preventDefault();
    if (!payout) return;
    const { amount, key } = payout;
    let done = "";
    Joule.busy(e.target, $("payout-status"), "Paying out…", async () => {
      const p = await api(`/api/v1/owners/${encodeURIComponent(owner)}/payouts`, {
        method: "POST",
        body: { amount_micro_usd: Math.round(amount * 1e6), key: key || undefined },
      });
      done = `Paid ${fmt.micro(p.amount_micro_usd)} to ${p.owner} (transaction ${p.transaction}); the balance is now ${fmt.micro(p.balance_micro_usd)}.`;
    }).then(() => {
      if (!done) return; // refused: the API's error stays shown
      payout = null;
      $("payout-confirm").hidden = true;
      $("payout-amount").value = "";
      $("payout-key").value = "";
      Joule.status("payout-status", done);
      pollReport().catch(() => {});
      pollStatement().catch(() => {});
    });
  });

  // --- Who is shown ---

  function chooseOwner(id) {
    owner = id;
    Joule.store.set("owner", id);
    pollReport().catch((err) => Joule.status("status", "Cannot read the owner: " + err.message, true));
    pollStatement().catch(() => {});
  }

  $("owner-pick").addEventListener("change", (e) => chooseOwner(e.target.value));

  let started = false;
  Joule.onSession(async (s) => {
    operator = !!(s.demo || s.operator);
    $("payout").hidden = !operator;
    owner = "";
    if (operator) {
      let owners = [];
      try {
        const r = await api("/api/v1/accounts");
        owners = (r.accounts || []).filter((a) => a.role === "owner");
      } catch (err) {
        Joule.status("status", "Cannot list the owners: " + err.message, true);
        return;
      }
      const pick = $("owner-pick");
      pick.replaceChildren(...owners.map((a) => el("option", { value: a.id, text: a.name && a.name !== a.id ? `${a.name} (${a.id})` : a.id })));
      $("owner-pick-label").hidden = owners.length === 0;
      const saved = Joule.store.get("owner");
      owner = owners.some((a) => a.id === saved) ? saved : owners.length ? owners[0].id : "";
      pick.value = owner;
      if (!owner) {
        Joule.status("status", "No owners yet: a fleet with owner: in a site's manifest makes one.", true);
        return;
      }
    } else if (s.token && s.role === "owner") {
      const me = await api("/api/v1/whoami").catch(() => null);
      owner = me ? me.id : "";
      $("owner-pick-label").hidden = true;
    } else {
      $("owner-pick-label").hidden = true;
      Joule.status("status", s.token ? "This page is an owner's: enter an owner's or the operator's token under API token." : "This page needs a token: enter an owner's or the operator's under API token in the header.", true);
      return;
    }
    if (started) {
      chooseOwner(owner);
      return;
    }
    started = true;
    Joule.pollParts("status", [
      [pollReport, "the owner's report"],
      [pollStatement, "the statement"],
    ]);
  });
})();
