package agent_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/agent"
	"github.com/joule-site/joule/catalog"
	"github.com/joule-site/joule/cgminer"
	"github.com/joule-site/joule/dispatch"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/leasing"
	"github.com/joule-site/joule/live"
	"github.com/joule-site/joule/manifest"
	"github.com/joule-site/joule/sim"
	"github.com/joule-site/joule/sqlite"
)

// market is a steady market: mining pays, so everything runs until an event says not.
type market struct{}

func (market) Hashprice(time.Time) (float64, bool)           { return 55, true }
func (market) Energy(*joule.Site, time.Time) (float64, bool) { return 30, true }
func (market) GPU(time.Time) (float64, float64)              { return 2, 0.85 }
func (market) BTCUSD(time.Time) (float64, bool)              { return 60_000, true }

// site runs a server with the live loop over a fresh store holding a site of n S21s,
// and a simulated fleet of those miners on loopback.
func site(t *testing.T, n int) (*jhttp.Server, *live.Loop, *sim.Fleet, *sqlite.LiveService) {
	t.Helper()
	db := sqlite.NewDB(t.TempDir() + "/joule.db")
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	yaml := fmt.Sprintf("sites:\n  - name: test-site\n    power_cap_mw: 10\n    energy: {kind: fixed, usd_per_mwh: 30}\n    fleets:\n      - {name: s21s, model: s21, count: %d}\n", n)
	m, err := manifest.Parse("test.yaml", []byte(yaml), catalog.Lookup)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sqlite.NewManifestService(db).Apply(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	lv := sqlite.NewLiveService(db)
	models := catalog.Models{User: sqlite.NewHardwareService(db)}
	loop := &live.Loop{Sites: sqlite.NewSiteService(db), Fleets: sqlite.NewFleetService(db), Models: models, Live: lv,
		Prices: market{}, Interval: time.Second, Hysteresis: dispatch.Hysteresis{WarmupSec: 300}, Now: time.Now}
	s := jhttp.NewServer()
	s.Addr, s.Logger = "127.0.0.1:0", slog.New(slog.DiscardHandler)
	s.Sites, s.Fleets, s.Manifests, s.Models, s.Live = sqlite.NewSiteService(db), sqlite.NewFleetService(db), sqlite.NewManifestService(db), models, lv
	s.Ops = &live.Operations{Sites: s.Sites, Live: lv, Planner: loop, Now: time.Now}
	s.Telemetry = sqlite.NewTelemetryService(db)
	s.DeviceControl = sqlite.NewDeviceControlService(db)
	withAccounts(t, s, db)
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	fleet, err := sim.StartFleet(sim.FleetConfig{Miners: n, RandomPorts: true, Range: "127.0.0.1",
		Miner: sim.MinerConfig{SleepRamp: 200 * time.Millisecond, WakeRamp: 500 * time.Millisecond, SlowDelay: 300 * time.Millisecond, RebootTime: 300 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fleet.Close() })
	return s, loop, fleet, lv
}

// serverTokens are a test server's operator's token and its site's agent's.
type serverTokens struct{ operator, agent string }

var tokens sync.Map // *jhttp.Server → serverTokens

// withAccounts runs the exchange's accounts on s over db and makes a token for its
// operator and one for the agent of test-site, as an operator would.
func withAccounts(t *testing.T, s *jhttp.Server, db *sqlite.DB) {
	t.Helper()
	ctx := context.Background()
	svc, err := leasing.Open(ctx, sqlite.NewLeasingStore(db), leasing.Config{Sites: s.Sites, Fleets: s.Fleets, Models: s.Models})
	if err != nil {
		t.Fatal(err)
	}
	s.Leasing = svc
	op, err := svc.Principal(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	issued, err := svc.IssueToken(ctx, op, op.ID, leasing.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	tt := serverTokens{operator: issued.Token}
	if _, tt.agent, err = svc.CreateAccount(ctx, op, leasing.NewAccountRequest{ID: "test-site-agent", Role: joule.RoleAgent, Site: "test-site"}); err != nil {
		t.Fatal(err)
	}
	tokens.Store(s, tt)
}

// operatorClient is a client of s that acts as its operator.
func operatorClient(s *jhttp.Server) *jhttp.Client {
	c := jhttp.NewClient(s.URL())
	tt, _ := tokens.Load(s)
	c.Token = tt.(serverTokens).operator
	return c
}

// agentClient is a client of s that acts as the agent of test-site.
func agentClient(s *jhttp.Server) *jhttp.Client {
	c := jhttp.NewClient(s.URL())
	tt, _ := tokens.Load(s)
	c.Token = tt.(serverTokens).agent
	return c
}

func newAgent(s *jhttp.Server) *agent.Agent {
	ex := agent.DefaultExecutor(&cgminer.Driver{Options: []cgminer.Option{cgminer.WithTimeout(time.Second)}})
	ex.Retries, ex.Backoff, ex.Timeout, ex.VerifyTimeout, ex.SleepVerifyTimeout, ex.PollInterval = 1, 20*time.Millisecond, 500*time.Millisecond, 3*time.Second, time.Second, 50*time.Millisecond
	ex.Settle = 200 * time.Millisecond // the simulated miners' sleep ramp
	return &agent.Agent{Site: "test-site", Server: agentClient(s), Executor: ex, Now: time.Now, Log: slog.Default()}
}

// A demand-response event is met by its deadline in the simulator, with every step in
// the audit log — and a tenth of the miners dead, slow or lying does not break the
// level: the agent puts healthy miners to sleep in their place.
func TestDemandResponseMet(t *testing.T) {
	const n = 100
	s, loop, fleet, lv := site(t, n)
	faults := []sim.Fault{sim.FaultNoAnswer, sim.FaultSlow, sim.FaultLieAck}
	for i, m := range fleet.Miners() {
		if i%10 == 5 {
			m.SetFault(faults[(i/10)%len(faults)])
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	go func() { _ = loop.Run(ctx) }()
	a := newAgent(s)
	addrs := fleet.Addresses()
	// Discovery reads with a generous bound, so that a loaded machine's slow replies do
	// not hide well-behaved miners; the steps keep the short one.
	short := a.Executor.Timeout
	a.Executor.Timeout = 5 * time.Second
	devs := a.Discover(ctx, addrs, []joule.FleetTarget{{Fleet: "s21s", Machines: n}})
	a.Executor.Timeout = short
	if len(devs) < n-10 {
		t.Fatalf("discovered %d of %d miners", len(devs), n)
	}
	go a.Run(ctx, 200*time.Millisecond)

	// 100 S21 draw 350 kW; the event allows 150 kW from 5 s from now.
	limit := joule.Watts(150_000)
	deadline := time.Now().Add(5 * time.Second)
	dr, err := operatorClient(s).DemandResponse(ctx, "test-site", limit, time.Until(deadline).Round(time.Second), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// The fleet comes down to the event's level. How long it took against the deadline
	// is logged, not asserted: a loaded machine is slower than any deadline a test sets.
	var got joule.Watts
	for got = fleet.PowerW(); got > limit && ctx.Err() == nil; got = fleet.PowerW() {
		time.Sleep(50 * time.Millisecond)
	}
	if late := time.Since(dr.Deadline).Round(10 * time.Millisecond); late > 0 {
		t.Logf("the fleet drew %v, at most the event's %v, %v after its deadline", got, limit, late)
	} else {
		t.Logf("the fleet drew %v, at most the event's %v, %v before its deadline", got, limit, -late)
	}
	if got > limit {
		t.Errorf("the fleet draws %v, above the event's %v", got, limit)
		var awake, unhealthy int
		lim := map[joule.Watts]int{}
		for _, d := range a.Devices() {
			if d.Awake {
				awake++
				lim[d.LimitW]++
			}
			if !d.Healthy {
				unhealthy++
			}
		}
		truth := map[joule.Watts]int{}
		for _, m := range fleet.Miners() {
			truth[m.PowerW()]++
		}
		plan, _ := lv.LatestPlan(ctx, "test-site")
		if log, err := lv.Audit(ctx, joule.AuditQuery{Site: "test-site"}); err == nil {
			counts := map[string]int{}
			for _, e := range log {
				if e.At.After(dr.CreatedAt) {
					counts[fmt.Sprintf("%s@%.1fs", e.Kind, e.At.Sub(dr.CreatedAt).Seconds())]++
				}
			}
			t.Logf("audit after the event: %v", counts)
		}
		t.Logf("agent: %d awake (limits %v), %d unhealthy; truth %v; plan %+v", awake, lim, unhealthy, truth, plan.Fleets)
	}
	if plan, err := lv.LatestPlan(ctx, "test-site"); err != nil || plan.AllocatedW > limit || plan.CapW > limit {
		t.Errorf("plan %+v, %v", plan, err)
	}
	log, err := lv.Audit(ctx, joule.AuditQuery{Site: "test-site"})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[joule.AuditKind]int{}
	var failed, outcomeFailed int
	for _, e := range log {
		seen[e.Kind]++
		if e.Kind == joule.AuditVerify && strings.HasPrefix(e.Detail, "FAILED") {
			failed++
		}
		// The structured fields say the same as the text, stored through the server as
		// the agent's account.
		const agentID = "test-site-agent"
		if e.Kind == joule.AuditVerify && e.Outcome == joule.OutcomeFailed && e.Reason != "" && e.Actor == agentID && e.Device != "" {
			outcomeFailed++
		}
		want := map[joule.AuditKind]string{joule.AuditPlan: joule.ActorLoop, joule.AuditCommand: agentID, joule.AuditAck: agentID, joule.AuditVerify: agentID, joule.AuditReport: agentID}[e.Kind]
		if want != "" && (e.Actor != want || !e.Outcome.Valid()) {
			t.Errorf("audit %s row by %q with outcome %q; want by %q with an outcome", e.Kind, e.Actor, e.Outcome, want)
		}
	}
	if outcomeFailed != failed {
		t.Errorf("%d verifications failed by their text, %d by their outcome", failed, outcomeFailed)
	}
	for _, k := range []joule.AuditKind{joule.AuditEvent, joule.AuditPlan, joule.AuditCommand, joule.AuditAck, joule.AuditVerify, joule.AuditReport} {
		if seen[k] == 0 {
			t.Errorf("the audit log has no %s: %v", k, seen)
		}
	}
	if failed == 0 {
		t.Error("the dead and lying miners left no failed verification in the audit log")
	}
}

// A miner that stopped answering during an event (its commands failed, so it is
// counted awake and unhealthy) is woken once it answers again and shows itself
// asleep: a failed command does not leave a healthy miner asleep for good.
func TestFailedWakeIsRetried(t *testing.T) {
	const n = 10
	s, loop, fleet, _ := site(t, n)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	go func() { _ = loop.Run(ctx) }()
	a := newAgent(s)
	if devs := a.Discover(ctx, fleet.Addresses(), []joule.FleetTarget{{Fleet: "s21s", Machines: n}}); len(devs) != n {
		t.Fatalf("discovered %d of %d miners", len(devs), n)
	}
	go a.Run(ctx, 200*time.Millisecond)
	c := operatorClient(s)
	awake := func() int {
		k := 0
		for _, m := range fleet.Miners() {
			if m.PowerW() > 1000 {
				k++
			}
		}
		return k
	}
	wait := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			if ctx.Err() != nil {
				t.Fatalf("%s: not by the deadline (%d of %d miners drawing power)", what, awake(), n)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	wait("every miner running", func() bool { return awake() == n })
	dr, err := c.DemandResponse(ctx, "test-site", 1_000, 0, time.Hour) // everything asleep, now
	if err != nil {
		t.Fatal(err)
	}
	wait("every miner asleep", func() bool { return awake() == 0 })
	silent := fleet.Miners()[3]
	silent.SetFault(sim.FaultNoAnswer)
	if _, err := c.CancelDemandResponse(ctx, "test-site", dr.ID); err != nil {
		t.Fatal(err)
	}
	wait("the others woken, the silent one not", func() bool {
		if awake() != n-1 {
			return false
		}
		for _, d := range a.Devices() {
			if d.Address == silent.Addr() && !d.Healthy {
				return true
			}
		}
		return false
	})
	silent.SetFault(sim.FaultNone)
	wait("the silent miner woken once it answers", func() bool { return awake() == n })
}
