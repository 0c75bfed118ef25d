package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/sqlite"
	"github.com/joule-site/joule/storetest"
)

// benchStore opens a telemetry history on a file in dir, with BenchSite declared, and
// a plain database/sql handle on a file of its own beside it (bare), opened with the
// store's journal settings, for the floors the benchmarks compare with.
func benchStore(b *testing.B) (*sqlite.DB, *sqlite.TelemetryService, *sql.DB) {
	b.Helper()
	dir := b.TempDir()
	db := sqlite.NewDB(filepath.Join(dir, "joule.db"))
	if err := db.Open(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	storetest.DeclareBenchSite(b, sqlite.NewManifestService(db))
	bare, err := sql.Open("sqlite", filepath.Join(dir, "bare.db")+"?_pragma=journal_mode(wal)&_pragma=synchronous(normal)&_txlock=immediate")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { bare.Close() })
	return db, sqlite.NewTelemetryService(db), bare
}

// bareInsert is the floor of ingest: the samples' integer figures inserted into a
// plain table with no key, 500 rows a statement, in one transaction.
func bareInsert(db *sql.DB) func(context.Context, []joule.TelemetrySample) error {
	return func(ctx context.Context, samples []joule.TelemetrySample) error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		for rest := samples; len(rest) > 0; {
			n := min(len(rest), 500)
			args := make([]any, 0, 11*n)
			for i, s := range rest[:n] {
				args = append(args, i, s.At.UnixMilli(), joule.StateCode(s.State), int64(s.PowerW), joule.GHs(s.HashrateTHs), joule.GHs(s.ExpectedHashrateTHs),
					joule.DeciC(s.TempC), joule.DeciC(s.ChipTempC), s.FanMinRPM, s.FanMaxRPM, s.HardwareErrors)
			}
			q := "INSERT INTO bare VALUES " + strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?), ", n), ", ")
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return err
			}
			rest = rest[n:]
		}
		return tx.Commit()
	}
}

// BenchmarkTelemetryIngest: samples/s into the history beside the bare bulk insert of
// the same rows, in batches of an agent's step (a twelfth of 60,000 miners).
func BenchmarkTelemetryIngest(b *testing.B) {
	_, svc, bare := benchStore(b)
	if _, err := bare.Exec(`CREATE TABLE bare (device INTEGER, at INTEGER, state INTEGER, power_w INTEGER, ghs INTEGER, expected_ghs INTEGER,
		deci_c INTEGER, chip_deci_c INTEGER, fan_min INTEGER, fan_max INTEGER, hw_errors INTEGER)`); err != nil {
		b.Fatal(err)
	}
	storetest.BenchIngest(b, svc, 60_000, 5_000, bareInsert(bare))
}

// BenchmarkTelemetryDeviceTable: the device table of 100,000 devices, paged, sorted
// and searched, at p50 and p99, beside a bare page of the same table.
func BenchmarkTelemetryDeviceTable(b *testing.B) {
	db, svc, _ := benchStore(b)
	plain, err := sql.Open("sqlite", db.DSN+"?mode=ro")
	if err != nil {
		b.Fatal(err)
	}
	defer plain.Close()
	storetest.BenchDeviceTable(b, svc, 100_000, func(ctx context.Context) error {
		rows, err := plain.QueryContext(ctx, `SELECT * FROM telemetry_devices WHERE site = ? LIMIT 100`, storetest.BenchSite)
		if err != nil {
			return err
		}
		defer rows.Close()
		n := 0
		for rows.Next() {
			n++
		}
		return rows.Err()
	})
}

// BenchmarkTelemetryDisk measures the bytes a point of each tier takes on disk
// (SQLite's dbstat: pages, their slack included) after an hour of a fleet's samples
// every 15 s and a rollup, and reports the disk a 10,000-miner fleet polled every 15 s needs:
// per day kept after rollups (288 five-minute and 24 hourly rows a miner) and in all at
// joule.DefaultTelemetryRetention.
func BenchmarkTelemetryDisk(b *testing.B) {
	const devices = 2_000
	for b.Loop() {
		db, svc, _ := benchStore(b)
		base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		db.Now = func() time.Time { return base.Add(62 * time.Minute) }
		for k := 0; k < devices*240/joule.MaxTelemetryBatch; k++ {
			if err := svc.AppendTelemetry(context.Background(), storetest.BenchSite, storetest.BenchBatch(devices, joule.MaxTelemetryBatch, k, base)); err != nil {
				b.Fatal(err)
			}
		}
		keep := joule.TelemetryRetention{Raw: 48 * time.Hour, FiveMinute: 48 * time.Hour, Hourly: 48 * time.Hour}
		if _, err := svc.RollupTelemetry(context.Background(), keep); err != nil {
			b.Fatal(err)
		}
		plain, err := sql.Open("sqlite", db.DSN+"?mode=ro")
		if err != nil {
			b.Fatal(err)
		}
		perRow := map[string]float64{} // bytes a point (a sample, a device) takes
		for _, t := range storetest.DiskTables {
			var bytes, rows float64
			if err := plain.QueryRow(`SELECT (SELECT sum(pgsize) FROM dbstat WHERE name = ?1 OR name LIKE 'sqlite_autoindex_' || ?1 || '%'), (SELECT count(*) FROM `+t.Table+`)`, t.Table).Scan(&bytes, &rows); err != nil {
				b.Fatal(err)
			}
			if t.Width == 0 {
				perRow[t.Table] = bytes / rows
				continue
			}
			per, err := storetest.RollupPointBytes(bytes, rows, t.Width, func(yield func(int64, []byte) error) error {
				rs, err := plain.Query(`SELECT at, points FROM ` + t.Table)
				if err != nil {
					return err
				}
				defer rs.Close()
				for rs.Next() {
					var at int64
					var blob []byte
					if err := rs.Scan(&at, &blob); err != nil {
						return err
					}
					if err := yield(at, blob); err != nil {
						return err
					}
				}
				return rs.Err()
			})
			if err != nil {
				b.Fatal(err)
			}
			perRow[t.Table] = per
		}
		plain.Close()
		storetest.ReportTelemetryDisk(b, perRow)
	}
	b.ReportMetric(0, "ns/op")
}
