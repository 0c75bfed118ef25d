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
		for _, t := range []struct {
			table string
			width time.Duration // of a rollup tier's points; 0: a row a point
		}{{"telemetry_raw", 0}, {"telemetry_5m", 5 * time.Minute}, {"telemetry_1h", time.Hour}, {"telemetry_devices", 0}} {
			var bytes, rows float64
			if err := plain.QueryRow(`SELECT (SELECT sum(pgsize) FROM dbstat WHERE name = ?1 OR name LIKE 'sqlite_autoindex_' || ?1 || '%'), (SELECT count(*) FROM `+t.table+`)`, t.table).Scan(&bytes, &rows); err != nil {
				b.Fatal(err)
			}
			if t.width == 0 {
				perRow[t.table] = bytes / rows
				continue
			}
			// A rollup row holds a unit's points: its bytes are its own overhead (key,
			// header, page slack) and its points'. The bench's hour fills an hour's
			// unit but not a day's, so a full unit is counted from the two.
			var blobBytes, points float64
			rs, err := plain.Query(`SELECT at, points FROM ` + t.table)
			if err != nil {
				b.Fatal(err)
			}
			for rs.Next() {
				var at int64
				var blob []byte
				if err := rs.Scan(&at, &blob); err != nil {
					b.Fatal(err)
				}
				ps, err := joule.DecodeRollups(blob, at, t.width)
				if err != nil {
					b.Fatal(err)
				}
				blobBytes, points = blobBytes+float64(len(blob)), points+float64(len(ps))
			}
			rs.Close()
			perUnit := float64(joule.RollupUnit(t.width) / t.width)
			perRow[t.table] = ((bytes-blobBytes)/rows + perUnit*blobBytes/points) / perUnit
		}
		plain.Close()
		r := joule.DefaultTelemetryRetention
		const miners, poll = 10_000, 15 * time.Second
		day := miners * (288*perRow["telemetry_5m"] + 24*perRow["telemetry_1h"]) / 1e6
		all := miners * (float64(r.Raw/poll)*perRow["telemetry_raw"] + float64(r.FiveMinute/(5*time.Minute))*perRow["telemetry_5m"] +
			float64(r.Hourly/time.Hour)*perRow["telemetry_1h"] + perRow["telemetry_devices"]) / 1e6
		b.ReportMetric(perRow["telemetry_raw"], "raw-B/sample")
		b.ReportMetric(perRow["telemetry_5m"], "5m-B/point")
		b.ReportMetric(perRow["telemetry_1h"], "1h-B/point")
		b.ReportMetric(perRow["telemetry_devices"], "device-B")
		b.ReportMetric(day, "MB/10k-miners/day")
		b.ReportMetric(all, "MB/10k-miners-at-retention")
		b.ReportMetric(miners*float64(r.Raw/poll)*perRow["telemetry_raw"]/1e6, "MB/10k-miners-raw-window")
	}
	b.ReportMetric(0, "ns/op")
}
