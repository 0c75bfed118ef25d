package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/oklog/run"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/alerts"
	"github.com/joule-site/joule/dispatch"
	"github.com/joule-site/joule/feeds"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/leasing"
	"github.com/joule-site/joule/live"
	"github.com/joule-site/joule/postgres"
	"github.com/joule-site/joule/render"
	"github.com/joule-site/joule/reports"
	"github.com/joule-site/joule/sla"
	"github.com/joule-site/joule/webhook"
)

// Main is `joule serve`: the store and the API server, and the actors that run beside
// them until the server stops — the market feeds, the dispatch loop, the exchange's
// clock, the opportunity-cost repricer, retention, and in a demo its machines, agent,
// tenants and grid. Set the fields, then Run; Close stops everything.
//
// On PostgreSQL several replicas serve one database: each campaigns for the leadership
// (postgres.Elector), and only the leader runs the leader's actors (the dispatch loop,
// the exchange's clock, the repricer, retention) and writes; a follower serves reads
// and the dashboard and sends the rest to the leader (jhttp.Server.Replica). A replica
// that becomes leader loads the exchange from the store as it is then and starts those
// actors; one that is deposed stops them. On SQLite the server is the only process on
// its file and leads from the start, in epoch 1.
type Main struct {
	DB, Addr string
	// AdvertiseURL is where the other replicas and clients reach this server (its
	// listening URL when empty): a leader stores it with its epoch, and followers send
	// writes there.
	AdvertiseURL string
	// LeaderLease is how long a leader that stops answering keeps the leadership
	// (postgres.Elector.Lease); postgres.DefaultLease when zero.
	LeaderLease time.Duration
	// PublicPrices answers the price routes (models, econ, compare) without a token.
	PublicPrices bool
	// PublicMetrics answers /metrics without a token, for a scraper that has none.
	PublicMetrics bool
	// AllowedHosts are the DNS names clients use for the server (http.Server.AllowedHosts).
	AllowedHosts []string
	// MaxConns caps the connections open at once (0: jhttp.DefaultMaxConns);
	// GlobalRateLimit the requests per second from the network in all (0: no limit),
	// as the fields of jhttp.Server do.
	MaxConns        int
	GlobalRateLimit float64
	// TLSCert and TLSKey are PEM files: with them the server speaks HTTPS only.
	TLSCert, TLSKey string
	Log             *slog.Logger
	Feeds           feedFlags
	Exchange        exchangeFlags
	Engine          engineFlags
	Demo            demoFlags

	app    *app
	demo   *demo
	market *feeds.Prices
	actors []actor
	// leaderActors run only while this replica leads; the exchange is opened leading
	// already in epoch ledEpoch (SQLite's 1), else loaded and made to lead per term.
	leaderActors []actor
	ledEpoch     int64
	elector      *postgres.Elector // nil on SQLite

	cancel context.CancelFunc
	done   chan struct{}
	err    error // the first actor's failure, once done is closed
}

// actor is a long-running part of the server: Run works until its context ends.
type actor struct {
	name string
	run  func(ctx context.Context) error
}

// Run opens the store, wires the services, starts serving and starts every actor. It
// returns once the server serves; Done tells when an actor fails.
func (m *Main) Run(ctx context.Context) error {
	if err := m.checkServeFlags(); err != nil {
		return err
	}
	replicas := isPostgres(m.DB)
	if replicas && m.Demo.on {
		return joule.Errorf(joule.EINVALID, "--demo runs its site in one process on a store of its own: give it a SQLite --db")
	}
	if m.LeaderLease < 0 {
		return joule.Errorf(joule.EINVALID, "--leader-lease must be positive")
	}
	if m.LeaderLease == 0 {
		m.LeaderLease = postgres.DefaultLease
	}
	a, err := openAppWith(m.DB, m.Log, m.LeaderLease)
	if err != nil {
		return err
	}
	m.app = a
	// The loop plans every interval of the clock, which is the wall clock but in a
	// demo, where it runs --demo-speed times faster.
	interval, every, tick := m.Feeds.interval, m.Feeds.interval, m.Exchange.tick
	if m.Demo.on {
		if m.Feeds.live() {
			return joule.Errorf(joule.EINVALID, "--demo replays history: it takes no --btc-* or --energy-* feed")
		}
		if m.demo, err = openDemo(ctx, a, m.Demo, &m.Feeds, m.Log); err != nil {
			return err
		}
		m.market, interval = m.demo.market, demoInterval
		every = time.Duration(float64(demoInterval) / m.Demo.speed)
		tick = every
		if m.Feeds.retention == 0 {
			m.Feeds.retention = 48 * time.Hour
		}
	} else if m.market, err = m.Feeds.market(); err != nil {
		return err
	}
	if err := m.openExchange(ctx, tick, !replicas); err != nil {
		return err
	}
	if err := m.openEngine(); err != nil {
		return err
	}
	loop := &live.Loop{
		Sites: a.server.Sites, Fleets: a.server.Fleets, Models: a.models, Live: a.server.Live, Leases: a.exchange.DispatchLeases,
		Prices: m.market, Interval: interval, Every: every, Hysteresis: dispatch.DefaultHysteresis, Now: a.now,
	}
	if control := a.server.DeviceControl; control != nil {
		loop.Held = func(ctx context.Context, site string) (map[string]int, error) {
			holds, err := control.DeviceHolds(ctx, site)
			return joule.HeldAsleep(holds), err
		}
	}
	a.ops.Planner, a.server.Prices, a.server.Addr = loop, m.market, m.Addr
	a.server.PublicPrices, a.server.PublicMetrics = m.PublicPrices, m.PublicMetrics
	a.server.AllowedHosts = m.AllowedHosts
	m.serveFlags()
	a.server.Reports = reports.NewService(reports.Config{Sites: a.sites(), BacktestCharts: render.BacktestCharts, PivotCharts: render.PivotCharts, History: a.history})
	if m.demo != nil {
		if err := m.demo.tenants(ctx, a.exchange); err != nil {
			return err
		}
		a.server.Demo = &m.demo.info
	}
	if err := m.replicate(); err != nil {
		return err
	}
	if err := a.server.Open(); err != nil {
		return err
	}
	// Feeds are read once before the first plan, so that it is not a safe state.
	pollCtx, pollDone := context.WithTimeout(ctx, 10*time.Second)
	if err := m.market.Poll(pollCtx); err != nil {
		m.Log.Warn("feed", "err", err)
	}
	pollDone()
	m.add("feeds", func(ctx context.Context) error {
		m.market.Run(ctx, func(err error) { m.Log.Warn("feed", "err", err) })
		<-ctx.Done()
		return nil
	})
	m.addLeader("dispatch loop", loop.Run)
	if m.Feeds.retention > 0 {
		r := &live.Retention{Live: a.server.Live, Keep: m.Feeds.retention, Every: every, Now: a.now, Log: m.Log}
		m.addLeader("retention", r.Run)
	}
	rollup := &live.TelemetryRollup{Telemetry: a.server.Telemetry, Keep: joule.DefaultTelemetryRetention, Every: live.TelemetryRollupEvery, Log: m.Log}
	m.addLeader("telemetry rollup", rollup.Run)
	m.alertActors()
	m.creditActors()
	m.campaign()
	if m.demo != nil {
		newClient, err := m.ownClient()
		if err != nil {
			return err
		}
		demoActors, err := m.demo.start(newClient, a.exchange)
		if err != nil {
			return err
		}
		m.actors = append(m.actors, demoActors...)
	}
	m.start(ctx)
	m.Log.Info("serving", "url", a.server.URL(), "advertise_url", m.advertiseURL(), "db", redact(m.DB), "dispatch_interval", interval, "demo", m.demo != nil)
	return nil
}

// ownClient returns a maker of clients of this server, for the demo's agent, tenants
// and grid: over HTTPS they trust the server's own certificate.
func (m *Main) ownClient() (func() *jhttp.Client, error) {
	var cert []byte
	if m.TLSCert != "" {
		var err error
		if cert, err = os.ReadFile(m.TLSCert); err != nil {
			return nil, joule.Errorf(joule.EINVALID, "--tls-cert: %v", err)
		}
	}
	url := m.app.server.URL()
	return func() *jhttp.Client {
		c := jhttp.NewClient(url)
		if cert != nil {
			_ = c.TrustCA(cert) // the server loaded it: it holds a certificate
		}
		return c
	}, nil
}

// checkServeFlags refuses limits and certificates that cannot work, before anything
// opens.
func (m *Main) checkServeFlags() error {
	switch {
	case m.MaxConns < 0:
		return joule.Errorf(joule.EINVALID, "--max-conns must not be negative (0: %d)", jhttp.DefaultMaxConns)
	case m.GlobalRateLimit < 0:
		return joule.Errorf(joule.EINVALID, "--rate-limit-global must not be negative (0: no limit)")
	case (m.TLSCert == "") != (m.TLSKey == ""):
		return joule.Errorf(joule.EINVALID, "--tls-cert and --tls-key go together: the certificate and its private key")
	}
	return nil
}

// serveFlags gives the API server serve's limits and certificate.
func (m *Main) serveFlags() {
	s := m.app.server
	s.MaxConns, s.GlobalRateLimit = m.MaxConns, m.GlobalRateLimit
	if m.GlobalRateLimit == 0 {
		s.GlobalRateLimit = -1 // the flag's 0 is no limit; the server's is its default
	}
	s.TLSCertFile, s.TLSKeyFile = m.TLSCert, m.TLSKey
}

// openExchange opens the GPU exchange with serve's flags, leading (SQLite) or only
// loaded (a replica on PostgreSQL, until it leads), and adds its clock and the
// repricer of opportunity-cost asks, which follow the hashprice, as leader's actors.
func (m *Main) openExchange(ctx context.Context, tick time.Duration, lead bool) error {
	xf, a := &m.Exchange, m.app
	rate, err := joule.CheckUSD("--hosting-usd-kw-month", xf.hosting)
	if err != nil {
		return err
	}
	a.hostingPerKWMonth = rate
	if xf.energy {
		a.energyPrice = m.market.Energy
	}
	pricer := &leasing.OpportunityPricer{}
	if err := a.loadExchange(ctx, xf.feeBPS, xf.askUSD, m.Log, pricer.Price, lead); err != nil {
		return err
	}
	if lead {
		m.ledEpoch = 1
	}
	a.server.RateLimit = xf.rateLimit
	m.addLeader("exchange", func(ctx context.Context) error { return a.exchange.Run(ctx, tick) })
	r := &leasing.Repricer{Exchange: a.exchange, Pricer: pricer, Hashprice: m.market.Hashprice, Margin: xf.margin, Every: tick}
	m.addLeader("repricer", r.Run)
	return nil
}

func (m *Main) add(name string, run func(context.Context) error) {
	m.actors = append(m.actors, actor{name, run})
}

// creditActors adds the leader's hourly service credits: the GPU servers' samples of
// every batch the server takes, assessed against the leases they served once each hour
// has closed, and posted to the ledger.
func (m *Main) creditActors() {
	a := m.app
	if a.exchange == nil {
		return
	}
	rec := &sla.Recorder{}
	a.server.ServiceRecorder = rec
	pass := &leasing.CreditPass{Exchange: a.exchange, Recorder: rec, Events: func(ctx context.Context, site string) ([]*joule.DemandResponse, error) {
		return a.server.Live.DemandResponseHistory(ctx, site, 50)
	}}
	m.addLeader("service credits", pass.Run)
}

// alertActors adds the leader's alert actors: the delivery of alert transitions to the
// sites' webhooks, woken by every batch that fires or resolves one, and the watch of
// the market feeds and demand-response events.
func (m *Main) alertActors() {
	a := m.app
	d := webhook.NewDeliverer(a.db.alerts, a.server.Sites, a.now, m.Log)
	a.alerts.Changed = d.Wake
	m.addLeader("alert delivery", d.Run)
	w := &alerts.Watch{Evaluator: a.alerts, Sites: a.server.Sites, Live: a.server.Live, Every: alerts.WatchEvery, Log: m.Log,
		Feeds: marketFeeds(m.market)}
	m.addLeader("alerts watch", w.Run)
}

// marketFeeds reads the market's shared feeds for the alerts watch: a stale feed with
// its last good time, a fresh one as good now; a feed the server was not given is
// left out. The energy price is judged per site by the dispatch loop's safe state.
func marketFeeds(p *feeds.Prices) func(now time.Time) []alerts.Feed {
	return func(now time.Time) []alerts.Feed {
		_, stale := p.Snapshot(now)
		out := []alerts.Feed{{Name: feeds.FeedChain, LastGood: now}, {Name: feeds.FeedBTCPrice, LastGood: now}}
		for _, s := range stale {
			for i := range out {
				if out[i].Name != s.Feed {
					continue
				}
				if s.Reason == feeds.StaleNotConfigured {
					out = slices.Delete(out, i, i+1)
				} else {
					out[i].LastGood = s.LastGood
				}
				break
			}
		}
		return out
	}
}

// addLeader adds an actor that runs only while this replica leads.
func (m *Main) addLeader(name string, run func(context.Context) error) {
	m.leaderActors = append(m.leaderActors, actor{name, run})
}

// start runs every actor in one group: when one fails, or Close cancels them, all are
// stopped and waited for.
func (m *Main) start(parent context.Context) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	m.cancel, m.done = cancel, make(chan struct{})
	go func() {
		m.err = m.runGroup(ctx, cancel, m.actors)
		close(m.done)
	}()
}

// runGroup runs actors until ctx ends or one fails (cancel is then called), and
// returns the first failure.
func (m *Main) runGroup(ctx context.Context, cancel context.CancelFunc, actors []actor) error {
	var g run.Group
	for _, a := range actors {
		g.Add(func() error {
			err := a.run(ctx)
			if err == nil && ctx.Err() == nil {
				err = joule.Errorf(joule.EINTERNAL, "%s stopped", a.name)
			}
			if err != nil && ctx.Err() == nil {
				m.Log.Error("actor", "actor", a.name, "err", err)
				return err
			}
			return nil
		}, func(error) { cancel() })
	}
	return g.Run()
}

// URL is where the server listens, once Run has returned.
func (m *Main) URL() string { return m.app.server.URL() }

// Done is closed when the actors have stopped: after Close, or when one failed.
func (m *Main) Done() <-chan struct{} {
	if m.done == nil {
		return nil
	}
	return m.done
}

// Close stops the actors and waits for them, then stops serving (requests in flight
// get ShutdownTimeout) and closes the store. It returns the first failure.
func (m *Main) Close() error {
	var errs []error
	if m.cancel != nil {
		m.cancel()
		<-m.done
		errs = append(errs, m.err)
	}
	if m.app != nil {
		if m.app.server.URL() != "" {
			errs = append(errs, m.app.server.Close())
		}
		errs = append(errs, m.app.Close())
	}
	return errors.Join(errs...)
}
