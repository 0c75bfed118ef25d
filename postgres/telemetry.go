package postgres

import (
	"context"
		"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/joule-site/joule"
)

// TelemetryService keeps every device's latest sample and its history in three tiers
// (migration 0007). It implements joule.TelemetryService.
type TelemetryService struct {
	db *DB
}

var _ joule.TelemetryService = (*TelemetryService)(nil)

// NewTelemetryService returns a TelemetryService on db.
func NewTelemetryService(db *DB) *TelemetryService { return &TelemetryService{db: db} }

// deviceColumns are telemetry_devices' columns after id, in the order deviceValues gives them.
var deviceColumns = []string{"site", "address", "fleet", "at", "state", "power_w", "ghs", "expected_ghs", "deci_c", "chip_deci_c",
	"fan_min", "fan_max", "hw_errors", "pool", "pool_state", "firmware", "firmware_version"}

// deviceValues are a sample's values for deviceColumns.
func deviceValues(s *joule.TelemetrySample) []any {
	return []any{s.Site, s.Address, s.Fleet, s.At.UnixMilli(), joule.StateCode(s.State), int64(s.PowerW), joule.GHs(s.HashrateTHs),
		joule.GHs(s.ExpectedHashrateTHs), joule.DeciC(s.TempC), joule.DeciC(s.ChipTempC), s.FanMinRPM, s.FanMaxRPM, s.HardwareErrors,
		s.Pool, s.PoolState, s.Firmware, s.FirmwareVersion}
}

// rawValues are a sample's values for telemetry_raw after its device.
func rawValues(s *joule.TelemetrySample) []any {
	return []any{s.At.UnixMilli(), joule.StateCode(s.State), int64(s.PowerW), joule.GHs(s.HashrateTHs), joule.GHs(s.ExpectedHashrateTHs),
		joule.DeciC(s.TempC), joule.DeciC(s.ChipTempC), s.FanMinRPM, s.FanMaxRPM, s.HardwareErrors}
}

// upsertDevicesSQL inserts devices from arrays ($1 the site, then one array per
// column after it) and, for one already known, takes a sample's figures only when it
// is at least as new as the one kept; it returns every row's id.
var upsertDevicesSQL = func() string {
	sets, arrays := []string{}, []string{}
	for _, c := range deviceColumns[2:] {
		sets = append(sets, fmt.Sprintf("%s = CASE WHEN excluded.at >= telemetry_devices.at THEN excluded.%s ELSE telemetry_devices.%s END", c, c, c))
	}
	for i, c := range deviceColumns[1:] {
		typ := "bigint[]"
		if slices.Contains([]string{"address", "fleet", "pool", "pool_state", "firmware", "firmware_version"}, c) {
			typ = "text[]"
		}
		arrays = append(arrays, fmt.Sprintf("$%d::%s", i+2, typ))
	}
	return "INSERT INTO telemetry_devices (" + strings.Join(deviceColumns, ", ") + ") SELECT $1, * FROM unnest(" + strings.Join(arrays, ", ") +
		") ON CONFLICT (site, address) DO UPDATE SET " + strings.Join(sets, ", ") + " RETURNING id, address"
}()

// columnArrays turns rows of equal width into one array per column, for unnest.
func columnArrays(rows [][]any) []any {
	if len(rows) == 0 {
		return nil
	}
	cols := make([]any, len(rows[0]))
	for c := range cols {
		switch rows[0][c].(type) {
		case string:
			a := make([]string, len(rows))
			for r := range rows {
				a[r] = rows[r][c].(string)
			}
			cols[c] = a
		default:
			a := make([]int64, len(rows))
			for r := range rows {
				a[r] = toInt64(rows[r][c])
			}
			cols[c] = a
		}
	}
	return cols
}

// toInt64 is an integer value of a row.
func toInt64(v any) int64 {
	switch v := v.(type) {
	case int:
		return int64(v)
	case int64:
		return v
	}
	panic(fmt.Sprintf("telemetry: %T is not an integer", v))
}

// AppendTelemetry stores a batch in one transaction: the devices' latest samples, then
// the raw rows, each in one statement on arrays.
func (s *TelemetryService) AppendTelemetry(ctx context.Context, site string, samples []joule.TelemetrySample) error {
	if err := joule.ValidateTelemetry(site, samples); err != nil {
		return err
	}
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.rollback(ctx)
	var one int
	if err := tx.queryRow(ctx, `SELECT 1 FROM sites WHERE name = $1`, site).Scan(&one); errors.Is(err, pgx.ErrNoRows) {
		return joule.Errorf(joule.ENOTFOUND, "no site %q", site)
	} else if err != nil {
		return fmt.Errorf("telemetry of %s: %w", site, err)
	}
	ids, err := s.upsertDevices(ctx, tx, joule.LatestPerDevice(samples))
	if err != nil {
		return fmt.Errorf("telemetry of %s: devices: %w", site, err)
	}
	rows := make([][]any, len(samples))
	for i := range samples {
		rows[i] = append([]any{ids[samples[i].Address]}, rawValues(&samples[i])...)
	}
	if _, err := tx.exec(ctx, `INSERT INTO telemetry_raw (device, at, state, power_w, ghs, expected_ghs, deci_c, chip_deci_c, fan_min, fan_max, hw_errors)
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[])
		ON CONFLICT DO NOTHING`, columnArrays(rows)...); err != nil {
		return fmt.Errorf("telemetry of %s: samples: %w", site, err)
	}
	if err := tx.commit(ctx); err != nil {
		return fmt.Errorf("telemetry of %s: commit: %w", site, err)
	}
	return nil
}

// upsertDevices writes each device's latest sample and returns the devices' ids by address.
func (s *TelemetryService) upsertDevices(ctx context.Context, tx *tx, latest []joule.TelemetrySample) (map[string]int64, error) {
	ids := make(map[string]int64, len(latest))
	if len(latest) == 0 {
		return ids, nil
	}
	rows := make([][]any, len(latest))
	for i := range latest {
		rows[i] = deviceValues(&latest[i])[1:]
	}
	res, err := tx.query(ctx, upsertDevicesSQL, append([]any{latest[0].Site}, columnArrays(rows)...)...)
	if err != nil {
		return nil, err
	}
	defer res.Close()
	for res.Next() {
		var id int64
		var addr string
		if err := res.Scan(&id, &addr); err != nil {
			return nil, err
		}
		ids[addr] = id
	}
	return ids, storeError(res.Err())
}

// deviceOrder is the SQL each sort key orders by; the address breaks ties.
var deviceOrder = map[joule.DeviceSort]string{
	joule.DeviceSortAddress:  "address",
	joule.DeviceSortFleet:    "fleet",
	joule.DeviceSortFirmware: "firmware",
	joule.DeviceSortPool:     "pool",
	joule.DeviceSortState:    "state",
	joule.DeviceSortTemp:     "deci_c",
	joule.DeviceSortHashrate: "CASE WHEN expected_ghs > 0 THEN ghs::float8 / expected_ghs ELSE -1 END",
	joule.DeviceSortPower:    "power_w",
	joule.DeviceSortSeen:     "at",
}

// Devices returns a page of the device table, with the count of devices the filters keep.
func (s *TelemetryService) Devices(ctx context.Context, q joule.DeviceQuery) (*joule.DevicePage, error) {
	if err := q.Check(); err != nil {
		return nil, err
	}
	where, args := "site = $1", []any{q.Site}
	if q.State != "" {
		args = append(args, joule.StateCode(q.State))
		where += fmt.Sprintf(" AND state = $%d", len(args))
	}
	if q.Q != "" {
		// lower() of the columns, COLLATE "C", changes ASCII letters only, as SQLite's does.
		args = append(args, strings.ToLower(q.Q))
		n := len(args)
		where += fmt.Sprintf(" AND (strpos(lower(address), $%d) > 0 OR strpos(lower(fleet), $%d) > 0 OR strpos(lower(firmware), $%d) > 0 OR strpos(lower(pool), $%d) > 0)", n, n, n, n)
	}
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.rollback(ctx)
	page := &joule.DevicePage{Devices: []joule.TelemetrySample{}}
	if err := tx.queryRow(ctx, `SELECT count(*) FROM telemetry_devices WHERE `+where, args...).Scan(&page.Total); err != nil {
		return nil, fmt.Errorf("devices of %s: %w", q.Site, err)
	}
	dir := "ASC"
	if q.Desc {
		dir = "DESC"
	}
	rows, err := tx.query(ctx, `SELECT `+strings.Join(deviceColumns, ", ")+` FROM telemetry_devices WHERE `+where+
		fmt.Sprintf(` ORDER BY %s %s, address ASC LIMIT $%d OFFSET $%d`, deviceOrder[q.Sort], dir, len(args)+1, len(args)+2), append(args, q.Limit, q.Offset)...)
	if err != nil {
		return nil, fmt.Errorf("devices of %s: %w", q.Site, err)
	}
	defer rows.Close()
	for rows.Next() {
		d, err := scanDevice(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("devices of %s: %w", q.Site, err)
		}
		page.Devices = append(page.Devices, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("devices of %s: %w", q.Site, err)
	}
	return page, nil
}

// scanDevice scans deviceColumns into a sample.
func scanDevice(scan func(...any) error) (joule.TelemetrySample, error) {
	var d joule.TelemetrySample
	var at, state, power, ghs, expected, deciC, chipDeciC int64
	err := scan(&d.Site, &d.Address, &d.Fleet, &at, &state, &power, &ghs, &expected, &deciC, &chipDeciC, &d.FanMinRPM, &d.FanMaxRPM,
		&d.HardwareErrors, &d.Pool, &d.PoolState, &d.Firmware, &d.FirmwareVersion)
	d.At, d.State, d.PowerW = time.UnixMilli(at).UTC(), joule.StateOfCode(state), joule.Watts(power)
	d.HashrateTHs, d.ExpectedHashrateTHs = float64(ghs)/1000, float64(expected)/1000
	d.TempC, d.ChipTempC = float64(deciC)/10, float64(chipDeciC)/10
	return d, err
}

// rollupColumns are a rollup tier's columns after device and at.
const rollupColumns = `n, state, power_sum, power_min, power_max, ghs_sum, ghs_min, ghs_max, expected_ghs_sum, deci_c_sum, deci_c_max, chip_deci_c_max, fan_min, fan_max, hw_errors`

// DeviceHistory returns a device's points in the range at its resolution, oldest first.
func (s *TelemetryService) DeviceHistory(ctx context.Context, q joule.HistoryQuery) (*joule.DeviceHistory, error) {
	if err := q.Check(); err != nil {
		return nil, err
	}
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.rollback(ctx)
	var id int64
	err = tx.queryRow(ctx, `SELECT id FROM telemetry_devices WHERE site = $1 AND address = $2`, q.Site, q.Address).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, joule.Errorf(joule.ENOTFOUND, "site %s has no telemetry of device %s", q.Site, q.Address)
	} else if err != nil {
		return nil, fmt.Errorf("history of %s: %w", q.Address, err)
	}
	query := `SELECT at, 1, state, power_w, power_w, power_w, ghs, ghs, ghs, expected_ghs, deci_c, deci_c, chip_deci_c, fan_min, fan_max, hw_errors FROM telemetry_raw`
	switch q.Resolution {
	case joule.Resolution5Min:
		query = `SELECT at, ` + rollupColumns + ` FROM telemetry_5m`
	case joule.ResolutionHour:
		query = `SELECT at, ` + rollupColumns + ` FROM telemetry_1h`
	}
	rows, err := tx.query(ctx, query+` WHERE device = $1 AND at >= $2 AND at < $3 ORDER BY at LIMIT $4`, id, q.From.UnixMilli(), q.To.UnixMilli(), joule.MaxHistoryPoints+1)
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", q.Address, err)
	}
	defer rows.Close()
	h := &joule.DeviceHistory{Site: q.Site, Address: q.Address, Resolution: q.Resolution, Points: []joule.HistoryPoint{}}
	for rows.Next() {
		var r joule.RollupRow
		if err := rows.Scan(&r.AtMS, &r.N, &r.State, &r.PowerSum, &r.PowerMin, &r.PowerMax, &r.GHsSum, &r.GHsMin, &r.GHsMax, &r.ExpectedGHsSum,
			&r.DeciCSum, &r.DeciCMax, &r.ChipDeciCMax, &r.FanMin, &r.FanMax, &r.HardwareErrors); err != nil {
			return nil, fmt.Errorf("history of %s: %w", q.Address, err)
		}
		if len(h.Points) == joule.MaxHistoryPoints {
			h.Truncated = true
			break
		}
		h.Points = append(h.Points, r.Point())
	}
	return h, rows.Err()
}

// rollupSQL rolls the rows of from (raw or a finer tier) between two times ($1, $2,
// unix ms) up into buckets of width ms of to, recomputing buckets already written.
func rollupSQL(from, to string, width int64) string {
	sum := func(c string) string { return "sum(" + c + ")" }
	n, power, ghs, expected, deciC, chip, fanMin, fanMax := "count(*)", "power_w", "ghs", "expected_ghs", "deci_c", "chip_deci_c", "fan_min", "fan_max"
	if from != "telemetry_raw" {
		n = "sum(n)"
		power, ghs, expected, deciC, chip = "power_sum", "ghs_sum", "expected_ghs_sum", "deci_c_sum", "chip_deci_c_max"
	}
	minOf := func(raw, rolled string) string {
		if from == "telemetry_raw" {
			return "min(" + raw + ")"
		}
		return "min(" + rolled + ")"
	}
	maxOf := func(raw, rolled string) string {
		if from == "telemetry_raw" {
			return "max(" + raw + ")"
		}
		return "max(" + rolled + ")"
	}
	last := func(c string) string {
		return fmt.Sprintf("(SELECT l.%s FROM %s l WHERE l.device = g.device AND l.at >= g.b AND l.at < g.b + %d ORDER BY l.at DESC LIMIT 1)", c, from, width)
	}
	return fmt.Sprintf(`INSERT INTO %s (device, at, %s)
		SELECT g.device, g.b, g.n, %s, g.ps, g.pmin, g.pmax, g.gs, g.gmin, g.gmax, g.es, g.ds, g.dmax, g.cmax, g.fmin, g.fmax, %s
		FROM (SELECT device, at - at %% %d AS b, %s AS n, %s AS ps, %s AS pmin, %s AS pmax, %s AS gs, %s AS gmin, %s AS gmax,
			%s AS es, %s AS ds, %s AS dmax, %s AS cmax, min(%s) AS fmin, max(%s) AS fmax
			FROM %s WHERE at >= $1 AND at < $2 GROUP BY device, b) g
		WHERE true
		ON CONFLICT (device, at) DO UPDATE SET n = excluded.n, state = excluded.state, power_sum = excluded.power_sum,
			power_min = excluded.power_min, power_max = excluded.power_max, ghs_sum = excluded.ghs_sum, ghs_min = excluded.ghs_min,
			ghs_max = excluded.ghs_max, expected_ghs_sum = excluded.expected_ghs_sum, deci_c_sum = excluded.deci_c_sum,
			deci_c_max = excluded.deci_c_max, chip_deci_c_max = excluded.chip_deci_c_max, fan_min = excluded.fan_min,
			fan_max = excluded.fan_max, hw_errors = excluded.hw_errors`,
		to, rollupColumns, last("state"), last("hw_errors"), width, n, sum(power), minOf(power, "power_min"), maxOf(power, "power_max"),
		sum(ghs), minOf(ghs, "ghs_min"), maxOf(ghs, "ghs_max"), sum(expected), sum(deciC), maxOf(deciC, "deci_c_max"), maxOf(chip, "chip_deci_c_max"),
		fanMin, fanMax, from)
}

// RollupTelemetry rolls closed buckets up (five-minute from raw, hourly from
// five-minute) and deletes what r no longer keeps, in one transaction.
func (s *TelemetryService) RollupTelemetry(ctx context.Context, r joule.TelemetryRetention) (*joule.RollupResult, error) {
	if err := r.Check(); err != nil {
		return nil, err
	}
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.rollback(ctx)
	now := tx.now.UnixMilli()
	out := &joule.RollupResult{}
	for _, tier := range []struct {
		name, from, to string
		width          int64
		rows           *int64
	}{
		{"5m", "telemetry_raw", "telemetry_5m", (5 * time.Minute).Milliseconds(), &out.FiveMinuteRows},
		{"1h", "telemetry_5m", "telemetry_1h", time.Hour.Milliseconds(), &out.HourlyRows},
	} {
		end := now - now%tier.width
		var through *int64
		err := tx.queryRow(ctx, `SELECT through FROM telemetry_rollups WHERE tier = $1`, tier.name).Scan(&through)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("rollup %s: %w", tier.name, err)
		}
		var start int64
		if through != nil {
			start = *through - rollupGraceMS
		} else if err := tx.queryRow(ctx, `SELECT coalesce(min((SELECT min(at) FROM `+tier.from+` x WHERE x.device = d.id)), $1) FROM telemetry_devices d`, end).Scan(&start); err != nil {
			return nil, fmt.Errorf("rollup %s: %w", tier.name, err)
		}
		start -= start % tier.width
		if start < end {
			res, err := tx.exec(ctx, rollupSQL(tier.from, tier.to, tier.width), start, end)
			if err != nil {
				return nil, fmt.Errorf("rollup %s: %w", tier.name, err)
			}
			*tier.rows = res.RowsAffected()
		}
		if _, err := tx.exec(ctx, `INSERT INTO telemetry_rollups (tier, through) VALUES ($1, $2) ON CONFLICT (tier) DO UPDATE SET through = excluded.through`, tier.name, end); err != nil {
			return nil, fmt.Errorf("rollup %s: %w", tier.name, err)
		}
	}
	for _, d := range []struct {
		table string
		keep  time.Duration
		n     *int64
	}{{"telemetry_raw", r.Raw, &out.DeletedRaw}, {"telemetry_5m", r.FiveMinute, &out.DeletedFiveMinute}, {"telemetry_1h", r.Hourly, &out.DeletedHourly}} {
		res, err := tx.exec(ctx, `DELETE FROM `+d.table+` WHERE at < $1`, now-d.keep.Milliseconds())
		if err != nil {
			return nil, fmt.Errorf("retention of %s: %w", d.table, err)
		}
		*d.n = res.RowsAffected()
	}
	res, err := tx.exec(ctx, `DELETE FROM telemetry_devices WHERE at < $1`, now-r.Hourly.Milliseconds())
	if err != nil {
		return nil, fmt.Errorf("retention of devices: %w", err)
	}
	out.DeletedDevices = res.RowsAffected()
	return out, tx.commit(ctx)
}

// rollupGraceMS is joule.RollupGrace in milliseconds.
const rollupGraceMS = int64(joule.RollupGrace / time.Millisecond)
