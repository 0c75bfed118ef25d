package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/joule-site/joule"
)

// TelemetryService keeps every device's latest sample and its history in three tiers
// (migration 0014). It implements joule.TelemetryService.
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

// upsertDevicesHead inserts devices and, for one already known, takes a sample's
// figures only when it is at least as new as the one kept; it returns every row's id.
var upsertDevicesHead = func() (head, tail string) {
	sets := []string{}
	for _, c := range deviceColumns[2:] {
		sets = append(sets, fmt.Sprintf("%s = CASE WHEN excluded.at >= telemetry_devices.at THEN excluded.%s ELSE telemetry_devices.%s END", c, c, c))
	}
	return "INSERT INTO telemetry_devices (" + strings.Join(deviceColumns, ", ") + ") VALUES ",
		" ON CONFLICT (site, address) DO UPDATE SET " + strings.Join(sets, ", ") + " RETURNING id, address"
}

// valuesList is n groups of width placeholders.
func valuesList(n, width int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", width), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(one+", ", n), ", ")
}

// AppendTelemetry stores a batch in one transaction: the devices' latest samples, then
// the raw rows, several hundred to a statement.
func (s *TelemetryService) AppendTelemetry(ctx context.Context, site string, samples []joule.TelemetrySample) error {
	if err := joule.ValidateTelemetry(site, samples); err != nil {
		return err
	}
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var one int
	if err := tx.QueryRowContext(ctx, `SELECT 1 FROM sites WHERE name = ?`, site).Scan(&one); errors.Is(err, sql.ErrNoRows) {
		return joule.Errorf(joule.ENOTFOUND, "no site %q", site)
	} else if err != nil {
		return fmt.Errorf("telemetry of %s: %w", site, err)
	}
	ids, err := s.upsertDevices(ctx, tx, joule.LatestPerDevice(samples))
	if err != nil {
		return fmt.Errorf("telemetry of %s: devices: %w", site, err)
	}
	const batch = 500
	for rest := samples; len(rest) > 0; {
		n := min(len(rest), batch)
		args := make([]any, 0, n*11)
		for i := range rest[:n] {
			args = append(append(args, ids[rest[i].Address]), rawValues(&rest[i])...)
		}
		q := `INSERT INTO telemetry_raw (device, at, state, power_w, ghs, expected_ghs, deci_c, chip_deci_c, fan_min, fan_max, hw_errors) VALUES ` +
			valuesList(n, 11) + ` ON CONFLICT DO NOTHING`
		if _, err := tx.exec(ctx, q, args...); err != nil {
			return fmt.Errorf("telemetry of %s: samples: %w", site, err)
		}
		rest = rest[n:]
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("telemetry of %s: commit: %w", site, err)
	}
	return nil
}

// upsertDevices writes each device's latest sample and returns the devices' ids by address.
func (s *TelemetryService) upsertDevices(ctx context.Context, tx *tx, latest []joule.TelemetrySample) (map[string]int64, error) {
	head, tail := upsertDevicesHead()
	ids := make(map[string]int64, len(latest))
	const batch = 100
	for len(latest) > 0 {
		n := min(len(latest), batch)
		args := make([]any, 0, n*len(deviceColumns))
		for i := range latest[:n] {
			args = append(args, deviceValues(&latest[i])...)
		}
		rows, err := tx.query(ctx, head+valuesList(n, len(deviceColumns))+tail, args...)
		if err != nil {
			return nil, storeError(err)
		}
		for rows.Next() {
			var id int64
			var addr string
			if err := rows.Scan(&id, &addr); err != nil {
				rows.Close()
				return nil, err
			}
			ids[addr] = id
		}
		if err := rows.Close(); err != nil {
			return nil, storeError(err)
		}
		if err := rows.Err(); err != nil {
			return nil, storeError(err)
		}
		latest = latest[n:]
	}
	return ids, nil
}

// deviceOrder is the SQL each sort key orders by; the address breaks ties.
var deviceOrder = map[joule.DeviceSort]string{
	joule.DeviceSortAddress:  "address",
	joule.DeviceSortFleet:    "fleet",
	joule.DeviceSortFirmware: "firmware",
	joule.DeviceSortPool:     "pool",
	joule.DeviceSortState:    "state",
	joule.DeviceSortTemp:     "deci_c",
	joule.DeviceSortHashrate: "CASE WHEN expected_ghs > 0 THEN CAST(ghs AS REAL) / expected_ghs ELSE -1 END",
	joule.DeviceSortPower:    "power_w",
	joule.DeviceSortSeen:     "at",
}

// Devices returns a page of the device table, with the count of devices the filters keep.
func (s *TelemetryService) Devices(ctx context.Context, q joule.DeviceQuery) (*joule.DevicePage, error) {
	if err := q.Check(); err != nil {
		return nil, err
	}
	where, args := "site = ?", []any{q.Site}
	if q.State != "" {
		where += " AND state = ?"
		args = append(args, joule.StateCode(q.State))
	}
	if q.Q != "" {
		where += " AND (instr(lower(address), ?) > 0 OR instr(lower(fleet), ?) > 0 OR instr(lower(firmware), ?) > 0 OR instr(lower(pool), ?) > 0)"
		needle := strings.ToLower(q.Q)
		args = append(args, needle, needle, needle, needle)
	}
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	page := &joule.DevicePage{Devices: []joule.TelemetrySample{}}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM telemetry_devices WHERE `+where, args...).Scan(&page.Total); err != nil {
		return nil, fmt.Errorf("devices of %s: %w", q.Site, err)
	}
	dir := "ASC"
	if q.Desc {
		dir = "DESC"
	}
	rows, err := tx.query(ctx, `SELECT `+strings.Join(deviceColumns, ", ")+` FROM telemetry_devices WHERE `+where+
		` ORDER BY `+deviceOrder[q.Sort]+` `+dir+`, address ASC LIMIT ? OFFSET ?`, append(args, q.Limit, q.Offset)...)
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
	defer tx.Rollback()
	var id int64
	err = tx.QueryRowContext(ctx, `SELECT id FROM telemetry_devices WHERE site = ? AND address = ?`, q.Site, q.Address).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
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
	rows, err := tx.query(ctx, query+` WHERE device = ? AND at >= ? AND at < ? ORDER BY at LIMIT ?`, id, q.From.UnixMilli(), q.To.UnixMilli(), joule.MaxHistoryPoints+1)
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

// rollupSQL rolls the rows of from (raw or a finer tier) between two times (?1, ?2,
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
			FROM %s WHERE device IN (SELECT id FROM telemetry_devices) AND at >= ?1 AND at < ?2 GROUP BY device, b) g
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
	defer tx.Rollback()
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
		var through sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT through FROM telemetry_rollups WHERE tier = ?`, tier.name).Scan(&through)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("rollup %s: %w", tier.name, err)
		}
		var start int64
		if through.Valid {
			start = through.Int64 - rollupGraceMS
		} else if err := tx.QueryRowContext(ctx, `SELECT coalesce(min((SELECT min(at) FROM `+tier.from+` x WHERE x.device = d.id)), ?) FROM telemetry_devices d`, end).Scan(&start); err != nil {
			return nil, fmt.Errorf("rollup %s: %w", tier.name, err)
		}
		start -= start % tier.width
		if start < end {
			res, err := tx.exec(ctx, rollupSQL(tier.from, tier.to, tier.width), start, end)
			if err != nil {
				return nil, fmt.Errorf("rollup %s: %w", tier.name, err)
			}
			*tier.rows, _ = res.RowsAffected()
		}
		if _, err := tx.exec(ctx, `INSERT INTO telemetry_rollups (tier, through) VALUES (?, ?) ON CONFLICT (tier) DO UPDATE SET through = excluded.through`, tier.name, end); err != nil {
			return nil, fmt.Errorf("rollup %s: %w", tier.name, err)
		}
	}
	for _, d := range []struct {
		table string
		keep  time.Duration
		n     *int64
	}{{"telemetry_raw", r.Raw, &out.DeletedRaw}, {"telemetry_5m", r.FiveMinute, &out.DeletedFiveMinute}, {"telemetry_1h", r.Hourly, &out.DeletedHourly}} {
		res, err := tx.exec(ctx, `DELETE FROM `+d.table+` WHERE device IN (SELECT id FROM telemetry_devices) AND at < ?`, now-d.keep.Milliseconds())
		if err != nil {
			return nil, fmt.Errorf("retention of %s: %w", d.table, err)
		}
		*d.n, _ = res.RowsAffected()
	}
	res, err := tx.exec(ctx, `DELETE FROM telemetry_devices WHERE at < ?`, now-r.Hourly.Milliseconds())
	if err != nil {
		return nil, fmt.Errorf("retention of devices: %w", err)
	}
	out.DeletedDevices, _ = res.RowsAffected()
	return out, tx.Commit()
}

// rollupGraceMS is joule.RollupGrace in milliseconds.
const rollupGraceMS = int64(joule.RollupGrace / time.Millisecond)
