package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/postgres"
	"github.com/joule-site/joule/storetest"
)

// benchStore opens a telemetry history on a fresh database with BenchSite declared,
// and a plain pgx connection to the same database for the floors.
func benchStore(b *testing.B) (*postgres.TelemetryService, *pgx.Conn) {
	b.Helper()
	dsn := postgres.NewTestDatabase(b)
	db := postgres.NewDB(dsn)
	if err := db.Open(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	storetest.DeclareBenchSite(b, postgres.NewManifestService(db))
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close(context.Background()) })
	return postgres.NewTelemetryService(db), conn
}

// BenchmarkTelemetryIngest: samples/s into the history beside COPY of the same rows
// into a plain table with no key (pgx.CopyFrom), in batches of an agent's step.
func BenchmarkTelemetryIngest(b *testing.B) {
	svc, conn := benchStore(b)
	ctx := context.Background()
	if _, err := conn.Exec(ctx, `CREATE TABLE bare (device BIGINT, at BIGINT, hw_errors BIGINT, power_w INTEGER, ghs INTEGER, expected_ghs INTEGER,
		fan_min INTEGER, fan_max INTEGER, deci_c SMALLINT, chip_deci_c SMALLINT, state SMALLINT)`); err != nil {
		b.Fatal(err)
	}
	cols := []string{"device", "at", "hw_errors", "power_w", "ghs", "expected_ghs", "fan_min", "fan_max", "deci_c", "chip_deci_c", "state"}
	storetest.BenchIngest(b, svc, 60_000, 5_000, func(ctx context.Context, samples []joule.TelemetrySample) error {
		_, err := conn.CopyFrom(ctx, pgx.Identifier{"bare"}, cols, pgx.CopyFromSlice(len(samples), func(i int) ([]any, error) {
			s := samples[i]
			return []any{int64(i), s.At.UnixMilli(), s.HardwareErrors, int32(s.PowerW), int32(joule.GHs(s.HashrateTHs)), int32(joule.GHs(s.ExpectedHashrateTHs)),
				int32(s.FanMinRPM), int32(s.FanMaxRPM), int16(joule.DeciC(s.TempC)), int16(joule.DeciC(s.ChipTempC)), int16(joule.StateCode(s.State))}, nil
		}))
		return err
	})
}

// BenchmarkTelemetryDeviceTable: the device table of 100,000 devices, paged, sorted
// and searched, at p50 and p99, beside a bare page of the same table.
func BenchmarkTelemetryDeviceTable(b *testing.B) {
	svc, conn := benchStore(b)
	storetest.BenchDeviceTable(b, svc, 100_000, func(ctx context.Context) error {
		rows, err := conn.Query(ctx, `SELECT * FROM telemetry_devices WHERE site = $1 LIMIT 100`, storetest.BenchSite)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
		}
		return rows.Err()
	})
}

// BenchmarkTelemetryDisk measures the bytes a point of each tier takes in PostgreSQL
// (pg_total_relation_size: the heap, its indexes and TOAST, after VACUUM) after an
// hour of a fleet's samples every 15 s and a rollup, and reports the disk a
// 10,000-miner fleet polled every 15 s needs, as the sqlite package's benchmark does.
func BenchmarkTelemetryDisk(b *testing.B) {
	const devices = 2_000
	for b.Loop() {
		dsn := postgres.NewTestDatabase(b)
		db := postgres.NewDB(dsn)
		base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		db.Now = func() time.Time { return base.Add(62 * time.Minute) }
		if err := db.Open(); err != nil {
			b.Fatal(err)
		}
		storetest.DeclareBenchSite(b, postgres.NewManifestService(db))
		svc := postgres.NewTelemetryService(db)
		ctx := context.Background()
		for k := 0; k < devices*240/joule.MaxTelemetryBatch; k++ {
			if err := svc.AppendTelemetry(ctx, storetest.BenchSite, storetest.BenchBatch(devices, joule.MaxTelemetryBatch, k, base)); err != nil {
				b.Fatal(err)
			}
		}
		keep := joule.TelemetryRetention{Raw: 48 * time.Hour, FiveMinute: 48 * time.Hour, Hourly: 48 * time.Hour}
		if _, err := svc.RollupTelemetry(ctx, keep); err != nil {
			b.Fatal(err)
		}
		db.Close()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `VACUUM ANALYZE`); err != nil {
			b.Fatal(err)
		}
		perPoint := map[string]float64{}
		for _, t := range storetest.DiskTables {
			var bytes, rows float64
			if err := conn.QueryRow(ctx, `SELECT pg_total_relation_size($1::regclass)::float8, (SELECT count(*) FROM `+t.Table+`)::float8`, t.Table).Scan(&bytes, &rows); err != nil {
				b.Fatal(err)
			}
			if t.Width == 0 {
				perPoint[t.Table] = bytes / rows
				continue
			}
			per, err := storetest.RollupPointBytes(bytes, rows, t.Width, func(yield func(int64, []byte) error) error {
				rs, err := conn.Query(ctx, `SELECT at, points FROM `+t.Table)
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
			perPoint[t.Table] = per
		}
		conn.Close(ctx)
		storetest.ReportTelemetryDisk(b, perPoint)
	}
	b.ReportMetric(0, "ns/op")
}
