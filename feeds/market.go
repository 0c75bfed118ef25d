package feeds

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/econ"
	"github.com/joule-site/joule/history"
)

// Chain is what hashprice needs of a node's view of the chain. The bitcoind package
// reads it (bitcoind.ChainState has these fields); cmd/joule copies them over, as
// adapters do not import each other:
//
//	feeds.NewChainFeed(func(ctx context.Context) (feeds.Chain, error) {
//		s, err := node.Chain(ctx)
//		return feeds.Chain{Height: s.Height, Difficulty: s.Difficulty, FeesPerBlock: s.FeesPerBlock, TipTime: s.TipTime}, err
//	}, time.Minute, time.Now)
type Chain struct {
	Height       int64      // height of the tip
	Difficulty   float64    // difficulty of the tip
	FeesPerBlock joule.Sats // mean fees per block over the last 144 blocks, or the node's window
	TipTime      time.Time  // timestamp in the tip's header
}

// NewChainFeed returns the chain feed over read.
func NewChainFeed(read func(context.Context) (Chain, error), interval time.Duration, now func() time.Time) *Feed[Chain] {
	return NewFeed(FeedChain, interval, now, func(ctx context.Context) (Chain, time.Time, error) {
		c, err := read(ctx)
		return c, time.Time{}, err
	})
}

// MaxAge says how old each feed's last good value may be before it is stale. A zero
// field takes DefaultMaxAge's.
type MaxAge struct {
	Chain    time.Duration // since the node last answered
	BTCPrice time.Duration // since the price was good (a file's: since it was written)
	Energy   time.Duration // since the schedule was last read
	// ChainTip bounds the age of the tip's timestamp: a node whose tip is older is
	// stuck or still syncing, and its difficulty and fees are not the network's.
	ChainTip time.Duration
}

// DefaultMaxAge: a few missed polls of the chain and the price; an energy schedule
// read within two hours; a tip at most three hours old (an hour without a block happens
// a few times a week, three hours about once in a thousand years at a steady hashrate;
// a tip's timestamp may also lag the clock a little).
var DefaultMaxAge = MaxAge{
	Chain:    20 * time.Minute,
	BTCPrice: 10 * time.Minute,
	Energy:   2 * time.Hour,
	ChainTip: 3 * time.Hour,
}

func (m MaxAge) withDefaults() MaxAge {
	or := func(d, def time.Duration) time.Duration {
		if d > 0 {
			return d
		}
		return def
	}
	return MaxAge{
		Chain:    or(m.Chain, DefaultMaxAge.Chain),
		BTCPrice: or(m.BTCPrice, DefaultMaxAge.BTCPrice),
		Energy:   or(m.Energy, DefaultMaxAge.Energy),
		ChainTip: or(m.ChainTip, DefaultMaxAge.ChainTip),
	}
}

// Prices is the live market: its feeds, how old each may be, and the figures passed
// through (pool fee, GPU price). Set its fields before the first Snapshot or Run and
// leave them.
type Prices struct {
	ChainFeed  *Feed[Chain] // nil: not configured, always stale
	PriceFeed  *Feed[float64]
	EnergyFeed *Feed[*history.EnergySeries]
	// EnergyFeedByNode holds the schedules of wholesale nodes ("ERCOT:HB_WEST") for
	// Prices.Energy; a node not in it is priced by EnergyFeed.
	EnergyFeedByNode map[string]*Feed[*history.EnergySeries]
	MaxAge           MaxAge
	// PoolFee is the pool's fee, a fraction in [0, 1): State's net hashprice is net of it.
	PoolFee float64
	// GPUUSDPerHour and GPUUtilization are passed through to State as they are.
	GPUUSDPerHour  float64
	GPUUtilization float64
}

// State is the market at one moment. Fields marked "last good" may be stale: Snapshot's
// []Stale says which, and the Known flags say what may be acted on.
type State struct {
	At             time.Time
	Chain          Chain                 // last good
	BTCUSD         float64               // last good
	EnergySchedule *history.EnergySeries // last good

	// HashpriceKnown is true when the chain and the price are fresh. Hashprice (gross)
	// and HashpriceNetUSDPerPHDay (net of the pool fee) are zero when it is false.
	HashpriceKnown          bool
	Hashprice               econ.Hashprice
	HashpriceNetUSDPerPHDay float64

	// EnergyKnown is true when the schedule is fresh and covers At; EnergyUSDPerMWh
	// is zero, not a price, when it is false.
	EnergyKnown     bool
	EnergyUSDPerMWh float64

	GPUUSDPerHour  float64
	GPUUtilization float64
}

// StaleReason says why a feed is stale. Callers branch on it, never on Stale's text.
type StaleReason string

// Reasons a feed is stale.
const (
	StaleNotConfigured StaleReason = "not_configured" // the Prices have no such feed
	StaleNoValue       StaleReason = "no_value"       // no poll has succeeded yet
	StaleTooOld        StaleReason = "too_old"        // the last good value is older than its MaxAge
	StaleTipTooOld     StaleReason = "tip_too_old"    // the node answers, but its tip is older than MaxAge.ChainTip
	StaleNotCovered    StaleReason = "not_covered"    // the energy schedule has no price for the moment
)

// Stale is one feed that may not be acted on, and why.
type Stale struct {
	Feed     string // FeedChain, FeedBTCPrice or FeedEnergy
	Reason   StaleReason
	LastGood time.Time     // when its value was last good; zero if never
	Age      time.Duration // of what Reason speaks of: the value, or the chain's tip
	MaxAge   time.Duration
	Err      error // the last poll's error, when it failed
}

// String describes the staleness for a log line.
func (s Stale) String() string {
	text := fmt.Sprintf("%s: %s", s.Feed, s.Reason)
	if s.Age > 0 {
		text += fmt.Sprintf(" (%v old, max %v)", s.Age.Round(time.Second), s.MaxAge)
	}
	if s.Err != nil {
		text += fmt.Sprintf("; last poll: %v", s.Err)
	}
	return text
}

// Snapshot returns the market at now and the feeds that are stale then.
func (m *Prices) Snapshot(now time.Time) (State, []Stale) {
	maxAge := m.MaxAge.withDefaults()
	st := State{At: now, GPUUSDPerHour: m.GPUUSDPerHour, GPUUtilization: m.GPUUtilization}
	var stale []Stale

	chainOK := false
	if r, s := check(FeedChain, m.ChainFeed, now, maxAge.Chain); s != nil {
		stale = append(stale, *s)
		st.Chain = r.Value
	} else if tipAge := now.Sub(r.Value.TipTime); tipAge > maxAge.ChainTip {
		stale = append(stale, Stale{Feed: FeedChain, Reason: StaleTipTooOld, LastGood: r.At, Age: tipAge, MaxAge: maxAge.ChainTip, Err: r.Err})
		st.Chain = r.Value
	} else {
		st.Chain, chainOK = r.Value, true
	}

	r, s := check(FeedBTCPrice, m.PriceFeed, now, maxAge.BTCPrice)
	st.BTCUSD = r.Value
	if s != nil {
		stale = append(stale, *s)
	}
	if chainOK && s == nil && st.Chain.Difficulty > 0 {
		st.HashpriceKnown = true
		st.Hashprice = econ.ComputeHashprice(econ.MarketDay{
			Height:          st.Chain.Height + 1, // the next block is the one being mined
			Difficulty:      st.Chain.Difficulty,
			FeesPerBlockBTC: st.Chain.FeesPerBlock.BTC(),
			PriceUSD:        st.BTCUSD,
		})
		st.HashpriceNetUSDPerPHDay = econ.NetOfPoolFee(st.Hashprice.USDPerPHDay, m.PoolFee)
	}

	e, s := check(FeedEnergy, m.EnergyFeed, now, maxAge.Energy)
	st.EnergySchedule = e.Value
	if s != nil {
		stale = append(stale, *s)
	} else if price, ok := e.Value.PriceAt(now); !ok {
		stale = append(stale, Stale{Feed: FeedEnergy, Reason: StaleNotCovered, LastGood: e.At, Err: e.Err})
	} else {
		st.EnergyKnown, st.EnergyUSDPerMWh = true, price
	}
	return st, stale
}

// check returns a feed's reading and, when the reading may not be acted on at now, why.
func check[T any](name string, f *Feed[T], now time.Time, maxAge time.Duration) (Reading[T], *Stale) {
	if f == nil {
		return Reading[T]{}, &Stale{Feed: name, Reason: StaleNotConfigured}
	}
	r := f.Last()
	switch age := now.Sub(r.At); {
	case !r.OK:
		return r, &Stale{Feed: name, Reason: StaleNoValue, Err: r.Err}
	case age > maxAge:
		return r, &Stale{Feed: name, Reason: StaleTooOld, LastGood: r.At, Age: age, MaxAge: maxAge, Err: r.Err}
	}
	return r, nil
}

// Poll polls every configured feed once, at the same time, and returns their errors
// joined: a server polls before its first plan, so that the plan is not a safe state
// made only because no poll had finished yet.
func (m *Prices) Poll(ctx context.Context) error {
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	poll := func(p interface{ Poll(context.Context) error }) {
		wg.Go(func() {
			if err := p.Poll(ctx); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	if m.ChainFeed != nil {
		poll(m.ChainFeed)
	}
	if m.PriceFeed != nil {
		poll(m.PriceFeed)
	}
	for _, f := range append([]*Feed[*history.EnergySeries]{m.EnergyFeed}, mapValues(m.EnergyFeedByNode)...) {
		if f != nil {
			poll(f)
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Run polls every configured feed on its own interval until ctx ends, reporting poll
// errors to onError (which may be called from several goroutines at once) when it is
// not nil.
func (m *Prices) Run(ctx context.Context, onError func(error)) {
	var wg sync.WaitGroup
	if m.ChainFeed != nil {
		wg.Go(func() { m.ChainFeed.Run(ctx, onError) })
	}
	if m.PriceFeed != nil {
		wg.Go(func() { m.PriceFeed.Run(ctx, onError) })
	}
	for _, f := range append([]*Feed[*history.EnergySeries]{m.EnergyFeed}, mapValues(m.EnergyFeedByNode)...) {
		if f != nil {
			wg.Go(func() { f.Run(ctx, onError) })
		}
	}
	wg.Wait()
}

func mapValues[K comparable, V any](m map[K]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
