package live

import (
	"context"
	"log/slog"
	"time"

	"github.com/joule-site/joule"
)

// Retention deletes plans and audit events older than Keep, every Every, so that a
// long run's store stays bounded. Each site's newest plan is kept whatever its age.
type Retention struct {
	Live  joule.LiveService
	Keep  time.Duration
	Every time.Duration
	Now   func() time.Time
	Log   *slog.Logger
}

// Run prunes until ctx ends.
func (r *Retention) Run(ctx context.Context) error {
	t := time.NewTicker(r.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		plans, audit, err := r.Live.Prune(ctx, r.Now().Add(-r.Keep))
		switch {
		case err != nil && ctx.Err() == nil:
			r.Log.Warn("retention", "err", err)
		case plans+audit > 0:
			r.Log.Debug("retention", "plans_deleted", plans, "audit_deleted", audit)
		}
	}
}
