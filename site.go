package joule

import (
	"context"
	"math"
	"time"
)

// Site is a grid connection with a power cap, the energy price it pays and the fleets
// that draw on it. Planned power at a site is never above PowerCapW.
type Site struct {
	Name       string           `json:"name"` // slug, unique
	PowerCapW  Watts            `json:"power_cap_w"`
	PUE        float64          `json:"pue"` // facility power / IT power, ≥ 1
	Energy     EnergyPriceModel `json:"energy"`
	MarketNode string           `json:"market_node,omitempty"` // wholesale pricing node, "ERCOT:LZ_WEST"
	Location   string           `json:"location,omitempty"`
	CreatedAt  time.Time        `json:"created_at"`
	UpdatedAt  time.Time        `json:"updated_at"`
}

// Validate checks the site's own fields and its energy price model.
func (s *Site) Validate() error {
	switch {
	case !ValidSlug(s.Name):
		return Errorf(EINVALID, "site name %q: use lower-case letters, digits, '.', '_' or '-'", s.Name)
	case s.PowerCapW <= 0:
		return Errorf(EINVALID, "site %s: power cap must be positive", s.Name)
	case math.IsNaN(s.PUE) || s.PUE < 1 || s.PUE > 3:
		return Errorf(EINVALID, "site %s: pue must be between 1 and 3, got %v", s.Name, s.PUE)
	}
	if err := s.Energy.Validate(); err != nil {
		return Errorf(EINVALID, "site %s: %s", s.Name, ErrorMessage(err))
	}
	return nil
}

// SiteService finds sites.
type SiteService interface {
	// Sites returns every site ordered by name.
	Sites(ctx context.Context) ([]*Site, error)
	// Site returns one site by name, or ENOTFOUND.
	Site(ctx context.Context, name string) (*Site, error)
	// DeleteSite removes a site and its fleets, or returns ENOTFOUND.
	DeleteSite(ctx context.Context, name string) error
}
