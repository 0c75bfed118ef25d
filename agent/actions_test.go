package agent_test

import (
	"context"
	"testing"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/agent"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/sim"
)

// The API client hands the agent operators' actions.
var _ agent.ActionSource = (*jhttp.Client)(nil)

// An operator's bulk actions reach the miners through the agent only, each command
// written ahead to the audit log and verified by telemetry, and their results reach the
// server; a sleep's hold wins over a plan that runs the whole fleet (the miner stays
// asleep, and is put back to sleep when it wakes on its own), a power hold keeps its
// setting against the plan's, and a wake gives the miners back to dispatch. Only the
// operator asks actions: the agent's own token is refused and nothing is stored.
func TestOperatorActions(t *testing.T) {
	const n = 12
	ctx := context.Background()
	s, loop, fleet, lv := site(t, n)
	loop.Held = func(ctx context.Context, site string) (map[string]int, error) {
		holds, err := s.DeviceControl.DeviceHolds(ctx, site)
		return joule.HeldAsleep(holds), err
	}
	plan := func() joule.FleetTarget {
		t.Helper()
		p, err := loop.PlanSite(ctx, "test-site", "interval")
		if err != nil {
			t.Fatal(err)
		}
		return p.Fleets[0]
	}
	if f := plan(); f.Machines != n || f.Running != n {
		t.Fatalf("the first plan runs %d of %d, want the whole fleet", f.Running, f.Machines)
	}
	a := newAgent(s)
	a.RefreshSteps = 1 // every device read every step
	if found := a.Discover(ctx, fleet.MinerAddresses(), []joule.FleetTarget{{Fleet: "s21s", Kind: joule.KindASIC, Machines: n}}); len(found) != n {
		t.Fatalf("discovered %d of %d miners", len(found), n)
	}
	a.Step(ctx)
	miners, addrs := fleet.Miners(), fleet.MinerAddresses()
	op := operatorClient(s)
	act := func(req jhttp.ActionRequest) *joule.DeviceAction {
		t.Helper()
		got, err := op.CreateAction(ctx, "test-site", req)
		if err != nil {
			t.Fatalf("CreateAction(%+v): %v", req, err)
		}
		return got
	}
	result := func(id int64) *joule.DeviceAction {
		t.Helper()
		got, err := op.Action(ctx, "test-site", id)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	if _, err := agentClient(s).CreateAction(ctx, "test-site", jhttp.ActionRequest{Action: joule.ActionKindSleep, DeviceSelection: jhttp.DeviceSelection{Addresses: addrs[:1]}}); joule.ErrorCode(err) != joule.EFORBIDDEN {
		t.Fatalf("the agent asked an action: %v, want EFORBIDDEN", err)
	}
	if list, _ := op.Actions(ctx, "test-site", 10); len(list) != 0 {
		t.Fatalf("a refused action was stored: %+v", list)
	}

	sleep := act(jhttp.ActionRequest{Action: joule.ActionKindSleep, DeviceSelection: jhttp.DeviceSelection{Addresses: addrs[:3]}})
	power := act(jhttp.ActionRequest{Action: joule.ActionKindPower, LimitW: 2800, DeviceSelection: jhttp.DeviceSelection{Addresses: addrs[3:5]}})
	pool := act(jhttp.ActionRequest{Action: joule.ActionKindPool, PoolURL: "stratum+tcp://other.example:3333", PoolUser: "site.w", DeviceSelection: jhttp.DeviceSelection{Addresses: addrs[5:7]}})
	reboot := act(jhttp.ActionRequest{Action: joule.ActionKindReboot, DeviceSelection: jhttp.DeviceSelection{Addresses: addrs[7:8]}})
	a.Step(ctx)
	for _, want := range []struct {
		a *joule.DeviceAction
		n int
	}{{sleep, 3}, {power, 2}, {pool, 2}, {reboot, 1}} {
		if got := result(want.a.ID); got.Status != joule.ActionDone || got.Sent != want.n || got.Verified != want.n || got.Failed != 0 {
			t.Errorf("action %d (%s): %+v, want %d sent and verified", want.a.ID, want.a.Kind, got, want.n)
		}
	}
	for i, m := range miners {
		r := m.Reading()
		switch {
		case i < 3 && r.State != joule.StateSleeping:
			t.Errorf("miner %d held asleep is %s", i, r.State)
		case i >= 3 && i < 5 && r.Profile != "p80":
			t.Errorf("miner %d held at 2800 W runs profile %s", i, r.Profile)
		case i >= 5 && i < 7 && m.Pool() != "stratum+tcp://other.example:3333":
			t.Errorf("miner %d hashes for %s, want the pool switched to", i, m.Pool())
		}
		if got := received(m, "reboot"); (i == 7) != (got == 1) {
			t.Errorf("miner %d received %d reboots", i, got)
		}
	}
	// The device table shows the outcome after the step, not a rolling refresh later.
	waitFor(t, "the device table to show the three asleep", func() bool {
		p, err := op.DeviceTable(ctx, "test-site", joule.DeviceQuery{State: joule.StateSleeping, Limit: 100})
		return err == nil && p.Total == 3
	})
	rows, err := lv.Audit(ctx, joule.AuditQuery{Site: "test-site", Device: addrs[0], Kinds: []joule.AuditKind{joule.AuditCommand, joule.AuditVerify}})
	if err != nil || len(rows) < 2 || rows[0].Reason != "operator action 1" || rows[len(rows)-1].Outcome != joule.OutcomeOK || rows[0].Actor != "test-site-agent" {
		t.Errorf("audit of a held miner: %+v, %v; want its command and verification, as operator action 1", rows, err)
	}

	// The plan counts the three held asleep out of the fleet and runs the rest; the
	// holds win. A held miner that wakes by itself (a power cut, a technician) is put
	// back to sleep.
	if f := plan(); f.Machines != n-3 || f.Running != n-3 {
		t.Errorf("with three held asleep the plan runs %d of %d, want %d of %d", f.Running, f.Machines, n-3, n-3)
	}
	miners[0].Wake()
	for range 3 {
		a.Step(ctx)
	}
	for i, m := range miners[:5] {
		if wakes := received(m, "wake"); wakes != 0 {
			t.Errorf("held miner %d was sent %d wakes", i, wakes)
		}
	}
	if r := miners[0].Reading(); r.State != joule.StateSleeping {
		t.Errorf("the held miner that woke by itself is %s, want asleep again", r.State)
	}
	for i, m := range miners[3:5] {
		if r := m.Reading(); r.Profile != "p80" {
			t.Errorf("miner %d held at 2800 W was set to %s by the plan", i+3, r.Profile)
		}
	}
	if holds := a.Holds(); len(holds) != 5 {
		t.Errorf("the agent keeps %d holds, want 5", len(holds))
	}

	// A wake ends the holds: dispatch runs the miners again.
	wake := act(jhttp.ActionRequest{Action: joule.ActionKindWake, DeviceSelection: jhttp.DeviceSelection{Addresses: addrs[:3]}})
	a.Step(ctx)
	if got := result(wake.ID); got.Verified != 3 {
		t.Errorf("wake: %+v", got)
	}
	if f := plan(); f.Machines != n {
		t.Errorf("after the wake the plan counts %d machines, want %d", f.Machines, n)
	}
	a.Step(ctx)
	for i, m := range miners[:3] {
		if r := m.Reading(); r.State == joule.StateSleeping {
			t.Errorf("miner %d is still asleep after the wake", i)
		}
	}
	if holds := a.Holds(); len(holds) != 2 {
		t.Errorf("after the wake the agent keeps %d holds, want the two power holds", len(holds))
	}
}

// received counts the commands of one action a simulated miner took.
func received(m *sim.Miner, action string) int {
	n := 0
	for _, c := range m.Commands() {
		if c.Action == action && c.Accepted {
			n++
		}
	}
	return n
}
