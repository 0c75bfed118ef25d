package main_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	domain "github.com/joule-site/joule"
	"github.com/joule-site/joule/catalog"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/leasing"
	"github.com/joule-site/joule/live"
	"github.com/joule-site/joule/manifest"
	"github.com/joule-site/joule/sim"
	"github.com/joule-site/joule/sqlite"
	"github.com/joule-site/joule/syncbuf"
)

// plannedAt is when the test stored a plan: a command a miner received after it and
// before the next may be for it or for an older one, never for a newer one.
type plannedAt struct {
	seq int64
	at  time.Time
}

// TestAgentKilledMidStep runs `joule agent` as a child process against a real server
// (over a real SQLite store, behind a proxy that can refuse audit posts as a failing
// server would) and simulated miners on loopback, and kills it with SIGKILL at a
// random moment while its commands flow, again and again, each time with a new plan
// to follow; some runs have the server refuse their audit, so that it goes to the
// spool. After a last run has drained the spool, every command each miner received
// (by the simulator's own record) has its command row in the audit log: for that
// device, that action, and a plan stored before the command arrived; every row is
// the agent account's, stamped with the server's time, and stored once.
func TestAgentKilledMidStep(t *testing.T) {
	const miners, kills = 24, 12
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("JOULE_TEST_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	t.Logf("seed %d (JOULE_TEST_SEED=%d repeats the kills' moments)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	ctx := context.Background()
	dir := t.TempDir()

	// The server, on a store holding the site and its agent's account.
	rig := agentSite(t, miners)
	s, lv, token := rig.srv, rig.live, rig.agentToken
	target, _ := url.Parse(s.URL())
	var auditDown atomic.Bool // the server answers audit posts with 503, as one whose store fails
	forward := httputil.NewSingleHostReverseProxy(target)
	forward.ErrorLog = log.New(io.Discard, "", 0) // a killed agent's requests end mid-way
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if auditDown.Load() && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/audit") {
			http.Error(w, "the store is not answering", http.StatusServiceUnavailable)
			return
		}
		forward.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)

	fleet, err := sim.StartFleet(sim.FleetConfig{Miners: miners, RandomPorts: true, Range: "127.0.0.1",
		Miner: sim.MinerConfig{SleepRamp: 100 * time.Millisecond, WakeRamp: 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fleet.Close() })
	received := func() (n int) {
		for _, m := range fleet.Miners() {
			n += len(m.Commands())
		}
		return n
	}

	// Plans alternate: odd ones put every miner to sleep, even ones wake them all, every
	// other one at 80% power (a power setting after the wake).
	var plans []plannedAt
	next := func() int64 {
		seq := int64(len(plans) + 1)
		p := &domain.SitePlan{Site: "test-site", At: time.Now(), ValidUntil: time.Now().Add(time.Hour), Reason: "interval", CapW: 10_000_000, PUE: 1,
			Fleets: []domain.FleetTarget{{Fleet: "s21s", Kind: domain.KindASIC, Machines: miners, PowerFrac: 1, StockW: 3500}}}
		if seq%2 == 0 {
			p.Fleets[0].Running, p.Fleets[0].AllocatedW = miners, miners*3500
			if seq%4 == 0 {
				p.Fleets[0].PowerFrac = 0.8
			}
		}
		plans = append(plans, plannedAt{seq, time.Now()}) // before the agent can see it
		if err := lv.SavePlan(ctx, p); err != nil || p.Seq != seq {
			t.Fatalf("plan %d stored as %d: %v", seq, p.Seq, err)
		}
		return seq
	}

	// settled reports whether every miner is as a plan has them: all hashing (awake) or
	// all asleep.
	settled := func(awake bool) bool {
		for _, m := range fleet.Miners() {
			if st := m.Reading().State; (st == domain.StateRunning) != awake || st == domain.StateRamping {
				return false
			}
		}
		return true
	}

	spoolPath := filepath.Join(dir, "agent.spool")
	spooled := func() int64 {
		info, err := os.Stat(spoolPath)
		if err != nil {
			return 0
		}
		return info.Size()
	}
	start := func() (*exec.Cmd, *syncbuf.Buffer) {
		t.Helper()
		cmd := exec.Command(joule, "agent", "--site", "test-site", "--server", proxy.URL, "--token", token,
			"--scan", strings.Join(fleet.MinerAddresses(), ","), "--poll", "200ms", "--spool", spoolPath)
		out := &syncbuf.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill() })
		return cmd, out
	}
	waitFor := func(what string, out *syncbuf.Buffer, ok func() bool) {
		t.Helper()
		for end := time.Now().Add(2 * time.Minute); !ok(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("%s: not after two minutes; the agent's output:\n%s", what, out.String())
			}
		}
	}

	spooledKills := 0
	for i := range kills {
		seq := next()
		down := i%3 == 1
		auditDown.Store(down)
		before := received()
		cmd, out := start()
		// The plan's commands, or, when an earlier run's already left every miner as
		// the plan has it (its commands went out before its kill), nothing to send.
		waitFor(fmt.Sprintf("run %d: commands for plan %d", i, seq), out, func() bool { return received() > before || settled(seq%2 == 0) })
		delay := time.Duration(rng.IntN(1500)) * time.Millisecond
		time.Sleep(delay) // a random moment of the step, while commands flow or after
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		t.Logf("run %d, plan %d, audit %s: killed %s after the first command, %d commands received by then, spool %d bytes",
			i, seq, map[bool]string{true: "refused", false: "taken"}[down], delay, received(), spooled())
		if down && received() > before { // commands went out (a run that found the plan done sends none)
			if spooled() == 0 {
				t.Errorf("run %d: the server refused the audit and commands went out, yet the spool is empty; the agent's output:\n%s", i, out.String())
			}
			spooledKills++
		}
	}

	// A last run, with the server taking the audit, drains the spool and follows a last
	// plan (every miner asleep) to the end.
	auditDown.Store(false)
	// Every miner is woken by hand first (an earlier run may have left them all
	// asleep), so that the last plan has commands to send and the step that sends them
	// ends with its report row.
	for _, m := range fleet.Miners() {
		m.Wake()
	}
	last := next()
	cmd, out := start()
	waitFor("the spool drained and the last plan followed", out, func() bool {
		if spooled() != 0 {
			return false
		}
		for _, m := range fleet.Miners() {
			if m.Reading().State != domain.StateSleeping {
				return false
			}
		}
		log, err := lv.Audit(ctx, domain.AuditQuery{Site: "test-site", Limit: 10, Tail: true})
		if err != nil {
			return false
		}
		for _, e := range log {
			if e.Kind == domain.AuditReport && e.Seq == last {
				return true // the step's rows after its commands are in
			}
		}
		return false
	})
	_ = cmd.Process.Kill()
	_ = cmd.Wait()

	var log []*domain.Audit
	for { // every row, a page at a time
		page, err := lv.Audit(ctx, domain.AuditQuery{Site: "test-site", After: lastID(log)})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		log = append(log, page...)
	}
	type row struct {
		device, action string
	}
	seqs := map[row][]int64{} // the plans each device's command rows are for, by action
	keys := map[string]bool{}
	for _, e := range log {
		if keys[e.Key] || e.Key == "" || e.Actor != "test-site-agent" || e.RecordedAt.IsZero() {
			t.Errorf("row %+v: want a key of its own, the agent's account and the server's time", e)
		}
		keys[e.Key] = true
		if e.Kind == domain.AuditCommand {
			seqs[row{e.Device, e.Detail}] = append(seqs[row{e.Device, e.Detail}], e.Seq)
		}
	}
	seqAt := func(at time.Time) int64 {
		var seq int64
		for _, p := range plans {
			if !p.at.After(at) {
				seq = p.seq
			}
		}
		return seq
	}
	wants := func(seq int64, action string) bool {
		switch action {
		case "sleep":
			return seq%2 == 1
		case "wake":
			return seq%2 == 0
		case "power":
			return seq%4 == 0
		}
		return false
	}
	total := 0
	for _, m := range fleet.Miners() {
		for _, c := range m.Commands() {
			total++
			newest, found := seqAt(c.At), false
			for _, seq := range seqs[row{m.Addr(), c.Action}] {
				if seq <= newest && wants(seq, c.Action) {
					found = true
				}
			}
			if !found {
				t.Errorf("miner %s received %s (%s) at %s, the newest plan then %d, with no command row for it: its rows for %s are for plans %v",
					m.Addr(), c.Action, c.Arg, c.At.Format(time.StampMicro), newest, c.Action, seqs[row{m.Addr(), c.Action}])
			}
		}
	}
	t.Logf("%d kills (%d with the audit spooled), %d commands received, %d audit rows, every command audited", kills, spooledKills, total, len(log))
}

// lastID is the ID of the last event of log, 0 when there is none.
func lastID(log []*domain.Audit) int64 {
	if len(log) == 0 {
		return 0
	}
	return log[len(log)-1].ID
}

// agentRig is a real server on a SQLite store holding one site, test-site, of miners
// S21s, with the exchange's accounts and an agent account for the site.
type agentRig struct {
	srv        *jhttp.Server
	live       *sqlite.LiveService
	exchange   *leasing.Service
	operator   *domain.Account
	agentToken string
	telemetry  *sqlite.TelemetryService
}

// agentSite opens an agentRig with miners machines in its fleet, serving on loopback
// until the test ends.
func agentSite(t *testing.T, miners int) *agentRig {
	t.Helper()
	ctx := context.Background()
	db := sqlite.NewDB(filepath.Join(t.TempDir(), "joule.db"))
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	yaml := fmt.Sprintf("sites:\n  - name: test-site\n    power_cap_mw: 10\n    energy: {kind: fixed, usd_per_mwh: 30}\n    fleets:\n      - {name: s21s, model: s21, count: %d}\n", miners)
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
	tel := sqlite.NewTelemetryService(db)
	s.Telemetry = tel
	s.DeviceControl = sqlite.NewDeviceControlService(db)
	svc, err := leasing.Open(ctx, sqlite.NewLeasingStore(db), leasing.Config{Sites: s.Sites, Fleets: s.Fleets, Models: s.Models})
	if err != nil {
		t.Fatal(err)
	}
	s.Leasing = svc
	op, err := svc.Principal(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := svc.CreateAccount(ctx, op, leasing.NewAccountRequest{ID: "test-site-agent", Role: domain.RoleAgent, Site: "test-site"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &agentRig{srv: s, live: lv, exchange: svc, operator: op, agentToken: token, telemetry: tel}
}
