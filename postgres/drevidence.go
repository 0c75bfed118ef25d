package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/joule-site/joule"
)

var _ joule.DemandResponseEvidence = (*LiveService)(nil)

// savePowerReading keeps the power of census r in the site's series; a census at the
// same millisecond as one before takes its place.
func savePowerReading(ctx context.Context, tx *tx, r *joule.DeviceReport) error {
	p := joule.PowerReadingOf(r)
	fleets, err := json.Marshal(p.Fleets)
	if err != nil {
		return fmt.Errorf("save power reading: %w", err)
	}
	var meter *int64
	if p.Metered {
		w := int64(p.MeterW)
		meter = &w
	}
	if _, err := tx.exec(ctx, `INSERT INTO power_readings (site, at, meter_w, devices_w, fleets) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (site, at) DO UPDATE SET meter_w = excluded.meter_w, devices_w = excluded.devices_w, fleets = excluded.fleets`,
		r.Site, p.At.UnixMilli(), meter, int64(p.DevicesW), string(fleets)); err != nil {
		return fmt.Errorf("save power reading: %w", err)
	}
	return nil
}

// DemandResponse returns the site's event id, or ENOTFOUND.
func (s *LiveService) DemandResponse(ctx context.Context, site string, id int64) (*joule.DemandResponse, error) {
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.rollback(ctx)
	dr, err := scanDemandResponse(tx.queryRow(ctx, `SELECT `+drColumns+` FROM demand_responses WHERE site = $1 AND id = $2`, site, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, joule.Errorf(joule.ENOTFOUND, "site %s has no demand-response event %d", site, id)
	}
	return dr, err
}

// PowerReadings returns the site's readings from from to to, oldest first.
func (s *LiveService) PowerReadings(ctx context.Context, site string, from, to time.Time, limit int) ([]joule.PowerReading, error) {
	if limit < 1 || limit > joule.MaxPowerReadings {
		return nil, joule.Errorf(joule.EINVALID, "limit: from 1 to %d readings, not %d", joule.MaxPowerReadings, limit)
	}
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.rollback(ctx)
	rows, err := tx.query(ctx, `SELECT at, meter_w, devices_w, fleets::text FROM power_readings WHERE site = $1 AND at >= $2 AND at < $3 ORDER BY at LIMIT $4`,
		site, from.UnixMilli(), to.UnixMilli(), limit)
	if err != nil {
		return nil, fmt.Errorf("power readings: %w", err)
	}
	defer rows.Close()
	out := []joule.PowerReading{}
	for rows.Next() {
		var at, devices int64
		var meter *int64
		var fleets string
		if err := rows.Scan(&at, &meter, &devices, &fleets); err != nil {
			return nil, fmt.Errorf("power readings: %w", err)
		}
		p := joule.PowerReading{At: time.UnixMilli(at).UTC(), DevicesW: joule.Watts(devices)}
		if meter != nil {
			p.Metered, p.MeterW = true, joule.Watts(*meter)
		}
		if err := json.Unmarshal([]byte(fleets), &p.Fleets); err != nil {
			return nil, fmt.Errorf("power readings: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// AuditBetween returns the site's audit events with At from from to to, by ID.
func (s *LiveService) AuditBetween(ctx context.Context, site string, from, to time.Time, after int64, limit int) ([]*joule.Audit, error) {
	if limit < 1 || limit > joule.MaxAuditQuery {
		return nil, joule.Errorf(joule.EINVALID, "limit: from 1 to %d audit events, not %d", joule.MaxAuditQuery, limit)
	}
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.rollback(ctx)
	return scanAudit(tx.query(ctx, `SELECT `+auditColumns+` FROM audit WHERE site = $1 AND id > $2 AND at >= $3 AND at < $4 ORDER BY id LIMIT $5`,
		site, after, formatTime(from), formatTime(to), limit))
}
