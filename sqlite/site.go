package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/joule-site/joule"
)

// SiteService finds and deletes sites. It implements joule.SiteService; sites are
// created and updated by applying manifests (ManifestService).
type SiteService struct {
	db *DB
}

var _ joule.SiteService = (*SiteService)(nil)

// NewSiteService returns a SiteService on db.
func NewSiteService(db *DB) *SiteService { return &SiteService{db: db} }

// Sites returns every site ordered by name.
func (s *SiteService) Sites(ctx context.Context) ([]*joule.Site, error) {
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	sites, err := findSites(ctx, tx, "", nil)
	if err != nil {
		return nil, fmt.Errorf("sites: %w", err)
	}
	return sites, nil
}

// Site returns the site called name, or ENOTFOUND.
func (s *SiteService) Site(ctx context.Context, name string) (*joule.Site, error) {
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	site, err := findSite(ctx, tx, name)
	if err != nil {
		return nil, err
	}
	if site == nil {
		return nil, siteNotFound(name)
	}
	return site, nil
}

// DeleteSite removes the site called name and, by cascade, its fleets and devices;
// ENOTFOUND if there is none.
func (s *SiteService) DeleteSite(ctx context.Context, name string) error {
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM sites WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("delete site %s: %w", name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete site %s: %w", name, err)
	} else if n == 0 {
		return siteNotFound(name)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("delete site %s: commit: %w", name, err)
	}
	return nil
}

func siteNotFound(name string) error { return joule.Errorf(joule.ENOTFOUND, "site %q not found", name) }

const siteColumns = `name, power_cap_w, pue, energy, costs, alerts, market_node, location, created_at, updated_at`

// findSite returns the site called name, or nil if there is none.
func findSite(ctx context.Context, tx *tx, name string) (*joule.Site, error) {
	sites, err := findSites(ctx, tx, "WHERE name = ?", []any{name})
	if err != nil {
		return nil, fmt.Errorf("site %s: %w", name, err)
	}
	if len(sites) == 0 {
		return nil, nil
	}
	return sites[0], nil
}

// findSites returns the sites a WHERE clause selects, ordered by name.
func findSites(ctx context.Context, tx *tx, where string, args []any) ([]*joule.Site, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+siteColumns+` FROM sites `+where+` ORDER BY name`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	sites := []*joule.Site{} // empty, not nil: an API lists no sites as []
	for rows.Next() {
		var (
			s                     joule.Site
			energy, costs, alerts string
			createdAt, updatedAt  string
		)
		if err := rows.Scan(&s.Name, &s.PowerCapW, &s.PUE, &energy, &costs, &alerts, &s.MarketNode, &s.Location, &createdAt, &updatedAt); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(energy), &s.Energy); err != nil {
			return nil, fmt.Errorf("site %s: decode energy: %w", s.Name, err)
		}
		if err := json.Unmarshal([]byte(costs), &s.Costs); err != nil {
			return nil, fmt.Errorf("site %s: decode costs: %w", s.Name, err)
		}
		if err := json.Unmarshal([]byte(alerts), &s.Alerts); err != nil {
			return nil, fmt.Errorf("site %s: decode alerts: %w", s.Name, err)
		}
		if s.CreatedAt, err = parseTime(createdAt); err != nil {
			return nil, err
		}
		if s.UpdatedAt, err = parseTime(updatedAt); err != nil {
			return nil, err
		}
		sites = append(sites, &s)
	}
	return sites, rows.Err()
}

// upsertSite makes the stored site match s, stamping the transaction's time on what it
// creates or changes, and says what it did. An unchanged site keeps its UpdatedAt.
func upsertSite(ctx context.Context, tx *tx, s *joule.Site) (joule.ChangeAction, error) {
	energy, err := json.Marshal(&s.Energy)
	if err != nil {
		return "", fmt.Errorf("site %s: encode energy: %w", s.Name, err)
	}
	costs, err := json.Marshal(&s.Costs)
	if err != nil {
		return "", fmt.Errorf("site %s: encode costs: %w", s.Name, err)
	}
	alerts, err := json.Marshal(&s.Alerts)
	if err != nil {
		return "", fmt.Errorf("site %s: encode alerts: %w", s.Name, err)
	}
	old, err := findSite(ctx, tx, s.Name)
	if err != nil {
		return "", err
	}
	now := formatTime(tx.now)
	switch {
	case old == nil:
		_, err = tx.ExecContext(ctx, `INSERT INTO sites (`+siteColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			s.Name, s.PowerCapW, s.PUE, string(energy), string(costs), string(alerts), s.MarketNode, s.Location, now, now)
		if err != nil {
			return "", fmt.Errorf("insert site %s: %w", s.Name, err)
		}
		return joule.Created, nil
	case sameSite(old, s):
		return joule.Unchanged, nil
	default:
		_, err = tx.ExecContext(ctx, `UPDATE sites SET power_cap_w = ?, pue = ?, energy = ?, costs = ?, alerts = ?, market_node = ?, location = ?, updated_at = ?
			WHERE name = ?`,
			s.PowerCapW, s.PUE, string(energy), string(costs), string(alerts), s.MarketNode, s.Location, now, s.Name)
		if err != nil {
			return "", fmt.Errorf("update site %s: %w", s.Name, err)
		}
		return joule.Updated, nil
	}
}

// sameSite reports whether a and b agree on every declared field; timestamps are not
// declared. Energy models compare by their JSON, which is what is stored.
func sameSite(a, b *joule.Site) bool {
	return a.Name == b.Name &&
		a.PowerCapW == b.PowerCapW &&
		a.PUE == b.PUE &&
		a.MarketNode == b.MarketNode &&
		a.Location == b.Location &&
		sameJSON(&a.Energy, &b.Energy) &&
		sameJSON(&a.Costs, &b.Costs) &&
		sameJSON(&a.Alerts, &b.Alerts)
}

// sameJSON reports whether a and b encode to the same JSON, which is what is stored.
func sameJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// siteExists reports whether a site called name is stored.
func siteExists(ctx context.Context, tx *tx, name string) (bool, error) {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM sites WHERE name = ?`, name).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("site %s: %w", name, err)
	}
	return true, nil
}
