// Package demo is what makes a demo site look lived in: tenants that trade on the
// exchange and a grid that calls demand-response events, each on the demo's clock.
// They act through the same API a real tenant or a grid operator's tool would, given
// to them as small interfaces; the simulated machines and the agent that drives them
// are wired by joule serve --demo.
package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/joule-site/joule"
)

// Exchange is the exchange as one tenant sees it.
type Exchange interface {
	// SubmitOrder places an order and returns the leases it filled at once.
	SubmitOrder(ctx context.Context, o joule.Order) ([]joule.Lease, error)
	StopLease(ctx context.Context, id string) error
}

// Tenant is one of the demo's tenants and its view of the exchange.
type Tenant struct {
	ID       string
	Exchange Exchange
}

// Traders have the demo's tenants place an order every Every of wall time: reserved
// blocks, on-demand and spot servers, and now and then the end of a lease one of them
// started. A tenant only ever stops a lease its own trading started, so a visitor who
// orders as a demo tenant keeps what they ordered.
type Traders struct {
	Tenants []Tenant
	Product string
	Now     func() time.Time // the demo's clock
	Seed    uint64
	Every   time.Duration
	// TopUp adds credit to a tenant whose order was refused for the want of it.
	TopUp func(ctx context.Context, tenant string)
	Log   *slog.Logger

	started map[string][]string // per tenant, open-ended leases its trading started
}

// Run trades until ctx ends.
func (t *Traders) Run(ctx context.Context) error {
	if len(t.Tenants) == 0 {
		<-ctx.Done()
		return nil
	}
	rng := rand.New(rand.NewPCG(t.Seed, 7))
	t.started = map[string][]string{}
	tick := time.NewTicker(t.Every)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		t.step(ctx, rng, n)
	}
}

func (t *Traders) step(ctx context.Context, rng *rand.Rand, n int) {
	tn := t.Tenants[rng.IntN(len(t.Tenants))]
	now := t.Now()
	next := now.Truncate(time.Hour).Add(time.Hour)
	o := joule.Order{IdempotencyKey: fmt.Sprintf("demo-%d-%d", now.Unix(), n), Account: tn.ID, Product: t.Product, GPUs: 8 * (1 + rng.IntN(4)), AllOrNone: true}
	usd := func(lo, hi float64) joule.MicroUSD { return joule.MicroUSDFromUSD(lo + rng.Float64()*(hi-lo)) }
	switch p := rng.Float64(); {
	case p < 0.4:
		o.Kind, o.Start = joule.OrderReserved, next.Add(time.Duration(rng.IntN(3))*time.Hour)
		o.End = o.Start.Add(time.Duration(2+rng.IntN(6)) * time.Hour)
		o.LimitMicroUSDPerGPUHour = usd(1.8, 2.6)
	case p < 0.6:
		o.Kind, o.End = joule.OrderOnDemand, next.Add(time.Duration(1+rng.IntN(4))*time.Hour)
		o.LimitMicroUSDPerGPUHour = usd(2.2, 2.8)
	case p < 0.8:
		o.Kind, o.GPUs = joule.OrderSpot, 8
		o.LimitMicroUSDPerGPUHour = usd(1.2, 2.2)
	default:
		t.stopOne(ctx, tn)
		return
	}
	leases, err := tn.Exchange.SubmitOrder(ctx, o)
	if err != nil {
		if joule.ErrorCode(err) == joule.ECREDIT && t.TopUp != nil {
			t.TopUp(ctx, tn.ID)
		}
		t.Log.Debug("demo order", "tenant", tn.ID, "kind", o.Kind, "err", err)
		return
	}
	for _, l := range leases {
		if l.OpenEnded {
			t.started[tn.ID] = append(t.started[tn.ID], l.ID)
		}
	}
}

// stopOne stops the oldest open-ended lease the tenant's trading started that has not
// ended by itself.
func (t *Traders) stopOne(ctx context.Context, tn Tenant) {
	for len(t.started[tn.ID]) > 0 {
		id := t.started[tn.ID][0]
		t.started[tn.ID] = slices.Delete(t.started[tn.ID], 0, 1)
		err := tn.Exchange.StopLease(ctx, id)
		if err == nil {
			return
		}
		t.Log.Debug("demo stop", "tenant", tn.ID, "lease", id, "err", err)
		if errors.Is(err, context.Canceled) {
			return
		}
	}
}

// Grid calls a demand-response event every Every of the demo's clock, the first
// FirstAfter its start: draw at most ReduceToW, Within from the notice, for For.
type Grid struct {
	Site       string
	ReduceToW  joule.Watts
	Within     time.Duration
	For        time.Duration
	FirstAfter time.Duration
	Every      time.Duration
	Now        func() time.Time
	// Call sends an event to the site, as an aggregator's or a utility's system would.
	Call func(ctx context.Context, site string, reduceTo joule.Watts, within, dur time.Duration) error
	Log  *slog.Logger
}

// Run calls events until ctx ends. The clock is read every second of wall time.
func (g *Grid) Run(ctx context.Context) error {
	next := g.Now().Add(g.FirstAfter)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if g.Now().Before(next) {
			continue
		}
		next = next.Add(g.Every)
		if err := g.Call(ctx, g.Site, g.ReduceToW, g.Within, g.For); err != nil && !errors.Is(err, context.Canceled) {
			g.Log.Warn("demo demand response", "err", err)
		}
	}
}
