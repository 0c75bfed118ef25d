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
	// Costs are what the site's owner knows of converting it to GPU servers; what it
	// leaves out, plans and backtests take from their sourced defaults.
	Costs SiteCosts `json:"costs"`
	// Alerts are the site's alert rules and webhooks (alert.go).
	Alerts    AlertRules `json:"alerts"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
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
	if err := s.Costs.Validate(); err != nil {
		return Errorf(EINVALID, "site %s: %s", s.Name, ErrorMessage(err))
	}
	if err := s.Alerts.Validate(); err != nil {
		return Errorf(EINVALID, "site %s: %s", s.Name, ErrorMessage(err))
	}
	return nil
}

// SiteCosts are a site's own figures for converting mining halls to GPU servers and
// running them, as its manifest's `costs:` block declares them. A nil field is not
// declared: the planner and the backtests use their sourced default for it.
type SiteCosts struct {
	// GPUOpexUSDPerServerHour is the non-energy running cost of one GPU server.
	GPUOpexUSDPerServerHour *float64 `json:"gpu_opex_usd_per_server_hour,omitempty"`
	// NetworkStorageFraction is network and storage capex as a fraction of the servers'.
	NetworkStorageFraction *float64 `json:"network_storage_fraction,omitempty"`
	// ConversionUSDPerMW is the capex of converting a facility MW of mining to a GPU hall.
	ConversionUSDPerMW *float64 `json:"conversion_usd_per_mw,omitempty"`
	// InstallLagMonths runs from ordering servers to their first revenue.
	InstallLagMonths *float64 `json:"install_lag_months,omitempty"`
	// ASICResaleFraction is the share of a new miner's price a retired one sells for.
	ASICResaleFraction *float64 `json:"asic_resale_fraction,omitempty"`
	// DiscountRate is the annual cost of capital (a financing rate or a required return).
	DiscountRate *float64 `json:"discount_rate,omitempty"`
}

// SiteCostField is one field of SiteCosts: its name in manifests and JSON, its range,
// and where it is in a SiteCosts.
type SiteCostField struct {
	Name     string
	Min, Max float64
	Of       func(*SiteCosts) **float64
}

// SiteCostFields are the fields of SiteCosts, in the order manifests document them.
var SiteCostFields = []SiteCostField{
	{"gpu_opex_usd_per_server_hour", 0, 1000, func(c *SiteCosts) **float64 { return &c.GPUOpexUSDPerServerHour }},
	{"network_storage_fraction", 0, 5, func(c *SiteCosts) **float64 { return &c.NetworkStorageFraction }},
	{"conversion_usd_per_mw", 0, 1e9, func(c *SiteCosts) **float64 { return &c.ConversionUSDPerMW }},
	{"install_lag_months", 0, 120, func(c *SiteCosts) **float64 { return &c.InstallLagMonths }},
	{"asic_resale_fraction", 0, 1, func(c *SiteCosts) **float64 { return &c.ASICResaleFraction }},
	{"discount_rate", -0.99, 10, func(c *SiteCosts) **float64 { return &c.DiscountRate }},
}

// Check returns an error when v is outside the field's range.
func (f SiteCostField) Check(v float64) error {
	if !(v >= f.Min && v <= f.Max) {
		return Errorf(EINVALID, "costs.%s must be from %v to %v, got %v", f.Name, f.Min, f.Max, v)
	}
	return nil
}

// Validate checks that every declared cost is a number in its range.
func (c *SiteCosts) Validate() error {
	for _, f := range SiteCostFields {
		if v := *f.Of(c); v != nil {
			if err := f.Check(*v); err != nil {
				return err
			}
		}
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
