package main

import (
	"strings"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/postgres"
	"github.com/joule-site/joule/sqlite"
)

// store is what a command opens with --db: the embedded SQLite file, or a PostgreSQL
// database for a postgres:// URL (or key=value DSN with host=); both give the same
// services and pass the same conformance suite (storetest).
type store struct {
	dsn       string // as the user gave it
	close     func() error
	setNow    func(func() time.Time) // the clock the store stamps rows with
	sites     joule.SiteService
	fleets    joule.FleetService
	manifests joule.ManifestService
	hardware  joule.HardwareService
	live      joule.LiveService
	leasing   joule.LeasingStore
	data      joule.DataService
	telemetry joule.TelemetryService
	alerts    joule.AlertService
	control   joule.DeviceControlService
	// pg is the PostgreSQL database, for the replicas' election; nil on SQLite.
	pg *postgres.DB
}

// isPostgres reports whether dsn names a PostgreSQL database rather than a file.
func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") || strings.HasPrefix(dsn, "host=")
}

// openStore opens and migrates the store dsn names.
func openStore(dsn string) (*store, error) { return openStoreWith(dsn, 0) }

// openStoreWith is openStore for a replica of serve: on PostgreSQL a session left idle
// inside a transaction longer than idleTx (the leader's lease) is ended by the server.
func openStoreWith(dsn string, idleTx time.Duration) (*store, error) {
	if isPostgres(dsn) {
		db := postgres.NewDB(dsn)
		db.IdleTxTimeout = idleTx
		if err := db.Open(); err != nil {
			return nil, joule.Errorf(joule.EINVALID, "open store %s: %v", redact(dsn), err)
		}
		return &store{dsn: dsn, close: db.Close, setNow: func(now func() time.Time) { db.Now = now },
			sites: postgres.NewSiteService(db), fleets: postgres.NewFleetService(db), manifests: postgres.NewManifestService(db),
			hardware: postgres.NewHardwareService(db), live: postgres.NewLiveService(db), leasing: postgres.NewLeasingStore(db), data: postgres.NewDataService(db),
			telemetry: postgres.NewTelemetryService(db), alerts: postgres.NewAlertService(db), control: postgres.NewDeviceControlService(db), pg: db}, nil
	}
	db := sqlite.NewDB(dsn)
	if err := db.Open(); err != nil {
		return nil, joule.Errorf(joule.EINVALID, "open store %s: %v", dsn, err)
	}
	return &store{dsn: dsn, close: db.Close, setNow: func(now func() time.Time) { db.Now = now },
		sites: sqlite.NewSiteService(db), fleets: sqlite.NewFleetService(db), manifests: sqlite.NewManifestService(db),
		hardware: sqlite.NewHardwareService(db), live: sqlite.NewLiveService(db), leasing: sqlite.NewLeasingStore(db), data: sqlite.NewDataService(db),
		telemetry: sqlite.NewTelemetryService(db), alerts: sqlite.NewAlertService(db), control: sqlite.NewDeviceControlService(db)}, nil
}
