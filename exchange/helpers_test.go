package exchange

import (
	"slices"
	"testing"
	"time"

	"github.com/joule-site/joule"
)

// t0 is a Monday, on the hour.
var t0 = time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)

const product = "h100-sxm/west-texas"

// usd converts dollars to MicroUSD for readable test tables.
func usd(d float64) joule.MicroUSD { return joule.MicroUSDFromUSD(d) }

// hour is t0 plus n hours.
func hour(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time             { return c.t }
func (c *clock) set(t time.Time)            { c.t = t }
func (c *clock) add(d time.Duration)        { c.t = c.t.Add(d) }
func newClock(t time.Time) *clock           { return &clock{t} }
func (c *clock) config() Config             { return Config{Now: c.Now} }
func (c *clock) configWith(p Config) Config { p.Now = c.Now; return p }

// newEngine returns an engine with the test product listed and the given listings
// (seller → servers at ask), open-ended from t0.
func newEngine(t testing.TB, cfg Config, listings ...joule.Listing) *Engine {
	t.Helper()
	e := New(cfg)
	if err := e.AddProduct(joule.Product{ID: product, Model: "h100-sxm", Site: "west-texas", GPUsPerNode: 8}); err != nil {
		t.Fatal(err)
	}
	for _, l := range listings {
		if l.Product == "" {
			l.Product = product
		}
		if l.Start.IsZero() {
			l.Start = t0
		}
		if _, err := e.SetListing(l); err != nil {
			t.Fatal(err)
		}
	}
	mustCheck(t, e)
	return e
}

func listing(seller string, servers int, ask joule.MicroUSD) joule.Listing {
	return joule.Listing{Seller: seller, Servers: servers, AskMicroUSDPerGPUHour: ask}
}

func reserved(key, account string, gpus int, from, to int, limit joule.MicroUSD) joule.Order {
	return joule.Order{IdempotencyKey: key, Account: account, Product: product, Kind: joule.OrderReserved,
		GPUs: gpus, Start: hour(from), End: hour(to), LimitMicroUSDPerGPUHour: limit, AllOrNone: true}
}

func running(kind joule.OrderKind, key, account string, gpus int, limit joule.MicroUSD) joule.Order {
	return joule.Order{IdempotencyKey: key, Account: account, Product: product, Kind: kind,
		GPUs: gpus, LimitMicroUSDPerGPUHour: limit}
}

func mustSubmit(t testing.TB, e *Engine, o joule.Order) *Result {
	t.Helper()
	r, err := e.Submit(o)
	if err != nil {
		t.Fatalf("submit %s: %v", o.IdempotencyKey, err)
	}
	mustCheck(t, e)
	return r
}

func mustCheck(t testing.TB, e *Engine) {
	t.Helper()
	if err := e.Check(); err != nil {
		t.Fatal(err)
	}
}

func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if got := joule.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

// servers names servers of a seller's listing in the test product, by number from 1.
func servers(seller string, n ...int) []string {
	names := joule.DefaultNodeNames(seller+"-h100-sxm-west-texas", slices.Max(n))
	out := make([]string, len(n))
	for i, k := range n {
		out[i] = names[k-1]
	}
	return out
}
