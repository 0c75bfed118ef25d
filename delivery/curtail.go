package delivery

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/joule-site/joule"
)

// Curtail drains servers for a grid event: no new job starts on them from now, the
// jobs running there go on for notice, and the first pass after that evicts them
// (requeued, or cancelled where they cannot be requeued), leaving the servers drained
// and empty, safe to power down. The engine shows reason on each node; it starts
// "joule: ". Curtailing a server again keeps the earlier eviction time.
func (r *Reconciler) Curtail(ctx context.Context, servers []string, reason string, notice time.Duration) error {
	if !strings.HasPrefix(reason, "joule: ") {
		reason = "joule: " + reason
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.cfg.Now()
	var errs []error
	for _, n := range slices.Sorted(slices.Values(servers)) {
		if err := r.cfg.Engine.Drain(ctx, n, reason); err != nil {
			errs = append(errs, fmt.Errorf("drain %s: %w", n, err))
			continue
		}
		if c, ok := r.curtails[n]; ok && !c.evicted {
			continue
		}
		r.curtails[n] = &curtailment{reason: reason, evictAt: now.Add(notice)}
	}
	if len(errs) > 0 {
		return fmt.Errorf("delivery: curtail: %w", joinErrs(errs))
	}
	return nil
}

// Restore ends a curtailment: the servers take jobs again.
func (r *Reconciler) Restore(ctx context.Context, servers []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for _, n := range servers {
		if err := r.cfg.Engine.Resume(ctx, n); err != nil && joule.ErrorCode(err) != joule.ECONFLICT {
			errs = append(errs, fmt.Errorf("resume %s: %w", n, err))
			continue
		}
		delete(r.curtails, n)
	}
	if len(errs) > 0 {
		return fmt.Errorf("delivery: restore: %w", joinErrs(errs))
	}
	return nil
}

// evictDue evicts the jobs of curtailed servers whose notice is over. r.mu is held.
func (r *Reconciler) evictDue(ctx context.Context, now time.Time) []error {
	var errs []error
	for _, n := range slices.Sorted(maps.Keys(r.curtails)) {
		c := r.curtails[n]
		if c.evicted || now.Before(c.evictAt) {
			continue
		}
		k, err := r.cfg.Engine.Evict(ctx, n)
		if err != nil {
			errs = append(errs, fmt.Errorf("evict %s: %w", n, err))
			continue
		}
		c.evicted = true
		r.cfg.Logger.Info("delivery: curtailed server emptied", "server", n, "reason", c.reason, "jobs", k)
	}
	return errs
}
