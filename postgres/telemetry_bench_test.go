package postgres_test

import (
	"context"
	"testing"

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
