package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/joule-site/joule"
)

// FleetService finds fleets. It implements joule.FleetService; fleets are created,
// updated and deleted by applying manifests.
type FleetService struct {
	db *DB
}

var _ joule.FleetService = (*FleetService)(nil)

// NewFleetService returns a FleetService on db.
func NewFleetService(db *DB) *FleetService { return &FleetService{db: db} }

// Fleets returns the fleets of a site ordered by name; ENOTFOUND if there is no site.
func (s *FleetService) Fleets(ctx context.Context, site string) ([]*joule.Fleet, error) {
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.rollback(ctx)
	ok, err := siteExists(ctx, tx, site)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, siteNotFound(site)
	}
	fleets, err := findFleets(ctx, tx, site)
	if err != nil {
		return nil, fmt.Errorf("fleets of %s: %w", site, err)
	}
	return fleets, nil
}

const fleetColumns = `site, name, model, kind, count, owner, unit_price_usd, pools`

// findFleets returns the fleets of a site ordered by name.
func findFleets(ctx context.Context, tx *tx, site string) ([]*joule.Fleet, error) {
	rows, err := tx.query(ctx, `SELECT `+fleetColumns+` FROM fleets WHERE site = $1 ORDER BY name`, site)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	fleets := []*joule.Fleet{} // empty, not nil: an API lists no fleets as []
	for rows.Next() {
		var (
			f     joule.Fleet
			pools string
		)
		if err := rows.Scan(&f.Site, &f.Name, &f.Model, &f.Kind, &f.Count, &f.Owner, &f.UnitPriceUSD, &pools); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(pools), &f.Pools); err != nil {
			return nil, fmt.Errorf("fleet %s/%s: decode pools: %w", f.Site, f.Name, err)
		}
		if len(f.Pools) == 0 {
			f.Pools = nil // none declared, as a manifest without pools reads
		}
		fleets = append(fleets, &f)
	}
	return fleets, rows.Err()
}

// insertFleet stores a new fleet.
func insertFleet(ctx context.Context, tx *tx, f *joule.Fleet) error {
	_, err := tx.exec(ctx, `INSERT INTO fleets (`+fleetColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		f.Site, f.Name, f.Model, f.Kind, f.Count, f.Owner, f.UnitPriceUSD, poolsJSON(f))
	if err != nil {
		return fmt.Errorf("insert fleet %s/%s: %w", f.Site, f.Name, err)
	}
	return nil
}

// updateFleet rewrites the declared fields of a stored fleet.
func updateFleet(ctx context.Context, tx *tx, f *joule.Fleet) error {
	_, err := tx.exec(ctx, `UPDATE fleets SET model = $1, kind = $2, count = $3, owner = $4, unit_price_usd = $5, pools = $6
		WHERE site = $7 AND name = $8`,
		f.Model, f.Kind, f.Count, f.Owner, f.UnitPriceUSD, poolsJSON(f), f.Site, f.Name)
	if err != nil {
		return fmt.Errorf("update fleet %s/%s: %w", f.Site, f.Name, err)
	}
	return nil
}

// deleteFleet removes a stored fleet.
func deleteFleet(ctx context.Context, tx *tx, site, name string) error {
	if _, err := tx.exec(ctx, `DELETE FROM fleets WHERE site = $1 AND name = $2`, site, name); err != nil {
		return fmt.Errorf("delete fleet %s/%s: %w", site, name, err)
	}
	return nil
}

// sameFleet reports whether a and b agree on every declared field.
func sameFleet(a, b *joule.Fleet) bool {
	return a.Site == b.Site &&
		a.Name == b.Name &&
		a.Model == b.Model &&
		a.Kind == b.Kind &&
		a.Count == b.Count &&
		a.Owner == b.Owner &&
		a.UnitPriceUSD == b.UnitPriceUSD &&
		slices.Equal(a.Pools, b.Pools)
}

// poolsJSON is a fleet's pool list as stored: a JSON array, [] for none.
func poolsJSON(f *joule.Fleet) string {
	b, _ := json.Marshal(append([]string{}, f.Pools...)) // strings always encode
	return string(b)
}
