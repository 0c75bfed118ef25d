package feeds_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/joule-site/joule/feeds"
	"github.com/joule-site/joule/history"
)

// clock is the time the feeds and the test agree on.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// node is a Bitcoin node whose answer the test sets.
type node struct {
	state feeds.Chain
	err   error
}

func (n *node) Chain(context.Context) (feeds.Chain, error) { return n.state, n.err }

// source is a fetch whose answer the test sets.
type source[T any] struct {
	value T
	asOf  time.Time
	err   error
}

func (s *source[T]) fetch(context.Context) (T, time.Time, error) { return s.value, s.asOf, s.err }

// 15:30 in Texas, inside the 15:00 hour of the hourly schedule.
var t0 = time.Date(2024, 7, 10, 20, 30, 0, 0, time.UTC)

// July 2024: height 850,000, difficulty 83 T, 0.1 BTC of fees a block, BTC at $57,000.
var july = feeds.Chain{Height: 850_000, Difficulty: 83e12, TipTime: t0.Add(-4 * time.Minute), FeesPerBlock: 10_000_000}

func TestSnapshot(t *testing.T) {
	energy, err := feeds.ParseEnergyCSV(strings.NewReader(hourly))
	if err != nil {
		t.Fatal(err)
	}
	// 86400 s × 1e15 H/s × (3.125 + 0.1) BTC ÷ (83e12 × 2^32) × $57,000, by hand.
	wantHashprice := 86400 * 1e15 * 3.225 / (83e12 * 4294967296) * 57000

	type world struct {
		clock *clock
		node  *node
		price *source[float64]
		sched *source[*history.EnergySeries]
		m     *feeds.Prices
	}
	poll := func(w *world) {
		ctx := context.Background()
		_ = w.m.ChainFeed.Poll(ctx)
		_ = w.m.PriceFeed.Poll(ctx)
		_ = w.m.EnergyFeed.Poll(ctx)
	}
	tests := []struct {
		name      string
		setup     func(w *world)
		stale     []feeds.StaleReason // in feed order: chain, price, energy
		hashprice bool
		energy    bool
	}{
		{"all fresh", func(w *world) { poll(w) }, nil, true, true},
		{"price too old", func(w *world) {
			poll(w)
			w.clock.advance(11 * time.Minute)
			_ = w.m.ChainFeed.Poll(context.Background())
		}, []feeds.StaleReason{feeds.StaleTooOld}, false, true},
		{"price file not rewritten", func(w *world) {
			w.price.asOf = t0.Add(-time.Hour)
			poll(w)
		}, []feeds.StaleReason{feeds.StaleTooOld}, false, true},
		{"node never answered", func(w *world) {
			w.node.err = errors.New("connection refused")
			poll(w)
		}, []feeds.StaleReason{feeds.StaleNoValue}, false, true},
		{"a failed poll keeps a fresh value", func(w *world) {
			poll(w)
			w.clock.advance(5 * time.Minute)
			w.node.err = errors.New("connection refused")
			poll(w)
		}, nil, true, true},
		{"node stuck on an old tip", func(w *world) {
			w.node.state.TipTime = t0.Add(-4 * time.Hour)
			poll(w)
		}, []feeds.StaleReason{feeds.StaleTipTooOld}, false, true},
		{"schedule ends before now", func(w *world) {
			w.clock.advance(2 * time.Hour)
			poll(w)
		}, []feeds.StaleReason{feeds.StaleNotCovered}, true, false},
		{"everything old", func(w *world) {
			poll(w)
			w.clock.advance(3 * time.Hour)
		}, []feeds.StaleReason{feeds.StaleTooOld, feeds.StaleTooOld, feeds.StaleTooOld}, false, false},
		{"MaxAge overrides the default", func(w *world) {
			w.m.MaxAge.BTCPrice = time.Hour
			poll(w)
			w.clock.advance(11 * time.Minute)
			_ = w.m.ChainFeed.Poll(context.Background())
		}, nil, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &world{clock: &clock{t: t0}, node: &node{state: july}, price: &source[float64]{value: 57000}, sched: &source[*history.EnergySeries]{value: energy}}
			w.m = &feeds.Prices{
				ChainFeed:     feeds.NewChainFeed(w.node.Chain, time.Minute, w.clock.Now),
				PriceFeed:     feeds.NewPriceFeed(w.price.fetch, time.Minute, w.clock.Now),
				EnergyFeed:    feeds.NewEnergyFeed(w.sched.fetch, 5*time.Minute, w.clock.Now),
				PoolFee:       0.02,
				GPUUSDPerHour: 2.1, GPUUtilization: 0.8,
			}
			tt.setup(w)
			st, stale := w.m.Snapshot(w.clock.Now())

			var reasons []feeds.StaleReason
			for _, s := range stale {
				reasons = append(reasons, s.Reason)
				if s.String() == "" || !strings.HasPrefix(s.String(), s.Feed) {
					t.Errorf("Stale %+v prints %q", s, s)
				}
			}
			if !slices.Equal(reasons, tt.stale) {
				t.Errorf("stale %v; want %v", stale, tt.stale)
			}
			if st.HashpriceKnown != tt.hashprice {
				t.Errorf("HashpriceKnown = %v; want %v", st.HashpriceKnown, tt.hashprice)
			}
			switch {
			case tt.hashprice && math.Abs(st.Hashprice.USDPerPHDay-wantHashprice) > 1e-9*wantHashprice:
				t.Errorf("hashprice $%.4f/PH/day; want $%.4f", st.Hashprice.USDPerPHDay, wantHashprice)
			case tt.hashprice && math.Abs(st.HashpriceNetUSDPerPHDay-0.98*wantHashprice) > 1e-9*wantHashprice:
				t.Errorf("net hashprice $%.4f/PH/day; want 98%% of $%.4f", st.HashpriceNetUSDPerPHDay, wantHashprice)
			case !tt.hashprice && (st.Hashprice.USDPerPHDay != 0 || st.HashpriceNetUSDPerPHDay != 0):
				t.Errorf("an unknown hashprice reads $%v/PH/day (net $%v); want 0", st.Hashprice.USDPerPHDay, st.HashpriceNetUSDPerPHDay)
			}
			if st.EnergyKnown != tt.energy || (tt.energy && st.EnergyUSDPerMWh != 180) || (!tt.energy && st.EnergyUSDPerMWh != 0) {
				t.Errorf("energy %v, known %v; want 180 at 15:30 when known, else 0", st.EnergyUSDPerMWh, st.EnergyKnown)
			}
			if st.GPUUSDPerHour != 2.1 || st.GPUUtilization != 0.8 || !st.At.Equal(w.clock.Now()) {
				t.Errorf("passed through: GPU $%v/h at %v, at %v", st.GPUUSDPerHour, st.GPUUtilization, st.At)
			}
		})
	}
}

func TestSnapshotWithoutFeeds(t *testing.T) {
	st, stale := (&feeds.Prices{}).Snapshot(t0)
	var names []string
	for _, s := range stale {
		if s.Reason != feeds.StaleNotConfigured {
			t.Errorf("%v: want %s", s, feeds.StaleNotConfigured)
		}
		names = append(names, s.Feed)
	}
	if want := []string{feeds.FeedChain, feeds.FeedBTCPrice, feeds.FeedEnergy}; !slices.Equal(names, want) {
		t.Errorf("stale feeds %v; want %v", names, want)
	}
	if st.HashpriceKnown || st.EnergyKnown {
		t.Errorf("a market without feeds knows something: %+v", st)
	}
}

func TestFeedPoll(t *testing.T) {
	c := &clock{t: t0}
	src := &source[float64]{value: 57000}
	f := feeds.NewPriceFeed(src.fetch, time.Minute, c.Now)
	if r := f.Last(); r.OK {
		t.Fatalf("a feed that never polled has a value: %+v", r)
	}
	if err := f.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.advance(time.Minute)
	src.err = errors.New("502 Bad Gateway")
	err := f.Poll(context.Background())
	if err == nil || !strings.HasPrefix(err.Error(), feeds.FeedBTCPrice) {
		t.Errorf("Poll = %v; want the source's error, named for the feed", err)
	}
	r := f.Last()
	if !r.OK || r.Value != 57000 || !r.At.Equal(t0) || !r.Polled.Equal(t0.Add(time.Minute)) || r.Err != src.err {
		t.Errorf("after a failed poll: %+v; want the value of %v, the error of %v", r, t0, t0.Add(time.Minute))
	}
	if feeds.NewChainFeed((&node{}).Chain, 0, c.Now).Name() != feeds.FeedChain {
		t.Error("the chain feed has another name")
	}
}

// TestMarketRun polls real feeds on a short interval until the context ends.
func TestMarketRun(t *testing.T) {
	var mu sync.Mutex
	polls := 0
	fetch := func(context.Context) (float64, time.Time, error) {
		mu.Lock()
		defer mu.Unlock()
		polls++
		return 0, time.Time{}, errors.New("down")
	}
	m := &feeds.Prices{PriceFeed: feeds.NewPriceFeed(fetch, 5*time.Millisecond, time.Now)}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	var errs []error
	m.Run(ctx, func(err error) {
		mu.Lock()
		defer mu.Unlock()
		errs = append(errs, err)
	})
	mu.Lock()
	defer mu.Unlock()
	if polls < 2 || len(errs) < 2 {
		t.Errorf("%d polls, %d errors reported in 100 ms at a 5 ms interval", polls, len(errs))
	}
}
