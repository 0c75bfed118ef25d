// Package leasing runs the GPU exchange as a business: it joins the matching engine
// (exchange), the money (ledger) and the store behind one Service that every API call
// goes through, scoped to the account that makes it.
//
// Every operation is atomic across all three. The service holds one lock per
// operation: it changes the engine and the ledger in memory, collects what changed
// (orders, leases, fills and ledger transactions) and saves it in one store
// transaction, together with the changes of the operations that came while the save
// before ran (group commit); an operation answers once its change is saved. If
// anything fails after memory changed, the service reloads the engine and the ledger
// from the store, failing the operations whose changes were not saved, so memory never
// runs ahead of what is saved by more than the saves in flight, and a failed fill
// leaves no partial lease and no money moved.
//
// Money: a reserved order holds its most possible cost (GPUs × hours × limit) from the
// tenant's credit before it is matched; each fill captures the block's cost from the
// hold at once (blocks are billed by the hour, so the amount is exact), and what is
// left returns to credit when the order is done. On-demand and spot orders hold their
// first hours; Meter bills their leases by the second (Lease.Cost since the start,
// less what was billed before), from the hold first and then from credit, and stops a
// lease whose tenant runs out. Every sale pays the platform fee (basis points) and the
// rest to the seller: the GPU owner's or the operator's revenue, or the credit of a
// tenant that resold hours of its block.
//
// Time is injected (Config.Now). Call Tick every minute: it expires orders, renews
// and ends leases, meters usage and refreshes listings from the sites' GPU fleets.
package leasing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/exchange"
	"github.com/joule-site/joule/ledger"
)

// Config sets up a Service. Zero fields take the documented defaults.
type Config struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Operator is the ID of the site operator's account, created when missing;
	// "operator" by default. It sells the servers of fleets without an owner.
	Operator string
	// FeeBPS is the platform's fee on every sale, in basis points (0 to 10,000).
	FeeBPS int
	// HostingPerKWMonth is what owners pay the site per kW of their servers' nameplate
	// power each month; 0 charges nothing.
	HostingPerKWMonth joule.MicroUSD
	// EnergyPrice, when set, passes the site's energy through to owners: the price in
	// USD per MWh at a site in the hour that starts at t, and whether it is known.
	EnergyPrice func(site *joule.Site, t time.Time) (float64, bool)
	// DefaultAsk is the ask of a listing created from a fleet; $2.00 per GPU-hour by default.
	DefaultAsk joule.MicroUSD
	// Pricing, when set, is the matcher's opportunity-cost hook (exchange.Config.Pricing):
	// what one GPU-hour of a product would earn otherwise in the hour slot starting at
	// hour, for listings that ask it.
	Pricing func(product string, hour time.Time) joule.MicroUSD
	// Sites, Fleets and Models are where listings come from: one product per GPU server
	// model and site. Nil Sites: listings are not synced.
	Sites  joule.SiteService
	Fleets joule.FleetService
	Models joule.ModelLister
	// IdempotencyWindow is how long the matcher remembers finished orders' keys; 24 h.
	IdempotencyWindow time.Duration
	// HoldAheadHours is how many hours after the current one an on-demand or spot lease
	// holds (and its order holds credit for); 1 by default.
	HoldAheadHours int
	// SpotNoticeSec is the notice a spot lease gets before preemption; 120 by default.
	SpotNoticeSec int64
	// MeterEvery is how often Tick bills a running on-demand or spot lease; an hour by
	// default. Billing is to the second whenever it runs (Lease.Cost since the start,
	// less what was billed); this only sets how many ledger entries a lease makes. A
	// lease that ends is billed at the next tick.
	MeterEvery time.Duration
	// NewToken returns a fresh API token; 32 random bytes by default.
	NewToken func() (string, error)
	Logger   *slog.Logger
}

// Service is the GPU exchange. It is safe for concurrent use.
type Service struct {
	mu     sync.RWMutex
	cfg    Config
	store  joule.LeasingStore
	engine *exchange.Engine
	ledger *ledger.Ledger

	version   int64  // store version memory was loaded or last saved at
	lastOrder uint64 // highest order number issued
	lastLease uint64
	broken    bool                      // memory may be ahead of the store: reload first
	pending   []joule.LedgerTransaction // journal of the operation in progress
	// queue is the changes of operations that ran, waiting for the save running
	// (saving) to end; saved is signalled on mu when a save ends (see save).
	queue   []*queuedSave
	saving  bool
	saved   *sync.Cond
	metered map[string]*meterState // on-demand and spot leases still to bill, by lease
	// capTerms are the cap terms of the products whose leases may be capped, by product.
	capTerms map[string]joule.CapTerms
	// energyBilled is the last hour whose energy was passed through to owners.
	energyBilled time.Time

	rolesMu sync.Mutex
	roles   map[string]joule.AccountRole // cache: roles never change
}

// Open restores the exchange and its ledger from the store, makes sure the operator's
// account exists, syncs listings from the fleets, and applies the clock once (Tick):
// Load, then Lead.
func Open(ctx context.Context, store joule.LeasingStore, cfg Config) (*Service, error) {
	s, err := Load(ctx, store, cfg)
	if err != nil {
		return nil, err
	}
	if err := s.Lead(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Load restores the exchange and its ledger from the store and writes nothing: a
// follower among replicas loads one to answer for accounts and tokens, which it reads
// from the store, and calls Lead when it becomes the leader.
func Load(ctx context.Context, store joule.LeasingStore, cfg Config) (*Service, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Operator == "" {
		cfg.Operator = "operator"
	}
	if cfg.DefaultAsk <= 0 {
		cfg.DefaultAsk = 2 * joule.MicroUSDPerUSD
	}
	if cfg.IdempotencyWindow <= 0 {
		cfg.IdempotencyWindow = 24 * time.Hour
	}
	if cfg.HoldAheadHours <= 0 {
		cfg.HoldAheadHours = 1
	}
	if cfg.MeterEvery <= 0 {
		cfg.MeterEvery = time.Hour
	}
	if cfg.NewToken == nil {
		cfg.NewToken = randomToken
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.FeeBPS < 0 || cfg.FeeBPS > 10_000 {
		return nil, joule.Errorf(joule.EINVALID, "leasing: the platform fee must be 0 to 10,000 basis points, not %d", cfg.FeeBPS)
	}
	if !joule.ValidSlug(cfg.Operator) {
		return nil, joule.Errorf(joule.EINVALID, "leasing: operator id %q is not a slug", cfg.Operator)
	}
	s := &Service{cfg: cfg, store: store, roles: map[string]joule.AccountRole{}}
	s.saved = sync.NewCond(&s.mu)
	s.mu.Lock()
	err := s.load(ctx)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Lead makes this service the one that writes the exchange: it reloads the engine and
// the ledger from the store as they are now (a leader before it may have written
// since Load), makes sure the operator's account exists, syncs listings and applies
// the clock once (Tick).
func (s *Service) Lead(ctx context.Context) error {
	s.mu.Lock()
	s.energyBilled = time.Time{} // the leader before may have billed hours since
	err := s.load(ctx)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if err := s.ensureOperator(ctx); err != nil {
		return err
	}
	return s.Tick(ctx)
}

// load rebuilds the engine, the ledger and the metering state from the store.
func (s *Service) load(ctx context.Context) error {
	now := s.cfg.Now()
	hour := now.Truncate(time.Hour)
	q := joule.LeasingLoad{LeasesSince: hour, OrdersSince: now.Add(-s.cfg.IdempotencyWindow)}
	st, err := s.store.LoadLeasing(ctx, q)
	if err != nil {
		return fmt.Errorf("leasing: load: %w", err)
	}
	txs := st.Journal
	// Orders that still hold credit need their leases: an on-demand lease that ended
	// before this hour may not be billed to its end yet.
	held := heldOrders(txs)
	if missing := missingOrders(held, st.Orders); len(missing) > 0 {
		q.Orders = held
		if st, err = s.store.LoadLeasing(ctx, q); err != nil {
			return fmt.Errorf("leasing: load: %w", err)
		}
		txs = st.Journal
	}
	led, err := ledger.Replay(ledger.Config{Now: s.cfg.Now, Journal: journal{s}}, txs)
	if err != nil {
		return fmt.Errorf("leasing: %w", err)
	}
	s.lastOrder, s.lastLease = st.LastOrderSeq, st.LastLeaseSeq
	for _, o := range st.Orders {
		s.lastOrder = max(s.lastOrder, idNumber(o.ID, "o"))
	}
	var current []joule.Lease
	for _, l := range st.Leases {
		s.lastLease = max(s.lastLease, idNumber(l.ID, "l"))
		if l.OpenEnded || l.End.After(hour) {
			current = append(current, l)
		}
	}
	for _, tx := range txs {
		s.lastOrder = max(s.lastOrder, idNumber(tx.Order, "o"))
	}
	eng, err := exchange.Restore(s.engineConfig(), exchange.State{
		Products: st.Products, Listings: st.Listings, Orders: st.Orders, Leases: current,
		LastOrderID: s.lastOrder, LastLeaseID: s.lastLease, FillPriorities: st.FillPriorities,
	})
	if err != nil {
		return fmt.Errorf("leasing: %w", err)
	}
	s.engine, s.ledger, s.version, s.broken = eng, led, st.Version, false
	s.metered = meteredLeases(st, txs)
	s.capTerms = map[string]joule.CapTerms{}
	for _, ct := range st.CapTerms {
		s.capTerms[ct.Product] = ct
	}
	return nil
}

func (s *Service) engineConfig() exchange.Config {
	return exchange.Config{
		Now: s.cfg.Now, Pricing: s.cfg.Pricing, HoldAheadHours: s.cfg.HoldAheadHours, SpotNoticeSec: s.cfg.SpotNoticeSec,
		IdempotencyWindow: s.cfg.IdempotencyWindow, NewID: s.newID, Operator: s.cfg.Operator,
	}
}

// newID issues order and lease IDs ("o<n>", "l<n>") from counters the store keeps, so
// that the service knows an order's ID before the engine takes it (its hold names it).
// The engine calls it under the service's lock.
func (s *Service) newID(kind string) string {
	if kind == "order" {
		s.lastOrder++
		return "o" + strconv.FormatUint(s.lastOrder, 10)
	}
	s.lastLease++
	return "l" + strconv.FormatUint(s.lastLease, 10)
}

// nextOrderID is the ID the next order will get.
func (s *Service) nextOrderID() string { return "o" + strconv.FormatUint(s.lastOrder+1, 10) }

// idNumber is n for an ID of the form prefix+n, else 0.
func idNumber(id, prefix string) uint64 {
	if !strings.HasPrefix(id, prefix) {
		return 0
	}
	n, err := strconv.ParseUint(id[len(prefix):], 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// journal hands the ledger's transactions to the operation in progress; they are
// saved with the rest of its change. The ledger calls it under the service's lock.
type journal struct{ s *Service }

func (j journal) Append(tx joule.LedgerTransaction) error {
	tx.At = tx.At.UTC() // stored in UTC, as the store reads it back
	j.s.pending = append(j.s.pending, tx)
	return nil
}

// errAbort marks a failure after memory changed that must not be saved: the service
// reloads from the store instead.
type abortError struct{ err error }

func (e *abortError) Error() string { return e.err.Error() }
func (e *abortError) Unwrap() error { return e.err }

func abort(err error) error { return &abortError{err} }

// op runs fn as one atomic operation under the write lock. What fn changed in the
// engine and the ledger is saved in one store transaction, also when fn returns an
// ordinary error (a hold and its release when matching failed). When fn aborts or the
// save fails, the service reloads from the store; when the save failed because another
// process wrote to the store first, fn runs once more on the reloaded state.
//
// Saves are grouped (group commit): an operation that finds another's save running
// queues its change and lets the lock go, so that the next operations run meanwhile;
// when the running save ends, the first of the queue saves every change queued, one
// after another, in one store transaction. An operation returns only once its change
// is saved. Memory runs ahead of the store by the changes queued and being saved, and
// no further: if a save fails, the operations in it and every one queued after it
// (they ran on memory that held what failed) fail with it, and memory is reloaded.
func (s *Service) op(ctx context.Context, fn func(ch *change) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx = context.WithoutCancel(ctx) // a client that goes away must not cut an operation in half
	for attempt := 0; ; attempt++ {
		if s.broken {
			s.waitSaves() // memory is not rebuilt under a save that may yet succeed
			if s.broken {
				if err := s.load(ctx); err != nil {
					return err
				}
			}
		}
		ch := newChange(s.cfg.Now())
		s.pending = s.pending[:0]
		err := fn(ch)
		if _, ok := errors.AsType[*abortError](err); ok {
			s.cfg.Logger.Error("leasing: operation aborted; reloading from the store", "err", err)
			s.broken = true // what runs before the reload waits for it
			s.waitSaves()
			s.reload(ctx)
			return err
		}
		ch.Journal = append([]joule.LedgerTransaction(nil), s.pending...)
		s.pending = s.pending[:0]
		if ch.empty() {
			return err
		}
		ch.LastOrderSeq, ch.LastLeaseSeq = s.lastOrder, s.lastLease
		serr := s.save(ctx, &ch.LeasingChange)
		if serr == nil {
			return err
		}
		if joule.ErrorCode(serr) == joule.ECONFLICT && attempt == 0 && !s.broken && s.version != ch.BaseVersion {
			continue // another process wrote first: try again on its state
		}
		return fmt.Errorf("leasing: save: %w", serr)
	}
}

// queuedSave is a change waiting in the save queue, and what became of it.
type queuedSave struct {
	ch    *joule.LeasingChange
	lead  bool // this one's operation saves the queue
	saved bool // the save it was in ended, with err
	err   error
}

// save queues ch and waits until it is saved, saving the queue itself when its turn
// comes to lead. The caller holds s.mu; save lets it go while it waits or saves.
func (s *Service) save(ctx context.Context, ch *joule.LeasingChange) error {
	q := &queuedSave{ch: ch}
	s.queue = append(s.queue, q)
	if !s.saving {
		s.saving, q.lead = true, true
	}
	for !q.lead && !q.saved {
		s.saved.Wait()
	}
	if q.saved {
		return q.err
	}
	batch := s.queue
	s.queue = nil
	chs := make([]*joule.LeasingChange, len(batch))
	for i, b := range batch {
		b.ch.BaseVersion = s.version + int64(i)
		chs[i] = b.ch
	}
	s.mu.Unlock()
	v, err := s.store.SaveLeasing(ctx, chs...)
	s.mu.Lock()
	if err == nil {
		s.version = v
	} else {
		s.cfg.Logger.Warn("leasing: save failed; reloading from the store", "err", err, "changes", len(batch))
		batch = append(batch, s.queue...) // they ran on what failed
		s.queue = nil
		s.reload(ctx)
	}
	for _, b := range batch {
		b.saved, b.err = true, err
	}
	s.saving = false
	if len(s.queue) > 0 {
		s.saving, s.queue[0].lead = true, true
	}
	s.saved.Broadcast()
	return err
}

// waitSaves waits until no save runs or waits. The caller holds s.mu.
func (s *Service) waitSaves() {
	for s.saving {
		s.saved.Wait()
	}
}

// reload rebuilds memory from the store after a failed operation. If that fails too,
// the service stays broken and every operation tries again first.
func (s *Service) reload(ctx context.Context) {
	s.broken = true
	s.energyBilled = time.Time{} // bill the last hour again: its entries may not have been saved
	if err := s.load(ctx); err != nil {
		s.cfg.Logger.Error("leasing: reload", "err", err)
	}
}

// Tick applies the clock: it reloads if another process changed the store, refreshes
// listings from the fleets, expires orders, renews and ends leases (exchange Advance)
// and meters usage. Call it every minute.
func (s *Service) Tick(ctx context.Context) error {
	// The version is compared under the lock, and only when none of our saves runs or
	// waits (the store may be ahead of s.version by one in flight); while one does, it
	// finds another process's writes itself, refused as a conflict. Waiting for a moment
	// without saves instead could wait as long as orders keep coming.
	s.mu.Lock()
	var err error
	if !s.saving {
		var v int64
		v, err = s.store.LeasingVersion(ctx)
		if err == nil && v != s.version {
			s.reload(ctx)
		}
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if err := s.SyncListings(ctx); err != nil {
		return err
	}
	return s.op(ctx, func(ch *change) error {
		if err := s.billEnergy(ctx, ch.At); err != nil {
			return err
		}
		if err := s.settle(ctx, ch, s.engine.Advance()); err != nil {
			return err
		}
		if err := s.meter(ctx, ch, ch.At, "", false); err != nil {
			return err
		}
		return s.billHosting(ctx, ch.At)
	})
}

// Run ticks every interval until ctx is done; a failed tick is logged, not fatal.
func (s *Service) Run(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := s.Tick(ctx); err != nil {
				s.cfg.Logger.Warn("leasing: tick", "err", err)
			}
		}
	}
}

// Check verifies the invariants: the matcher's (no GPU leased twice for an hour, every
// lease whole) and the ledger's (every transaction balanced, the trial balance zero, no
// credit or hold negative).
func (s *Service) Check() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.engine.Check(); err != nil {
		return err
	}
	if err := s.ledger.Check(); err != nil {
		return err
	}
	if tb := s.ledger.TrialBalance(); tb != 0 {
		return fmt.Errorf("leasing: trial balance is %d µUSD, not zero", tb)
	}
	return nil
}

// State returns the matcher's state and every ledger balance, for comparisons (a
// service reopened from the store must have the same).
func (s *Service) State() (exchange.State, map[joule.LedgerAccount]joule.MicroUSD) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.engine.State(), s.ledger.Balances()
}

// Balance returns a ledger account's balance.
func (s *Service) Balance(a joule.LedgerAccount) joule.MicroUSD {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.ledger.Balance(a)
}
