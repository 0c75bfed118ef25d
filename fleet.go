package joule

import "context"

// Fleet is a group of identical machines at a site: Count × Model. ASIC fleets mine;
// GPU-server fleets are leased.
type Fleet struct {
	Site  string       `json:"site"`
	Name  string       `json:"name"` // slug, unique within the site
	Model string       `json:"model"`
	Kind  HardwareKind `json:"kind"` // the model's kind, kept with the fleet for queries
	Count int          `json:"count"`
	// Owner is who owns the machines: empty for the site operator, else the investor
	// whose servers the site hosts.
	Owner string `json:"owner,omitempty"`
	// UnitPriceUSD is what one machine cost, when it differs from the model's price.
	UnitPriceUSD float64 `json:"unit_price_usd,omitempty"`
	// Tags are the manifest's tags for the fleet's devices by address range. They are
	// kept as device tags (DeviceControlService.ReplaceManifestTags when the manifest
	// is applied), not with the fleet: a fleet read from the store has none.
	Tags []TagRange `json:"tags,omitempty"`
}

// Validate checks the fleet's own fields; that its model exists is the caller's check.
func (f *Fleet) Validate() error {
	switch {
	case !ValidSlug(f.Name):
		return Errorf(EINVALID, "fleet name %q: use lower-case letters, digits, '.', '_' or '-'", f.Name)
	case f.Model == "":
		return Errorf(EINVALID, "fleet %s: model is required", f.Name)
	case f.Count <= 0:
		return Errorf(EINVALID, "fleet %s: count must be positive", f.Name)
	case f.UnitPriceUSD < 0 || !finite(f.UnitPriceUSD):
		return Errorf(EINVALID, "fleet %s: unit_price_usd must be a number, not negative", f.Name)
	case f.Kind != "" && f.Kind != KindASIC && f.Kind != KindGPUServer:
		return Errorf(EINVALID, "fleet %s: kind must be %q or %q, not %q", f.Name, KindASIC, KindGPUServer, f.Kind)
	}
	return nil
}

// FleetService finds fleets.
type FleetService interface {
	// Fleets returns the fleets of a site ordered by name; ENOTFOUND if there is no site.
	Fleets(ctx context.Context, site string) ([]*Fleet, error)
}
