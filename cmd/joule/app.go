package main

import (
	"context"
	"fmt"
	"github.com/joule-site/joule/alerts"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/billing"
	"github.com/joule-site/joule/catalog"
	"github.com/joule-site/joule/drreport"
	"github.com/joule-site/joule/history"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/leasing"
	"github.com/joule-site/joule/live"
	"github.com/joule-site/joule/pricing"
)

// app is Joule wired on a store: the API server's services over the store, the
// embedded history and the catalog, and (openExchange) the GPU exchange.
type app struct {
	db       *store
	server   *jhttp.Server
	ops      *live.Operations // the server's live operations; serve sets its planner
	models   catalog.Models
	exchange *leasing.Service
	// hostingPerKWMonth is the hosting fee the exchange charges owners (serve sets it).
	hostingPerKWMonth joule.MicroUSD
	// energyPrice, when set, passes the sites' energy through to owners (serve sets it).
	energyPrice func(site *joule.Site, t time.Time) (float64, bool)
	// now is the clock: the wall clock, or the demo's.
	now func() time.Time
	// alerts judges the alert rules on what agents send; serve wakes the delivery with it.
	alerts *alerts.Evaluator
	// history is the market history the server's reports and prices run on: the
	// embedded one overlaid with the store's imports.
	history func(context.Context) (*history.History, error)
}

// openApp opens the store named by dsn and wires the API around it.
func openApp(dsn string, log *slog.Logger) (*app, error) { return openAppWith(dsn, log, 0) }

// openAppWith is openApp on openStoreWith's store.
func openAppWith(dsn string, log *slog.Logger, idleTx time.Duration) (*app, error) {
	hist, err := history.Default()
	if err != nil {
		return nil, fmt.Errorf("load market history: %w", err)
	}
	db, err := openStoreWith(dsn, idleTx)
	if err != nil {
		return nil, err
	}
	models := catalog.Models{User: db.hardware}
	s := jhttp.NewServer()
	s.Logger = log
	s.Sites = db.sites
	s.Fleets = db.fleets
	s.Manifests = db.manifests
	s.Models = models
	imported := &storeHistory{data: db.data}
	s.Pricer = &pricing.Pricer{History: hist, Models: models, Source: imported.History}
	s.Live = db.live
	s.Data = db.data
	s.Telemetry = db.telemetry
	s.Alerts = db.alerts
	s.DeviceControl = db.control
	ops := &live.Operations{Sites: s.Sites, Fleets: s.Fleets, Models: models, Live: s.Live, Now: time.Now}
	if ev, ok := db.live.(joule.DemandResponseEvidence); ok {
		s.DRReports = &drreport.Reporter{Evidence: ev, Plans: s.Live, Devices: s.Telemetry, Now: func() time.Time { return serverNow(s) }}
	}
	s.Ops = ops
	a := &app{db: db, server: s, ops: ops, models: models, now: time.Now, history: imported.History}
	a.alerts = &alerts.Evaluator{Alerts: db.alerts, Sites: s.Sites, Fleets: s.Fleets, Now: func() time.Time { return a.now() }}
	s.AlertRules = a.alerts
	return a, nil
}

func (a *app) Close() error { return a.db.close() }

// sites reads the store's sites with their fleets' models resolved.
func (a *app) sites() joule.SiteLoader {
	return joule.SiteLoader{Sites: a.server.Sites, Fleets: a.server.Fleets, Models: a.models}
}

// setClock makes now the clock of the store's stamps, the API and the exchange (which
// opens after). Set it before anything runs.
func (a *app) setClock(now func() time.Time) {
	a.db.setNow(now)
	a.now, a.server.Now, a.ops.Now = now, now, now
}

// exchangeConfig is the GPU exchange's configuration from the environment: the
// platform fee (JOULE_FEE_BPS, basis points, default 1000) and the ask of listings
// made from fleets (JOULE_ASK_USD_GPU_HOUR, default 2.00). `joule serve` takes flags
// that default to the same.
func exchangeConfig() (feeBPS int, askUSD float64, err error) {
	feeBPS, askUSD = 1000, 2.00
	if v := os.Getenv("JOULE_FEE_BPS"); v != "" {
		if feeBPS, err = strconv.Atoi(v); err != nil {
			return 0, 0, joule.Errorf(joule.EINVALID, "JOULE_FEE_BPS=%q: not a whole number of basis points", v)
		}
	}
	if v := os.Getenv("JOULE_ASK_USD_GPU_HOUR"); v != "" {
		if askUSD, err = strconv.ParseFloat(v, 64); err != nil || askUSD < 0 {
			return 0, 0, joule.Errorf(joule.EINVALID, "JOULE_ASK_USD_GPU_HOUR=%q: not a price", v)
		}
	}
	return feeBPS, askUSD, nil
}

// openExchange opens the GPU exchange on the app's store and serves it.
// pricing, when set, prices opportunity-cost asks (the server's market does).
func (a *app) openExchange(ctx context.Context, feeBPS int, askUSD float64, log *slog.Logger, pricing func(string, time.Time) joule.MicroUSD) error {
	return a.loadExchange(ctx, feeBPS, askUSD, log, pricing, true)
}

// loadExchange is openExchange; unless lead, it only loads the exchange and writes
// nothing (a replica that does not lead yet: it calls the exchange's Lead when it does).
func (a *app) loadExchange(ctx context.Context, feeBPS int, askUSD float64, log *slog.Logger, pricing func(string, time.Time) joule.MicroUSD, lead bool) error {
	ask, err := joule.CheckUSD("the default ask (--ask-usd-gpu-hour, JOULE_ASK_USD_GPU_HOUR)", askUSD)
	if err != nil {
		return err
	}
	open := leasing.Load
	if lead {
		open = leasing.Open
	}
	svc, err := open(ctx, a.db.leasing, leasing.Config{
		FeeBPS: feeBPS, DefaultAsk: ask,
		Sites: a.server.Sites, Fleets: a.server.Fleets, Models: a.models, Logger: log, Pricing: pricing,
		HostingPerKWMonth: a.hostingPerKWMonth, EnergyPrice: a.energyPrice, Now: a.now,
	})
	if err != nil {
		return err
	}
	a.exchange = svc
	a.server.Leasing = svc
	a.ops.Leases = svc // a demand-response event keeps the firm leases' power unless it sheds it
	a.server.Billing = &billing.Service{Store: a.db.leasing}
	return nil
}

// redact hides a password in a connection URL.
func redact(dsn string) string {
	if i, j := strings.Index(dsn, "://"), strings.LastIndex(dsn, "@"); i >= 0 && j > i {
		return dsn[:i+3] + "…" + dsn[j:]
	}
	return dsn
}

// withClient runs fn with a client of the server named by --server, or of an
// in-process API on the local store.
func withClient(ctx context.Context, g *globals, fn func(*jhttp.Client) error) error {
	return runClient(ctx, g, false, fn)
}

// withExchange is withClient for the GPU exchange's commands: against a server it
// sends --token; on the local store it opens the exchange and acts as the operator, or
// as the account --as names.
func withExchange(ctx context.Context, g *globals, fn func(*jhttp.Client) error) error {
	return runClient(ctx, g, true, fn)
}

// remoteClient is a client of --server with --token, that checks an https:// server's
// certificate against --ca when given.
func (g *globals) remoteClient() (*jhttp.Client, error) {
	c := jhttp.NewClient(strings.TrimRight(g.server, "/"))
	c.Token = g.token
	if g.ca == "" {
		return c, nil
	}
	pem, err := os.ReadFile(g.ca)
	if err != nil {
		return nil, joule.Errorf(joule.EINVALID, "--ca: %v", err)
	}
	if err := c.TrustCA(pem); err != nil {
		return nil, joule.Errorf(joule.EINVALID, "--ca %s: %v", g.ca, err)
	}
	return c, nil
}

func runClient(ctx context.Context, g *globals, exchange bool, fn func(*jhttp.Client) error) error {
	if g.server != "" {
		if g.as != "" {
			return joule.Errorf(joule.EINVALID, "--as acts as an account on the local store; against a server, use that account's --token")
		}
		c, err := g.remoteClient()
		if err != nil {
			return err
		}
		return fn(c)
	}
	log := slog.New(slog.DiscardHandler)
	a, err := openApp(g.db, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if exchange || g.as != "" { // the accounts --as may name are the exchange's
		fee, ask, err := exchangeConfig()
		if err != nil {
			return err
		}
		if err := a.openExchange(ctx, fee, ask, log, nil); err != nil {
			return err
		}
	}
	c := jhttp.NewLocalClient(a.server)
	c.As = g.as
	return fn(c)
}

// serverNow is the server's clock, read when asked: setClock may set it after the
// server is wired.
func serverNow(s *jhttp.Server) time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}
