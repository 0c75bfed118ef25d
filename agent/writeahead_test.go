package agent_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/agent"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/sim"
	"github.com/joule-site/joule/spool"
	"github.com/joule-site/joule/sqlite"
	"github.com/joule-site/joule/syncbuf"
)

// The spool package's file is what the agent spools to.
var _ agent.Spool = (*spool.File)(nil)

// restart serves s's services again on s's address, as a server back after an
// outage, and returns the new server.
func restart(t *testing.T, s *jhttp.Server) *jhttp.Server {
	t.Helper()
	back := jhttp.NewServer()
	back.Addr, back.Logger = strings.TrimPrefix(s.URL(), "http://"), s.Logger
	back.Sites, back.Fleets, back.Manifests, back.Models, back.Live, back.Ops, back.Leasing = s.Sites, s.Fleets, s.Manifests, s.Models, s.Live, s.Ops, s.Leasing
	if err := back.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { back.Close() })
	return back
}

// allAsleep stores a plan for test-site that puts its n miners to sleep.
func allAsleep(t *testing.T, lv *sqlite.LiveService, n int) *joule.SitePlan {
	t.Helper()
	p := &joule.SitePlan{Site: "test-site", At: time.Now(), ValidUntil: time.Now().Add(time.Hour), Reason: "interval", CapW: 10_000_000, PUE: 1,
		Fleets: []joule.FleetTarget{{Fleet: "s21s", Kind: joule.KindASIC, Machines: n, PowerFrac: 1, StockW: 3500}}}
	if err := lv.SavePlan(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return p
}

// wakeByHand wakes miners outside the agent (a technician at the rack) and waits
// until they run, so that the agent's next reading sees them awake.
func wakeByHand(t *testing.T, ms ...*sim.Miner) {
	t.Helper()
	for _, m := range ms {
		m.Wake()
	}
	for end := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		awake := 0
		for _, m := range ms {
			if m.Reading().State == joule.StateRunning {
				awake++
			}
		}
		if awake == len(ms) {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("%d of %d miners woken by hand run after a minute", awake, len(ms))
		}
	}
}

// sleeps counts the sleep commands a miner received.
func sleeps(m *sim.Miner) int {
	n := 0
	for _, c := range m.Commands() {
		if c.Action == "sleep" {
			n++
		}
	}
	return n
}

// commandRows returns, per device, the keys of the command rows of plan seq in the log.
func commandRows(t *testing.T, lv *sqlite.LiveService, seq int64) map[string][]string {
	t.Helper()
	log, err := lv.Audit(context.Background(), joule.AuditQuery{Site: "test-site"})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, e := range log {
		if e.Kind == joule.AuditCommand && e.Seq == seq {
			out[e.Device] = append(out[e.Device], e.Key)
		}
	}
	return out
}

// With the server down, a step's command rows land in the spool before the commands
// go out; when the server is back, the next step sends them and clears the spool, and
// they are stored once even when sent again (as after a crash before the clear). With
// neither the server nor a spool, the commands are not sent, and the log says why.
func TestAuditSpooledThroughAnOutage(t *testing.T) {
	const n = 6
	ctx := context.Background()
	s, _, fleet, lv := site(t, n)
	plan := allAsleep(t, lv, n)
	var logged syncbuf.Buffer
	a := newAgent(s)
	a.Log, a.RefreshSteps = slog.New(slog.NewTextHandler(&logged, nil)), 1
	path := filepath.Join(t.TempDir(), "agent.spool")
	sp, err := spool.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	a.Spool = sp
	if found := a.Discover(ctx, fleet.MinerAddresses(), []joule.FleetTarget{{Fleet: "s21s", Kind: joule.KindASIC, Machines: n}}); len(found) != n {
		t.Fatalf("discovered %d of %d miners", len(found), n)
	}
	miners := fleet.Miners()
	a.Step(ctx) // the plan is fetched and followed: every miner sleeps
	if rows := commandRows(t, lv, plan.Seq); len(rows) != n || sp.Len() != 0 {
		t.Fatalf("after a step with the server up: command rows %v, %d bytes spooled", rows, sp.Len())
	}

	// The server goes down, and two miners are woken by hand: the agent, on its last
	// plan, puts them back to sleep with their rows in the spool.
	s.Close()
	woken := miners[:2]
	before := []int{sleeps(woken[0]), sleeps(woken[1])}
	wakeByHand(t, woken...)
	a.Step(ctx)
	for i, m := range woken {
		if sleeps(m) <= before[i] {
			t.Fatalf("miner %s received no sleep in the outage; the log:\n%s", m.Addr(), logged.String())
		}
	}
	pending, err := sp.Pending()
	if err != nil {
		t.Fatal(err)
	}
	spooled := map[string]string{} // device → key of its command row
	kinds := map[joule.AuditKind]int{}
	for _, r := range pending {
		kinds[r.Kind]++
		if r.Kind == joule.AuditCommand {
			spooled[r.Device] = r.Key
		}
	}
	if len(spooled) != 2 || spooled[woken[0].Addr()] == "" || spooled[woken[1].Addr()] == "" || kinds[joule.AuditVerify] != 2 || kinds[joule.AuditReport] == 0 {
		t.Fatalf("the spool holds %d rows, commands for %v, by kind %v; want the 2 commands, their verifications and the report", len(pending), spooled, kinds)
	}
	if rows := commandRows(t, lv, plan.Seq); len(rows[woken[0].Addr()]) != 1 {
		t.Fatalf("with the server down its log has %v", rows)
	}
	saved, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	// The server is back: the next step sends the spool, oldest first, and clears it.
	s = restart(t, s)
	a.Step(ctx)
	if sp.Len() != 0 {
		t.Fatalf("the spool holds %d bytes after a step with the server back; the log:\n%s", sp.Len(), logged.String())
	}
	check := func(when string) {
		t.Helper()
		rows := commandRows(t, lv, plan.Seq)
		for _, m := range woken {
			if keys := rows[m.Addr()]; len(keys) != 2 || keys[1] != spooled[m.Addr()] {
				t.Errorf("%s: the command rows of %s are %q; want the first step's and the outage's %q, once", when, m.Addr(), keys, spooled[m.Addr()])
			}
		}
		log, _ := lv.Audit(ctx, joule.AuditQuery{Site: "test-site"})
		seen := map[string]bool{}
		for _, e := range log {
			if e.Key == "" || seen[e.Key] || e.Actor != "test-site-agent" || e.RecordedAt.IsZero() {
				t.Errorf("%s: row %+v: want a key of its own, the agent's account and the server's time", when, e)
			}
			seen[e.Key] = true
		}
		for _, r := range pending {
			if !seen[r.Key] {
				t.Errorf("%s: the spooled row %q (%s %s) is not in the log", when, r.Key, r.Kind, r.Device)
			}
		}
	}
	check("after the spool was sent")

	// As if the agent had crashed after sending the spool but before clearing it: the
	// same rows are sent again, and stored once.
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, saved, 0o600); err != nil {
		t.Fatal(err)
	}
	if sp, err = spool.Open(path); err != nil {
		t.Fatal(err)
	}
	a.Spool = sp
	a.Step(ctx)
	if sp.Len() != 0 {
		t.Errorf("the spool sent again holds %d bytes", sp.Len())
	}
	check("after the spool was sent again")

	// Without a spool, with the server down, a miner woken by hand is not commanded:
	// no command may reach a device unaudited.
	a.Spool = nil
	s.Close()
	m := miners[2]
	was := len(m.Commands())
	wakeByHand(t, m)
	a.Step(ctx)
	if got := m.Commands(); len(got) != was {
		t.Errorf("with neither the server nor a spool, miner %s received %+v", m.Addr(), got[was:])
	}
	if !strings.Contains(logged.String(), "commands not sent: the server did not take their audit") {
		t.Errorf("the log does not say why the commands were not sent:\n%s", logged.String())
	}
	if rows := commandRows(t, lv, plan.Seq); len(rows[m.Addr()]) != 1 {
		t.Errorf("the log has command rows %q for %s, want only the first step's", rows[m.Addr()], m.Addr())
	}
}
