package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/telemetryrows"
)

// TelemetryService keeps every device's latest sample and its history in three telemetryrows.Tiers
// (migration 0014). It implements joule.TelemetryService.
type TelemetryService struct {
	db *DB
}

var _ joule.TelemetryService = (*TelemetryService)(nil)

// NewTelemetryService returns a TelemetryService on db.
func NewTelemetryService(db *DB) *TelemetryService { return &TelemetryService{db: db} }

// stableColumns are the device's columns that seldom change: the upsert leaves them
// out of its SET, so that the indexes the device table sorts them on are not
// rewritten with every sample, and a second statement (restamp) writes the few that
// changed.
var stableColumns = []string{"fleet", "pool", "firmware", "firmware_version"}

// upsertDevicesHead inserts devices and, for one already known, takes a sample's
// figures (but the stable ones) only when it is at least as new as the one kept; it
// returns every row's id.
var upsertDevicesHead = func() (head, tail string) {
	sets := []string{}
	for _, c := range telemetryrows.DeviceColumns[2:] {
		if !slices.Contains(stableColumns, c) {
			sets = append(sets, fmt.Sprintf("%s = CASE WHEN excluded.at >= telemetry_devices.at THEN excluded.%s ELSE telemetry_devices.%s END", c, c, c))
		}
	}
	return "INSERT INTO telemetry_devices (" + strings.Join(telemetryrows.DeviceColumns, ", ") + ") VALUES ",
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
			args = append(append(args, ids[rest[i].Address]), telemetryrows.RawValues(&rest[i])...)
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
		args := make([]any, 0, n*len(telemetryrows.DeviceColumns))
		for i := range latest[:n] {
			args = append(args, telemetryrows.DeviceValues(&latest[i])...)
		}
		rows, err := tx.query(ctx, head+valuesList(n, len(telemetryrows.DeviceColumns))+tail, args...)
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
		if err := restamp(ctx, tx, latest[:n]); err != nil {
			return nil, err
		}
		latest = latest[n:]
	}
	return ids, nil
}

// restamp writes the stable columns of the devices whose latest sample is one of
// latest and carries other values than those kept.
func restamp(ctx context.Context, tx *tx, latest []joule.TelemetrySample) error {
	args := make([]any, 0, 6*len(latest)+1)
	for _, d := range latest {
		args = append(args, d.Address, d.Fleet, d.Pool, d.Firmware, d.FirmwareVersion, d.At.UnixMilli())
	}
	_, err := tx.exec(ctx, `UPDATE telemetry_devices SET fleet = v.column2, pool = v.column3, firmware = v.column4, firmware_version = v.column5
		FROM (VALUES `+valuesList(len(latest), 6)+`) AS v
		WHERE telemetry_devices.site = ? AND telemetry_devices.address = v.column1 AND telemetry_devices.at = v.column6
		AND (telemetry_devices.fleet <> v.column2 OR telemetry_devices.pool <> v.column3 OR telemetry_devices.firmware <> v.column4 OR telemetry_devices.firmware_version <> v.column5)`,
		append(args, latest[0].Site)...)
	return err
}

// deviceOrder is the SQL each sort key orders by, the address breaking ties: each
// has an index of migration 0014 (the same expression), so a page deep into a sorted
// table is read off the index.
var deviceOrder = map[joule.DeviceSort]string{
	joule.DeviceSortAddress:  "address",
	joule.DeviceSortFleet:    "fleet",
	joule.DeviceSortFirmware: "firmware",
	joule.DeviceSortPool:     "pool",
	joule.DeviceSortState:    "state",
	joule.DeviceSortTemp:     "deci_c",
	joule.DeviceSortHashrate: "CASE WHEN expected_ghs > 0 THEN CAST(ghs AS REAL) / expected_ghs ELSE -1 END",
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
		// search is the four columns lower-cased (ASCII), which lower() makes of the needle.
		// A search reads every row of the site: in the table's order (+site keeps
		// SQLite off the indexes, whose order would cost a lookup a row), then sorts
		// what it keeps.
		// A device's tags are searched too ("key=value"), through one list of the
		// site's matching addresses.
		where = "+" + where + ` AND (instr(search, lower(?)) > 0 OR address IN (SELECT address FROM device_tags WHERE site = ? AND instr(lower(key || '=' || value), lower(?)) > 0))`
		args = append(args, q.Q, q.Site, q.Q)
	}
	if len(q.Tags) > 0 {
		w, a := tagFilter(q.Site, q.Tags)
		where += w
		args = append(args, a...)
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
	// The page's ids are sorted first, and only its rows read whole: a sort deep into
	// the table holds keys, not rows.
	order := deviceOrder[q.Sort] + ` ` + dir + `, address ` + dir
	rows, err := tx.query(ctx, `SELECT `+strings.Join(telemetryrows.DeviceColumns, ", ")+` FROM telemetry_devices WHERE id IN (SELECT id FROM telemetry_devices WHERE `+where+
		` ORDER BY `+order+` LIMIT ? OFFSET ?) ORDER BY `+order, append(args, q.Limit, q.Offset)...)
	if err != nil {
		return nil, fmt.Errorf("devices of %s: %w", q.Site, err)
	}
	defer rows.Close()
	for rows.Next() {
		d, err := telemetryrows.ScanDevice(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("devices of %s: %w", q.Site, err)
		}
		page.Devices = append(page.Devices, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("devices of %s: %w", q.Site, err)
	}
	return page, withTags(ctx, tx, page)
}

// withTags fills the tags of a page's devices.
func withTags(ctx context.Context, tx *tx, page *joule.DevicePage) error {
	addrs := make([]string, len(page.Devices))
	for i, d := range page.Devices {
		addrs[i] = d.Address
	}
	if len(addrs) == 0 {
		return nil
	}
	tags, err := deviceTags(ctx, tx, page.Devices[0].Site, addrs)
	if err != nil {
		return err
	}
	for i := range page.Devices {
		page.Devices[i].Tags = tags[page.Devices[i].Address]
	}
	return nil
}

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
	h := &joule.DeviceHistory{Site: q.Site, Address: q.Address, Resolution: q.Resolution, Points: []joule.HistoryPoint{}}
	from, to := q.From.UnixMilli(), q.To.UnixMilli()
	add := func(r joule.RollupRow) bool {
		if r.AtMS < from || r.AtMS >= to {
			return true
		}
		if len(h.Points) == joule.MaxHistoryPoints {
			h.Truncated = true
			return false
		}
		h.Points = append(h.Points, r.Point())
		return true
	}
	table, width := telemetryrows.TierOf(q.Resolution)
	if width == 0 {
		rows, err := tx.query(ctx, `SELECT `+telemetryrows.RawRowColumns+` FROM telemetry_raw WHERE device = ? AND at >= ? AND at < ? ORDER BY at LIMIT ?`, id, from, to, joule.MaxHistoryPoints+1)
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", q.Address, err)
		}
		defer rows.Close()
		for rows.Next() {
			r, err := telemetryrows.ScanRaw(rows.Scan)
			if err != nil {
				return nil, fmt.Errorf("history of %s: %w", q.Address, err)
			}
			if !add(r) {
				break
			}
		}
		return h, rows.Err()
	}
	unit := joule.RollupUnit(width).Milliseconds()
	rows, err := tx.query(ctx, `SELECT at, points FROM `+table+` WHERE device = ? AND at > ? AND at < ? ORDER BY at`, id, from-unit, to)
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", q.Address, err)
	}
	defer rows.Close()
	for rows.Next() {
		var at int64
		var blob []byte
		if err := rows.Scan(&at, &blob); err != nil {
			return nil, fmt.Errorf("history of %s: %w", q.Address, err)
		}
		points, err := joule.DecodeRollups(blob, at, width)
		if err != nil {
			return nil, fmt.Errorf("history of %s: %w", q.Address, err)
		}
		for _, p := range points {
			if !add(p) {
				return h, nil
			}
		}
	}
	return h, rows.Err()
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
	for i, tier := range telemetryrows.Tiers {
		w := tier.Width.Milliseconds()
		end := now - now%w
		var through sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT through FROM telemetry_rollups WHERE tier = ?`, tier.Name).Scan(&through)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("rollup %s: %w", tier.Name, err)
		}
		var start int64
		if through.Valid {
			start = through.Int64 - telemetryrows.RollupGraceMS
		} else if err := tx.QueryRowContext(ctx, `SELECT coalesce(min((SELECT min(at) FROM `+tier.From+` x WHERE x.device = d.id)), ?) FROM telemetry_devices d`, end).Scan(&start); err != nil {
			return nil, fmt.Errorf("rollup %s: %w", tier.Name, err)
		}
		start -= start % w
		unit := joule.RollupUnit(tier.Width).Milliseconds()
		for u := start - start%unit; u < end; u += unit {
			lo, hi := max(start, u), min(end, u+unit)
			fresh, err := s.sourcePoints(ctx, tx, i, lo, hi)
			if err != nil {
				return nil, fmt.Errorf("rollup %s: %w", tier.Name, err)
			}
			n, err := s.writeUnit(ctx, tx, tier.Table, tier.Width, u, lo, hi, fresh)
			if err != nil {
				return nil, fmt.Errorf("rollup %s: %w", tier.Name, err)
			}
			if i == 0 {
				out.FiveMinuteRows += n
			} else {
				out.HourlyRows += n
			}
		}
		if _, err := tx.exec(ctx, `INSERT INTO telemetry_rollups (tier, through) VALUES (?, ?) ON CONFLICT (tier) DO UPDATE SET through = excluded.through`, tier.Name, end); err != nil {
			return nil, fmt.Errorf("rollup %s: %w", tier.Name, err)
		}
	}
	for _, d := range []struct {
		table string
		keep  time.Duration
		unit  time.Duration // a row's span: it goes once all of it is older than keep
		n     *int64
	}{{"telemetry_raw", r.Raw, 0, &out.DeletedRaw}, {"telemetry_5m", r.FiveMinute, time.Hour, &out.DeletedFiveMinute}, {"telemetry_1h", r.Hourly, 24 * time.Hour, &out.DeletedHourly}} {
		// A row goes once the last of its span is older than keep: at + unit <= cutoff.
		res, err := tx.exec(ctx, `DELETE FROM `+d.table+` WHERE device IN (SELECT id FROM telemetry_devices) AND at <= ?`, now-d.keep.Milliseconds()-max(d.unit.Milliseconds(), 1))
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

// sourcePoints rolls the source of telemetryrows.Tiers[i] between lo and hi (unix ms) up into that
// tier's buckets, by device.
func (s *TelemetryService) sourcePoints(ctx context.Context, tx *tx, i int, lo, hi int64) (map[int64][]joule.RollupRow, error) {
	byDevice := map[int64][]joule.RollupRow{}
	if i == 0 {
		rows, err := tx.query(ctx, `SELECT device, `+telemetryrows.RawRowColumns+` FROM telemetry_raw WHERE device IN (SELECT id FROM telemetry_devices) AND at >= ? AND at < ? ORDER BY device, at`, lo, hi)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var dev int64
			r, err := telemetryrows.ScanRaw(rows.Scan, &dev)
			if err != nil {
				return nil, err
			}
			byDevice[dev] = append(byDevice[dev], r)
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	} else {
		from := telemetryrows.Tiers[i-1]
		unit := joule.RollupUnit(from.Width).Milliseconds()
		rows, err := tx.query(ctx, `SELECT device, at, points FROM `+from.Table+` WHERE device IN (SELECT id FROM telemetry_devices) AND at > ? AND at < ? ORDER BY device, at`, lo-unit, hi)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var dev, at int64
			var blob []byte
			if err := rows.Scan(&dev, &at, &blob); err != nil {
				return nil, err
			}
			points, err := joule.DecodeRollups(blob, at, from.Width)
			if err != nil {
				return nil, err
			}
			for _, p := range points {
				if p.AtMS >= lo && p.AtMS < hi {
					byDevice[dev] = append(byDevice[dev], p)
				}
			}
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	for dev, rs := range byDevice {
		byDevice[dev] = joule.RollupSamples(rs, telemetryrows.Tiers[i].Width)
	}
	return byDevice, nil
}

// writeUnit writes the rows of table's unit that starts at u for the devices of
// fresh: their stored points outside [lo, hi) with fresh's inside. It returns the
// points written.
func (s *TelemetryService) writeUnit(ctx context.Context, tx *tx, table string, width time.Duration, u, lo, hi int64, fresh map[int64][]joule.RollupRow) (int64, error) {
	if len(fresh) == 0 {
		return 0, nil
	}
	old := map[int64][]byte{}
	rows, err := tx.query(ctx, `SELECT device, points FROM `+table+` WHERE device IN (SELECT id FROM telemetry_devices) AND at = ?`, u)
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var dev int64
		var blob []byte
		if err := rows.Scan(&dev, &blob); err != nil {
			rows.Close()
			return 0, err
		}
		if _, ok := fresh[dev]; ok {
			old[dev] = blob
		}
	}
	if err := rows.Close(); err != nil {
		return 0, err
	}
	devs := make([]int64, 0, len(fresh))
	for dev := range fresh {
		devs = append(devs, dev)
	}
	slices.Sort(devs)
	var written int64
	const batch = 300
	for len(devs) > 0 {
		n := min(len(devs), batch)
		args := make([]any, 0, 3*n)
		for _, dev := range devs[:n] {
			points := fresh[dev]
			if blob, ok := old[dev]; ok {
				prev, err := joule.DecodeRollups(blob, u, width)
				if err != nil {
					return 0, err
				}
				points = joule.MergeRollups(prev, points, lo, hi)
			}
			written += int64(len(fresh[dev]))
			args = append(args, dev, u, joule.EncodeRollups(points, u, width))
		}
		if _, err := tx.exec(ctx, `INSERT INTO `+table+` (device, at, points) VALUES `+valuesList(n, 3)+` ON CONFLICT (device, at) DO UPDATE SET points = excluded.points`, args...); err != nil {
			return 0, err
		}
		devs = devs[n:]
	}
	return written, nil
}
