package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
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

// CreateDemandResponse stores an event and sets its ID and CreatedAt.
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
	res, err := tx.ExecContext(ctx, `INSERT INTO demand_responses (site, reduce_to_w, deadline, end_at, created_at) VALUES (?, ?, ?, ?, ?)`,
		dr.Site, int64(dr.ReduceToW), formatTime(dr.Deadline), end, formatTime(dr.CreatedAt))
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
	rows, err := tx.QueryContext(ctx, `SELECT id, site, reduce_to_w, deadline, end_at, created_at FROM demand_responses
		WHERE site = ? AND (end_at = '' OR end_at > ?) ORDER BY deadline, id`, site, formatTime(t))
	if err != nil {
		return nil, fmt.Errorf("demand responses: %w", err)
	}
	defer rows.Close()
	out := []*joule.DemandResponse{}
	for rows.Next() {
		var dr joule.DemandResponse
		var w int64
		var deadline, end, created string
		if err := rows.Scan(&dr.ID, &dr.Site, &w, &deadline, &end, &created); err != nil {
			return nil, fmt.Errorf("demand responses: %w", err)
		}
		dr.ReduceToW = joule.Watts(w)
		if dr.Deadline, err = parseTime(deadline); err != nil {
			return nil, err
		}
		if end != "" {
			if dr.End, err = parseTime(end); err != nil {
				return nil, err
			}
		}
		if dr.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		out = append(out, &dr)
	}
	return out, rows.Err()
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

// Prune deletes plans and audit events made before t, keeping each site's newest plan.
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
	if res, err = tx.ExecContext(ctx, `DELETE FROM audit WHERE at < ?`, before); err != nil {
		return 0, 0, fmt.Errorf("prune audit: %w", err)
	}
	audit, _ = res.RowsAffected()
	return plans, audit, tx.Commit()
}

// AppendAudit stores events in one transaction and sets their IDs; an event without
// a time gets the store's clock.
func (s *LiveService) AppendAudit(ctx context.Context, events ...*joule.Audit) error {
	if len(events) == 0 {
		return nil
	}
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO audit (site, at, kind, seq, device, detail) VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	defer stmt.Close()
	for _, e := range events {
		if e.At.IsZero() {
			e.At = s.db.Now().UTC()
		}
		res, err := stmt.ExecContext(ctx, e.Site, formatTime(e.At), string(e.Kind), e.Seq, e.Device, e.Detail)
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		if e.ID, err = res.LastInsertId(); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	return tx.Commit()
}

// AuditLog returns a site's events after afterID, oldest first, at most limit.
func (s *LiveService) AuditLog(ctx context.Context, site string, afterID int64, limit int) ([]*joule.Audit, error) {
	if limit <= 0 {
		limit = 1000
	}
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	return scanAudit(tx.QueryContext(ctx, `SELECT id, site, at, kind, seq, device, detail FROM audit WHERE site = ? AND id > ? ORDER BY id LIMIT ?`, site, afterID, limit))
}

// AuditTail returns a site's newest n events (1000 when not positive), oldest first.
func (s *LiveService) AuditTail(ctx context.Context, site string, n int) ([]*joule.Audit, error) {
	if n <= 0 {
		n = 1000
	}
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	out, err := scanAudit(tx.QueryContext(ctx, `SELECT id, site, at, kind, seq, device, detail FROM audit WHERE site = ? ORDER BY id DESC LIMIT ?`, site, n))
	slices.Reverse(out)
	return out, err
}

func scanAudit(rows *sql.Rows, err error) ([]*joule.Audit, error) {
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	defer rows.Close()
	out := []*joule.Audit{}
	for rows.Next() {
		var e joule.Audit
		var at, kind string
		if err := rows.Scan(&e.ID, &e.Site, &at, &kind, &e.Seq, &e.Device, &e.Detail); err != nil {
			return nil, fmt.Errorf("audit log: %w", err)
		}
		e.Kind = joule.AuditKind(kind)
		if e.At, err = parseTime(at); err != nil {
			return nil, err
		}
		out = append(out, &e)
	}
	return out, rows.Err()
}
