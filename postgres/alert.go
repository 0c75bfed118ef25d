package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/joule-site/joule"
)

// AlertService keeps alerts, their transitions and the outbox of transitions to
// deliver (migration 0008). It implements joule.AlertService.
type AlertService struct {
	db *DB
}

var _ joule.AlertService = (*AlertService)(nil)

// NewAlertService returns an AlertService on db.
func NewAlertService(db *DB) *AlertService { return &AlertService{db: db} }

const alertColumns = `id, site, rule, subject, fleet, state, value, threshold, summary, fired_at, acked_at, acked_by, resolved_at`

type scanner interface{ Scan(dest ...any) error }

// alertDest returns an alert, the destinations a row of alertColumns scans into, and
// what finishes the alert once scanned (its times).
func alertDest() (*joule.Alert, []any, func() error) {
	var (
		a                    joule.Alert
		fired, acked, solved string
	)
	dest := []any{&a.ID, &a.Site, &a.Rule, &a.Subject, &a.Fleet, &a.State, &a.Value, &a.Threshold, &a.Summary, &fired, &acked, &a.AckedBy, &solved}
	return &a, dest, func() error {
		for _, t := range []struct {
			s  string
			to *time.Time
		}{{fired, &a.FiredAt}, {acked, &a.AckedAt}, {solved, &a.ResolvedAt}} {
			if t.s == "" {
				continue
			}
			v, err := parseTime(t.s)
			if err != nil {
				return err
			}
			*t.to = v
		}
		return nil
	}
}

func scanAlert(r scanner) (*joule.Alert, error) {
	a, dest, finish := alertDest()
	if err := r.Scan(dest...); err != nil {
		return nil, err
	}
	return a, finish()
}

// openAlert returns the open alert of (site, rule, subject), or nil.
func openAlert(ctx context.Context, t *tx, site string, rule joule.AlertRule, subject string) (*joule.Alert, error) {
	a, err := scanAlert(t.queryRow(ctx, `SELECT `+alertColumns+` FROM alerts WHERE site = $1 AND rule = $2 AND subject = $3 AND state <> 'resolved'`, site, string(rule), subject))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return a, err
}

// transition stores a transition of a, in its outbox, and its audit row.
func transition(ctx context.Context, t *tx, a *joule.Alert, state joule.AlertState, at time.Time, actor string, value float64) error {
	if _, err := t.exec(ctx, `INSERT INTO alert_transitions (alert, state, at, actor, value) VALUES ($1, $2, $3, $4, $5)`,
		a.ID, string(state), formatTime(at), actor, value); err != nil {
		return fmt.Errorf("alert %d: store transition: %w", a.ID, err)
	}
	return insertAudit(ctx, t, joule.AlertAudit(a, state, at, actor, t.now))
}

// RaiseAlert stores a as firing unless its (site, rule, subject) has an open alert.
func (s *AlertService) RaiseAlert(ctx context.Context, a *joule.Alert) (bool, error) {
	if err := joule.ValidateAlert(a); err != nil {
		return false, err
	}
	t, err := s.db.beginWrite(ctx)
	if err != nil {
		return false, err
	}
	defer t.rollback(ctx)
	created, err := raise(ctx, t, a)
	if err != nil || !created {
		return false, err
	}
	return true, t.commit(ctx)
}

// raise is RaiseAlert in t.
func raise(ctx context.Context, t *tx, a *joule.Alert) (bool, error) {
	old, err := openAlert(ctx, t, a.Site, a.Rule, a.Subject)
	if err != nil {
		return false, storeError(err)
	}
	if old != nil {
		*a = *old
		return false, nil
	}
	if a.FiredAt.IsZero() {
		a.FiredAt = t.now
	}
	a.State, a.FiredAt = joule.AlertFiring, a.FiredAt.UTC()
	err = t.queryRow(ctx, `INSERT INTO alerts (site, rule, subject, fleet, state, value, threshold, summary, fired_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		a.Site, string(a.Rule), a.Subject, a.Fleet, string(a.State), a.Value, a.Threshold, a.Summary, formatTime(a.FiredAt)).Scan(&a.ID)
	if err != nil {
		return false, storeError(fmt.Errorf("raise alert: %w", err))
	}
	if err := transition(ctx, t, a, joule.AlertFiring, a.FiredAt, "", a.Value); err != nil {
		return false, storeError(err)
	}
	return true, nil
}

// ResolveAlert resolves the open alert of (site, rule, subject), if any.
func (s *AlertService) ResolveAlert(ctx context.Context, site string, rule joule.AlertRule, subject string, at time.Time, value float64) (*joule.Alert, error) {
	t, err := s.db.beginWrite(ctx)
	if err != nil {
		return nil, err
	}
	defer t.rollback(ctx)
	a, err := resolve(ctx, t, site, joule.AlertResolution{Rule: rule, Subject: subject, Value: value}, at)
	if err != nil || a == nil {
		return nil, err
	}
	return a, t.commit(ctx)
}

// resolve is ResolveAlert in t.
func resolve(ctx context.Context, t *tx, site string, r joule.AlertResolution, at time.Time) (*joule.Alert, error) {
	a, err := openAlert(ctx, t, site, r.Rule, r.Subject)
	if err != nil || a == nil {
		return nil, storeError(err)
	}
	if at.IsZero() {
		at = t.now
	}
	a.State, a.ResolvedAt = joule.AlertResolved, at.UTC()
	if _, err := t.exec(ctx, `UPDATE alerts SET state = 'resolved', resolved_at = $1 WHERE id = $2`, formatTime(a.ResolvedAt), a.ID); err != nil {
		return nil, storeError(fmt.Errorf("resolve alert %d: %w", a.ID, err))
	}
	if err := transition(ctx, t, a, joule.AlertResolved, a.ResolvedAt, "", r.Value); err != nil {
		return nil, storeError(err)
	}
	return a, nil
}

// ChangeAlerts raises and resolves alerts of one site in one transaction.
func (s *AlertService) ChangeAlerts(ctx context.Context, site string, raises []*joule.Alert, resolves []joule.AlertResolution, at time.Time) (created, resolved int, err error) {
	for _, a := range raises {
		if a.Site != site {
			return 0, 0, joule.Errorf(joule.EINVALID, "alert of site %s in a change of site %s", a.Site, site)
		}
		if err := joule.ValidateAlert(a); err != nil {
			return 0, 0, err
		}
	}
	if len(raises)+len(resolves) == 0 {
		return 0, 0, nil
	}
	t, err := s.db.beginWrite(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer t.rollback(ctx)
	for _, a := range raises {
		ok, err := raise(ctx, t, a)
		if err != nil {
			return 0, 0, err
		}
		if ok {
			created++
		}
	}
	for _, r := range resolves {
		a, err := resolve(ctx, t, site, r, at)
		if err != nil {
			return 0, 0, err
		}
		if a != nil {
			resolved++
		}
	}
	return created, resolved, t.commit(ctx)
}

// AckAlert acknowledges a firing alert of site.
func (s *AlertService) AckAlert(ctx context.Context, site string, id int64, actor string, at time.Time) (*joule.Alert, error) {
	t, err := s.db.beginWrite(ctx)
	if err != nil {
		return nil, err
	}
	defer t.rollback(ctx)
	a, err := scanAlert(t.queryRow(ctx, `SELECT `+alertColumns+` FROM alerts WHERE site = $1 AND id = $2`, site, id))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, joule.Errorf(joule.ENOTFOUND, "site %s has no alert %d", site, id)
	case err != nil:
		return nil, storeError(err)
	case a.State == joule.AlertResolved:
		return nil, joule.Errorf(joule.ECONFLICT, "alert %d was resolved at %s: there is nothing to acknowledge", id, a.ResolvedAt.Format(time.RFC3339))
	case a.State == joule.AlertAcknowledged:
		return a, nil
	}
	if at.IsZero() {
		at = t.now
	}
	a.State, a.AckedAt, a.AckedBy = joule.AlertAcknowledged, at.UTC(), actor
	if _, err := t.exec(ctx, `UPDATE alerts SET state = 'acknowledged', acked_at = $1, acked_by = $2 WHERE id = $3`, formatTime(a.AckedAt), actor, id); err != nil {
		return nil, storeError(fmt.Errorf("acknowledge alert %d: %w", id, err))
	}
	if err := transition(ctx, t, a, joule.AlertAcknowledged, a.AckedAt, actor, a.Value); err != nil {
		return nil, storeError(err)
	}
	return a, t.commit(ctx)
}

// Alerts returns a site's alerts, open ones first, each group newest first.
func (s *AlertService) Alerts(ctx context.Context, q joule.AlertQuery) ([]*joule.Alert, error) {
	if err := q.Check(); err != nil {
		return nil, err
	}
	where, args := "site = $1", []any{q.Site}
	if q.State != "" {
		where, args = where+" AND state = $2", append(args, string(q.State))
	}
	t, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer t.rollback(ctx)
	rows, err := t.query(ctx, `SELECT `+alertColumns+` FROM alerts WHERE `+where+`
		ORDER BY CASE state WHEN 'firing' THEN 0 WHEN 'acknowledged' THEN 1 ELSE 2 END, id DESC LIMIT $`+fmt.Sprint(len(args)+1), append(args, q.Limit)...)
	if err != nil {
		return nil, storeError(err)
	}
	defer rows.Close()
	out := []*joule.Alert{}
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, storeError(err)
		}
		out = append(out, a)
	}
	return out, storeError(rows.Err())
}

// AlertTransitions returns an alert's transitions in order.
func (s *AlertService) AlertTransitions(ctx context.Context, site string, id int64) ([]joule.AlertTransition, error) {
	t, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer t.rollback(ctx)
	rows, err := t.query(ctx, `SELECT t.id, t.alert, a.site, t.state, t.at, t.actor, t.value FROM alert_transitions t
		JOIN alerts a ON a.id = t.alert WHERE a.site = $1 AND t.alert = $2 ORDER BY t.id`, site, id)
	if err != nil {
		return nil, storeError(err)
	}
	defer rows.Close()
	out := []joule.AlertTransition{}
	for rows.Next() {
		tr, err := scanTransition(rows)
		if err != nil {
			return nil, storeError(err)
		}
		out = append(out, tr)
	}
	return out, storeError(rows.Err())
}

func scanTransition(r scanner, more ...any) (joule.AlertTransition, error) {
	var (
		tr joule.AlertTransition
		at string
	)
	if err := r.Scan(append([]any{&tr.ID, &tr.AlertID, &tr.Site, &tr.State, &at, &tr.Actor, &tr.Value}, more...)...); err != nil {
		return tr, err
	}
	var err error
	tr.At, err = parseTime(at)
	return tr, err
}

// UndeliveredAlerts returns the outbox's oldest transitions, each with its alert.
func (s *AlertService) UndeliveredAlerts(ctx context.Context, limit int) ([]joule.AlertDelivery, error) {
	cols := make([]string, 0, 13)
	for c := range strings.SplitSeq(alertColumns, ", ") {
		cols = append(cols, "a."+c)
	}
	t, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer t.rollback(ctx)
	rows, err := t.query(ctx, `SELECT t.id, t.alert, a.site, t.state, t.at, t.actor, t.value, `+strings.Join(cols, ", ")+`
		FROM alert_transitions t JOIN alerts a ON a.id = t.alert WHERE t.delivered_at = '' ORDER BY t.id LIMIT $1`, max(limit, 1))
	if err != nil {
		return nil, storeError(err)
	}
	defer rows.Close()
	var out []joule.AlertDelivery
	for rows.Next() {
		a, dest, finish := alertDest()
		tr, err := scanTransition(rows, dest...)
		if err == nil {
			err = finish()
		}
		if err != nil {
			return nil, storeError(err)
		}
		out = append(out, joule.AlertDelivery{Transition: tr, Alert: *a})
	}
	return out, storeError(rows.Err())
}

// MarkAlertsDelivered takes transitions out of the outbox.
func (s *AlertService) MarkAlertsDelivered(ctx context.Context, at time.Time, ids ...int64) error {
	if len(ids) == 0 {
		return nil
	}
	t, err := s.db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer t.rollback(ctx)
	if _, err := t.exec(ctx, `UPDATE alert_transitions SET delivered_at = $1 WHERE id = ANY($2)`, formatTime(at), ids); err != nil {
		return storeError(fmt.Errorf("mark alerts delivered: %w", err))
	}
	return t.commit(ctx)
}
