package sqlite_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/joule-site/joule/sqlite"
	"github.com/joule-site/joule/storetest"
)

func TestStore(t *testing.T) {
	tests := []struct {
		name string
		dsn  func(t *testing.T) string
	}{
		{"file", func(t *testing.T) string { return filepath.Join(t.TempDir(), "joule.db") }},
		{"memory", func(t *testing.T) string { return sqlite.MemoryDSN }}, // ConcurrentApply fails unless every connection sees one database
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T, now func() time.Time) storetest.Store {
				db := openDB(t, tt.dsn(t))
				db.Now = now
				return storetest.Store{
					Sites:     sqlite.NewSiteService(db),
					Fleets:    sqlite.NewFleetService(db),
					Models:    sqlite.NewHardwareService(db),
					Manifests: sqlite.NewManifestService(db),
					Live:      sqlite.NewLiveService(db),
					Leasing:   sqlite.NewLeasingStore(db),
					Data:      sqlite.NewDataService(db),
					Telemetry: sqlite.NewTelemetryService(db),
					Alerts:    sqlite.NewAlertService(db),
					Control:   sqlite.NewDeviceControlService(db),
				}
			})
		})
	}
}

// openDB opens a DB on dsn and closes it when the test ends.
func openDB(t *testing.T, dsn string) *sqlite.DB {
	t.Helper()
	db := sqlite.NewDB(dsn)
	if err := db.Open(); err != nil {
		t.Fatalf("Open(%q): %v", dsn, err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}
