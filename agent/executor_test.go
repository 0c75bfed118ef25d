package agent_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/joule-site/joule"
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

// slowReader is a driver whose every call takes step of the fleet's (fake) time, so
// that reading a fleet back takes longer than the verification deadline, as on a
// machine slower than the executor was tuned on. The first reading of every
// flaky device times out (a busy machine's lost reply), and a dead device never
// answers a reading after it acknowledged its command.
type slowReader struct {
	*cgminer.Driver
	clock *sim.FakeClock
	step  time.Duration
	flaky map[string]bool
	dead  map[string]bool

	mu   sync.Mutex
	seen map[string]int
}

func (s *slowReader) Sleep(ctx context.Context, addr string) error {
	s.clock.Advance(s.step)
	return s.Driver.Sleep(ctx, addr)
}

func (s *slowReader) PowerState(ctx context.Context, addr string) (*joule.Telemetry, error) {
	s.clock.Advance(s.step)
	s.mu.Lock()
	s.seen[addr]++
	first := s.seen[addr] == 1
	s.mu.Unlock()
	if s.dead[addr] || (first && s.flaky[addr]) {
		return nil, fmt.Errorf("read %s: %w", addr, context.DeadlineExceeded)
	}
	return s.Driver.PowerState(ctx, addr)
}

// Verification at a scale where reading the fleet back outlasts the deadline: a
// round of reads takes four times the sleep deadline, and a seventh of the miners
// lose their first reading. Every miner that obeyed ends verified (no false failure),
// and every one that acknowledged without obeying, or stopped answering, ends failed
// (no false success).
func TestExecutorVerifiesSlowFleet(t *testing.T) {
	const miners = 400
	clock := sim.NewFakeClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	fleet, err := sim.StartFleet(sim.FleetConfig{Miners: miners, RandomPorts: true, Range: "127.0.0.1",
		Miner: sim.MinerConfig{Clock: clock, SleepRamp: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	defer fleet.Close()
	drv := &slowReader{Driver: &cgminer.Driver{Options: []cgminer.Option{cgminer.WithTimeout(10 * time.Second), cgminer.WithKeepSession()}},
		clock: clock, step: 100 * time.Millisecond, flaky: map[string]bool{}, dead: map[string]bool{}, seen: map[string]int{}}
	disobeys := map[string]bool{}
	for i, m := range fleet.Miners() {
		switch {
		case i%10 == 3:
			m.SetFault(sim.FaultLieAck)
			disobeys[m.Addr()] = true
		case i%50 == 7:
			drv.dead[m.Addr()] = true
		case i%7 == 0:
			drv.flaky[m.Addr()] = true
		}
	}
	ex := agent.DefaultExecutor(drv)
	ex.Concurrency, ex.Now, ex.PollInterval, ex.Settle = 16, clock.Now, time.Millisecond, 0
	var cmds []agent.Command
	for _, a := range fleet.Addresses() {
		cmds = append(cmds, agent.Command{Address: a, Action: agent.ActionSleep})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	results := ex.Run(ctx, cmds, nil)
	var lastAck, lastVerify time.Duration
	verified := 0
	for i, r := range results {
		lastAck, lastVerify = max(lastAck, r.AckAfter), max(lastVerify, r.VerifyAt)
		m := fleet.Miners()[i]
		switch {
		case !r.Acked:
			t.Errorf("miner %s did not acknowledge: %s", r.Address, r.Err)
		case disobeys[r.Address] || drv.dead[r.Address]:
			if r.Verified {
				t.Errorf("miner %s verified, but it disobeyed (%v) or stopped answering (%v)", r.Address, disobeys[r.Address], drv.dead[r.Address])
			}
			if disobeys[r.Address] && m.PowerW() < 3000 {
				t.Errorf("disobeying miner %s draws %v: the fault did not hold", r.Address, m.PowerW())
			}
		case !r.Verified:
			t.Errorf("miner %s obeyed (draws %v) yet failed verification: %s", r.Address, m.PowerW(), r.Err)
		default:
			verified++
		}
	}
	// The premise: the read-back ran well past the sleep deadline.
	if lastVerify < lastAck+2*ex.SleepVerifyTimeout {
		t.Errorf("the last verification came %v after the last ack; the test wants a read-back that outlasts the deadline (%v)",
			lastVerify-lastAck, ex.SleepVerifyTimeout)
	}
	if want := miners - len(disobeys) - len(drv.dead); verified != want {
		t.Errorf("%d verified, want %d", verified, want)
	}
}
