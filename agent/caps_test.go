package agent_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/agent"
	"github.com/joule-site/joule/catalog"
	"github.com/joule-site/joule/dispatch"
	"github.com/joule-site/joule/gpunode"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/leasing"
	"github.com/joule-site/joule/live"
	"github.com/joule-site/joule/manifest"
	"github.com/joule-site/joule/sim"
	"github.com/joule-site/joule/sqlite"
)

// capSite is a server with the live loop and the exchange over a fresh store holding a
// site of four simulated 8-GPU H100 servers (10.2 kW at nameplate, PUE 1) under capMW,
// and an agent that drives them. The operator lists the servers at $1 per GPU-hour.
type capSite struct {
	s       *jhttp.Server
	svc     *leasing.Service
	loop    *live.Loop
	a       *agent.Agent
	byName  map[string]*sim.GPUServer
	op      *joule.Account
	tenant  *joule.Account
	product string
}

// The exchange's clock runs lag behind the others', so that a reserved lease, which
// must start after the exchange's now, may hold servers at the loop's now.
func newCapSite(t *testing.T, capMW float64, lag time.Duration) *capSite {
	t.Helper()
	ctx := context.Background()
	db := sqlite.NewDB(t.TempDir() + "/joule.db")
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	yaml := fmt.Sprintf("sites:\n  - name: test-site\n    power_cap_mw: %g\n    pue: 1\n    energy: {kind: fixed, usd_per_mwh: 30}\n    gpu_servers:\n      - {name: pod, model: h100-sxm, count: 4}\n", capMW)
	m, err := manifest.Parse("test.yaml", []byte(yaml), catalog.Lookup)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sqlite.NewManifestService(db).Apply(ctx, m); err != nil {
		t.Fatal(err)
	}
	lv := sqlite.NewLiveService(db)
	models := catalog.Models{User: sqlite.NewHardwareService(db)}
	loop := &live.Loop{Sites: sqlite.NewSiteService(db), Fleets: sqlite.NewFleetService(db), Models: models, Live: lv,
		Prices: market{}, Interval: time.Second, Hysteresis: dispatch.Hysteresis{WarmupSec: 300}, Now: time.Now, DRLead: time.Second}
	s := jhttp.NewServer()
	s.Addr, s.Logger = "127.0.0.1:0", slog.New(slog.DiscardHandler)
	s.Sites, s.Fleets, s.Manifests, s.Models, s.Live = sqlite.NewSiteService(db), sqlite.NewFleetService(db), sqlite.NewManifestService(db), models, lv
	ops := &live.Operations{Sites: s.Sites, Fleets: s.Fleets, Models: models, Live: lv, Planner: loop, Now: time.Now}
	s.Ops = ops
	s.Telemetry = sqlite.NewTelemetryService(db)
	s.DeviceControl = sqlite.NewDeviceControlService(db)
	svc, err := leasing.Open(ctx, sqlite.NewLeasingStore(db), leasing.Config{Sites: s.Sites, Fleets: s.Fleets, Models: s.Models,
		Now: func() time.Time { return time.Now().Add(-lag) }})
	if err != nil {
		t.Fatal(err)
	}
	s.Leasing = svc
	op, err := svc.Principal(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	issued, err := svc.IssueToken(ctx, op, op.ID, leasing.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	tt := serverTokens{operator: issued.Token}
	if _, tt.agent, err = svc.CreateAccount(ctx, op, leasing.NewAccountRequest{ID: "test-site-agent", Role: joule.RoleAgent, Site: "test-site"}); err != nil {
		t.Fatal(err)
	}
	tokens.Store(s, tt)
	loop.Leases = svc.DispatchLeases
	ops.Leases = svc
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })

	c := &capSite{s: s, svc: svc, loop: loop, byName: map[string]*sim.GPUServer{}, product: joule.ProductID("h100-sxm", "test-site")}
	if c.op, err = svc.Principal(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if c.tenant, _, err = svc.CreateAccount(ctx, c.op, leasing.NewAccountRequest{ID: "acme", Role: joule.RoleTenant, CreditMicroUSD: 100_000 * joule.MicroUSDPerUSD}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetAsk(ctx, c.op, c.product, "operator", joule.MicroUSDPerUSD, false); err != nil {
		t.Fatal(err)
	}
	var servers []*sim.GPUServer
	var addrs []string
	for range 4 {
		g, err := sim.StartGPUServer(sim.GPUConfig{Utilization: 0.95})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { g.Close() })
		servers = append(servers, g)
		addrs = append(addrs, g.Addr())
	}
	d := gpunode.NewDriver()
	d.Timeout = 500 * time.Millisecond
	gx := agent.DefaultGPUExecutor(d)
	gx.Retries, gx.Backoff, gx.VerifyTimeout, gx.SleepVerifyTimeout, gx.PollInterval = 1, 10*time.Millisecond, 2*time.Second, time.Second, 20*time.Millisecond
	c.a = &agent.Agent{Site: "test-site", Server: agentClient(s), Executor: agent.DefaultExecutor(nil), GPU: gx, Now: time.Now, RefreshSteps: 1}
	devs := c.a.DiscoverGPU(ctx, addrs, []joule.FleetTarget{{Fleet: "pod", Kind: joule.KindGPUServer, Machines: 4}})
	if len(devs) != 4 {
		t.Fatalf("discovered %d of 4 GPU servers", len(devs))
	}
	for _, dv := range devs {
		i := slices.Index(addrs, dv.Address)
		c.byName[dv.Name] = servers[i]
	}
	return c
}

// order submits the tenant's order of 16 GPUs (two servers) and returns its lease's
// servers.
func (c *capSite) order(t *testing.T, o joule.Order) []string {
	t.Helper()
	o.Product, o.GPUs, o.LimitMicroUSDPerGPUHour = c.product, 16, 3*joule.MicroUSDPerUSD
	r, err := c.svc.SubmitOrder(context.Background(), c.tenant, o)
	if err != nil || len(r.Leases) != 1 {
		t.Fatalf("order %s: %+v, %v", o.IdempotencyKey, r, err)
	}
	nodes := r.Leases[0].ServersAt(time.Now())
	if len(nodes) != 2 {
		t.Fatalf("lease %s holds %v now; want two servers", r.Leases[0].ID, nodes)
	}
	return nodes
}

// waitFor waits, on the simulated servers' readings, until ok holds or ctx ends.
func (c *capSite) waitFor(ctx context.Context, t *testing.T, what string, ok func() bool) {
	t.Helper()
	for !ok() {
		if ctx.Err() != nil {
			t.Fatalf("%s: never held; servers: %s", what, c.describe())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *capSite) describe() string {
	var out string
	for _, n := range slices.Sorted(mapsKeys(c.byName)) {
		r := c.byName[n].Telemetry()
		out += fmt.Sprintf("%s %s %d W (limit %d W); ", n, r.State, r.PowerW, r.PowerLimitW)
	}
	return out
}

func mapsKeys(m map[string]*sim.GPUServer) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// at reports whether every named server serves with its limit at limitW (0: its
// nameplate) and draws no more.
func (c *capSite) at(names []string, limitW joule.Watts) bool {
	for _, n := range names {
		r := c.byName[n].Telemetry()
		want := limitW
		if want == 0 {
			want = 10_200
		}
		if r.State != sim.GPUOn || r.PowerLimitW != want || r.PowerW > want {
			return false
		}
	}
	return true
}

// A site whose cap binds holds the servers of a spot lease with cap terms at their cap
// (65% of 10.2 kW) before it stops any, and the firm lease's servers serve uncapped at
// full power: 36 kW holds 2 × 10.2 kW firm and 2 × 6.63 kW capped, not 40.8 kW.
func TestSpotLeaseCappedBeforeStopped(t *testing.T) {
	c := newCapSite(t, 0.036, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := c.svc.SetCapTerms(ctx, c.op, joule.CapTerms{Product: c.product, CapFrac: 0.65, CappedPriceBPS: 8000}); err != nil {
		t.Fatal(err)
	}
	firm := c.order(t, joule.Order{IdempotencyKey: "firm", Kind: joule.OrderOnDemand})
	spot := c.order(t, joule.Order{IdempotencyKey: "spot", Kind: joule.OrderSpot})
	go func() { _ = c.loop.Run(ctx) }()
	go c.a.Run(ctx, 100*time.Millisecond)

	c.waitFor(ctx, t, "spot servers capped, firm ones at nameplate", func() bool { return c.at(spot, 6630) && c.at(firm, 0) })
	var total joule.Watts
	for _, g := range c.byName {
		total += g.PowerW()
	}
	if total > 36_000 {
		t.Errorf("the servers draw %v, above the site's 36 kW cap: %s", total, c.describe())
	}
	t.Logf("capped: %s", c.describe())
	log, err := c.s.Live.Audit(ctx, joule.AuditQuery{Site: "test-site", Kinds: []joule.AuditKind{joule.AuditPlan}})
	if err != nil || !slices.ContainsFunc(log, func(e *joule.Audit) bool {
		return strings.Contains(e.Detail, "pod 4/4 running") && strings.Contains(e.Detail, ", 2 capped at 6.63 kW")
	}) {
		t.Errorf("no plan in the audit log caps the spot lease's two servers (%v): %s", err, details(log))
	}
}

// In a demand-response event, a curtailable lease with cap terms is capped once its
// notice has run from the event's announcement, and the firm lease keeps its power.
func TestCurtailableLeaseCappedAfterNotice(t *testing.T) {
	c := newCapSite(t, 1, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := c.svc.SetCapTerms(ctx, c.op, joule.CapTerms{Product: c.product, CapFrac: 0.65, CappedPriceBPS: 8000}); err != nil {
		t.Fatal(err)
	}
	hour := time.Now().Truncate(time.Hour)
	firm := c.order(t, joule.Order{IdempotencyKey: "firm", Kind: joule.OrderOnDemand})
	curtailable := c.order(t, joule.Order{IdempotencyKey: "curt", Kind: joule.OrderReserved, Class: joule.LeaseCurtailable, NoticeSec: 2,
		Start: hour, End: hour.Add(3 * time.Hour)})
	go func() { _ = c.loop.Run(ctx) }()
	go c.a.Run(ctx, 100*time.Millisecond)
	c.waitFor(ctx, t, "every server at nameplate before the event", func() bool { return c.at(firm, 0) && c.at(curtailable, 0) })

	// 36 kW from 3 s from now: after the lease's 2 s notice.
	if _, err := operatorClient(c.s).DemandResponse(ctx, "test-site", 36_000, 3*time.Second, time.Hour); err != nil {
		t.Fatal(err)
	}
	c.waitFor(ctx, t, "curtailable servers capped, firm ones at nameplate", func() bool { return c.at(curtailable, 6630) && c.at(firm, 0) })
	t.Logf("in the event: %s", c.describe())
}

func details(log []*joule.Audit) string {
	var out []string
	for _, e := range log {
		out = append(out, e.Detail)
	}
	return strings.Join(out, "\n")
}
