package postgres_test

import (
	"testing"
	"time"

	"github.com/joule-site/joule/postgres"
	"github.com/joule-site/joule/storetest"
)

// TestStore runs the conformance groups of the services the package implements so
// far, each test on a database of its own.
func TestStore(t *testing.T) {
	storetest.RunGroups(t, func(t *testing.T, now func() time.Time) storetest.Store {
		db := openDB(t)
		db.Now = now
		return storetest.Store{
			Sites:     postgres.NewSiteService(db),
			Fleets:    postgres.NewFleetService(db),
			Models:    postgres.NewHardwareService(db),
			Manifests: postgres.NewManifestService(db),
			Live:      postgres.NewLiveService(db),
			Leasing:   postgres.NewLeasingStore(db),
			Data:      postgres.NewDataService(db),
			Telemetry: postgres.NewTelemetryService(db),
			Alerts:    postgres.NewAlertService(db),
			Control:   postgres.NewDeviceControlService(db),
		}
	}, storetest.Manifests, storetest.Live, storetest.Leasing, storetest.Data, storetest.Telemetry, storetest.Alerts, storetest.Control)
}

// openDB opens a DB on a fresh database and closes it when the test ends, before the
// database is dropped.
func openDB(t *testing.T) *postgres.DB {
	t.Helper()
	dsn := postgres.NewTestDatabase(t)
	db := postgres.NewDB(dsn)
	if err := db.Open(); err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}
