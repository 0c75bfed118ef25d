package live_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/live"
	"github.com/joule-site/joule/sqlite"
)

// The rollup actor rolls the samples of closed buckets up on its timer, and refuses
// a retention that would delete samples before they are rolled up.
func TestTelemetryRollupRuns(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := sqlite.NewDB(filepath.Join(t.TempDir(), "joule.db"))
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	site := &joule.Manifest{Sites: []*joule.Site{{Name: "s", PowerCapW: 1_000_000, PUE: 1.1, Energy: joule.EnergyPriceModel{Kind: joule.EnergyFixed, FixedUSDPerMWh: 40}}}}
	if _, err := sqlite.NewManifestService(db).Apply(ctx, site); err != nil {
		t.Fatal(err)
	}
	tel := sqlite.NewTelemetryService(db)
	start := time.Now().Truncate(5 * time.Minute).Add(-20 * time.Minute)
	var batch []joule.TelemetrySample
	for at := start; at.Before(start.Add(10 * time.Minute)); at = at.Add(15 * time.Second) {
		batch = append(batch, joule.TelemetrySample{Address: "10.0.0.1:4028", At: at, State: joule.StateRunning, PowerW: 3500})
	}
	if err := tel.AppendTelemetry(ctx, "s", batch); err != nil {
		t.Fatal(err)
	}
	r := &live.TelemetryRollup{Telemetry: tel, Keep: joule.DefaultTelemetryRetention, Every: 5 * time.Millisecond, Log: slog.New(slog.DiscardHandler)}
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	q := joule.HistoryQuery{Site: "s", Address: "10.0.0.1:4028", From: start, To: start.Add(time.Hour), Resolution: joule.Resolution5Min}
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		h, err := tel.DeviceHistory(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(h.Points) == 2 {
			if h.Points[0].Samples != 20 || h.Points[0].PowerW != 3500 {
				t.Errorf("five-minute point %+v, want 20 samples at 3500 W", h.Points[0])
			}
			break
		}
		if time.Now().After(end) {
			t.Fatalf("no rollup after 30 s: %+v", h.Points)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	bad := &live.TelemetryRollup{Telemetry: tel, Keep: joule.TelemetryRetention{Raw: time.Minute}, Every: time.Millisecond}
	if err := bad.Run(context.Background()); joule.ErrorCode(err) != joule.EINVALID {
		t.Errorf("Run with raw kept a minute: %v, want invalid", err)
	}
}
