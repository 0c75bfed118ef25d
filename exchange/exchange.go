// Package exchange decides who leases which GPU hours. It keeps an order book per
// product in memory: sellers' capacity in hour slots, their asks, resting bids and the
// leases that hold GPUs, and matches orders against it at price-time priority. It does
// no I/O: the store persists what each operation returns, and Restore rebuilds the book
// from the persisted orders, leases and listings at start-up.
//
// # Model
//
// Capacity is a count of GPUs per product, hour slot and source. A source is a seller's
// listing (its servers × GPUs per node, at a fixed ask or an opportunity-cost ask from
// Config.Pricing) or a resale order (a tenant offering hours of a lease it holds). A
// lease consumes GPUs from sources, slot by slot; the invariant Check verifies is that
// no slot of any source is ever leased beyond its capacity, and that no lease's hours
// are offered for resale twice, so no GPU is leased twice for the same hour.
//
// Orders:
//   - reserved: a block of GPUs for hour-aligned [Start, End), filled from the cheapest
//     asks at or below the limit in every hour (possibly several sellers), all or none
//     unless AllOrNone is false; what does not fill rests until it fills, is cancelled,
//     expires, or its Start passes.
//   - on-demand: firm GPUs from now until stopped; fills at once or fails with ECAPACITY.
//   - spot: like on-demand but interruptible; rests until leftover capacity frees up.
//   - resale: puts hours of a firm, hour-aligned lease back as the holder's capacity,
//     which reserved bids may buy.
//
// On-demand and spot leases are open-ended and reserve hour by hour: they hold the
// current hour slot and HoldAheadHours after it, and Advance renews them as time passes.
// A renewal that finds no capacity at or below the order's limit ends the lease at the
// end of the hours it already holds, so a running lease always has at least
// HoldAheadHours of notice. Reserved and on-demand orders may preempt spot leases: the
// spot tenant gets the lease's NoticeSec of notice, and its GPUs go at the first hour
// boundary at least that far ahead. Spot never preempts spot; among resting spot bids
// the higher bid fills first.
//
// Every operation is atomic: it returns an error and changes nothing, or returns a
// Result that lists every order, lease and fill it created or changed. Time is injected
// (Config.Now); call Advance regularly (every minute) to expire orders and renew leases.
package exchange

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/joule-site/joule"
)

// Config sets up an Engine. Zero fields take the documented defaults.
type Config struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Pricing returns the opportunity-cost ask of one GPU-hour of a product in the hour
	// slot starting at hour: what the power and servers would earn otherwise. Listings with
	// OpportunityCost ask max(Pricing, their own ask). It must be fast and pure; the engine
	// caches it per slot until Reprice.
	Pricing func(product string, hour time.Time) joule.MicroUSD
	// SpotNoticeSec is the notice a spot lease gets before preemption; default 120.
	SpotNoticeSec int64
	// HoldAheadHours is how many hour slots after the current one an on-demand or spot
	// lease holds; default 1.
	HoldAheadHours int
	// HorizonHours is how far ahead of now an order may reach; default 400 days.
	HorizonHours int
	// IdempotencyWindow is how long a finished order's idempotency key is remembered;
	// default 24 hours. Orders that rest or still have leases are always remembered.
	IdempotencyWindow time.Duration
	// NewID returns a fresh ID for an order ("order") or a lease ("lease"); by default
	// "o<n>" and "l<n>" from counters that State and Restore carry across restarts.
	NewID func(kind string) string
	// Operator is the site operator's account: its listings are the operator's own
	// servers, which a product's fill priority ranks against the owners'.
	Operator string
}

// Engine is the exchange's order book and matcher. It is safe for concurrent use; each
// operation holds one lock for its duration.
type Engine struct {
	mu     sync.Mutex
	cfg    Config
	books  map[string]*book
	list   []*book // books by product ID: a deterministic order for every pass
	orders map[string]*orderState
	keys   map[idemKey]*orderState
	leases map[string]*leaseState
	tx     txn
	picks  []pick // scratch

	seq       uint64 // time priority of orders, asks and leases
	nextOrder uint64
	nextLease uint64
	lastHour  int64 // Unix hour of the last Advance
}

type idemKey struct{ account, key string }

// Result is what one operation did: the order it was about (nil for Advance, Stop,
// SetListing and Reprice), the fills it made, the leases it created or changed
// (renewed, preempted, stopped, ended) and the other orders whose status it changed
// (resting bids that filled, expired orders, resale orders that sold). Everything is a
// copy; the store persists all of it in one transaction.
type Result struct {
	Order  *joule.Order  `json:"order,omitempty"`
	Fills  []joule.Fill  `json:"fills,omitempty"`
	Leases []joule.Lease `json:"leases,omitempty"`
	Orders []joule.Order `json:"orders,omitempty"`
}

// New returns an empty engine.
func New(cfg Config) *Engine {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SpotNoticeSec <= 0 {
		cfg.SpotNoticeSec = 120
	}
	if cfg.HoldAheadHours <= 0 {
		cfg.HoldAheadHours = 1
	}
	if cfg.HorizonHours <= 0 {
		cfg.HorizonHours = 400 * 24
	}
	if cfg.IdempotencyWindow <= 0 {
		cfg.IdempotencyWindow = 24 * time.Hour
	}
	e := &Engine{
		cfg:    cfg,
		books:  map[string]*book{},
		orders: map[string]*orderState{},
		keys:   map[idemKey]*orderState{},
		leases: map[string]*leaseState{},
	}
	e.lastHour = unixHour(cfg.Now())
	return e
}

// AddProduct lists a product so that sellers can list capacity in it. Adding a product
// that exists with the same shape does nothing; another shape is a conflict.
func (e *Engine) AddProduct(p joule.Product) error {
	if err := p.Validate(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if b, ok := e.books[p.ID]; ok {
		if b.p != p {
			return joule.Errorf(joule.ECONFLICT, "product %s exists with another shape", p.ID)
		}
		return nil
	}
	e.addBook(p, unixHour(e.cfg.Now()))
	return nil
}

func (e *Engine) addBook(p joule.Product, base int64) *book {
	b := newBook(p, base, e.cfg.Operator)
	e.books[p.ID] = b
	i, _ := slices.BinarySearchFunc(e.list, p.ID, func(x *book, id string) int { return strings.Compare(x.p.ID, id) })
	e.list = slices.Insert(e.list, i, b)
	return b
}

// Products returns the listed products, by ID.
func (e *Engine) Products() []joule.Product {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]joule.Product, 0, len(e.list))
	for _, b := range e.list {
		out = append(out, b.p)
	}
	return out
}

// Order returns a copy of an order the engine remembers, or ENOTFOUND.
func (e *Engine) Order(id string) (joule.Order, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	o, ok := e.orders[id]
	if !ok {
		return joule.Order{}, joule.Errorf(joule.ENOTFOUND, "order %s not found", id)
	}
	return o.Order, nil
}

// OrderByKey returns a copy of the order an account placed with an idempotency key,
// if the engine remembers it (within its idempotency window).
func (e *Engine) OrderByKey(account, key string) (joule.Order, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	o, ok := e.keys[idemKey{account, key}]
	if !ok {
		return joule.Order{}, false
	}
	return o.Order, true
}

// Lease returns a copy of a lease that holds or held GPUs since the last hour boundary,
// or ENOTFOUND.
func (e *Engine) Lease(id string) (joule.Lease, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	l, ok := e.leases[id]
	if !ok {
		return joule.Lease{}, joule.Errorf(joule.ENOTFOUND, "lease %s not found", id)
	}
	return l.Clone(), nil
}

// Leases returns copies of the leases of a product (every product when empty) that hold
// GPUs at time at, oldest first: the commitments dispatch must power.
func (e *Engine) Leases(product string, at time.Time) []joule.Lease {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []joule.Lease
	h := unixHour(at)
	for _, l := range e.sortedLeases() {
		if product != "" && l.Product != product {
			continue
		}
		if s := l.b.slot(h); s >= l.from() && s < l.to() {
			out = append(out, l.Clone())
		}
	}
	return out
}

// LeasesFrom returns copies of the leases that hold GPUs in the hour slot of at or
// later, oldest first: what the workload engine must reserve.
func (e *Engine) LeasesFrom(at time.Time) []joule.Lease {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []joule.Lease
	h := unixHour(at)
	for _, l := range e.sortedLeases() {
		if l.b.slot(h) < l.to() {
			out = append(out, l.Clone())
		}
	}
	return out
}

func (e *Engine) newID(kind string) string {
	if e.cfg.NewID != nil {
		return e.cfg.NewID(kind)
	}
	if kind == "order" {
		e.nextOrder++
		return "o" + strconv.FormatUint(e.nextOrder, 10)
	}
	e.nextLease++
	return "l" + strconv.FormatUint(e.nextLease, 10)
}

func (e *Engine) nextSeq() uint64 {
	e.seq++
	return e.seq
}

// unixHour is the index of the hour slot that contains t: Unix seconds / 3600.
func unixHour(t time.Time) int64 {
	s := t.Unix()
	if s < 0 {
		return (s - 3599) / 3600
	}
	return s / 3600
}

// hourTime is the start of the hour slot with index h.
func hourTime(h int64) time.Time { return time.Unix(h*3600, 0).UTC() }

// ceilHour is the index of the first hour boundary at or after t.
func ceilHour(t time.Time) int64 {
	h := unixHour(t)
	if t.Unix() > h*3600 || t.Nanosecond() > 0 {
		h++
	}
	return h
}
