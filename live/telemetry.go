package live

import (
	"context"
	"log/slog"
	"time"

	"github.com/joule-site/joule"
)

// TelemetryRollupEvery is how often the server rolls the telemetry history up: once a
// five-minute bucket, so that each closed bucket is rolled up within one.
const TelemetryRollupEvery = 5 * time.Minute

// TelemetryRollup rolls the telemetry history up and applies its retention (Keep)
// every Every, by the store's clock. A pass that fails is logged and the next one
// recomputes what it left: rollups are idempotent.
type TelemetryRollup struct {
	Telemetry joule.TelemetryService
	Keep      joule.TelemetryRetention
	Every     time.Duration
	Log       *slog.Logger
}

// Run rolls up every Every until ctx ends; it returns at once when Keep is not a
// retention the store takes.
func (r *TelemetryRollup) Run(ctx context.Context) error {
	if err := r.Keep.Check(); err != nil {
		return err
	}
	t := time.NewTicker(r.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		res, err := r.Telemetry.RollupTelemetry(ctx, r.Keep)
		switch {
		case err != nil && ctx.Err() == nil:
			r.Log.Warn("telemetry rollup", "err", err)
		case err == nil:
			r.Log.Debug("telemetry rollup", "five_minute_rows", res.FiveMinuteRows, "hourly_rows", res.HourlyRows,
				"raw_deleted", res.DeletedRaw, "five_minute_deleted", res.DeletedFiveMinute, "hourly_deleted", res.DeletedHourly, "devices_deleted", res.DeletedDevices)
		}
	}
}
