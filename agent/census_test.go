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

// The census follows telemetry: after a rolling round of readings it counts each
// state and sums power as the miners truly are, including a miner woken behind the
// agent's back (which the agent then puts back to sleep) and one that stopped
// answering (unknown, and listed as a problem).
func TestCensusFollowsTelemetry(t *testing.T) {
	const n = 40
	fleet, err := sim.StartFleet(sim.FleetConfig{Miners: n, RandomPorts: true, Range: "127.0.0.1",
		Miner: sim.MinerConfig{SleepRamp: time.Millisecond, WakeRamp: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer fleet.Close()
	ex := agent.DefaultExecutor(&cgminer.Driver{Options: []cgminer.Option{cgminer.WithTimeout(300 * time.Millisecond), cgminer.WithKeepSession()}})
	ex.Retries, ex.Backoff, ex.Timeout, ex.VerifyTimeout, ex.SleepVerifyTimeout, ex.PollInterval, ex.Settle = 0, 10*time.Millisecond, 300*time.Millisecond, 2*time.Second, time.Second, 20*time.Millisecond, 10*time.Millisecond
	srv := &planServer{}
	a := &agent.Agent{Site: "test-site", Server: srv, Executor: ex, Now: time.Now, RefreshSteps: 4}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	target := joule.FleetTarget{Fleet: "s21s", Kind: joule.KindASIC, Machines: n + 2, StockW: 3500, PowerFrac: 1}
	if got := len(a.Discover(ctx, fleet.Addresses(), []joule.FleetTarget{target})); got != n {
		t.Fatalf("found %d of %d", got, n)
	}
	// Before any plan, the census has the declared fleet.
	a.Step(ctx)
	if rep := srv.lastReport(); rep == nil || len(rep.Fleets) != 1 || rep.Fleets[0].Found != n || rep.Fleets[0].Running != n || rep.Fleets[0].Machines != n+2 {
		t.Fatalf("census before a plan: %+v", rep)
	}

	// 20 run: the 2 missing count as running, so 18 of those found do.
	target.Running, target.AllocatedW = 20, 20*3500+(n+2-20)*20
	srv.set(target)
	a.Step(ctx)
	asleep := func() (idx []int) {
		for i, m := range fleet.Miners() {
			if m.Reading().State == joule.StateSleeping {
				idx = append(idx, i)
			}
		}
		return idx
	}
	if got := len(asleep()); got != n-18 {
		t.Fatalf("%d asleep, want %d", got, n-18)
	}
	// Behind the agent's back one sleeper wakes, and one running miner goes silent.
	woken := asleep()[0]
	fleet.Miners()[woken].Wake()
	silent := 0
	fleet.Miners()[silent].SetFault(sim.FaultNoAnswer)
	for range 4 { // one round of the rolling readings
		a.Step(ctx)
	}
	rep := srv.lastReport()
	var running, sleeping int
	var power joule.Watts
	for i, m := range fleet.Miners() {
		if i == silent {
			continue
		}
		r := m.Reading()
		power += r.PowerW
		switch r.State {
		case joule.StateRunning:
			running++
		case joule.StateSleeping:
			sleeping++
		}
	}
	f := rep.Fleets[0]
	if f.Found != n || f.Machines != n+2 || f.Running != running || f.Sleeping != sleeping || f.Unknown != 1 || f.PowerW != power || f.Reported != n-1 {
		t.Errorf("census %+v; truth: %d running, %d asleep, %v", f, running, sleeping, power)
	}
	if len(rep.Problems) != 1 || rep.Problems[0].Address != fleet.Miners()[silent].Addr() || rep.Problems[0].Detail == "" {
		t.Errorf("problems %+v", rep.Problems)
	}
	// The woken miner is seen and counted; the silent one was running and counts as
	// running still: of those that answer, 17 run (20 less 2 missing, less the silent one).
	if running != 17 {
		t.Errorf("%d answering miners run, want 17 (20 less 2 missing, less the silent one)", running)
	}
}
