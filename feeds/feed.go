// Package feeds keeps the market inputs of the live dispatch loop: the chain (height,
// difficulty, fees) from a Bitcoin node, the BTC price from an HTTP JSON endpoint or a
// file, and the energy price from a CSV schedule. Each feed polls its source, keeps its
// last good value with the time it was good, and says when that value is too old to act
// on.
//
// Prices.Snapshot turns the feeds into the market of one moment, and lists the feeds
// that are stale, with the reason. Its Hashprice, Energy and GPU methods serve
// the live loop (joule.Prices), one reading at a time, each with its freshness.
//
// # The safe-state rule
//
// When the chain or the BTC price is stale, hashprice is unknown: State.HashpriceKnown
// is false and the hashprice fields are zero. The caller must then value mining at zero
// for new starts: start no miner on an unknown hashprice, and choose, for miners
// already hashing, between holding them and curtailing them (that choice is the
// dispatch loop's, not this package's). Likewise, when the energy price is stale or
// does not cover the moment, State.EnergyKnown is false and EnergyUSDPerMWh is zero,
// which is not a price: start no flexible load on it (the live loop plans with a
// prohibitive price). Stale values are never passed off as current; the last good
// values stay in State for display only.
package feeds

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Feed names, as Stale.Feed carries them.
const (
	FeedChain    = "chain"
	FeedBTCPrice = "btc_price"
	FeedEnergy   = "energy_price"
)

// Fetch reads a source once: its value and the time the value is as of. A zero time
// means "as of now", the time of the poll; a file's price, say, is as old as the file.
type Fetch[T any] func(ctx context.Context) (value T, asOf time.Time, err error)

// Feed polls one source and keeps its last good value. It is safe for concurrent use.
type Feed[T any] struct {
	name     string
	interval time.Duration
	now      func() time.Time
	fetch    Fetch[T]

	mu   sync.Mutex
	last Reading[T]
}

// Reading is what a feed knows: its last good value and when that value was good, and
// how its last poll went.
type Reading[T any] struct {
	Value T
	OK    bool      // a poll has succeeded at least once; Value and At mean nothing before
	At    time.Time // when Value was good: its source's time, or the poll's
	// Polled is when the feed last polled, and Err what that poll failed with (nil
	// when it succeeded). A failed poll keeps the last good value.
	Polled time.Time
	Err    error
}

// DefaultInterval is how often a feed polls when its interval is not positive.
const DefaultInterval = time.Minute

// NewFeed returns a feed named name that reads fetch every interval (DefaultInterval
// when not positive) when Run, with now as its clock.
func NewFeed[T any](name string, interval time.Duration, now func() time.Time, fetch Fetch[T]) *Feed[T] {
	if interval <= 0 {
		interval = DefaultInterval
	}
	return &Feed[T]{name: name, interval: interval, now: now, fetch: fetch}
}

// Name returns the feed's name, one of FeedChain, FeedBTCPrice, FeedEnergy for the
// feeds this package builds.
func (f *Feed[T]) Name() string { return f.name }

// Poll reads the source once and records the result.
func (f *Feed[T]) Poll(ctx context.Context) error {
	v, asOf, err := f.fetch(ctx)
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last.Polled, f.last.Err = now, err
	if err != nil {
		return fmt.Errorf("%s: %w", f.name, err)
	}
	if asOf.IsZero() {
		asOf = now
	}
	f.last.Value, f.last.OK, f.last.At = v, true, asOf
	return nil
}

// Last returns what the feed knows now.
func (f *Feed[T]) Last() Reading[T] {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

// Run polls at once and then every interval until ctx ends, each poll bounded by the
// interval. Errors are recorded in the feed (Last().Err) and reported to onError when it
// is not nil; they do not stop the loop. Run returns when ctx is done.
func (f *Feed[T]) Run(ctx context.Context, onError func(error)) {
	tick := time.NewTicker(f.interval)
	defer tick.Stop()
	for {
		pollCtx, cancel := context.WithTimeout(ctx, f.interval)
		err := f.Poll(pollCtx)
		cancel()
		if err != nil && onError != nil && ctx.Err() == nil {
			onError(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
