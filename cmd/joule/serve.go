package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/bitcoind"
	"github.com/joule-site/joule/catalog"
	"github.com/joule-site/joule/dispatch"
	"github.com/joule-site/joule/feeds"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/leasing"
	"github.com/joule-site/joule/live"
	"github.com/joule-site/joule/render"
	"github.com/joule-site/joule/reports"
)

// feedFlags configure the live market feeds of `joule serve`.
type feedFlags struct {
	btcRPC, btcUser, btcPass string
	priceURL, priceFile      string
	pricePath                string
	energyURL, energyFile    string
	poolFee, gpuUSD, gpuUtil float64
	interval                 time.Duration
	retention                time.Duration
}

func (f *feedFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.btcRPC, "btc-rpc", "", "Bitcoin Core JSON-RPC host:port for height, difficulty and fees")
	fl.StringVar(&f.btcUser, "btc-rpc-user", "", "Bitcoin Core RPC user")
	fl.StringVar(&f.btcPass, "btc-rpc-pass", "", "Bitcoin Core RPC password (env JOULE_BTC_RPC_PASS)")
	fl.StringVar(&f.priceURL, "btc-price-url", "", "HTTP JSON endpoint with the BTC price in USD")
	fl.StringVar(&f.priceFile, "btc-price-file", "", "file with the BTC price (a number or JSON)")
	fl.StringVar(&f.pricePath, "btc-price-path", "", "dotted path to the price in the JSON, e.g. .bitcoin.usd")
	fl.StringVar(&f.energyURL, "energy-url", "", "HTTP endpoint serving the energy price schedule as CSV (time,usd_per_mwh)")
	fl.StringVar(&f.energyFile, "energy-file", "", "CSV file with the energy price schedule (time,usd_per_mwh)")
	fl.Float64Var(&f.poolFee, "pool-fee", 0, "pool fee as a fraction of mining revenue")
	fl.Float64Var(&f.gpuUSD, "gpu-usd-hour", 2, "open-market price of a GPU-hour for unleased capacity")
	fl.Float64Var(&f.gpuUtil, "gpu-utilization", 0.85, "share of unleased GPU capacity that sells")
	fl.DurationVar(&f.interval, "dispatch-interval", time.Minute, "how often every site is planned")
	fl.DurationVar(&f.retention, "retention", 0, "delete plans and audit events older than this, e.g. 2160h for 90 days (0: keep them; a demo keeps two days of its clock)")
}

// live reports whether any live feed is configured.
func (f *feedFlags) live() bool {
	return f.btcRPC != "" || f.priceURL != "" || f.priceFile != "" || f.energyURL != "" || f.energyFile != ""
}

// market builds the live market from the flags. A feed that is not configured is
// stale, and the loop plans its safe state.
func (f *feedFlags) market() (*feeds.Market, error) {
	m := &feeds.Market{PoolFee: f.poolFee, GPUUSDPerHour: f.gpuUSD, GPUUtilization: f.gpuUtil}
	if f.btcRPC != "" {
		pass := f.btcPass
		if pass == "" {
			pass = os.Getenv("JOULE_BTC_RPC_PASS")
		}
		btc, err := bitcoind.New(bitcoind.Config{Host: f.btcRPC, User: f.btcUser, Pass: pass})
		if err != nil {
			return nil, err
		}
		m.ChainFeed = feeds.NewChainFeed(func(ctx context.Context) (feeds.Chain, error) {
			s, err := btc.Chain(ctx)
			return feeds.Chain{Height: s.Height, Difficulty: s.Difficulty, FeesPerBlock: s.FeesPerBlock, TipTime: s.TipTime}, err
		}, time.Minute, time.Now)
	}
	switch {
	case f.priceURL != "" && f.priceFile != "":
		return nil, joule.Errorf(joule.EINVALID, "give --btc-price-url or --btc-price-file, not both")
	case f.priceURL != "":
		m.PriceFeed = feeds.NewPriceFeed(feeds.HTTPPrice{URL: f.priceURL, Path: f.pricePath}.Fetch, time.Minute, time.Now)
	case f.priceFile != "":
		m.PriceFeed = feeds.NewPriceFeed(feeds.FilePrice{File: f.priceFile, Path: f.pricePath}.Fetch, time.Minute, time.Now)
	}
	switch {
	case f.energyURL != "" && f.energyFile != "":
		return nil, joule.Errorf(joule.EINVALID, "give --energy-url or --energy-file, not both")
	case f.energyURL != "":
		m.EnergyFeed = feeds.NewEnergyFeed(feeds.HTTPEnergy{URL: f.energyURL}.Fetch, time.Minute, time.Now)
	case f.energyFile != "":
		m.EnergyFeed = feeds.NewEnergyFeed(feeds.FileEnergy{File: f.energyFile}.Fetch, time.Minute, time.Now)
	}
	return m, nil
}

// exchangeFlags configure the GPU exchange `joule serve` runs.
type exchangeFlags struct {
	feeBPS    int
	askUSD    float64
	rateLimit float64
	tick      time.Duration
	margin    float64 // over the opportunity cost, for listings that ask it
	hosting   float64 // USD per kW-month owners pay the site
	energy    bool    // pass the site's energy through to owners
}

func (f *exchangeFlags) add(cmd *cobra.Command) error {
	fee, ask, err := exchangeConfig()
	if err != nil {
		return err
	}
	fl := cmd.Flags()
	fl.IntVar(&f.feeBPS, "fee-bps", fee, "platform fee on every GPU sale, basis points (env JOULE_FEE_BPS)")
	fl.Float64Var(&f.askUSD, "ask-usd-gpu-hour", ask, "ask of a listing made from a GPU server fleet, US dollars per GPU-hour (env JOULE_ASK_USD_GPU_HOUR)")
	fl.Float64Var(&f.rateLimit, "rate-limit", jhttp.DefaultRateLimit, "exchange requests per second per API token (bursts of twice that)")
	fl.DurationVar(&f.tick, "exchange-tick", time.Minute, "how often the exchange expires orders, renews leases and meters usage")
	fl.Float64Var(&f.hosting, "hosting-usd-kw-month", 0, "hosting fee owners pay the site per kW of their servers' nameplate power a month, charged after each month")
	fl.BoolVar(&f.energy, "energy-pass-through", false, "bill owners, hour by hour, the energy their hosted servers draw (leased at nameplate, the rest idle, × PUE) at the site's energy price")
	fl.Float64Var(&f.margin, "opportunity-margin", 0.2, "margin over the opportunity cost, for listings that ask it (0.2: 20%)")
	return nil
}

func newServeCmd(g *globals) *cobra.Command {
	var (
		addr  string
		debug bool
		ff    feedFlags
		xf    exchangeFlags
		df    demoFlags
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the API and run the live dispatch loop on the store",
		Long: `serve runs the HTTP API (/api/v1/…, /healthz) on the store named by --db and the live
dispatch loop: every --dispatch-interval, and at once on a demand-response event or an
energy price spike, it plans every site with the dispatch policy and records plans in
the audit log for the sites' agents. Market feeds come from the --btc-*, --energy-*
flags; a feed that is missing or stale makes the loop plan a safe state (miners stop,
firm leases keep their power). It also runs the GPU exchange on the same store: every
--exchange-tick it expires orders, renews and meters leases and lists the sites' GPU
servers. Exchange clients send an API token (joule account token operator prints the
operator's). Logs are structured JSON on standard error; SIGINT or SIGTERM shuts down
gracefully.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			level := slog.LevelInfo
			if debug {
				level = slog.LevelDebug
			}
			log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			a, err := openApp(g.db, log)
			if err != nil {
				return err
			}
			defer a.Close()
			// The loop plans every Interval of the clock, which is the wall clock but
			// in a demo, where it runs --demo-speed times faster.
			interval, every, tick := ff.interval, ff.interval, xf.tick
			var demo *demo
			var market *feeds.Market
			if df.on {
				if ff.live() {
					return joule.Errorf(joule.EINVALID, "--demo replays history: it takes no --btc-* or --energy-* feed")
				}
				if demo, err = openDemo(cmd.Context(), a, df, &ff, log); err != nil {
					return err
				}
				market = demo.market
				interval = demoInterval
				if ff.retention == 0 {
					ff.retention = 48 * time.Hour
				}
				every = time.Duration(float64(demoInterval) / df.speed)
				tick = every
			} else if market, err = ff.market(); err != nil {
				return err
			}
			pricer := &leasing.OpportunityPricer{}
			if xf.hosting < 0 {
				return joule.Errorf(joule.EINVALID, "--hosting-usd-kw-month must not be negative")
			}
			a.hostingPerKWMonth = joule.MicroUSDFromUSD(xf.hosting)
			if xf.energy {
				a.energyPrice = market.Energy
			}
			if err := a.openExchange(cmd.Context(), xf.feeBPS, xf.askUSD, log, pricer.Price); err != nil {
				return err
			}
			src := struct {
				joule.SiteService
				joule.FleetService
				catalog.Models
			}{a.server.Sites, a.server.Fleets, a.models}
			a.server.RateLimit = xf.rateLimit
			a.server.Market = market
			a.server.Reports = reports.NewService(reports.Config{Sites: src, BacktestCharts: render.BacktestCharts, PlanCharts: render.PlanCharts})
			loop := &live.Loop{
				Sites: a.server.Sites, Fleets: a.server.Fleets, Models: a.models, Live: a.server.Live,
				Market: market, Interval: interval, Every: every, Hysteresis: dispatch.DefaultHysteresis, Now: a.now,
			}
			if a.exchange != nil {
				loop.Leases = func(ctx context.Context, site string, at time.Time, units []dispatch.Unit) ([]dispatch.Lease, error) {
					cs, err := a.exchange.Commitments(ctx, site, at)
					return leasing.DispatchLeases(cs, units), err
				}
			}
			a.server.Planner = loop
			a.server.Addr = addr
			if demo != nil {
				if err := demo.tenants(cmd.Context(), a.exchange); err != nil {
					return err
				}
				a.server.Demo = &demo.info
			}
			if err := a.server.Open(); err != nil {
				return err
			}
			ctx, cancel := context.WithCancel(cmd.Context())
			pollCtx, pollDone := context.WithTimeout(ctx, 10*time.Second)
			if err := market.Poll(pollCtx); err != nil {
				log.Warn("feed", "err", err)
			}
			pollDone()
			var wg sync.WaitGroup
			wg.Go(func() { market.Run(ctx, func(err error) { log.Warn("feed", "err", err) }) })
			wg.Go(func() { _ = loop.Run(ctx) })
			wg.Go(func() { _ = a.exchange.Run(ctx, tick) })
			// Opportunity-cost asks follow hashprice: priced again every exchange tick.
			wg.Go(func() {
				t := time.NewTicker(tick)
				defer t.Stop()
				for {
					if hp, fresh := market.Hashprice(a.now()); fresh {
						if asks, err := leasing.OpportunityAsks(ctx, src, hp, xf.margin); err == nil {
							pricer.Set(asks)
							if err := a.exchange.Reprice(ctx); err != nil {
								log.Warn("reprice", "err", err)
							}
						}
					}
					select {
					case <-ctx.Done():
						return
					case <-t.C:
					}
				}
			})
			if ff.retention > 0 {
				wg.Go(func() { prune(ctx, a.server.Live, a.now, ff.retention, every, log) })
			}
			if demo != nil {
				if err := demo.start(ctx, &wg, a.server.URL(), a.exchange); err != nil {
					cancel()
					wg.Wait()
					return err
				}
			}
			log.Info("serving", "url", a.server.URL(), "db", g.db, "dispatch_interval", interval, "demo", demo != nil)
			fmt.Fprintf(os.Stdout, "Joule is serving on %s (store %s). Stop with Ctrl-C.\n", a.server.URL(), g.db)
			if demo != nil {
				fmt.Fprintf(os.Stdout, "Demo: %d simulated S21 miners and %d 8×H100 servers at site %s, history from %s at ×%g. Open %s in a browser.\n",
					df.miners, df.gpuServers, demoSite, demo.clock.Start().Format(time.RFC3339), df.speed, a.server.URL())
			}
			<-cmd.Context().Done()
			log.Info("shutting down")
			cancel()
			wg.Wait()
			return a.server.Close()
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on")
	cmd.Flags().BoolVar(&debug, "debug", false, "log every request")
	ff.add(cmd)
	df.add(cmd)
	if err := xf.add(cmd); err != nil {
		cmd.RunE = func(*cobra.Command, []string) error { return err }
	}
	return cmd
}

// prune deletes plans and audit events older than retention every period.
func prune(ctx context.Context, live joule.LiveService, now func() time.Time, retention, period time.Duration, log *slog.Logger) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		plans, audit, err := live.Prune(ctx, now().Add(-retention))
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("retention", "err", err)
		case plans+audit > 0:
			log.Debug("retention", "plans_deleted", plans, "audit_deleted", audit)
		}
	}
}
