package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/joule-site/joule"
)

// LiveService stores demand-response events, plans and the audit log. It implements
// joule.LiveService.
type LiveService struct {
	db *DB
}

var _ joule.LiveService = (*LiveService)(nil)

// NewLiveService returns a LiveService on db.
func NewLiveService(db *DB) *LiveService { return &LiveService{db: db} }

// CreateDemandResponse stores an event, with who declared it and its ShedFirm, and sets
// its ID and CreatedAt.
func (s *LiveService) CreateDemandResponse(ctx context.Context, dr *joule.DemandResponse) error {
	if dr.ReduceToW < 0 {
		return joule.Errorf(joule.EINVALID, "demand response: the level must not be negative")
	}
	if !dr.End.IsZero() && !dr.End.After(dr.Deadline) {
		return joule.Errorf(joule.EINVALID, "demand response: the end must be after the deadline")
	}
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if site, err := findSite(ctx, tx, dr.Site); err != nil {
		return err
	} else if site == nil {
		return siteNotFound(dr.Site)
	}
	dr.CreatedAt = s.db.Now().UTC()
	end := ""
	if !dr.End.IsZero() {
		end = formatTime(dr.End)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO demand_responses (site, reduce_to_w, deadline, end_at, created_at, created_by, shed_firm) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		dr.Site, int64(dr.ReduceToW), formatTime(dr.Deadline), end, formatTime(dr.CreatedAt), dr.By, dr.ShedFirm)
	if err != nil {
		return fmt.Errorf("create demand response: %w", err)
	}
	if dr.ID, err = res.LastInsertId(); err != nil {
		return fmt.Errorf("create demand response: %w", err)
	}
	return tx.Commit()
}

// DemandResponses returns the site's events that have not ended at t, by deadline.
func (s *LiveService) DemandResponses(ctx context.Context, site string, t time.Time) ([]*joule.DemandResponse, error) {
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	return scanDemandResponses(tx.QueryContext(ctx, `SELECT `+drColumns+` FROM demand_responses
		WHERE site = ? AND (end_at = '' OR end_at > ?) ORDER BY deadline, id`, site, formatTime(t)))
}

// DemandResponseHistory returns the site's newest n events, newest first.
func (s *LiveService) DemandResponseHistory(ctx context.Context, site string, n int) ([]*joule.DemandResponse, error) {
	if n <= 0 || n > joule.MaxAuditQuery {
		return nil, joule.Errorf(joule.EINVALID, "history: from 1 to %d events, not %d", joule.MaxAuditQuery, n)
	}
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	return scanDemandResponses(tx.QueryContext(ctx, `SELECT `+drColumns+` FROM demand_responses WHERE site = ? ORDER BY id DESC LIMIT ?`, site, n))
}

func scanDemandResponses(rows *sql.Rows, err error) ([]*joule.DemandResponse, error) {
	if err != nil {
		return nil, fmt.Errorf("demand responses: %w", err)
	}
	defer rows.Close()
	out := []*joule.DemandResponse{}
	for rows.Next() {
		dr, err := scanDemandResponse(rows)
		if err != nil {
			return nil, fmt.Errorf("demand responses: %w", err)
		}
		out = append(out, dr)
	}
	return out, rows.Err()
}

// CancelDemandResponse ends the site's event id at t and records when it was
// cancelled. An event with no end, or one that would have ended after t, ends at t.
func (s *LiveService) CancelDemandResponse(ctx context.Context, site string, id int64, at time.Time) (*joule.DemandResponse, error) {
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	dr, err := scanDemandResponse(tx.QueryRowContext(ctx, `SELECT `+drColumns+` FROM demand_responses WHERE site = ? AND id = ?`, site, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, joule.Errorf(joule.ENOTFOUND, "site %q has no demand-response event %d", site, id)
	case err != nil:
		return nil, fmt.Errorf("cancel demand response: %w", err)
	case !dr.CancelledAt.IsZero():
		return nil, joule.Errorf(joule.ECONFLICT, "demand-response event %d was cancelled at %s", id, dr.CancelledAt.Format(time.RFC3339))
	case !dr.End.IsZero() && !dr.End.After(at):
		return nil, joule.Errorf(joule.ECONFLICT, "demand-response event %d ended at %s", id, dr.End.Format(time.RFC3339))
	}
	dr.End, dr.CancelledAt = at.UTC(), at.UTC()
	if _, err := tx.ExecContext(ctx, `UPDATE demand_responses SET end_at = ?, cancelled_at = ? WHERE id = ?`, formatTime(dr.End), formatTime(dr.CancelledAt), id); err != nil {
		return nil, fmt.Errorf("cancel demand response: %w", err)
	}
	return dr, tx.Commit()
}

const drColumns = `id, site, reduce_to_w, deadline, end_at, created_at, cancelled_at, created_by, shed_firm`

// scanDemandResponse reads one row of drColumns.
func scanDemandResponse(row interface{ Scan(...any) error }) (*joule.DemandResponse, error) {
	var dr joule.DemandResponse
	var w int64
	var deadline, end, created, cancelled string
	if err := row.Scan(&dr.ID, &dr.Site, &w, &deadline, &end, &created, &cancelled, &dr.By, &dr.ShedFirm); err != nil {
		return nil, err
	}
	dr.ReduceToW = joule.Watts(w)
	var err error
	if dr.Deadline, err = parseTime(deadline); err != nil {
		return nil, err
	}
	if dr.CreatedAt, err = parseTime(created); err != nil {
		return nil, err
	}
	for _, t := range []struct {
		s   string
		out *time.Time
	}{{end, &dr.End}, {cancelled, &dr.CancelledAt}} {
		if t.s == "" {
			continue
		}
		if *t.out, err = parseTime(t.s); err != nil {
			return nil, err
		}
	}
	return &dr, nil
}

// SavePlan stores p with the site's next sequence number, which it sets.
func (s *LiveService) SavePlan(ctx context.Context, p *joule.SitePlan) error {
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var last sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(seq) FROM plans WHERE site = ?`, p.Site).Scan(&last); err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	p.Seq = last.Int64 + 1
	data, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO plans (site, seq, at, plan) VALUES (?, ?, ?, ?)`, p.Site, p.Seq, formatTime(p.At), string(data)); err != nil {
		return fmt.Errorf("save plan: %w", err)
	}
	return tx.Commit()
}

// LatestPlan returns the site's newest plan, or ENOTFOUND.
func (s *LiveService) LatestPlan(ctx context.Context, site string) (*joule.SitePlan, error) {
	plans, err := s.Plans(ctx, site, time.Time{}, 1)
	if err != nil {
		return nil, err
	}
	if len(plans) == 0 {
		return nil, joule.Errorf(joule.ENOTFOUND, "site %q has no plan yet", site)
	}
	return plans[0], nil
}

// Plans returns the site's newest plans at or after since, at most limit (1000 when
// not positive), oldest first.
func (s *LiveService) Plans(ctx context.Context, site string, since time.Time, limit int) ([]*joule.SitePlan, error) {
	if limit <= 0 {
		limit = 1000
	}
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT plan FROM plans WHERE site = ? AND at >= ? ORDER BY seq DESC LIMIT ?`, site, formatTime(since), limit)
	if err != nil {
		return nil, fmt.Errorf("plans: %w", err)
	}
	defer rows.Close()
	out := []*joule.SitePlan{}
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, fmt.Errorf("plans: %w", err)
		}
		var p joule.SitePlan
		if err := json.Unmarshal([]byte(data), &p); err != nil {
			return nil, fmt.Errorf("plans: %w", err)
		}
		out = append(out, &p)
	}
	slices.Reverse(out)
	return out, rows.Err()
}

// Prune deletes plans made before t, keeping each site's newest plan, and audit events
// recorded before t.
func (s *LiveService) Prune(ctx context.Context, t time.Time) (plans, audit int64, err error) {
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer tx.Rollback()
	before := formatTime(t)
	res, err := tx.ExecContext(ctx, `DELETE FROM plans WHERE at < ? AND seq < (SELECT MAX(seq) FROM plans AS newest WHERE newest.site = plans.site)`, before)
	if err != nil {
		return 0, 0, fmt.Errorf("prune plans: %w", err)
	}
	plans, _ = res.RowsAffected()
	// Audit rows age by the server's clock: an agent's own time says nothing of when a
	// row reached the log (a spooled row arrives late; a clock may be off).
	if res, err = tx.ExecContext(ctx, `DELETE FROM audit WHERE (CASE recorded_at WHEN '' THEN at ELSE recorded_at END) < ?`, before); err != nil {
		return 0, 0, fmt.Errorf("prune audit: %w", err)
	}
	audit, _ = res.RowsAffected()
	if _, err = tx.ExecContext(ctx, `DELETE FROM power_readings WHERE at < ?`, t.UnixMilli()); err != nil {
		return 0, 0, fmt.Errorf("prune power readings: %w", err)
	}
	return plans, audit, tx.Commit()
}

// AppendAudit stores events in one transaction and sets their IDs; an event without a
// time or a recorded time gets the store's clock. An event whose Key the site's log
// holds already is not stored again and takes the stored row's ID and RecordedAt.
func (s *LiveService) AppendAudit(ctx context.Context, events ...*joule.Audit) error {
	if len(events) == 0 {
		return nil
	}
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := appendAudit(ctx, tx, events...); err != nil {
		return err
	}
	return tx.Commit()
}

// appendAudit adds events to the audit log in tx and sets their IDs: the live
// services' rows, and the exchange's in the transaction of the change they record.
// An event without a time or a recorded time gets the store's clock; a nil event is
// skipped; one whose Key the site's log holds already is not stored again.
func appendAudit(ctx context.Context, tx *tx, events ...*joule.Audit) error {
	for _, e := range events {
		if e == nil {
			continue
		}
		if e.At.IsZero() {
			e.At = tx.now
		}
		if e.RecordedAt.IsZero() {
			e.RecordedAt = tx.now
		}
		if err := insertAudit(ctx, tx, e); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	return nil
}

// insertAudit stores e and sets its ID; an event whose Key the site's log holds
// already takes the stored row's ID and RecordedAt instead (an agent sent it twice).
func insertAudit(ctx context.Context, tx *tx, e *joule.Audit) error {
	rows, err := tx.query(ctx, `INSERT INTO audit (site, at, kind, seq, device, outcome, reason, actor, detail, row_key, recorded_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (site, row_key) WHERE row_key <> '' DO NOTHING RETURNING id`,
		e.Site, formatTime(e.At), string(e.Kind), e.Seq, e.Device, string(e.Outcome), e.Reason, e.Actor, e.Detail, e.Key, formatTime(e.RecordedAt))
	if err != nil {
		return err
	}
	stored := rows.Next()
	if stored {
		err = rows.Scan(&e.ID)
	}
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = rows.Err()
	}
	if err != nil || stored {
		return err
	}
	var recorded string
	if err := tx.QueryRowContext(ctx, `SELECT id, recorded_at FROM audit WHERE site = ? AND row_key = ?`, e.Site, e.Key).Scan(&e.ID, &recorded); err != nil {
		return err
	}
	if recorded != "" {
		e.RecordedAt, err = parseTime(recorded)
	}
	return err
}

// Audit returns the events q selects, oldest first.
func (s *LiveService) Audit(ctx context.Context, q joule.AuditQuery) ([]*joule.Audit, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	if q.Limit <= 0 {
		q.Limit = joule.MaxAuditQuery
	}
	where, args := "site = ? AND id > ?", []any{q.Site, q.After}
	if len(q.Kinds) > 0 {
		where += " AND kind IN (SELECT value FROM json_each(?))"
		args = append(args, jsonList(kindNames(q.Kinds)))
	}
	if q.Device != "" {
		where += " AND device = ?"
		args = append(args, q.Device)
	}
	order := "id"
	if q.Tail {
		order = "id DESC"
	}
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	out, err := scanAudit(tx.QueryContext(ctx, `SELECT `+auditColumns+` FROM audit WHERE `+where+` ORDER BY `+order+` LIMIT ?`, append(args, q.Limit)...))
	if q.Tail {
		slices.Reverse(out)
	}
	return out, err
}

func kindNames(kinds []joule.AuditKind) []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = string(k)
	}
	return out
}

const auditColumns = `id, site, at, kind, seq, device, outcome, reason, actor, detail, row_key, recorded_at`

func scanAudit(rows *sql.Rows, err error) ([]*joule.Audit, error) {
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	defer rows.Close()
	out := []*joule.Audit{}
	for rows.Next() {
		var e joule.Audit
		var at, kind, outcome, recorded string
		if err := rows.Scan(&e.ID, &e.Site, &at, &kind, &e.Seq, &e.Device, &outcome, &e.Reason, &e.Actor, &e.Detail, &e.Key, &recorded); err != nil {
			return nil, fmt.Errorf("audit log: %w", err)
		}
		e.Kind, e.Outcome = joule.AuditKind(kind), joule.AuditOutcome(outcome)
		if e.At, err = parseTime(at); err != nil {
			return nil, err
		}
		if recorded != "" {
			if e.RecordedAt, err = parseTime(recorded); err != nil {
				return nil, err
			}
		}
		out = append(out, &e)
	}
	return out, rows.Err()
}

// SaveDeviceReport keeps r as its site's newest census, replacing the one before.
func (s *LiveService) SaveDeviceReport(ctx context.Context, r *joule.DeviceReport) error {
	utc := *r
	utc.At = r.At.UTC()
	data, err := json.Marshal(&utc)
	if err != nil {
		return fmt.Errorf("save device report: %w", err)
	}
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if site, err := findSite(ctx, tx, r.Site); err != nil {
		return err
	} else if site == nil {
		return siteNotFound(r.Site)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO device_reports (site, at, report) VALUES (?, ?, ?)
		ON CONFLICT (site) DO UPDATE SET at = excluded.at, report = excluded.report`, r.Site, formatTime(r.At), string(data)); err != nil {
		return fmt.Errorf("save device report: %w", err)
	}
	if err := savePowerReading(ctx, tx, r); err != nil {
		return err
	}
	return tx.Commit()
}

// DeviceReport returns the site's newest census, or ENOTFOUND before the first.
func (s *LiveService) DeviceReport(ctx context.Context, site string) (*joule.DeviceReport, error) {
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var data string
	switch err := tx.QueryRowContext(ctx, `SELECT report FROM device_reports WHERE site = ?`, site).Scan(&data); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, joule.Errorf(joule.ENOTFOUND, "site %s: no agent has reported its devices yet", site)
	case err != nil:
		return nil, fmt.Errorf("device report: %w", err)
	}
	var r joule.DeviceReport
	if err := json.Unmarshal([]byte(data), &r); err != nil {
		return nil, fmt.Errorf("device report: %w", err)
	}
	return &r, nil
}
