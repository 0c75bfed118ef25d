package joule

import (
	"context"
	"strings"
)

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
	// Pools are the pool URLs the fleet's miners may hash for (stratum+tcp://…), in the
	// order the pool guard prefers them; none: any pool.
	Pools []string `json:"pools,omitempty"`
	// Tags are the manifest's tags for the fleet's devices by address range. They are
	// kept as device tags (DeviceControlService.ReplaceManifestTags when the manifest
	// is applied), not with the fleet: a fleet read from the store has none.
	Tags []TagRange `json:"tags,omitempty"`
}

// MaxFleetPools bounds a fleet's pool list: cgminer keeps a few pools per miner.
const MaxFleetPools = 8

// AllowsPool reports whether a miner of the fleet may hash for the pool at url: the
// fleet lists no pools, or lists this one.
func (f *Fleet) AllowsPool(url string) bool {
	if len(f.Pools) == 0 {
		return true
	}
	for _, p := range f.Pools {
		if NormalPoolURL(p) == NormalPoolURL(url) {
			return true
		}
	}
	return false
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
	case len(f.Pools) > MaxFleetPools:
		return Errorf(EINVALID, "fleet %s: pools: %d, at most %d", f.Name, len(f.Pools), MaxFleetPools)
	}
	for i, p := range f.Pools {
		if err := ValidPoolURL(p); err != nil {
			return Errorf(EINVALID, "fleet %s: pools[%d]: %s", f.Name, i, ErrorMessage(err))
		}
	}
	return nil
}

// FleetService finds fleets.
type FleetService interface {
	// Fleets returns the fleets of a site ordered by name; ENOTFOUND if there is no site.
	Fleets(ctx context.Context, site string) ([]*Fleet, error)
}

// ValidPoolURL checks a pool's URL as a fleet lists it: a scheme and a host:port
// (stratum+tcp://pool.example.com:3333), at most 256 bytes, no comma (cgminer's
// addpool takes its arguments comma-separated).
func ValidPoolURL(u string) error {
	scheme, rest, ok := strings.Cut(u, "://")
	switch {
	case len(u) > MaxTelemetryTextLen:
		return Errorf(EINVALID, "longer than %d bytes", MaxTelemetryTextLen)
	case !ok || scheme == "" || rest == "" || strings.ContainsAny(u, ", \t\n|"):
		return Errorf(EINVALID, "%q is not a pool URL like stratum+tcp://pool.example.com:3333", u)
	}
	return nil
}
