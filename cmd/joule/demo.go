package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/agent"
	"github.com/joule-site/joule/cgminer"
	demopkg "github.com/joule-site/joule/demo"
	"github.com/joule-site/joule/feeds"
	"github.com/joule-site/joule/gpunode"
	"github.com/joule-site/joule/history"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/leasing"
	"github.com/joule-site/joule/meter"
	"github.com/joule-site/joule/sim"
)

// demoFlags configure `joule serve --demo`.
type demoFlags struct {
	on         bool
	start      string
	speed      float64
	miners     int
	gpuServers int
	capMW      float64
}

func (f *demoFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&f.on, "demo", false, "run a demo site: simulated miners and GPU servers, an agent, history replayed at an accelerated clock, and tenants trading")
	fl.StringVar(&f.start, "demo-start", "2024-08-20T17:00:00Z", "where the demo's clock starts in history (the five-minute ERCOT:HB_WEST prices cover 2024-01 to 2025-02)")
	fl.Float64Var(&f.speed, "demo-speed", 60, "how many times faster than real time the demo's clock runs")
	fl.IntVar(&f.miners, "demo-miners", 3000, "simulated S21 miners")
	fl.IntVar(&f.gpuServers, "demo-gpu-servers", 32, "simulated 8×H100 servers")
	fl.Float64Var(&f.capMW, "demo-cap-mw", 10, "the demo site's power cap, MW (below its machines' full draw, so that dispatch chooses)")
}

// The demo's site, where it is (which tells a demo store from a real one that has a
// site of the same name), and the wholesale node it buys at.
const (
	demoSite     = "west-texas"
	demoLocation = "Pecos County, Texas (demo: simulated machines)"
	demoNode     = "ERCOT:HB_WEST"
	demoInterval = 5 * time.Minute // clock time between plans, as the node's prices step
)

// demoManifest declares the demo's site: S21 miners owned by the site and two pods of
// 8×H100 servers, the second owned by an investor.
func (f *demoFlags) manifest() string {
	pod := f.gpuServers / 2
	return fmt.Sprintf(`# The demo site of joule serve --demo: simulated machines, real market history.
sites:
  - name: %s
    location: "%s"
    power_cap_mw: %g
    pue: 1.05
    market_node: %s
    energy:
      kind: wholesale
      node: %s
      adder_usd_per_mwh: 4.5
    fleets:
      - name: hall-a-s21
        model: s21
        count: %d
    gpu_servers:
      - name: h100-pod-1
        model: h100-sxm
        count: %d
      - name: h100-pod-2
        model: h100-sxm
        count: %d
        owner: northwind-capital
        unit_price_usd: 250000
`, demoSite, demoLocation, f.capMW, demoNode, demoNode, f.miners, f.gpuServers-pod, pod)
}

func (f *demoFlags) validate() error {
	switch {
	case f.miners < 1 || f.miners > 15000:
		return joule.Errorf(joule.EINVALID, "--demo-miners %d: from 1 to 15000", f.miners)
	case f.gpuServers < 2 || f.gpuServers > 500:
		return joule.Errorf(joule.EINVALID, "--demo-gpu-servers %d: from 2 to 500", f.gpuServers)
	case f.speed < 1 || f.speed > 3600:
		return joule.Errorf(joule.EINVALID, "--demo-speed %g: from 1 to 3600", f.speed)
	case !(f.capMW > 0):
		return joule.Errorf(joule.EINVALID, "--demo-cap-mw must be positive")
	}
	return nil
}

// demo is a running demo: its clock and market, and, once started, the simulator,
// the agent and the tenants.
type demo struct {
	flags  demoFlags
	clock  *feeds.Clock
	market *feeds.Prices
	log    *slog.Logger
	info   jhttp.Demo
	fleet  *sim.Fleet
	// agentToken is the demo site's agent's: its agent reads the plan and reports with
	// it, and can do nothing else.
	agentToken string
}

// openDemo readies the store for the demo: on an empty store it declares the demo
// site and starts the clock at --demo-start; on a store that holds the demo site from
// an earlier run it goes on from that run's last plan. Any other store is refused, so
// that a demo never mixes with real sites.
func openDemo(ctx context.Context, a *app, f demoFlags, ff *feedFlags, log *slog.Logger) (*demo, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	start, err := time.Parse(time.RFC3339, f.start)
	if err != nil {
		return nil, joule.Errorf(joule.EINVALID, "--demo-start %q: use RFC 3339, e.g. 2024-08-20T17:00:00Z", f.start)
	}
	sites, err := a.server.Sites.Sites(ctx)
	if err != nil {
		return nil, err
	}
	resume := false
	for _, s := range sites {
		if s.Name != demoSite || s.Location != demoLocation {
			return nil, joule.Errorf(joule.EINVALID, "the demo needs a store of its own: %s holds site %q; give another --db", redact(a.db.dsn), s.Name)
		}
		resume = true
	}
	if resume {
		if p, err := a.server.Live.LatestPlan(ctx, demoSite); err == nil {
			start = p.At.Add(demoInterval)
		}
	}
	d := &demo{flags: f, clock: feeds.NewClock(start, f.speed), log: log}
	a.setClock(d.clock.Now)
	if !resume {
		if _, err := jhttp.NewLocalClient(a.server).Apply(ctx, "demo.yaml", []byte(f.manifest())); err != nil {
			return nil, fmt.Errorf("demo site: %w", err)
		}
	}
	hist, err := history.Default()
	if err != nil {
		return nil, err
	}
	replay := &feeds.Replay{History: hist, Now: d.clock.Now}
	d.market = replay.Prices(time.Second, demoNode)
	d.market.PoolFee, d.market.GPUUSDPerHour, d.market.GPUUtilization = ff.poolFee, ff.gpuUSD, ff.gpuUtil
	d.info = jhttp.Demo{Speed: f.speed, Start: start}
	log.Info("demo", "site", demoSite, "clock_start", start, "speed", f.speed, "resumed", resume)
	return d, nil
}

// tenants creates the demo's tenants and its site's agent (or finds them from an
// earlier run), gives the pages the tenants' tokens and the operator's, and keeps the
// agent's for the demo's agent.
func (d *demo) tenants(ctx context.Context, ex *leasing.Service) error {
	op, err := ex.Principal(ctx, "")
	if err != nil {
		return err
	}
	if d.info.OperatorToken, err = demoToken(ctx, ex, op, op.ID); err != nil {
		return err
	}
	const agentID = demoSite + "-agent"
	_, d.agentToken, err = ex.CreateAccount(ctx, op, leasing.NewAccountRequest{ID: agentID, Name: "The demo site's agent", Role: joule.RoleAgent, Site: demoSite})
	if joule.ErrorCode(err) == joule.ECONFLICT {
		d.agentToken, err = demoToken(ctx, ex, op, agentID)
	}
	if err != nil {
		return fmt.Errorf("demo agent: %w", err)
	}
	for _, t := range []struct{ id, name string }{
		{"acme-ai", "Acme AI (training runs)"},
		{"lumen-labs", "Lumen Labs (inference)"},
		{"quark-research", "Quark Research (spot jobs)"},
	} {
		_, _, err := ex.CreateAccount(ctx, op, leasing.NewAccountRequest{ID: t.id, Name: t.name, Role: joule.RoleTenant, CreditMicroUSD: joule.MicroUSDFromUSD(250_000)})
		if err != nil && joule.ErrorCode(err) != joule.ECONFLICT {
			return fmt.Errorf("demo tenant %s: %w", t.id, err)
		}
		token, err := demoToken(ctx, ex, op, t.id)
		if err != nil {
			return fmt.Errorf("demo tenant %s: %w", t.id, err)
		}
		d.info.Tenants = append(d.info.Tenants, jhttp.DemoTenant{ID: t.id, Name: t.name, Token: token})
	}
	return nil
}

// demoToken issues the token the demo's pages use for an account. It never expires:
// the demo's clock runs many times faster than the wall clock, and would soon pass any
// expiry.
func demoToken(ctx context.Context, ex *leasing.Service, op *joule.Account, account string) (string, error) {
	t, err := ex.IssueToken(ctx, op, account, leasing.TokenRequest{Name: "demo", Never: true})
	if err != nil {
		return "", err
	}
	return t.Token, nil
}

// start starts the simulated fleet and its meter, and returns the demo's actors: the
// agent that drives the fleet through the server at url, the tenants' trading and
// the grid's demand-response events.
func (d *demo) start(newClient func() *jhttp.Client, ex *leasing.Service) ([]actor, error) {
	raiseFileLimit()
	fleet, err := sim.StartFleet(sim.FleetConfig{
		Miners: d.flags.miners, GPUServers: d.flags.gpuServers,
		Range: "127.0.0.2-127.0.0.254", RandomPorts: true,
		Miner: sim.MinerConfig{SleepRamp: time.Second, WakeRamp: 5 * time.Second},
	})
	if err != nil {
		return nil, fmt.Errorf("demo fleet: %w", err)
	}
	d.fleet = fleet
	// The site meter at the feed reads what the simulated machines truly draw, for the
	// agent's check that power moved as the devices report.
	sm, err := sim.StartMeter("127.0.0.1:0", fleet.PowerW)
	if err != nil {
		fleet.Close()
		return nil, fmt.Errorf("demo meter: %w", err)
	}
	cfg, err := meter.ParseURL(sm.URL())
	var mt *meter.Meter
	if err == nil {
		mt, err = meter.Open(cfg)
	}
	if err != nil {
		sm.Close()
		fleet.Close()
		return nil, fmt.Errorf("demo meter: %w", err)
	}
	client := newClient()
	client.Token = d.agentToken
	grid := newClient()
	grid.Token = d.info.OperatorToken
	miners := agent.DefaultExecutor(&cgminer.Driver{Options: []cgminer.Option{cgminer.WithTimeout(3 * time.Second), cgminer.WithKeepSession()}})
	miners.Concurrency = 64
	// Simulated GPU servers switch in seconds, not the minutes a real host boots in.
	gpus := agent.DefaultGPUExecutor(gpunode.NewDriver())
	gpus.VerifyTimeout, gpus.SleepVerifyTimeout, gpus.PollInterval = 10*time.Second, 5*time.Second, 200*time.Millisecond
	ag := &agent.Agent{Site: demoSite, Server: client, Executor: miners, GPU: gpus, Log: d.log, Now: d.clock.Now, Meter: mt}
	pod2 := d.flags.gpuServers / 2
	runAgent := func(ctx context.Context) error {
		defer fleet.Close()
		defer sm.Close()
		defer mt.Close()
		found := ag.Discover(ctx, fleet.MinerAddresses(), []joule.FleetTarget{{Fleet: "hall-a-s21", Kind: joule.KindASIC, Machines: d.flags.miners}})
		servers := ag.DiscoverGPU(ctx, fleet.GPUAddresses(), []joule.FleetTarget{
			{Fleet: "h100-pod-1", Kind: joule.KindGPUServer, Machines: d.flags.gpuServers - pod2},
			{Fleet: "h100-pod-2", Kind: joule.KindGPUServer, Machines: pod2},
		})
		d.log.Info("demo agent", "miners", len(found), "gpu_servers", len(servers))
		ag.Run(ctx, 2*time.Second)
		return nil
	}
	traders := &demopkg.Traders{
		Product: joule.ProductID("h100-sxm", demoSite), Now: d.clock.Now, Seed: uint64(d.clock.Start().Unix()), Every: 3 * time.Second,
		TopUp: func(ctx context.Context, tenant string) { d.topUp(ctx, ex, tenant) }, Log: d.log,
	}
	for _, t := range d.info.Tenants {
		c := newClient()
		c.Token = t.Token
		traders.Tenants = append(traders.Tenants, demopkg.Tenant{ID: t.ID, Exchange: tenantClient{c}})
	}
	events := &demopkg.Grid{
		Site: demoSite, ReduceToW: joule.Watts(d.flags.capMW * 0.6 * 1e6), Within: 20 * time.Minute, For: 45 * time.Minute,
		FirstAfter: 15 * time.Minute, Every: 4 * time.Hour, Now: d.clock.Now, Log: d.log,
		Call: func(ctx context.Context, site string, reduceTo joule.Watts, within, dur time.Duration) error {
			_, err := grid.DemandResponse(ctx, site, reduceTo, within, dur)
			return err
		},
	}
	return []actor{{"demo agent", runAgent}, {"demo tenants", traders.Run}, {"demo grid", events.Run}}, nil
}

// tenantClient is a demo tenant's API client as the demo's traders use it.
type tenantClient struct{ c *jhttp.Client }

func (t tenantClient) SubmitOrder(ctx context.Context, o joule.Order) ([]joule.Lease, error) {
	r, err := t.c.SubmitOrder(ctx, jhttp.OrderRequest{
		IdempotencyKey: o.IdempotencyKey, Product: o.Product, Kind: o.Kind, GPUs: o.GPUs, Start: o.Start, End: o.End,
		LimitMicroUSDPerGPUHour: o.LimitMicroUSDPerGPUHour,
	})
	if err != nil {
		return nil, err
	}
	return r.Leases, nil
}

func (t tenantClient) StopLease(ctx context.Context, id string) error {
	_, err := t.c.StopLease(ctx, id)
	return err
}

// topUp adds credit to a demo tenant that ran low.
func (d *demo) topUp(ctx context.Context, ex *leasing.Service, tenant string) {
	op, err := ex.Principal(ctx, "")
	if err != nil {
		return
	}
	key := fmt.Sprintf("demo-topup-%s-%d", tenant, d.clock.Now().Unix())
	if _, err := ex.Deposit(ctx, op, tenant, key, joule.MicroUSDFromUSD(250_000)); err != nil {
		d.log.Debug("demo credit", "tenant", tenant, "err", err)
	}
}
