package agent_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule/agent"
	"github.com/joule-site/joule/cgminer"
	"github.com/joule-site/joule/sim"
)

// A fleet where every tenth miner is dead, slow, lying or talking garbage: each bad
// miner costs only itself, the good ones are asleep and verified, and the liar that
// acknowledges without acting is caught by telemetry.
func TestExecutorChaos(t *testing.T) {
	fleet, err := sim.StartFleet(sim.FleetConfig{Miners: 200, RandomPorts: true, Range: "127.0.0.1",
		Miner: sim.MinerConfig{SleepRamp: 50 * time.Millisecond, SlowDelay: 300 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer fleet.Close()
	faults := []sim.Fault{sim.FaultNoAnswer, sim.FaultSlow, sim.FaultLieAck, sim.FaultGarbage, sim.FaultCloseEarly}
	bad := map[string]sim.Fault{}
	for i, m := range fleet.Miners() {
		if i%10 == 3 {
			f := faults[(i/10)%len(faults)]
			m.SetFault(f)
			bad[m.Addr()] = f
		}
	}
	ex := agent.DefaultExecutor(&cgminer.Driver{Options: []cgminer.Option{cgminer.WithTimeout(time.Second)}})
	ex.Retries, ex.Backoff, ex.Timeout, ex.VerifyTimeout, ex.PollInterval = 1, 10*time.Millisecond, time.Second, 3*time.Second, 50*time.Millisecond
	var cmds []agent.Command
	for _, a := range fleet.Addresses() {
		cmds = append(cmds, agent.Command{Address: a, Action: agent.ActionSleep})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	results := ex.Run(ctx, cmds, nil)
	for i, r := range results {
		f, isBad := bad[r.Address]
		switch {
		case !isBad && !r.Verified:
			t.Errorf("healthy miner %s not verified: %s", r.Address, r.Err)
		case isBad && f != sim.FaultSlow && r.Verified:
			t.Errorf("miner %s with fault %v verified", r.Address, f)
		case f == sim.FaultLieAck && (!r.Acked || !strings.Contains(r.Err, "not verified")):
			t.Errorf("the lying miner %s: acked %v, err %q; want acked and caught by telemetry", r.Address, r.Acked, r.Err)
		}
		if !isBad && fleet.Miners()[i].PowerW() > 100 {
			t.Errorf("healthy miner %s still draws %v", r.Address, fleet.Miners()[i].PowerW())
		}
	}
}
