package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/agent"
	"github.com/joule-site/joule/cgminer"
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
	market *feeds.Market
	log    *slog.Logger
	info   jhttp.Demo
	fleet  *sim.Fleet
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
			return nil, joule.Errorf(joule.EINVALID, "the demo needs a store of its own: %s holds site %q; give another --db", a.db.DSN, s.Name)
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
	d.market = replay.Market(time.Second, demoNode)
	d.market.PoolFee, d.market.GPUUSDPerHour, d.market.GPUUtilization = ff.poolFee, ff.gpuUSD, ff.gpuUtil
	d.info = jhttp.Demo{Speed: f.speed, Start: start}
	log.Info("demo", "site", demoSite, "clock_start", start, "speed", f.speed, "resumed", resume)
	return d, nil
}

// tenants creates the demo's tenants (or finds them from an earlier run) and gives
// the pages their tokens and the operator's.
func (d *demo) tenants(ctx context.Context, ex *leasing.Service) error {
	op, err := ex.Principal(ctx, "")
	if err != nil {
		return err
	}
	if d.info.OperatorToken, err = ex.IssueToken(ctx, op, op.ID); err != nil {
		return err
	}
	for _, t := range []struct{ id, name string }{
		{"acme-ai", "Acme AI (training runs)"},
		{"lumen-labs", "Lumen Labs (inference)"},
		{"quark-research", "Quark Research (spot jobs)"},
	} {
		_, token, err := ex.CreateAccount(ctx, op, leasing.NewAccountRequest{ID: t.id, Name: t.name, Role: joule.RoleTenant, CreditMicroUSD: joule.MicroUSDFromUSD(250_000)})
		if joule.ErrorCode(err) == joule.ECONFLICT {
			token, err = ex.IssueToken(ctx, op, t.id)
		}
		if err != nil {
			return fmt.Errorf("demo tenant %s: %w", t.id, err)
		}
		d.info.Tenants = append(d.info.Tenants, jhttp.DemoTenant{ID: t.id, Name: t.name, Token: token})
	}
	return nil
}

// start runs the simulated fleet, the agent that drives it through the server at url,
// the tenants' trading and the grid's demand-response events, until ctx ends.
func (d *demo) start(ctx context.Context, wg *sync.WaitGroup, url string, ex *leasing.Service) error {
	raiseFileLimit()
	fleet, err := sim.StartFleet(sim.FleetConfig{
		Miners: d.flags.miners, GPUServers: d.flags.gpuServers,
		Range: "127.0.0.2-127.0.0.254", RandomPorts: true,
		Miner: sim.MinerConfig{SleepRamp: time.Second, WakeRamp: 5 * time.Second},
	})
	if err != nil {
		return fmt.Errorf("demo fleet: %w", err)
	}
	d.fleet = fleet
	// The site meter at the feed reads what the simulated machines truly draw, for the
	// agent's check that power moved as the devices report.
	sm, err := sim.StartMeter("127.0.0.1:0", fleet.PowerW)
	if err != nil {
		fleet.Close()
		return fmt.Errorf("demo meter: %w", err)
	}
	cfg, err := meter.ParseURL(sm.URL())
	var mt *meter.Meter
	if err == nil {
		mt, err = meter.Open(cfg)
	}
	if err != nil {
		sm.Close()
		fleet.Close()
		return fmt.Errorf("demo meter: %w", err)
	}
	client := jhttp.NewClient(url)
	miners := agent.DefaultExecutor(&cgminer.Driver{Options: []cgminer.Option{cgminer.WithTimeout(3 * time.Second), cgminer.WithKeepSession()}})
	miners.Concurrency = 64
	// Simulated GPU servers switch in seconds, not the minutes a real host boots in.
	gpus := agent.DefaultGPUExecutor(gpunode.NewDriver())
	gpus.VerifyTimeout, gpus.SleepVerifyTimeout, gpus.PollInterval = 10*time.Second, 5*time.Second, 200*time.Millisecond
	ag := &agent.Agent{Site: demoSite, Server: client, Executor: miners, GPU: gpus, Log: d.log, Now: d.clock.Now, Meter: mt}
	pod2 := d.flags.gpuServers / 2
	wg.Go(func() {
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
	})
	wg.Go(func() { d.trade(ctx, url, ex) })
	wg.Go(func() { d.grid(ctx, client) })
	return nil
}

// trade has the demo's tenants place orders every few seconds: reserved blocks,
// on-demand and spot servers, and now and then the end of a lease.
func (d *demo) trade(ctx context.Context, url string, ex *leasing.Service) {
	rng := rand.New(rand.NewPCG(uint64(d.clock.Start().Unix()), 7))
	product := joule.ProductID("h100-sxm", demoSite)
	clients := make([]*jhttp.Client, len(d.info.Tenants))
	for i, t := range d.info.Tenants {
		clients[i] = jhttp.NewClient(url)
		clients[i].Token = t.Token
	}
	tick := time.NewTicker(3 * time.Second)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		i := rng.IntN(len(d.info.Tenants))
		t, c := d.info.Tenants[i], clients[i]
		now := d.clock.Now()
		next := now.Truncate(time.Hour).Add(time.Hour)
		req := jhttp.OrderRequest{IdempotencyKey: fmt.Sprintf("demo-%d-%d", now.Unix(), n), Product: product, GPUs: 8 * (1 + rng.IntN(4))}
		usd := func(lo, hi float64) joule.MicroUSD { return joule.MicroUSDFromUSD(lo + rng.Float64()*(hi-lo)) }
		switch p := rng.Float64(); {
		case p < 0.4:
			req.Kind, req.Start = joule.OrderReserved, next.Add(time.Duration(rng.IntN(3))*time.Hour)
			req.End = req.Start.Add(time.Duration(2+rng.IntN(6)) * time.Hour)
			req.LimitMicroUSDPerGPUHour = usd(1.8, 2.6)
		case p < 0.6:
			req.Kind, req.End = joule.OrderOnDemand, next.Add(time.Duration(1+rng.IntN(4))*time.Hour)
			req.LimitMicroUSDPerGPUHour = usd(2.2, 2.8)
		case p < 0.8:
			req.Kind, req.GPUs = joule.OrderSpot, 8
			req.LimitMicroUSDPerGPUHour = usd(1.2, 2.2)
		default:
			leases, err := c.Leases(ctx, t.ID, 50)
			if err != nil {
				continue
			}
			for _, l := range leases {
				if l.OpenEnded && l.Status == joule.LeaseActive {
					_, _ = c.StopLease(ctx, l.ID)
					break
				}
			}
			continue
		}
		if _, err := c.SubmitOrder(ctx, req); err != nil {
			if joule.ErrorCode(err) == joule.EFORBIDDEN && strings.Contains(err.Error(), "credit") {
				d.topUp(ctx, ex, t.ID)
			}
			d.log.Debug("demo order", "tenant", t.ID, "kind", req.Kind, "err", err)
		}
	}
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

// grid sends the demo site a demand-response event every four clock hours, the first
// a quarter of an hour after the clock starts: draw at most 60% of the cap, 20
// minutes from the notice, for 45 minutes.
func (d *demo) grid(ctx context.Context, c *jhttp.Client) {
	next := d.clock.Now().Add(15 * time.Minute)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if d.clock.Now().Before(next) {
			continue
		}
		next = next.Add(4 * time.Hour)
		reduceTo := joule.Watts(d.flags.capMW * 0.6 * 1e6)
		if _, err := c.DemandResponse(ctx, demoSite, reduceTo, 20*time.Minute, 45*time.Minute); err != nil && !errors.Is(err, context.Canceled) {
			d.log.Warn("demo demand response", "err", err)
		}
	}
}
