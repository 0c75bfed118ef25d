package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/bitcoind"
	"github.com/joule-site/joule/feeds"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/postgres"
)

// feedFlags configure the live market feeds of `joule serve`.
type feedFlags struct {
	btcRPC, btcUser, btcPass string
	chainURL                 string
	chainPaths               feeds.ChainPaths
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
	fl.StringVar(&f.chainURL, "chain-url", "", "HTTP JSON endpoint with the chain's height, difficulty, fees per block and tip time, for a site without a Bitcoin node (instead of --btc-rpc)")
	d := feeds.DefaultChainPaths
	fl.StringVar(&f.chainPaths.Height, "chain-height-path", d.Height, "dotted path to the block height in --chain-url's JSON")
	fl.StringVar(&f.chainPaths.Difficulty, "chain-difficulty-path", d.Difficulty, "dotted path to the difficulty in --chain-url's JSON")
	fl.StringVar(&f.chainPaths.FeesPerBlock, "chain-fees-path", d.FeesPerBlock, "dotted path to the mean fees per block, in satoshis, in --chain-url's JSON")
	fl.StringVar(&f.chainPaths.TipTime, "chain-tip-time-path", d.TipTime, "dotted path to the tip block's time (RFC 3339 or Unix seconds) in --chain-url's JSON")
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
	return f.btcRPC != "" || f.chainURL != "" || f.priceURL != "" || f.priceFile != "" || f.energyURL != "" || f.energyFile != ""
}

// market builds the live market from the flags. A feed that is not configured is
// stale, and the loop plans its safe state.
func (f *feedFlags) market() (*feeds.Prices, error) {
	m := &feeds.Prices{PoolFee: f.poolFee, GPUUSDPerHour: f.gpuUSD, GPUUtilization: f.gpuUtil}
	switch {
	case f.btcRPC != "" && f.chainURL != "":
		return nil, joule.Errorf(joule.EINVALID, "give --btc-rpc or --chain-url, not both")
	case f.chainURL != "":
		m.ChainFeed = feeds.NewChainFeed(feeds.HTTPChain{URL: f.chainURL, Paths: f.chainPaths}.Fetch, time.Minute, time.Now)
	}
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
	m := &Main{}
	var debug bool
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
servers. Exchange clients send an API token (joule token create operator prints one
of the operator's). Logs are structured JSON on standard error; SIGINT or SIGTERM shuts down
gracefully.

On PostgreSQL several serve may share one database: one leads (runs the dispatch loop
and the exchange's clock, and writes), the others follow, serve reads and the dashboard
and send writes on to the leader's --advertise-url; /healthz says which. A leader that
stops answering loses the leadership after --leader-lease.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			level := slog.LevelInfo
			if debug {
				level = slog.LevelDebug
			}
			m.DB, m.Log = g.db, slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			if err := m.Run(cmd.Context()); err != nil {
				return errors.Join(err, m.Close())
			}
			fmt.Fprintf(os.Stdout, "Joule is serving on %s (store %s). Stop with Ctrl-C.\n", m.URL(), g.db)
			if m.demo != nil {
				fmt.Fprintf(os.Stdout, "Demo: %d simulated S21 miners and %d 8×H100 servers at site %s, history from %s at ×%g. Open %s in a browser.\n",
					m.Demo.miners, m.Demo.gpuServers, demoSite, m.demo.clock.Start().Format(time.RFC3339), m.Demo.speed, m.URL())
			}
			select {
			case <-cmd.Context().Done():
				m.Log.Info("shutting down")
			case <-m.Done():
			}
			return m.Close()
		},
	}
	cmd.Flags().StringVar(&m.Addr, "addr", "127.0.0.1:8080", "address to listen on")
	cmd.Flags().StringVar(&m.AdvertiseURL, "advertise-url", "", "URL the other replicas and clients reach this server at, stored when it leads so followers send writes there (default: where it listens)")
	cmd.Flags().DurationVar(&m.LeaderLease, "leader-lease", postgres.DefaultLease, "on PostgreSQL: how long a leader that stops answering (paused, cut off) keeps the leadership before a follower takes over")
	cmd.Flags().BoolVar(&debug, "debug", false, "log every request")
	cmd.Flags().BoolVar(&m.PublicPrices, "public-prices", false, "answer the price routes (models, econ, compare) without an API token")
	cmd.Flags().BoolVar(&m.PublicMetrics, "public-metrics", false, "answer /metrics (Prometheus) without an API token; otherwise a scraper needs an operator's or a viewer's")
	cmd.Flags().StringSliceVar(&m.AllowedHosts, "allowed-host", nil, "a DNS name clients reach this server by (repeat, or comma-separate; \"*\": any); IP addresses and localhost always work, other names are refused (DNS rebinding)")
	cmd.Flags().IntVar(&m.MaxConns, "max-conns", jhttp.DefaultMaxConns, "connections held open at once; beyond, the one that has waited longest without a complete request is shed")
	cmd.Flags().Float64Var(&m.GlobalRateLimit, "rate-limit-global", jhttp.DefaultGlobalRateLimit, "requests per second from the network in all, bursts of twice that (0: no limit; /healthz is never limited)")
	cmd.Flags().StringVar(&m.TLSCert, "tls-cert", "", "PEM certificate (its chain after it) to serve HTTPS with; needs --tls-key")
	cmd.Flags().StringVar(&m.TLSKey, "tls-key", "", "PEM private key of --tls-cert")
	m.Feeds.add(cmd)
	m.Demo.add(cmd)
	m.Engine.add(cmd)
	if err := m.Exchange.add(cmd); err != nil {
		cmd.RunE = func(*cobra.Command, []string) error { return err }
	}
	return cmd
}
