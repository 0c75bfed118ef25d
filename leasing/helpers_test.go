package leasing_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/billing"
	"github.com/joule-site/joule/catalog"
	"github.com/joule-site/joule/leasing"
	"github.com/joule-site/joule/sqlite"
)

// t0 is when every test starts: Sunday noon before the Monday, 2025-01-06, on which
// the tests' blocks begin.
var t0 = time.Date(2025, 1, 5, 12, 0, 0, 0, time.UTC)

// day1 is Monday 2025-01-06 00:00 UTC.
var day1 = time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)

const product = "h100-sxm/west-texas"

func usd(d float64) joule.MicroUSD { return joule.MicroUSDFromUSD(d) }

// clock is a settable clock, safe for concurrent use. With step set it moves on by
// step after every reading, as a real clock does between two calls.
type clock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.t
	c.t = c.t.Add(c.step)
	return t
}

func (c *clock) add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// env is a service on a real SQLite file with the example site declared: 16 h100-sxm
// servers of the operator's and 16 of northwind-capital's.
type env struct {
	t      testing.TB
	ctx    context.Context
	db     *sqlite.DB
	store  *sqlite.LeasingStore
	clock  *clock
	cfg    leasing.Config
	svc    *leasing.Service
	bills  *billing.Service
	op     *joule.Account
	tokens map[string]string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvAt(t, filepath.Join(t.TempDir(), "joule.db"), true)
}

// newEnvAt opens the store at path, declares the example site when declare is set,
// and opens a service on it.
func newEnvAt(t testing.TB, path string, declare bool) *env {
	t.Helper()
	db := sqlite.NewDB(path)
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{t: t, ctx: context.Background(), db: db, store: sqlite.NewLeasingStore(db), clock: &clock{t: t0}, tokens: map[string]string{}}
	if declare {
		if _, err := sqlite.NewManifestService(db).Apply(e.ctx, exampleSite()); err != nil {
			t.Fatal(err)
		}
	}
	e.cfg = leasing.Config{
		Now: e.clock.Now, FeeBPS: 1000, DefaultAsk: usd(2), Logger: testLogger(t),
		Sites: sqlite.NewSiteService(db), Fleets: sqlite.NewFleetService(db), Models: catalog.Models{User: sqlite.NewHardwareService(db)},
	}
	e.svc = e.open()
	e.bills = &billing.Service{Store: e.store}
	e.op = &joule.Account{ID: "operator", Name: "Site operator", Role: joule.RoleOperator}
	return e
}

// open opens another service on the same store.
func (e *env) open() *leasing.Service {
	e.t.Helper()
	svc, err := leasing.Open(e.ctx, e.store, e.cfg)
	if err != nil {
		e.t.Fatalf("Open: %v", err)
	}
	return svc
}

func exampleSite() *joule.Manifest {
	return &joule.Manifest{
		Sites: []*joule.Site{{Name: "west-texas", PowerCapW: 50_000_000, PUE: 1.05,
			Energy: joule.EnergyPriceModel{Kind: joule.EnergyFixed, FixedUSDPerMWh: 45}}},
		Fleets: []*joule.Fleet{
			{Site: "west-texas", Name: "h100-pod-1", Model: "h100-sxm", Kind: joule.KindGPUServer, Count: 16},
			{Site: "west-texas", Name: "h100-pod-2", Model: "h100-sxm", Kind: joule.KindGPUServer, Count: 16, Owner: "northwind-capital"},
			{Site: "west-texas", Name: "s21", Model: "s21", Kind: joule.KindASIC, Count: 100},
		},
	}
}

// tenant creates a tenant with credit and returns it.
func (e *env) tenant(id string, credit joule.MicroUSD) *joule.Account {
	e.t.Helper()
	a, token, err := e.svc.CreateAccount(e.ctx, e.op, leasing.NewAccountRequest{ID: id, Role: joule.RoleTenant, CreditMicroUSD: credit})
	if err != nil {
		e.t.Fatalf("create tenant %s: %v", id, err)
	}
	e.tokens[id] = token
	return a
}

func reserved(key string, gpus int, from, to time.Time, limit joule.MicroUSD) joule.Order {
	return joule.Order{IdempotencyKey: key, Product: product, Kind: joule.OrderReserved, GPUs: gpus,
		Start: from, End: to, LimitMicroUSDPerGPUHour: limit, AllOrNone: true}
}

func running(kind joule.OrderKind, key string, gpus int, limit joule.MicroUSD) joule.Order {
	return joule.Order{IdempotencyKey: key, Product: product, Kind: kind, GPUs: gpus, LimitMicroUSDPerGPUHour: limit}
}

func (e *env) submit(who *joule.Account, o joule.Order) *leasing.OrderResult {
	e.t.Helper()
	r, err := e.svc.SubmitOrder(e.ctx, who, o)
	if err != nil {
		e.t.Fatalf("submit %s for %s: %v", o.IdempotencyKey, who.ID, err)
	}
	e.check()
	return r
}

// check fails the test unless the service's invariants hold.
func (e *env) check() {
	e.t.Helper()
	if err := e.svc.Check(); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) balance(a joule.LedgerAccount) joule.MicroUSD { return e.svc.Balance(a) }

func wantCode(t testing.TB, what string, err error, code string) {
	t.Helper()
	if got := joule.ErrorCode(err); got != code {
		t.Fatalf("%s: error %v has code %q, want %q", what, err, got, code)
	}
}

func wantEqual[T comparable](t testing.TB, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func hours(n int) time.Duration { return time.Duration(n) * time.Hour }

// testLogger logs warnings and errors to the test's log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
