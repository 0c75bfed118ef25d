package agent_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/agent"
	"github.com/joule-site/joule/gpunode"
	"github.com/joule-site/joule/sim"
)

// gpuPod starts n simulated GPU servers, the first `leased` of them serving tenants
// (90% GPU load) and the rest serving nothing (1%).
func gpuPod(t *testing.T, n, leased int) []*sim.GPUServer {
	t.Helper()
	var out []*sim.GPUServer
	for i := range n {
		util := 0.01
		if i < leased {
			util = 0.9
		}
		g, err := sim.StartGPUServer(sim.GPUConfig{Utilization: util, SlowDelay: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { g.Close() })
		out = append(out, g)
	}
	return out
}

func gpuAgent(srv agent.Server) *agent.Agent {
	d := gpunode.NewDriver()
	d.Timeout = 300 * time.Millisecond
	gx := agent.DefaultGPUExecutor(d)
	gx.Retries, gx.Backoff, gx.VerifyTimeout, gx.SleepVerifyTimeout, gx.PollInterval = 1, 10*time.Millisecond, time.Second, 500*time.Millisecond, 20*time.Millisecond
	mx := agent.DefaultExecutor(nil) // no miners in these tests
	return &agent.Agent{Site: "test-site", Server: srv, Executor: mx, GPU: gx, Now: time.Now, RefreshSteps: 1}
}

func states(servers []*sim.GPUServer) string {
	var b strings.Builder
	for _, g := range servers {
		b.WriteString(g.State()[:2] + " ")
	}
	return b.String()
}

// The agent runs as many GPU servers as the plan does and idles the rest, the least
// loaded first, so servers serving tenants keep serving; a server that stops answering
// is not replaced by idling a serving one; a plan with no power for the fleet powers it
// off; and a server that lies about going idle is caught by telemetry.
func TestAgentFollowsGPUFleet(t *testing.T) {
	servers := gpuPod(t, 8, 4)
	addrs := make([]string, len(servers))
	for i, g := range servers {
		addrs[i] = g.Addr()
		if i >= 5 {
			if err := g.SetState(sim.GPUIdle); err != nil {
				t.Fatal(err)
			}
		}
	}
	srv := &planServer{}
	a := gpuAgent(srv)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const stock = 10200
	pod := func(running int, alloc joule.Watts) joule.FleetTarget {
		// Nine declared, eight on the network: the ninth is never found.
		return joule.FleetTarget{Fleet: "pod", Kind: joule.KindGPUServer, Machines: 9, Running: running, StockW: stock, AllocatedW: alloc}
	}
	devs := a.DiscoverGPU(ctx, addrs, []joule.FleetTarget{{Fleet: "miners", Kind: joule.KindASIC, Machines: 3}, pod(0, 0)})
	if len(devs) != 8 || devs[0].Fleet != "pod" || devs[0].Kind != joule.KindGPUServer || !devs[0].Awake || devs[7].Awake {
		t.Fatalf("discovered %d: %+v", len(devs), devs)
	}
	if got := a.Discover(ctx, nil, nil); len(got) != 0 || len(a.Devices()) != 8 {
		t.Fatalf("discovering no miners lost the GPU servers: %d devices", len(a.Devices()))
	}

	type want struct{ on, idle, off []int }
	check := func(t *testing.T, w want) {
		t.Helper()
		for state, idx := range map[string][]int{sim.GPUOn: w.on, sim.GPUIdle: w.idle, sim.GPUOff: w.off} {
			for _, i := range idx {
				if servers[i].State() != state {
					t.Errorf("server %d is %s, want %s (states: %s)", i, servers[i].State(), state, states(servers))
				}
			}
		}
	}

	// Five run, and five serve: nothing changes. The missing ninth server counts as
	// serving, but no server is idled in its place.
	srv.set(pod(5, 5*stock))
	a.Step(ctx)
	check(t, want{on: []int{0, 1, 2, 3, 4}, idle: []int{5, 6, 7}})

	// Four run: the unleased server 4 goes idle, not a leased one.
	srv.set(pod(4, 4*stock))
	a.Step(ctx)
	check(t, want{on: []int{0, 1, 2, 3}, idle: []int{4, 5, 6, 7}})

	// Leased server 0 stops answering; the plan still runs four. No serving server is
	// idled in its place and none is switched on for it.
	servers[0].SetFault(sim.FaultNoAnswer)
	a.Step(ctx)
	check(t, want{on: []int{0, 1, 2, 3}, idle: []int{4, 5, 6, 7}})
	if rep := srv.lastReport(); rep == nil || len(rep.Problems) != 1 || rep.Problems[0].Address != addrs[0] || rep.Fleets[0].Unknown != 1 || rep.Fleets[0].Running != 3 {
		t.Errorf("census with server 0 silent: %+v", rep)
	}

	// The plan runs all nine: the idle ones serve again; the silent one counts as serving.
	srv.set(pod(9, 9*stock))
	a.Step(ctx)
	check(t, want{on: []int{1, 2, 3, 4, 5, 6, 7}})

	// A deep event: no power for the fleet at all. Every server that answers powers off.
	srv.set(pod(0, 0))
	a.Step(ctx)
	check(t, want{on: []int{0}, off: []int{1, 2, 3, 4, 5, 6, 7}})
	rep := srv.lastReport()
	var truth joule.Watts
	for _, g := range servers[1:] {
		truth += g.PowerW()
	}
	if f := rep.Fleets[0]; f.Off != 7 || f.Unknown != 1 || f.Found != 8 || f.Machines != 9 || f.PowerW != truth || f.Reported != 7 {
		t.Errorf("census of a fleet powered off: %+v, want 7 off drawing %v", f, truth)
	}

	// Server 7 lies: it acknowledges power changes and makes none. Telemetry catches it.
	servers[0].SetFault(sim.FaultNone)
	servers[7].SetFault(sim.FaultLieAck)
	srv.set(pod(9, 9*stock))
	a.Step(ctx)
	check(t, want{on: []int{0, 1, 2, 3, 4, 5, 6}, off: []int{7}})
	var failed bool
	for _, e := range srv.audit() {
		if e.Kind == joule.AuditVerify && e.Device == addrs[7] && strings.HasPrefix(e.Detail, "FAILED") {
			failed = true
			if e.Outcome != joule.OutcomeFailed || e.Reason == "" || e.Actor != joule.ActorAgent {
				t.Errorf("the failed verification says outcome %q, reason %q, actor %q", e.Outcome, e.Reason, e.Actor)
			}
		}
	}
	rep = srv.lastReport()
	if !failed || len(rep.Problems) != 1 || rep.Problems[0].Address != addrs[7] || rep.Fleets[0].Running != 7 || rep.Fleets[0].Unknown != 1 {
		t.Errorf("the lying server: failed verification in the audit %v, census %+v", failed, rep)
	}
}

// GPU servers that hang, answer slowly, send garbage or cut their replies short cost
// only themselves: the agent's step ends within its timeouts and the others obey.
func TestAgentGPUFaults(t *testing.T) {
	servers := gpuPod(t, 10, 0)
	faults := map[int]sim.Fault{2: sim.FaultNoAnswer, 4: sim.FaultSlow, 6: sim.FaultGarbage, 8: sim.FaultCloseEarly}
	var addrs []string
	for _, g := range servers {
		addrs = append(addrs, g.Addr())
	}
	srv := &planServer{}
	a := gpuAgent(srv)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fleet := joule.FleetTarget{Fleet: "pod", Kind: joule.KindGPUServer, Machines: 10, StockW: 10200}
	if n := len(a.DiscoverGPU(ctx, addrs, []joule.FleetTarget{fleet})); n != 10 {
		t.Fatalf("found %d of 10", n)
	}
	for i, f := range faults {
		servers[i].SetFault(f)
	}
	fleet.AllocatedW = 10 * 1700
	srv.set(fleet) // every server idles
	began := time.Now()
	a.Step(ctx)
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("a step took %s", took)
	}
	for i, g := range servers {
		if _, bad := faults[i]; !bad && g.State() != sim.GPUIdle {
			t.Errorf("healthy server %d is %s", i, g.State())
		}
	}
	rep := srv.lastReport()
	if rep == nil || len(rep.Problems) != len(faults) || rep.Fleets[0].Sleeping != 6 || rep.Fleets[0].Unknown != 4 {
		t.Errorf("census: %+v", rep)
	}
}

// The plan names the servers leases are bound to: those keep serving even when they
// are the least loaded (a tenant between jobs), and the server no lease holds goes idle.
func TestAgentKeepsLeasedServersServing(t *testing.T) {
	servers := gpuPod(t, 2, 1) // server 0 busy, server 1 nearly idle
	addrs := []string{servers[0].Addr(), servers[1].Addr()}
	srv := &planServer{}
	a := gpuAgent(srv)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pod := joule.FleetTarget{Fleet: "pod", Kind: joule.KindGPUServer, Machines: 2, Running: 1, StockW: 10200, AllocatedW: 10200, Leased: []string{"pod-02"}}
	devs := a.DiscoverGPU(ctx, addrs, []joule.FleetTarget{pod})
	if len(devs) != 2 || devs[0].Name != "pod-01" || devs[1].Name != "pod-02" {
		t.Fatalf("discovered %+v: want pod-01 and pod-02", devs)
	}
	srv.set(pod)
	a.Step(ctx)
	if servers[0].State() != sim.GPUIdle || servers[1].State() != sim.GPUOn {
		t.Fatalf("states %s: want the unleased busy server idle and the leased one serving", states(servers))
	}
}

// A plan that caps a lease's server has the agent set its power limit, verified by the
// limit the server reports, while the other leased server runs uncapped; a plan that
// names it no longer lifts the cap.
func TestAgentCapsPlannedServers(t *testing.T) {
	servers := gpuPod(t, 2, 2)
	addrs := []string{servers[0].Addr(), servers[1].Addr()}
	srv := &planServer{}
	a := gpuAgent(srv)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pod := joule.FleetTarget{Fleet: "pod", Kind: joule.KindGPUServer, Machines: 2, Running: 2, StockW: 10200, AllocatedW: 20400,
		Leased: []string{"pod-01", "pod-02"}, Capped: []string{"pod-02"}, CapW: 6630}
	a.DiscoverGPU(ctx, addrs, []joule.FleetTarget{pod})
	srv.set(pod)
	a.Step(ctx)
	if got := servers[1].Telemetry(); got.PowerLimitW != 6630 || got.PowerW > 6630 {
		t.Errorf("capped server: limit %d W, drawing %d W; want held to 6630 W", got.PowerLimitW, got.PowerW)
	}
	if got := servers[0].Telemetry(); got.PowerLimitW != 10200 {
		t.Errorf("uncapped server: limit %d W; want its nameplate 10200 W", got.PowerLimitW)
	}
	pod.Capped, pod.CapW = nil, 0
	srv.set(pod)
	a.Step(ctx)
	if got := servers[1].Telemetry(); got.PowerLimitW != 10200 {
		t.Errorf("server no longer capped: limit %d W; want its nameplate 10200 W", got.PowerLimitW)
	}
}
