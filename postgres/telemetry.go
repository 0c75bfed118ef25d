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
	"github.com/joule-site/joule/telemetryrows"
)

// TelemetryService keeps every device's latest sample and its history in three telemetryrows.Tiers
// (migration 0007). It implements joule.TelemetryService.
type TelemetryService struct {
	db *DB
}

var _ joule.TelemetryService = (*TelemetryService)(nil)

// NewTelemetryService returns a TelemetryService on db.
func NewTelemetryService(db *DB) *TelemetryService { return &TelemetryService{db: db} }

// upsertDevicesSQL inserts devices from arrays ($1 the site, then one array per
// column after it) and, for one already known, takes a sample's figures only when it
// is at least as new as the one kept; it returns every row's id.
var upsertDevicesSQL = func() string {
	sets, arrays := []string{}, []string{}
	for _, c := range telemetryrows.DeviceColumns[2:] {
		sets = append(sets, fmt.Sprintf("%s = CASE WHEN excluded.at >= telemetry_devices.at THEN excluded.%s ELSE telemetry_devices.%s END", c, c, c))
	}
	for i, c := range telemetryrows.DeviceColumns[1:] {
		typ := "bigint[]"
		if slices.Contains([]string{"address", "fleet", "pool", "pool_state", "firmware", "firmware_version"}, c) {
			typ = "text[]"
		}
		arrays = append(arrays, fmt.Sprintf("$%d::%s", i+2, typ))
	}
	return "INSERT INTO telemetry_devices (" + strings.Join(telemetryrows.DeviceColumns, ", ") + ") SELECT $1, * FROM unnest(" + strings.Join(arrays, ", ") +
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
		rows[i] = append([]any{ids[samples[i].Address]}, telemetryrows.RawValues(&samples[i])...)
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
		rows[i] = telemetryrows.DeviceValues(&latest[i])[1:]
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

// deviceOrder is the SQL each sort key orders by, the address breaking ties: each
// has an index of migration 0007 (the same expression).
var deviceOrder = map[joule.DeviceSort]string{
	joule.DeviceSortAddress:  "address",
	joule.DeviceSortFleet:    "fleet",
	joule.DeviceSortFirmware: "firmware",
	joule.DeviceSortPool:     "pool",
	joule.DeviceSortState:    "state",
	joule.DeviceSortTemp:     "deci_c",
	joule.DeviceSortHashrate: "CASE WHEN expected_ghs > 0 THEN ghs::float8 / expected_ghs ELSE -1 END",
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
		// search is the four columns lower-cased; lower() of text COLLATE "C" changes
		// ASCII letters only, as SQLite's does.
		// A device's tags are searched too ("key=value"), through one list of the
		// site's matching addresses.
		args = append(args, q.Q)
		where += fmt.Sprintf(` AND (strpos(search, lower($%d COLLATE "C")) > 0 OR address IN (SELECT address FROM device_tags WHERE site = $1 AND strpos(lower(key || '=' || value), lower($%d COLLATE "C")) > 0))`, len(args), len(args))
	}
	if len(q.Tags) > 0 {
		w, a := tagFilter(q.Site, q.Tags, len(args))
		where += w
		args = append(args, a...)
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
	// The page's ids are sorted first, off the key's index (which includes the id, so
	// that the heap is not read for the rows skipped), and only its rows read whole.
	order := fmt.Sprintf(`%s %s, address %s`, deviceOrder[q.Sort], dir, dir)
	rows, err := tx.query(ctx, `SELECT `+strings.Join(telemetryrows.DeviceColumns, ", ")+` FROM telemetry_devices WHERE id IN (SELECT id FROM telemetry_devices WHERE `+where+
		fmt.Sprintf(` ORDER BY %s LIMIT $%d OFFSET $%d) ORDER BY %s`, order, len(args)+1, len(args)+2, order), append(args, q.Limit, q.Offset)...)
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
	rows.Close()
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
	defer tx.rollback(ctx)
	var id int64
	err = tx.queryRow(ctx, `SELECT id FROM telemetry_devices WHERE site = $1 AND address = $2`, q.Site, q.Address).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
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
		rows, err := tx.query(ctx, `SELECT `+telemetryrows.RawRowColumns+` FROM telemetry_raw WHERE device = $1 AND at >= $2 AND at < $3 ORDER BY at LIMIT $4`, id, from, to, joule.MaxHistoryPoints+1)
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
	rows, err := tx.query(ctx, `SELECT at, points FROM `+table+` WHERE device = $1 AND at > $2 AND at < $3 ORDER BY at`, id, from-unit, to)
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
	defer tx.rollback(ctx)
	now := tx.now.UnixMilli()
	out := &joule.RollupResult{}
	for i, tier := range telemetryrows.Tiers {
		w := tier.Width.Milliseconds()
		end := now - now%w
		var through *int64
		err := tx.queryRow(ctx, `SELECT through FROM telemetry_rollups WHERE tier = $1`, tier.Name).Scan(&through)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("rollup %s: %w", tier.Name, err)
		}
		var start int64
		if through != nil {
			start = *through - telemetryrows.RollupGraceMS
		} else if err := tx.queryRow(ctx, `SELECT coalesce(min((SELECT min(at) FROM `+tier.From+` x WHERE x.device = d.id)), $1) FROM telemetry_devices d`, end).Scan(&start); err != nil {
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
		if _, err := tx.exec(ctx, `INSERT INTO telemetry_rollups (tier, through) VALUES ($1, $2) ON CONFLICT (tier) DO UPDATE SET through = excluded.through`, tier.Name, end); err != nil {
			return nil, fmt.Errorf("rollup %s: %w", tier.Name, err)
		}
	}
	for _, d := range []struct {
		table string
		keep  time.Duration
		unit  time.Duration // a row's span: it goes once all of it is older than keep
		n     *int64
	}{{"telemetry_raw", r.Raw, 0, &out.DeletedRaw}, {"telemetry_5m", r.FiveMinute, time.Hour, &out.DeletedFiveMinute}, {"telemetry_1h", r.Hourly, 24 * time.Hour, &out.DeletedHourly}} {
		// A row goes once the last of its span is older than keep: at + unit <= cutoff
		// (the BRIN index on at finds the old rows).
		res, err := tx.exec(ctx, `DELETE FROM `+d.table+` WHERE at <= $1`, now-d.keep.Milliseconds()-max(d.unit.Milliseconds(), 1))
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

// sourcePoints rolls the source of telemetryrows.Tiers[i] between lo and hi (unix ms) up into that
// tier's buckets, by device.
func (s *TelemetryService) sourcePoints(ctx context.Context, tx *tx, i int, lo, hi int64) (map[int64][]joule.RollupRow, error) {
	byDevice := map[int64][]joule.RollupRow{}
	if i == 0 {
		rows, err := tx.query(ctx, `SELECT device, `+telemetryrows.RawRowColumns+` FROM telemetry_raw WHERE at >= $1 AND at < $2 ORDER BY device, at`, lo, hi)
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
		rows, err := tx.query(ctx, `SELECT device, at, points FROM `+from.Table+` WHERE at > $1 AND at < $2 ORDER BY device, at`, lo-unit, hi)
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
	rows, err := tx.query(ctx, `SELECT device, points FROM `+table+` WHERE at = $1`, u)
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
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	devs := make([]int64, 0, len(fresh))
	for dev := range fresh {
		devs = append(devs, dev)
	}
	slices.Sort(devs)
	var written int64
	at, blobs := make([]int64, len(devs)), make([][]byte, len(devs))
	for i, dev := range devs {
		points := fresh[dev]
		if blob, ok := old[dev]; ok {
			prev, err := joule.DecodeRollups(blob, u, width)
			if err != nil {
				return 0, err
			}
			points = joule.MergeRollups(prev, points, lo, hi)
		}
		written += int64(len(fresh[dev]))
		at[i], blobs[i] = u, joule.EncodeRollups(points, u, width)
	}
	if _, err := tx.exec(ctx, `INSERT INTO `+table+` (device, at, points) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[])
		ON CONFLICT (device, at) DO UPDATE SET points = excluded.points`, devs, at, blobs); err != nil {
		return 0, err
	}
	return written, nil
}
