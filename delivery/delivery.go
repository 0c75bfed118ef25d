// Package delivery decides what the workload engine must hold for the leases to deliver
// compute, and makes the engine hold it: a tenant (an account its users submit under)
// and, for every run of hours a lease holds the same servers, a reservation of exactly
// those servers for exactly those hours. Preemptible leases get the engine's
// preemptable class with their notice as grace; a curtailment drains its servers and
// evicts what still runs on them once its notice is over.
//
// # Shape
//
// The stored leases are the intent. A store write commits a lease (a fill, a renewal,
// a resale, a preemption, a stop) and nothing else: no engine call ever runs inside the
// store's write lock. The Reconciler, run by the leader, reads the leases, reads what
// the engine holds, and applies the difference: create, update or delete reservations,
// idempotently, so a pass that fails half-way (the engine did not answer) is finished
// by the next. Reservations Joule manages are those named "lease-<ID>" and
// "lease-<ID>-<n>"; the engine's others are left alone.
package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/joule-site/joule"
)

// Engine is what the reconciler needs of a workload engine: joule.Engine, and the list
// of its reservations.
type Engine interface {
	joule.Engine
	Reservations(ctx context.Context) ([]joule.EngineReservation, error)
}

// Leases is where the reconciler reads the leases: those that hold servers at or
// after a time (the exchange's memory of the stored leases).
type Leases interface {
	LeasesFrom(at time.Time) []joule.Lease
}

// Config sets up a Reconciler.
type Config struct {
	Engine Engine
	Leases Leases
	// Now is Joule's clock; time.Now when nil.
	Now func() time.Time
	// EngineClockOffset is added to Joule's times to get the engine's: zero where both
	// run on the same clock. Tests that drive an injected clock against a real engine
	// set it so that a lease's hours fall in the engine's near future.
	EngineClockOffset time.Duration
	// Users returns the login names a tenant's jobs run under (the tenant's config);
	// nil, or an empty answer, means the tenant's account ID, an assumption that holds
	// where tenants log in under their Joule account name.
	Users func(tenant string) []string
	// Partition and LoginHost are what a tenant needs besides the account and the
	// reservation to submit (shown by Access); either may be empty.
	Partition string
	LoginHost string
	Logger    *slog.Logger
}

// Reconciler makes the engine hold what the leases say. It is safe for concurrent use.
type Reconciler struct {
	cfg Config

	mu       sync.Mutex
	tenants  map[string]joule.EngineTenant // ensured since start, by account
	curtails map[string]*curtailment       // by node
}

// curtailment is a node being drained for a grid event.
type curtailment struct {
	reason  string
	evictAt time.Time // Joule's clock
	evicted bool
}

// New returns a Reconciler.
func New(cfg Config) *Reconciler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Reconciler{cfg: cfg, tenants: map[string]joule.EngineTenant{}, curtails: map[string]*curtailment{}}
}

// Account is the engine account of a lease's tenant for that lease.
func Account(lease string) string { return "lease-" + strings.ToLower(lease) }

// ReservationName is the name of a lease's n-th reservation (n from 0): "lease-<ID>",
// then "lease-<ID>-2", "lease-<ID>-3", ... for later runs of hours on other servers.
func ReservationName(lease string, n int) string {
	if n == 0 {
		return Account(lease)
	}
	return Account(lease) + "-" + strconv.Itoa(n+1)
}

// PastStart is how far in the past a reservation may start: Slurm takes a start up to
// ten minutes back (MAX_RESV_DELAY in its reservation code), and keeps it as given.
const PastStart = 5 * time.Minute

// managed reports whether a reservation is one Joule manages (ReservationName's).
func managed(name string) bool { return strings.HasPrefix(name, "lease-") }

// Want is the reservations the leases call for from now on, by name, in the engine's
// clock: one per Binding that has not ended, cut to the lease's end when it stopped
// or was preempted (the hour slot stays the lease's, but its tenant has let it go), and
// starting at the lease's own start, or now when that is more than PastStart ago (an
// engine reserves the recent past, not hours of it). So a lease filled now is reserved
// from its fill, to the second, and billing and the reservation cover the same time.
func (r *Reconciler) Want(now time.Time) ([]joule.EngineReservation, []joule.EngineTenant) {
	var res []joule.EngineReservation
	var tenants []joule.EngineTenant
	for _, l := range r.cfg.Leases.LeasesFrom(now) {
		t := r.tenant(l)
		added := false
		for i, b := range l.Bindings() {
			end := b.End
			if !l.OpenEnded {
				end = joule.Earlier(end, l.End)
			}
			if !end.After(now) {
				continue
			}
			start := joule.Later(b.Start, l.Start)
			if start.Before(now.Add(-PastStart)) {
				start = now
			}
			res = append(res, joule.EngineReservation{
				Name: ReservationName(l.ID, i), Account: t.Account, Nodes: slices.Clone(b.Servers),
				Start: r.engineTime(start, true), End: r.engineTime(end, false),
			})
			added = true
		}
		if added {
			tenants = append(tenants, t)
		}
	}
	return res, tenants
}

// tenant is the engine tenant of a lease.
func (r *Reconciler) tenant(l joule.Lease) joule.EngineTenant {
	users := []string{l.Tenant}
	if r.cfg.Users != nil {
		if u := r.cfg.Users(l.Tenant); len(u) > 0 {
			users = u
		}
	}
	t := joule.EngineTenant{Account: Account(l.ID), Users: users}
	if l.Class == joule.LeaseInterruptible {
		t.Preemptible, t.NoticeSec = true, int(max(l.NoticeSec, 1))
	}
	return t
}

// engineTime is a time of Joule's in the engine's clock, in whole seconds: a start
// rounds up (never before the lease holds the servers), an end down.
func (r *Reconciler) engineTime(t time.Time, up bool) time.Time {
	e := t.Add(r.cfg.EngineClockOffset).UTC()
	s := e.Truncate(time.Second)
	if up && s.Before(e) {
		s = s.Add(time.Second)
	}
	return s
}

// Reconcile makes one pass: it ensures the tenants of leases that hold servers from
// now on, creates, updates or deletes the managed reservations so that they match
// Want, and evicts the jobs of curtailed nodes whose notice is over. It goes on past
// a failed engine call (the next pass retries it) and returns the errors it met.
func (r *Reconciler) Reconcile(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.cfg.Now()
	want, tenants := r.Want(now)
	var errs []error
	for _, t := range tenants {
		if have, ok := r.tenants[t.Account]; ok && slices.Equal(have.Users, t.Users) && have.Preemptible == t.Preemptible && have.NoticeSec == t.NoticeSec {
			continue
		}
		if err := r.cfg.Engine.EnsureTenant(ctx, t); err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: %w", t.Account, err))
			continue
		}
		r.tenants[t.Account] = t
	}
	have, err := r.cfg.Engine.Reservations(ctx)
	if err != nil {
		return fmt.Errorf("delivery: read reservations: %w", err)
	}
	byName := map[string]joule.EngineReservation{}
	for _, h := range have {
		byName[h.Name] = h
	}
	wanted := map[string]bool{}
	// Shrink and delete first, so that a node a reservation leaves is free for the one
	// that takes it (resale, preemption).
	for _, w := range want {
		wanted[w.Name] = true
	}
	for _, h := range have {
		if !managed(h.Name) || wanted[h.Name] {
			continue
		}
		if !h.End.After(r.engineTime(now, false)) {
			continue // over: the engine lets it lapse
		}
		if err := r.cfg.Engine.DeleteReservation(ctx, h.Name); err != nil {
			if joule.ErrorCode(err) != joule.ECONFLICT {
				errs = append(errs, fmt.Errorf("delete reservation %s: %w", h.Name, err))
				continue
			}
			// jobs run in it: end it now instead; they are the tenant's to finish
			h.End = r.engineTime(now, true).Add(time.Second)
			if err := r.cfg.Engine.UpdateReservation(ctx, h); err != nil {
				errs = append(errs, fmt.Errorf("end reservation %s: %w", h.Name, err))
			}
		}
	}
	engineNow := r.engineTime(now, true)
	for _, w := range want {
		// An engine keeps a reservation's start: one that must start at another time
		// still ahead (its lease's bindings were renumbered by a resale) is made anew.
		if h, ok := byName[w.Name]; ok && !h.Start.Equal(w.Start) && h.Start.After(engineNow) && w.Start.After(engineNow) {
			if err := r.cfg.Engine.DeleteReservation(ctx, h.Name); err != nil {
				errs = append(errs, fmt.Errorf("delete reservation %s to move its start: %w", h.Name, err))
				continue
			}
			delete(byName, w.Name)
		}
	}
	for _, pass := range []bool{true, false} { // shrinking updates first, then the rest
		for _, w := range want {
			h, ok := byName[w.Name]
			if !ok || sameReservation(h, w) {
				continue
			}
			if shrinks := !w.End.After(h.End) && subset(w.Nodes, h.Nodes); shrinks != pass {
				continue
			}
			w.Start = h.Start // an engine keeps a reservation's start
			if err := r.cfg.Engine.UpdateReservation(ctx, w); err != nil {
				errs = append(errs, fmt.Errorf("update reservation %s: %w", w.Name, err))
			}
		}
	}
	for _, w := range want {
		if _, ok := byName[w.Name]; ok {
			continue
		}
		if _, ok := r.tenants[w.Account]; !ok {
			continue // its tenant failed above; next pass
		}
		if err := r.cfg.Engine.CreateReservation(ctx, w); err != nil {
			errs = append(errs, fmt.Errorf("create reservation %s: %w", w.Name, err))
		}
	}
	errs = append(errs, r.evictDue(ctx, now)...)
	if len(errs) > 0 {
		return fmt.Errorf("delivery: %d of the engine's calls failed; the next pass retries: %w", len(errs), joinErrs(errs))
	}
	return nil
}

func sameReservation(a, b joule.EngineReservation) bool {
	return a.Account == b.Account && slices.Equal(a.Nodes, b.Nodes) && a.End.Equal(b.End)
}

// subset reports whether every element of a is in b.
func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// Run reconciles every interval until ctx ends, logging failed passes.
func (r *Reconciler) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := r.Reconcile(ctx); err != nil && ctx.Err() == nil {
			r.cfg.Logger.Warn("delivery: reconcile", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func joinErrs(errs []error) error {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return fmt.Errorf("%s", strings.Join(msgs, "; "))
}
