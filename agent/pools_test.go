package agent_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/agent"
	"github.com/joule-site/joule/cgminer"
	"github.com/joule-site/joule/sim"
)

// The pool guard: a miner read hashing for a pool its fleet does not list is switched
// back to the fleet's first pool in the same step, before any plan, with the command
// written ahead, acknowledged and verified; a miner of a fleet that lists no pools, and
// one already on a listed pool, are left alone.
func TestPoolGuard(t *testing.T) {
	fleet, err := sim.StartFleet(sim.FleetConfig{Miners: 3, RandomPorts: true, Range: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer fleet.Close()
	ex := agent.DefaultExecutor(&cgminer.Driver{Options: []cgminer.Option{cgminer.WithTimeout(300 * time.Millisecond)}})
	ex.Timeout = 300 * time.Millisecond
	srv := &planServer{}
	const home = "stratum+tcp://pool.example.com:3333"
	a := &agent.Agent{Site: "test-site", Server: srv, Executor: ex, Now: time.Now, RefreshSteps: 1,
		Pools: map[string][]string{"guarded": {home}}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	addrs := fleet.MinerAddresses()
	if got := len(a.Discover(ctx, addrs, []joule.FleetTarget{{Fleet: "guarded", Kind: joule.KindASIC, Machines: 2}, {Fleet: "free", Kind: joule.KindASIC, Machines: 1}})); got != 3 {
		t.Fatalf("found %d of 3", got)
	}
	byAddr := map[string]*sim.Miner{}
	for _, m := range fleet.Miners() {
		byAddr[m.Addr()] = m
	}
	// Discover assigns addresses in order: the first two are guarded.
	guarded, free := byAddr[addrs[0]], byAddr[addrs[2]]
	guarded.SetFault(sim.FaultWrongPool)
	free.SetFault(sim.FaultWrongPool)
	a.Step(ctx)
	if got := guarded.Pool(); got != home {
		t.Errorf("the guarded miner hashes for %s after a step", got)
	}
	if got := free.Pool(); got != sim.WrongPoolURL {
		t.Errorf("the miner of a fleet without pools was moved to %s", got)
	}
	var trail []string
	for _, e := range srv.audit() {
		trail = append(trail, string(e.Kind)+" "+e.Device+" "+string(e.Outcome)+" "+e.Detail)
	}
	want := []string{
		"command " + guarded.Addr() + " ok switch pool to " + home + ": it hashes for " + sim.WrongPoolURL + ", not one of fleet guarded's pools",
		"ack " + guarded.Addr() + " ok switch pool to " + home + " accepted",
		"verify " + guarded.Addr() + " ok switch pool verified: hashing for " + home,
	}
	if strings.Join(trail, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit trail\n%s\nwant\n%s", strings.Join(trail, "\n"), strings.Join(want, "\n"))
	}
	// The next step finds every guarded miner home: no command.
	a.Step(ctx)
	if got := len(srv.audit()); got != len(want) {
		t.Errorf("%d audit rows after a quiet step, want %d", got, len(want))
	}
}
