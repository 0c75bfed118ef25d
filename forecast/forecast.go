// Package forecast says what energy price a site plans an interval on. A live site
// never knows the real-time price of the interval it is about to plan: it knows the
// prices its market has published so far (the last settled real-time interval, the
// day-ahead prices cleared the day before). A Forecaster turns what is known at a
// moment into the price to plan on; the backtests and the live loop call the same
// forecasters, the backtests through a Replay that hides every price not yet
// published at each decision.
package forecast

import (
	"fmt"
	"strings"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/history"
)

// Known is what a site's market has published by the moment of a decision. Prices
// are the site's own (node price plus its adder), USD per MWh.
type Known interface {
	// Now is the moment of the decision: the start of the interval to plan.
	Now() time.Time
	// LastSettled returns the newest real-time price published by Now, and the start
	// of the interval it is the price of; ok is false when none is known.
	LastSettled() (usdPerMWh float64, start time.Time, ok bool)
	// DayAhead returns the day-ahead price of the hour holding t when the market had
	// published it by Now; ok is false otherwise.
	DayAhead(t time.Time) (usdPerMWh float64, ok bool)
}

// A Forecaster returns the energy price to plan the interval starting at k.Now() on;
// ok is false when nothing it needs is known (the caller plans a safe state).
type Forecaster interface {
	Name() string
	Description() string
	Price(k Known) (usdPerMWh float64, ok bool)
}

// Forecaster names.
const (
	NamePersistence = "persistence"
	NameDayAhead    = "day-ahead"
)

// Persistence plans on the last settled real-time price.
type Persistence struct{}

func (Persistence) Name() string { return NamePersistence }
func (Persistence) Description() string {
	return "the last settled real-time price holds for the interval planned"
}
func (Persistence) Price(k Known) (float64, bool) {
	p, _, ok := k.LastSettled()
	return p, ok
}

// DayAhead plans on the last settled real-time price moved by what the day-ahead
// market expected to change between that interval's hour and this one (the shape of
// the day: evening ramps, night lows); where either hour has no published day-ahead
// price, on the last settled price alone.
type DayAhead struct{}

func (DayAhead) Name() string { return NameDayAhead }
func (DayAhead) Description() string {
	return "the last settled real-time price plus the day-ahead market's change from that interval's hour to this one"
}
func (DayAhead) Price(k Known) (float64, bool) {
	rt, at, ok := k.LastSettled()
	da, daOK := k.DayAhead(k.Now())
	daThen, thenOK := k.DayAhead(at)
	if ok && daOK && thenOK {
		return rt + da - daThen, true
	}
	return rt, ok
}

// Names lists the forecasters ByName knows.
func Names() []string { return []string{NamePersistence, NameDayAhead} }

// ByName returns a forecaster by its name, or EINVALID naming the known ones.
func ByName(name string) (Forecaster, error) {
	switch name {
	case NamePersistence:
		return Persistence{}, nil
	case NameDayAhead:
		return DayAhead{}, nil
	}
	return nil, joule.Errorf(joule.EINVALID, "unknown forecaster %q (known: %s)", name, strings.Join(Names(), ", "))
}

// Default is the forecaster plans use unless told otherwise: persistence, which kept
// more of the hindsight bound than day-ahead on every embedded year (README,
// "Backtests decide on what was known").
func Default() Forecaster { return Persistence{} }

// Replay is what a market had published at each moment of history: the real-time
// series up to the last interval that ended by Now, and the day-ahead prices whose
// auction had cleared by Now. Move it with At; it reads nothing published later.
type Replay struct {
	RealTime       *history.EnergySeries
	DayAheadSeries *history.EnergySeries // nil where the market has none
	// Published returns when the day-ahead price of the hour beginning at t was
	// published (ERCOTDayAheadPublished for ERCOT).
	Published func(hour time.Time) time.Time
	// AdderUSDPerMWh is added to every price: the site's charges on top of the node's.
	AdderUSDPerMWh float64
	// MaxAge is how old (from its interval's start) the price LastSettled returns may
	// be, which is how far back it looks across gaps in the series (default: six hours).
	MaxAge time.Duration
	now    time.Time
}

// At moves the replay to the moment t.
func (r *Replay) At(t time.Time) { r.now = t }

// Now returns the moment the replay stands at.
func (r *Replay) Now() time.Time { return r.now }

// LastSettled returns the price of the newest real-time interval that ended by Now.
func (r *Replay) LastSettled() (float64, time.Time, bool) {
	s := r.RealTime
	if s == nil {
		return 0, time.Time{}, false
	}
	maxAge := r.MaxAge
	if maxAge <= 0 {
		maxAge = 6 * time.Hour
	}
	// The interval holding Now has not ended; start from the one before it. (Series
	// lay their intervals on multiples of their step.)
	oldest := r.now.Add(-maxAge)
	for t := r.now.Truncate(s.Step).Add(-s.Step); !t.Before(oldest) && !t.Before(s.First); t = t.Add(-s.Step) {
		if p, ok := s.PriceAt(t); ok {
			return p + r.AdderUSDPerMWh, t, true
		}
	}
	return 0, time.Time{}, false
}

// DayAhead returns the day-ahead price of the hour holding t if it was published by Now.
func (r *Replay) DayAhead(t time.Time) (float64, bool) {
	s := r.DayAheadSeries
	if s == nil || r.Published == nil {
		return 0, false
	}
	hour := t.Truncate(time.Hour)
	if r.Published(hour).After(r.now) {
		return 0, false
	}
	p, ok := s.PriceAt(hour)
	return p + r.AdderUSDPerMWh, ok
}

// ERCOTDayAheadPublished is when ERCOT's day-ahead market publishes the prices of the
// hour beginning at t: the auction closes at 10:00 and its results are posted at 13:30
// Central time on the day before the operating day (ERCOT Nodal Protocols, Section 4,
// Day-Ahead Operations: the day-ahead timeline summary).
func ERCOTDayAheadPublished(t time.Time) time.Time {
	local := t.In(central)
	y, m, d := local.Date()
	return time.Date(y, m, d-1, 13, 30, 0, 0, central)
}

var central = mustLoad("America/Chicago")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(fmt.Sprintf("forecast: time zone %s: %v", name, err))
	}
	return loc
}

// PublishedFor returns the publication rule of a node's day-ahead market: ERCOT's for
// ERCOT nodes; for others, none (their day-ahead prices are not used).
func PublishedFor(node string) func(time.Time) time.Time {
	if strings.HasPrefix(node, "ERCOT:") {
		return ERCOTDayAheadPublished
	}
	return nil
}
