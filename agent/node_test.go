//go:build linux && cgo

package agent_test

import (
	"context"
	"maps"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/agent"
	"github.com/joule-site/joule/gpuapi"
	"github.com/joule-site/joule/gpunode"
	"github.com/joule-site/joule/node"
	"github.com/joule-site/joule/nvml"
	"github.com/joule-site/joule/nvml/nvmltest"
)

// nodeGPUs reads a mock NVML as the power API reports GPUs, as joule node does.
type nodeGPUs struct{ r *nvml.Reader }

func (g nodeGPUs) Read() ([]gpuapi.GPU, error) {
	gpus, err := g.r.Read()
	return nvml.APIGPUs(gpus), err
}

// The agent drives joule node as it drives the simulator: over NVIDIA's mock of a DGX
// H100, three nodes, with their token, follow the plan's serving, idle and off, and
// every change is verified by their telemetry.
func TestAgentDrivesJouleNode(t *testing.T) {
	const token = "agent-node-token-0123"
	var addrs []string
	var states []*node.LocalStates
	for range 3 {
		r, err := nvml.OpenInterface(nvmltest.NewDGX().Server, time.Now)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		st := &node.LocalStates{}
		n, err := node.New(node.Config{Token: token, GPUs: nodeGPUs{r}, Limiter: nvml.NewLimiter(r), States: st, StateSource: "local", HostW: 4600})
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(n.Handler())
		t.Cleanup(ts.Close)
		addrs = append(addrs, strings.TrimPrefix(ts.URL, "http://"))
		states = append(states, st)
	}
	srv := &planServer{}
	a := gpuAgent(srv)
	a.GPU.Driver.(*gpunode.Driver).Token = token
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// 8 × 600 W at load + 4600 W of host: the catalog's 10.2 kW of an H100 SXM server
	// at full power would be 8 × 700 + 4600.
	const stock = 10200
	pod := func(running int, alloc joule.Watts) joule.FleetTarget {
		return joule.FleetTarget{Fleet: "pod", Kind: joule.KindGPUServer, Machines: 3, Running: running, StockW: stock, AllocatedW: alloc}
	}
	if devs := a.DiscoverGPU(ctx, addrs, []joule.FleetTarget{pod(0, 0)}); len(devs) != 3 || !devs[0].Awake {
		t.Fatalf("discovered %d: %+v", len(devs), devs)
	}
	got := func() map[string]int {
		n := map[string]int{}
		for _, st := range states {
			s, _ := st.State(ctx)
			n[s]++
		}
		return n
	}
	for _, step := range []struct {
		plan joule.FleetTarget
		want map[string]int
	}{
		{pod(3, 3*stock), map[string]int{"on": 3}},
		{pod(1, stock), map[string]int{"on": 1, "idle": 2}},
		{pod(0, 0), map[string]int{"off": 3}}, // no power for the fleet: every server powers off
		{pod(3, 3*stock), map[string]int{"on": 3}},
	} {
		srv.set(step.plan)
		a.Step(ctx)
		if s := got(); !maps.Equal(s, step.want) {
			t.Errorf("plan runs %d: nodes are %v, want %v", step.plan.Running, s, step.want)
		}
	}
	// A cap of 8000 W at the wall: 4600 W of host leaves 425 W a GPU, which NVML's
	// mock now enforces and the agent reads back.
	res := a.GPU.Run(ctx, []agent.Command{{Address: addrs[0], Action: agent.ActionPower, LimitW: 8000, StockW: stock}}, nil)
	if len(res) != 1 || !res[0].Verified || res[0].PowerW != 8*425+4600 {
		t.Errorf("cap to 8000 W: %+v", res)
	}
	verified := 0
	for _, e := range srv.audit() {
		if e.Kind == joule.AuditVerify {
			if strings.HasPrefix(e.Detail, "FAILED") {
				t.Errorf("verification failed: %+v", e)
			}
			verified++
		}
	}
	rep := srv.lastReport()
	if verified < 4 || rep == nil || rep.Fleets[0].Running != 3 || rep.Fleets[0].PowerW != 3*(8*nvmltest.LoadW+4600) {
		t.Errorf("%d verified; census %+v", verified, rep)
	}
}
