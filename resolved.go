package joule

import (
	"context"
	"errors"
)

// ResolvedSite is a site with each of its fleets' hardware models found: what the
// dispatch policy, backtests, listings, billing and the value of a megawatt all work
// from. Load one with a SiteLoader rather than resolving fleets by hand.
type ResolvedSite struct {
	Site   *Site
	Fleets []ResolvedFleet // ordered by name, as the store returns them
}

// ResolvedFleet is a fleet with its hardware model.
type ResolvedFleet struct {
	*Fleet
	Model *HardwareModel
}

// ResolveSite finds the model of each of a site's fleets with lookup. A fleet whose
// model is unknown is an EINVALID error naming it.
func ResolveSite(site *Site, fleets []*Fleet, lookup ModelLookup) (*ResolvedSite, error) {
	rs := &ResolvedSite{Site: site, Fleets: make([]ResolvedFleet, 0, len(fleets))}
	for _, f := range fleets {
		m, ok := lookup(f.Model)
		if !ok {
			return nil, Errorf(EINVALID, "site %s: fleet %s: unknown model %q", site.Name, f.Name, f.Model)
		}
		rs.Fleets = append(rs.Fleets, ResolvedFleet{Fleet: f, Model: m})
	}
	return rs, nil
}

// ModelLookup finds a hardware model by ID.
type ModelLookup func(id string) (*HardwareModel, bool)

// ModelLister lists every known hardware model: the embedded catalog and the user's.
type ModelLister interface {
	AllModels(ctx context.Context) ([]*HardwareModel, error)
}

// SiteReader reads stored sites; a SiteService is one.
type SiteReader interface {
	Sites(ctx context.Context) ([]*Site, error)
	Site(ctx context.Context, name string) (*Site, error)
}

// SiteLoader reads sites with their fleets and models resolved, from the services
// that store them. It is the one way the rest of the code turns stored sites into
// ResolvedSites.
type SiteLoader struct {
	Sites  SiteReader
	Fleets FleetService
	Models ModelLister
}

// Load returns one site, resolved; ENOTFOUND when there is no such site.
func (l SiteLoader) Load(ctx context.Context, name string) (*ResolvedSite, error) {
	rs, _, err := l.LoadWithModels(ctx, name)
	return rs, err
}

// LoadWithModels is Load, and every known model it resolved the site against, for a
// caller that also looks up models a request names.
func (l SiteLoader) LoadWithModels(ctx context.Context, name string) (*ResolvedSite, ModelIndex, error) {
	byID, err := l.models(ctx)
	if err != nil {
		return nil, nil, err
	}
	site, err := l.Sites.Site(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	rs, err := l.resolve(ctx, site, byID)
	return rs, byID, err
}

// LoadAll returns every site, resolved, ordered by name. A site that does not resolve
// (a fleet of an unknown model) is left out and named in the error, which joins one
// per such site: the others are still returned, so that one broken site does not stop
// the work of every other.
func (l SiteLoader) LoadAll(ctx context.Context) ([]*ResolvedSite, error) {
	byID, err := l.models(ctx)
	if err != nil {
		return nil, err
	}
	sites, err := l.Sites.Sites(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*ResolvedSite, 0, len(sites))
	var errs []error
	for _, site := range sites {
		rs, err := l.resolve(ctx, site, byID)
		if err != nil {
			if ErrorCode(err) != EINVALID {
				return nil, err
			}
			errs = append(errs, err)
			continue
		}
		out = append(out, rs)
	}
	return out, errors.Join(errs...)
}

func (l SiteLoader) models(ctx context.Context) (ModelIndex, error) {
	models, err := l.Models.AllModels(ctx)
	if err != nil {
		return nil, err
	}
	return ModelsByID(models), nil
}

func (l SiteLoader) resolve(ctx context.Context, site *Site, byID ModelIndex) (*ResolvedSite, error) {
	fleets, err := l.Fleets.Fleets(ctx, site.Name)
	if err != nil {
		return nil, err
	}
	return ResolveSite(site, fleets, byID.Lookup)
}

// MostEfficientASIC returns the ASIC model with the fewest joules per terahash among
// the site's fleets, or nil when it has none: what the next megawatt of mining would
// run on.
func (s *ResolvedSite) MostEfficientASIC() *HardwareModel {
	var best *HardwareModel
	for _, f := range s.Fleets {
		m := f.Model
		if m.Kind != KindASIC || m.EfficiencyJPerTH() <= 0 {
			continue
		}
		if best == nil || m.EfficiencyJPerTH() < best.EfficiencyJPerTH() {
			best = m
		}
	}
	return best
}

// GPUModel returns the model of the site's first GPU server fleet, if it has one.
func (s *ResolvedSite) GPUModel() (*HardwareModel, bool) {
	for _, f := range s.Fleets {
		if f.Model.Kind == KindGPUServer {
			return f.Model, true
		}
	}
	return nil, false
}

// Seller is who sells a fleet's GPU-hours: its owner, or operator for the site's own.
func (f ResolvedFleet) Seller(operator string) string {
	if f.Owner != "" {
		return f.Owner
	}
	return operator
}
