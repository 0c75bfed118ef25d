package agent_test

import (
	"context"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/agent"
	"github.com/joule-site/joule/cgminer"
	"github.com/joule-site/joule/sim"
)

// A plan at 87% of stock on firmware whose profiles step by 10% (the simulator's, as
// LuxOS lists them) is met by splitting the fleet between the 80% and 90% profiles:
// of 20 miners at a 3045 W limit, ⌊20 × (3045 − 2800) / (3150 − 2800)⌋ = 14 take
// 3150 W and 6 take 2800 W, 60,900 W in all, where every miner at the 80% profile
// would leave 4,900 W of the allocation unused. The same plan again sends nothing, and
// a plan between other profiles moves only the miners it must.
func TestFixedProfilesAreMixed(t *testing.T) {
	const n = 20
	fleet, err := sim.StartFleet(sim.FleetConfig{Miners: n, RandomPorts: true, Range: "127.0.0.1",
		Miner: sim.MinerConfig{SleepRamp: time.Millisecond, WakeRamp: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer fleet.Close()
	ex := agent.DefaultExecutor(&cgminer.Driver{Options: []cgminer.Option{cgminer.WithTimeout(time.Second), cgminer.WithKeepSession()}})
	ex.Retries, ex.Backoff, ex.PollInterval, ex.Settle = 1, 10*time.Millisecond, 20*time.Millisecond, 10*time.Millisecond
	srv := &planServer{}
	a := &agent.Agent{Site: "test-site", Server: srv, Executor: ex, Now: time.Now}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	target := joule.FleetTarget{Fleet: "s21s", Kind: joule.KindASIC, Machines: n, Running: n, StockW: 3500, PowerFrac: 0.87, AllocatedW: n * 3045}
	if got := len(a.Discover(ctx, fleet.Addresses(), []joule.FleetTarget{target})); got != n {
		t.Fatalf("found %d of %d", got, n)
	}
	profiles := func() map[string]int {
		out := map[string]int{}
		for _, m := range fleet.Miners() {
			out[m.Reading().Profile]++
		}
		return out
	}
	drawn := func() (w joule.Watts) {
		for _, m := range fleet.Miners() {
			w += m.Reading().PowerW
		}
		return w
	}
	commands := func() (n int) {
		srv.mu.Lock()
		defer srv.mu.Unlock()
		for _, e := range srv.audits {
			if e.Kind == joule.AuditCommand {
				n++
			}
		}
		return n
	}

	srv.set(target)
	a.Step(ctx)
	if got := profiles(); got["p90"] != 14 || got["p80"] != 6 {
		t.Fatalf("profiles %v, want 14 at p90 and 6 at p80", got)
	}
	if w := drawn(); w != 60_900 {
		t.Errorf("the fleet draws %v, want 60,900 W (20 × 3045 W)", w)
	}
	sent := commands()
	a.Step(ctx)
	if got := commands(); got != sent {
		t.Errorf("the same plan sent %d more commands", got-sent)
	}

	// 82%: 2870 W, ⌊20 × 70 / 350⌋ = 4 at p90; ten of those at p90 step down, none of
	// those at p80 moves.
	target.PowerFrac, target.AllocatedW = 0.82, n*2870
	srv.set(target)
	a.Step(ctx)
	if got := profiles(); got["p90"] != 4 || got["p80"] != 16 {
		t.Fatalf("at 82%%: profiles %v, want 4 at p90 and 16 at p80", got)
	}
	if got := commands() - sent; got != 10 {
		t.Errorf("at 82%%: %d commands, want the 10 that step down", got)
	}
}

// noSettings is the cgminer driver for a firmware whose API takes no power setting
// (stock Antminer firmware, Braiins OS), as cgminer.PowerSettings says of one; the
// simulated miners themselves speak LuxOS.
type noSettings struct{ *cgminer.Driver }

func (noSettings) PowerSettings(_ context.Context, addr string) ([]joule.Watts, error) {
	return nil, joule.Errorf(joule.EINVALID, "miner %s cannot take a power setting over its API", addr)
}

// A plan at half of stock on a fleet whose firmware takes no power setting runs half
// the miners at stock and puts the rest to sleep: it sends no power setting the miners
// cannot take, and leaves none of the allocation to a setting that does not exist.
func TestFirmwareWithoutSettingsRunsWholeMachines(t *testing.T) {
	const n = 10
	fleet, err := sim.StartFleet(sim.FleetConfig{Miners: n, RandomPorts: true, Range: "127.0.0.1",
		Miner: sim.MinerConfig{SleepRamp: time.Millisecond, WakeRamp: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer fleet.Close()
	ex := agent.DefaultExecutor(noSettings{&cgminer.Driver{Options: []cgminer.Option{cgminer.WithTimeout(time.Second), cgminer.WithKeepSession()}}})
	ex.Retries, ex.Backoff, ex.PollInterval, ex.Settle = 1, 10*time.Millisecond, 20*time.Millisecond, 10*time.Millisecond
	srv := &planServer{}
	a := &agent.Agent{Site: "test-site", Server: srv, Executor: ex, Now: time.Now}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	target := joule.FleetTarget{Fleet: "s19s", Kind: joule.KindASIC, Machines: n, Running: n, StockW: 3500, PowerFrac: 0.5, AllocatedW: n * 1750}
	if got := len(a.Discover(ctx, fleet.Addresses(), []joule.FleetTarget{target})); got != n {
		t.Fatalf("found %d of %d", got, n)
	}
	srv.set(target)
	a.Step(ctx)
	running, power := 0, 0
	for _, m := range fleet.Miners() {
		if r := m.Reading(); r.State == joule.StateRunning {
			running++
			if r.Profile != "p100" {
				t.Errorf("a running miner at %s, want stock", r.Profile)
			}
		}
		for _, c := range m.Commands() {
			if c.Action == "power" {
				power++
			}
		}
	}
	if running != n/2 || power != 0 {
		t.Errorf("%d running and %d power settings sent, want %d at stock and none", running, power, n/2)
	}
}
