package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/joule-site/joule"
)

// DeviceControlService keeps device tags, bulk actions and holds (migration 0009). It
// implements joule.DeviceControlService. A selection of devices travels as one array
// parameter, however many devices it names.
type DeviceControlService struct {
	db *DB
}

var _ joule.DeviceControlService = (*DeviceControlService)(nil)

// NewDeviceControlService returns a DeviceControlService on db.
func NewDeviceControlService(db *DB) *DeviceControlService { return &DeviceControlService{db: db} }

// requireSite fails with ENOTFOUND when site is not declared.
func requireSite(ctx context.Context, tx *tx, site string) error {
	var one int
	err := tx.queryRow(ctx, `SELECT 1 FROM sites WHERE name = $1`, site).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return siteNotFound(site)
	}
	return err
}

// SetDeviceTags sets tags, as set live, on each device addresses names.
func (s *DeviceControlService) SetDeviceTags(ctx context.Context, site string, addresses []string, tags map[string]string) (int, error) {
	addrs, err := joule.CheckAddresses(addresses)
	if err != nil {
		return 0, err
	}
	if err := joule.CheckTags(tags); err != nil {
		return 0, err
	}
	if len(tags) == 0 {
		return 0, joule.Errorf(joule.EINVALID, "tags: at least one key=value")
	}
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.rollback(ctx)
	if err := requireSite(ctx, tx, site); err != nil {
		return 0, err
	}
	for k, v := range tags {
		if _, err := tx.exec(ctx, `INSERT INTO device_tags (site, address, key, source, value)
			SELECT $1, a, $2, 'api', $3 FROM unnest($4::text[]) AS a
			ON CONFLICT (site, address, key, source) DO UPDATE SET value = excluded.value`, site, k, v, addrs); err != nil {
			return 0, fmt.Errorf("tag devices of %s: %w", site, err)
		}
	}
	if err := checkTagCount(ctx, tx, site, addrs); err != nil {
		return 0, err
	}
	return len(addrs), tx.commit(ctx)
}

// checkTagCount refuses a change that leaves a device of addrs with more keys than
// joule.MaxTagsPerDevice.
func checkTagCount(ctx context.Context, tx *tx, site string, addrs []string) error {
	var addr string
	var n int
	err := tx.queryRow(ctx, `SELECT address, count(DISTINCT key) FROM device_tags
		WHERE site = $1 AND address = ANY($2::text[]) GROUP BY address HAVING count(DISTINCT key) > $3 LIMIT 1`,
		site, addrs, joule.MaxTagsPerDevice).Scan(&addr, &n)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil
	case err != nil:
		return err
	}
	return joule.Errorf(joule.EINVALID, "tags: %s would carry %d tags, at most %d", addr, n, joule.MaxTagsPerDevice)
}

// DeleteDeviceTags removes the tags of keys set live from each device; with no keys,
// every tag set live. The manifest's tags are the manifest's to change.
func (s *DeviceControlService) DeleteDeviceTags(ctx context.Context, site string, addresses []string, keys []string) (int, error) {
	addrs, err := joule.CheckAddresses(addresses)
	if err != nil {
		return 0, err
	}
	for _, k := range keys {
		if err := joule.CheckTagKey(k); err != nil {
			return 0, err
		}
	}
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.rollback(ctx)
	if err := requireSite(ctx, tx, site); err != nil {
		return 0, err
	}
	q := `DELETE FROM device_tags WHERE site = $1 AND address = ANY($2::text[]) AND `
	args := []any{site, addrs}
	q += `source = 'api'`
	if len(keys) > 0 {
		q += ` AND key = ANY($3::text[])`
		args = append(args, keys)
	}
	tag, err := tx.exec(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("untag devices of %s: %w", site, err)
	}
	return int(tag.RowsAffected()), tx.commit(ctx)
}

// ReplaceManifestTags makes the manifest's tags of site exactly tags.
func (s *DeviceControlService) ReplaceManifestTags(ctx context.Context, site string, tags []joule.DeviceTags) error {
	var addrs, keys, values []string
	for _, d := range tags {
		if err := joule.CheckTags(d.Tags); err != nil {
			return fmt.Errorf("%s: %w", d.Address, err)
		}
		for k, v := range d.Tags {
			addrs, keys, values = append(addrs, d.Address), append(keys, k), append(values, v)
		}
	}
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.rollback(ctx)
	if err := requireSite(ctx, tx, site); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `DELETE FROM device_tags WHERE site = $1 AND source = 'manifest'`, site); err != nil {
		return fmt.Errorf("manifest tags of %s: %w", site, err)
	}
	if len(addrs) > 0 {
		if _, err := tx.exec(ctx, `INSERT INTO device_tags (site, address, key, source, value)
			SELECT $1, a, k, 'manifest', v FROM unnest($2::text[], $3::text[], $4::text[]) AS t (a, k, v)
			ON CONFLICT (site, address, key, source) DO UPDATE SET value = excluded.value`, site, addrs, keys, values); err != nil {
			return fmt.Errorf("manifest tags of %s: %w", site, err)
		}
	}
	return tx.commit(ctx)
}

// DeviceTags returns the tags of each device named that has any: a tag set live over
// the manifest's of the same key.
func (s *DeviceControlService) DeviceTags(ctx context.Context, site string, addresses []string) (map[string]map[string]string, error) {
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.rollback(ctx)
	return deviceTags(ctx, tx, site, addresses)
}

// deviceTags reads the tags of addresses in tx.
func deviceTags(ctx context.Context, tx *tx, site string, addresses []string) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	if len(addresses) == 0 {
		return out, nil
	}
	// 'api' sorts before 'manifest': the first value of a key read is the one that wins.
	rows, err := tx.query(ctx, `SELECT address, key, value FROM device_tags
		WHERE site = $1 AND address = ANY($2::text[]) ORDER BY address, key, source`, site, addresses)
	if err != nil {
		return nil, fmt.Errorf("tags of %s: %w", site, err)
	}
	defer rows.Close()
	for rows.Next() {
		var a, k, v string
		if err := rows.Scan(&a, &k, &v); err != nil {
			return nil, err
		}
		m := out[a]
		if m == nil {
			m = map[string]string{}
			out[a] = m
		}
		if _, set := m[k]; !set {
			m[k] = v
		}
	}
	return out, rows.Err()
}

// tagFilter is the SQL that keeps the devices carrying every tag of tags (their
// winning value), its parameters numbered after the n args before; "" when there are
// none.
func tagFilter(site string, tags map[string]string, n int) (string, []any) {
	var where []string
	var args []any
	for k, v := range tags {
		where = append(where, fmt.Sprintf(` AND address IN (SELECT t.address FROM device_tags t WHERE t.site = $%d AND t.key = $%d AND t.value = $%d
			AND (t.source = 'api' OR NOT EXISTS (SELECT 1 FROM device_tags o WHERE o.site = t.site AND o.address = t.address AND o.key = t.key AND o.source = 'api')))`,
			n+len(args)+1, n+len(args)+2, n+len(args)+3))
		args = append(args, site, k, v)
	}
	return strings.Join(where, ""), args
}

const actionColumns = `id, site, kind, addresses, limit_w, pool_url, pool_user, by, created_at, status, done_at, sent, verified, failed, failures`

// CreateDeviceAction stores a pending action and sets or ends its holds.
func (s *DeviceControlService) CreateDeviceAction(ctx context.Context, a *joule.DeviceAction) error {
	if err := a.Check(); err != nil {
		return err
	}
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.rollback(ctx)
	if err := requireSite(ctx, tx, a.Site); err != nil {
		return err
	}
	a.CreatedAt, a.Status, a.Sent, a.Verified, a.Failed, a.Failures = tx.now, joule.ActionPending, 0, 0, 0, nil
	if err := tx.queryRow(ctx, `INSERT INTO device_actions (site, kind, addresses, limit_w, pool_url, pool_user, by, created_at, status, done_at, sent, verified, failed, failures)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', '', 0, 0, 0, '[]') RETURNING id`,
		a.Site, string(a.Kind), a.Addresses, int64(a.LimitW), a.PoolURL, a.PoolUser, a.By, formatTime(a.CreatedAt)).Scan(&a.ID); err != nil {
		return fmt.Errorf("action on %s: %w", a.Site, err)
	}
	switch a.Kind {
	case joule.ActionKindSleep, joule.ActionKindPower:
		hold := joule.HoldSleep
		if a.Kind == joule.ActionKindPower {
			hold = joule.HoldPower
		}
		_, err = tx.exec(ctx, `INSERT INTO device_holds (site, address, fleet, hold, limit_w, action_id, since, by)
			SELECT $1, a, coalesce((SELECT d.fleet FROM telemetry_devices d WHERE d.site = $1 AND d.address = a), ''), $2, $3, $4, $5, $6
			FROM unnest($7::text[]) AS a
			ON CONFLICT (site, address) DO UPDATE SET fleet = excluded.fleet, hold = excluded.hold, limit_w = excluded.limit_w, action_id = excluded.action_id,
				since = excluded.since, by = excluded.by`,
			a.Site, hold, int64(a.LimitW), a.ID, formatTime(a.CreatedAt), a.By, a.Addresses)
	case joule.ActionKindWake:
		_, err = tx.exec(ctx, `DELETE FROM device_holds WHERE site = $1 AND address = ANY($2::text[])`, a.Site, a.Addresses)
	}
	if err != nil {
		return fmt.Errorf("holds of action on %s: %w", a.Site, err)
	}
	return tx.commit(ctx)
}

// DeviceActions returns site's newest actions, or its pending ones oldest first.
func (s *DeviceControlService) DeviceActions(ctx context.Context, site string, pending bool, limit int) ([]*joule.DeviceAction, error) {
	if limit < 1 || limit > 1000 {
		return nil, joule.Errorf(joule.EINVALID, "limit: %d is not from 1 to 1000", limit)
	}
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.rollback(ctx)
	q := `SELECT ` + actionColumns + ` FROM device_actions WHERE site = $1 ORDER BY id DESC LIMIT $2`
	if pending {
		q = `SELECT ` + actionColumns + ` FROM device_actions WHERE site = $1 AND status = 'pending' ORDER BY id LIMIT $2`
	}
	rows, err := tx.query(ctx, q, site, limit)
	if err != nil {
		return nil, fmt.Errorf("actions of %s: %w", site, err)
	}
	defer rows.Close()
	out := []*joule.DeviceAction{}
	for rows.Next() {
		a, err := scanAction(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// scanAction reads a row of actionColumns.
func scanAction(scan func(...any) error) (*joule.DeviceAction, error) {
	var a joule.DeviceAction
	var kind, created, done string
	var failures []byte
	var limit, sent, verified, failed int64
	if err := scan(&a.ID, &a.Site, &kind, &a.Addresses, &limit, &a.PoolURL, &a.PoolUser, &a.By, &created, &a.Status, &done,
		&sent, &verified, &failed, &failures); err != nil {
		return nil, err
	}
	a.Kind, a.LimitW, a.Sent, a.Verified, a.Failed = joule.DeviceActionKind(kind), joule.Watts(limit), int(sent), int(verified), int(failed)
	if err := json.Unmarshal(failures, &a.Failures); err != nil {
		return nil, fmt.Errorf("action %d: failures: %w", a.ID, err)
	}
	if len(a.Failures) == 0 {
		a.Failures = nil
	}
	var err error
	if a.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	if done != "" {
		if a.DoneAt, err = parseTime(done); err != nil {
			return nil, err
		}
	}
	return &a, nil
}

// DeviceAction returns one action of site.
func (s *DeviceControlService) DeviceAction(ctx context.Context, site string, id int64) (*joule.DeviceAction, error) {
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.rollback(ctx)
	return findAction(ctx, tx, site, id)
}

func findAction(ctx context.Context, tx *tx, site string, id int64) (*joule.DeviceAction, error) {
	a, err := scanAction(tx.queryRow(ctx, `SELECT `+actionColumns+` FROM device_actions WHERE site = $1 AND id = $2`, site, id).Scan)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, joule.Errorf(joule.ENOTFOUND, "site %s has no action %d", site, id)
	}
	return a, err
}

// CompleteDeviceAction records an agent's result of a pending action.
func (s *DeviceControlService) CompleteDeviceAction(ctx context.Context, site string, id int64, r joule.DeviceActionResult) (*joule.DeviceAction, error) {
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.rollback(ctx)
	a, err := findAction(ctx, tx, site, id)
	if err != nil {
		return nil, err
	}
	if a.Status != joule.ActionPending {
		return nil, joule.Errorf(joule.ECONFLICT, "action %d of %s was reported done at %s", id, site, a.DoneAt.Format("2006-01-02 15:04:05Z07:00"))
	}
	if err := r.Check(a); err != nil {
		return nil, err
	}
	a.Status, a.DoneAt, a.Sent, a.Verified, a.Failed, a.Failures = joule.ActionDone, tx.now, r.Sent, r.Verified, r.Failed, r.Failures
	failures := []byte("[]")
	if len(r.Failures) > 0 {
		if failures, err = json.Marshal(r.Failures); err != nil {
			return nil, err
		}
	}
	if _, err := tx.exec(ctx, `UPDATE device_actions SET status = 'done', done_at = $1, sent = $2, verified = $3, failed = $4, failures = $5 WHERE id = $6`,
		formatTime(a.DoneAt), r.Sent, r.Verified, r.Failed, string(failures), id); err != nil {
		return nil, fmt.Errorf("action %d of %s: %w", id, site, err)
	}
	return a, tx.commit(ctx)
}

// DeviceHolds returns site's holds by address, each with its device's fleet: as the
// device table knew it when the action was asked, or knows it now.
func (s *DeviceControlService) DeviceHolds(ctx context.Context, site string) ([]joule.DeviceHold, error) {
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.rollback(ctx)
	rows, err := tx.query(ctx, `SELECT h.address, CASE WHEN h.fleet <> '' THEN h.fleet ELSE coalesce((SELECT d.fleet FROM telemetry_devices d WHERE d.site = h.site AND d.address = h.address), '') END,
		h.hold, h.limit_w, h.action_id, h.since, h.by FROM device_holds h WHERE h.site = $1 ORDER BY h.address`, site)
	if err != nil {
		return nil, fmt.Errorf("holds of %s: %w", site, err)
	}
	defer rows.Close()
	out := []joule.DeviceHold{}
	for rows.Next() {
		var h joule.DeviceHold
		var since string
		var limit int64
		if err := rows.Scan(&h.Address, &h.Fleet, &h.Hold, &limit, &h.ActionID, &since, &h.By); err != nil {
			return nil, err
		}
		h.LimitW = joule.Watts(limit)
		if h.Since, err = parseTime(since); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}
