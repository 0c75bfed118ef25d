package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	domain "github.com/joule-site/joule"
	"github.com/joule-site/joule/agent"
	"github.com/joule-site/joule/alerts"
	"github.com/joule-site/joule/catalog"
	"github.com/joule-site/joule/cgminer"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/leasing"
	"github.com/joule-site/joule/live"
	"github.com/joule-site/joule/manifest"
	"github.com/joule-site/joule/sim"
	"github.com/joule-site/joule/sqlite"
	"github.com/joule-site/joule/webhook"
)

// hookReceiver is a loopback webhook receiver that refuses its first requests with
// 503, as a pager's endpoint does when it is briefly down, and keeps what it took.
type hookReceiver struct {
	mu      sync.Mutex
	refuse  int
	seen    int
	bodies  []webhook.Body
	badSign int
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seen++
	if h.seen <= h.refuse {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if r.Header.Get(domain.AlertSignatureHeader) != webhook.Sign([]byte("hook-secret"), b) {
		h.badSign++
	}
	var body webhook.Body
	if err := json.Unmarshal(b, &body); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	h.bodies = append(h.bodies, body)
	w.WriteHeader(http.StatusOK)
}

// got returns the bodies taken, as "rule subject state".
func (h *hookReceiver) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, b := range h.bodies {
		out = append(out, fmt.Sprintf("%s %s %s", b.Rule, b.Subject, b.State))
	}
	return out
}

// The test issue 16 asks for: an alert fires and reaches a webhook within one poll for
// a miner that goes offline, overheats, leaves its pool or changes its reply shape (the
// simulator's fault modes), and resolves within one poll of the fault clearing. A real
// server on SQLite judges every telemetry batch; the delivery runs as the leader runs
// it, to a loopback receiver that refuses its first tries; a real agent polls
// simulated miners over loopback, one poll a step, every miner each poll. Polls are
// counted: after each, the test waits for the webhook (bounded only so that a
// failure ends) before the next poll.
func TestAlertsReachAWebhookWithinOnePoll(t *testing.T) {
	const miners = 4
	ctx := context.Background()
	hooks := &hookReceiver{refuse: 2}
	receiver := httptest.NewServer(hooks)
	t.Cleanup(receiver.Close)
	t.Setenv("JOULE_TEST_HOOK_SECRET", "hook-secret")

	db := sqlite.NewDB(filepath.Join(t.TempDir(), "joule.db"))
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	yaml := fmt.Sprintf(`sites:
  - name: test-site
    power_cap_mw: 10
    energy: {kind: fixed, usd_per_mwh: 30}
    alerts:
      webhooks:
        - {url: %s/hook, secret_env: JOULE_TEST_HOOK_SECRET}
    fleets:
      - {name: s21s, model: s21, count: %d, pools: [stratum+tcp://pool.example.com:3333]}
`, receiver.URL, miners)
	m, err := manifest.Parse("test.yaml", []byte(yaml), catalog.Lookup)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sqlite.NewManifestService(db).Apply(ctx, m); err != nil {
		t.Fatal(err)
	}
	lv := sqlite.NewLiveService(db)
	s := jhttp.NewServer()
	s.Addr, s.Logger = "127.0.0.1:0", slog.New(slog.DiscardHandler)
	s.Sites, s.Fleets, s.Manifests, s.Live = sqlite.NewSiteService(db), sqlite.NewFleetService(db), sqlite.NewManifestService(db), lv
	s.Models = catalog.Models{User: sqlite.NewHardwareService(db)}
	s.Ops = &live.Operations{Sites: s.Sites, Fleets: s.Fleets, Models: s.Models, Live: lv, Now: time.Now}
	s.Telemetry = sqlite.NewTelemetryService(db)
	s.Alerts = sqlite.NewAlertService(db)
	eval := &alerts.Evaluator{Alerts: s.Alerts, Sites: s.Sites, Fleets: s.Fleets, Now: time.Now}
	s.AlertRules = eval
	// The leader's delivery, as serve wires it, with retries a test can wait for.
	deliver := webhook.NewDeliverer(s.Alerts, s.Sites, time.Now, s.Logger)
	deliver.Backoff, deliver.MaxBackoff = 10*time.Millisecond, 40*time.Millisecond
	eval.Changed = deliver.Wake
	svc, err := leasing.Open(ctx, sqlite.NewLeasingStore(db), leasing.Config{Sites: s.Sites, Fleets: s.Fleets, Models: s.Models})
	if err != nil {
		t.Fatal(err)
	}
	s.Leasing = svc
	op, err := svc.Principal(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	_, agentToken, err := svc.CreateAccount(ctx, op, leasing.NewAccountRequest{ID: "test-site-agent", Role: domain.RoleAgent, Site: "test-site"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	dctx, stop := context.WithCancel(ctx)
	delivered := make(chan error, 1)
	go func() { delivered <- deliver.Run(dctx) }()
	t.Cleanup(func() { stop(); <-delivered })

	// Every miner runs at stock, as the plan says.
	if err := lv.SavePlan(ctx, &domain.SitePlan{Site: "test-site", At: time.Now(), ValidUntil: time.Now().Add(time.Hour), Reason: "interval", CapW: 10_000_000, PUE: 1,
		Fleets: []domain.FleetTarget{{Fleet: "s21s", Kind: domain.KindASIC, Machines: miners, Running: miners, PowerFrac: 1, StockW: 3500, AllocatedW: miners * 3500}}}); err != nil {
		t.Fatal(err)
	}
	fleet, err := sim.StartFleet(sim.FleetConfig{Miners: miners, RandomPorts: true, Range: "127.0.0.1", Miner: sim.MinerConfig{WakeRamp: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fleet.Close() })
	client := jhttp.NewClient(s.URL())
	client.Token = agentToken
	ex := agent.DefaultExecutor(&cgminer.Driver{Options: []cgminer.Option{cgminer.WithTimeout(300 * time.Millisecond)}})
	ex.Timeout = 300 * time.Millisecond
	ag := &agent.Agent{Site: "test-site", Server: client, Executor: ex, Now: time.Now, RefreshSteps: 1, Instance: "alerts-test",
		Log: slog.New(slog.DiscardHandler), Pools: map[string][]string{"s21s": {"stratum+tcp://pool.example.com:3333"}}}
	found := ag.Discover(ctx, fleet.MinerAddresses(), []domain.FleetTarget{{Fleet: "s21s", Kind: domain.KindASIC, Machines: miners}})
	if len(found) != miners {
		t.Fatalf("the agent found %d miners of %d", len(found), miners)
	}
	addr := map[*sim.Miner]string{}
	for _, mn := range fleet.Miners() {
		addr[mn] = mn.Addr()
	}

	polls := 0
	poll := func() {
		t.Helper()
		polls++
		ag.Step(ctx)
	}
	// within waits, after a poll, for the webhook to have taken want, and fails the
	// test if it takes another poll: the bound is a failure's, not the assertion.
	within := func(want string) {
		t.Helper()
		for end := time.Now().Add(time.Minute); ; time.Sleep(5 * time.Millisecond) {
			for _, g := range hooks.got() {
				if g == want {
					return
				}
			}
			if time.Now().After(end) {
				t.Fatalf("poll %d: the webhook did not get %q; it got %q", polls, want, hooks.got())
			}
		}
	}
	poll() // the healthy fleet: the reply shape of its firmware is known from here on
	if got := hooks.got(); len(got) != 0 {
		t.Fatalf("a healthy fleet alerted: %q", got)
	}

	faults := []struct {
		fault sim.Fault
		rule  domain.AlertRule
	}{
		{sim.FaultNoAnswer, domain.AlertOffline},
		{sim.FaultOverheat, domain.AlertOverheat},
		{sim.FaultWrongPool, domain.AlertWrongPool},
		{sim.FaultReplyShape, domain.AlertReplyShape},
	}
	for i, f := range faults {
		mn := fleet.Miners()[i]
		mn.SetFault(f.fault)
		before := polls
		poll()
		within(fmt.Sprintf("%s %s firing", f.rule, addr[mn]))
		if f.fault != sim.FaultWrongPool {
			mn.SetFault(sim.FaultNone) // the pool guard clears the wrong pool itself, in the poll that found it
		}
		poll()
		within(fmt.Sprintf("%s %s resolved", f.rule, addr[mn]))
		if polls-before != 2 {
			t.Errorf("%s: %d polls to fire and resolve, want 2", f.fault, polls-before)
		}
		mn.SetFault(sim.FaultNone)
	}

	// Every transition reached the webhook once, signed, and nothing else fired.
	want := []string{}
	for i, f := range faults {
		a := addr[fleet.Miners()[i]]
		want = append(want, fmt.Sprintf("%s %s firing", f.rule, a), fmt.Sprintf("%s %s resolved", f.rule, a))
	}
	if got := hooks.got(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the webhook got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	hooks.mu.Lock()
	if hooks.badSign != 0 || hooks.seen != len(want)+hooks.refuse {
		t.Errorf("%d bodies badly signed, %d requests for %d transitions and %d refusals", hooks.badSign, hooks.seen, len(want), hooks.refuse)
	}
	hooks.mu.Unlock()

	// The pool guard switched the miner back with a command audited and verified like
	// any other.
	pooled := addr[fleet.Miners()[2]]
	rows, err := lv.Audit(ctx, domain.AuditQuery{Site: "test-site"})
	if err != nil {
		t.Fatal(err)
	}
	var trail []string
	for _, r := range rows {
		if r.Device == pooled && r.Kind != domain.AuditEvent && r.Kind != domain.AuditChange {
			trail = append(trail, string(r.Kind)+" "+string(r.Outcome)+" "+r.Detail)
		}
	}
	if len(trail) != 3 || !strings.HasPrefix(trail[0], "command ok switch pool to stratum+tcp://pool.example.com:3333: it hashes for "+sim.WrongPoolURL) ||
		!strings.HasPrefix(trail[1], "ack ok") || trail[2] != "verify ok switch pool verified: hashing for stratum+tcp://pool.example.com:3333" {
		t.Errorf("the pool guard's audit trail:\n%s", strings.Join(trail, "\n"))
	}
	if os.Getenv("JOULE_ALERTS_VERBOSE") != "" {
		t.Logf("%d polls; webhook got %q", polls, hooks.got())
	}
}
