package feeds

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/history"
)

// Clock is a clock that starts at Start and runs Speed times faster than the wall
// clock: the demo's, replaying history. Its zero value is not usable: use NewClock.
type Clock struct {
	start time.Time
	speed float64
	wall  time.Time
	since func(time.Time) time.Duration
}

// NewClock returns a clock that reads start now and then runs speed times as fast as
// the wall clock (speed ≥ 1).
func NewClock(start time.Time, speed float64) *Clock {
	return &Clock{start: start, speed: max(speed, 1), wall: time.Now(), since: time.Since}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	return c.start.Add(time.Duration(float64(c.since(c.wall)) * c.speed))
}

// Speed returns how many clock seconds pass in one wall-clock second.
func (c *Clock) Speed() float64 { return c.speed }

// Start returns the time the clock read when it was made.
func (c *Clock) Start() time.Time { return c.start }

// Replay serves the market feeds from the embedded history at Now: the chain (height,
// difficulty and fees per block of the day), the BTC price (the daily price,
// interpolated between one day and the next, so that it moves within a day), and the
// energy prices of wholesale nodes. It is what `joule serve --demo` runs on.
type Replay struct {
	History *history.History
	Now     func() time.Time
	// Window is how much of an energy series each poll returns ahead of Now (a day when
	// zero); the schedule also reaches an hour back.
	Window time.Duration

	mu     sync.Mutex
	series map[string]*history.EnergySeries
}

// Chain returns the chain at Now: the day's difficulty and fees per block, and the
// height its first block had plus the blocks mined since, pro rata.
func (r *Replay) Chain(context.Context) (Chain, error) {
	now := r.Now()
	d := r.History.Day(now)
	if err := d.Err(); err != nil {
		return Chain{}, err
	}
	day := now.UTC().Truncate(24 * time.Hour)
	frac := float64(now.Sub(day)) / float64(24*time.Hour)
	return Chain{
		Height:       d.Height + int64(frac*d.Blocks),
		Difficulty:   d.Difficulty,
		FeesPerBlock: joule.Sats(d.FeesPerBlockBTC() * joule.SatsPerBTC),
		TipTime:      now,
	}, nil
}

// Price returns the BTC price at Now: the day's price moving linearly to the next
// day's over the day (the day's own when the next is not in the data).
func (r *Replay) Price(context.Context) (float64, time.Time, error) {
	now := r.Now()
	d := r.History.Day(now)
	if d.PriceUSD <= 0 {
		if err := d.Err(); err != nil {
			return 0, time.Time{}, err
		}
		return 0, time.Time{}, fmt.Errorf("replay: no BTC price on %s", now.UTC().Format(time.DateOnly))
	}
	next := r.History.Day(now.Add(24 * time.Hour))
	if next.PriceUSD <= 0 {
		return d.PriceUSD, now, nil
	}
	day := now.UTC().Truncate(24 * time.Hour)
	frac := float64(now.Sub(day)) / float64(24*time.Hour)
	return d.PriceUSD + frac*(next.PriceUSD-d.PriceUSD), now, nil
}

// Energy returns a fetch of node's prices around Now, from an hour before to Window
// after, as a schedule: each price holds until the next, as a live schedule's do, so
// that a gap of a few minutes in the history is not a stale feed.
func (r *Replay) Energy(node string) Fetch[*history.EnergySeries] {
	return func(context.Context) (*history.EnergySeries, time.Time, error) {
		s, err := r.energySeries(node)
		if err != nil {
			return nil, time.Time{}, err
		}
		window := r.Window
		if window <= 0 {
			window = 24 * time.Hour
		}
		now := r.Now()
		from, to := now.Add(-time.Hour).Truncate(s.Step), now.Add(window)
		var points []history.EnergyPoint
		for t := from; t.Before(to); t = t.Add(s.Step) {
			if p, ok := s.PriceAt(t); ok {
				points = append(points, history.EnergyPoint{Start: t, USDPerMWh: p})
			}
		}
		out, err := history.NewEnergySeries(points) // fails only for no points
		if _, ok := out.PriceAt(now); err != nil || !ok {
			return nil, time.Time{}, fmt.Errorf("replay: %s has no price at %s (the data covers %s)", node, now.UTC().Format(time.RFC3339), s.Coverage())
		}
		out.Node, out.Location = s.Node, s.Location
		return out, now, nil
	}
}

func (r *Replay) energySeries(node string) (*history.EnergySeries, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.series[node]; ok {
		return s, nil
	}
	s, err := r.History.Energy(node)
	if err != nil {
		return nil, err
	}
	if r.series == nil {
		r.series = make(map[string]*history.EnergySeries)
	}
	r.series[node] = s
	return s, nil
}

// Prices returns a Prices whose feeds replay the history, each polled every poll of
// wall-clock time, with the energy of each node in nodes.
func (r *Replay) Prices(poll time.Duration, nodes ...string) *Prices {
	m := &Prices{
		ChainFeed: NewChainFeed(r.Chain, poll, r.Now),
		PriceFeed: NewPriceFeed(r.Price, poll, r.Now),
	}
	for _, n := range nodes {
		if m.EnergyFeedByNode == nil {
			m.EnergyFeedByNode = make(map[string]*Feed[*history.EnergySeries])
		}
		m.EnergyFeedByNode[n] = NewEnergyFeed(r.Energy(n), poll, r.Now)
	}
	return m
}
