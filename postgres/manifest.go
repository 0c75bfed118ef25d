package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/joule-site/joule"
)

// ManifestService applies manifests. It implements joule.ManifestService.
type ManifestService struct {
	db *DB
}

var _ joule.ManifestService = (*ManifestService)(nil)

// NewManifestService returns a ManifestService on db.
func NewManifestService(db *DB) *ManifestService { return &ManifestService{db: db} }

// Apply makes the store match m in one transaction: every declared model (by ID) and
// site (by name) is created or updated, and the fleets of each declared site become
// exactly the declared ones. Models, sites and fleets that m does not mention are left
// alone, except the undeclared fleets of a declared site, which are deleted.
//
// The changes come back models first (by ID), then sites (by name), then fleets (by
// site, then name). Applying the same manifest again reports everything Unchanged and
// writes nothing, so UpdatedAt stays put.
//
// An invalid manifest is refused with EINVALID before anything is written. A fleet's
// model is not checked against the stored models: it may name a built-in catalog
// model, and resolving it is the caller's job.
func (s *ManifestService) Apply(ctx context.Context, m *joule.Manifest) ([]joule.Change, error) {
	if err := validateManifest(m); err != nil {
		return nil, err
	}
	models := slices.SortedFunc(slices.Values(m.Models), func(a, b *joule.HardwareModel) int { return cmp.Compare(a.ID, b.ID) })
	sites := slices.SortedFunc(slices.Values(m.Sites), func(a, b *joule.Site) int { return cmp.Compare(a.Name, b.Name) })
	declared := map[string][]*joule.Fleet{} // by site
	for _, f := range m.Fleets {
		declared[f.Site] = append(declared[f.Site], f)
	}

	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return nil, fmt.Errorf("apply: %w", err)
	}
	defer tx.rollback(ctx)

	var changes []joule.Change
	for _, hm := range models {
		action, err := upsertModel(ctx, tx, hm)
		if err != nil {
			return nil, fmt.Errorf("apply: %w", err)
		}
		changes = append(changes, joule.Change{Kind: "model", Name: hm.ID, Action: action})
	}
	for _, site := range sites {
		action, err := upsertSite(ctx, tx, site)
		if err != nil {
			return nil, fmt.Errorf("apply: %w", err)
		}
		changes = append(changes, joule.Change{Kind: "site", Name: site.Name, Action: action})
	}
	for _, site := range sites {
		fc, err := applyFleets(ctx, tx, site.Name, declared[site.Name])
		if err != nil {
			return nil, fmt.Errorf("apply: %w", err)
		}
		changes = append(changes, fc...)
	}
	if err := tx.commit(ctx); err != nil {
		return nil, fmt.Errorf("apply: commit: %w", err)
	}
	return changes, nil
}

// applyFleets makes the fleets of a stored site exactly want, and returns the changes
// ordered by fleet name.
func applyFleets(ctx context.Context, tx *tx, site string, want []*joule.Fleet) ([]joule.Change, error) {
	have, err := findFleets(ctx, tx, site)
	if err != nil {
		return nil, fmt.Errorf("fleets of %s: %w", site, err)
	}
	old := make(map[string]*joule.Fleet, len(have))
	for _, f := range have {
		old[f.Name] = f
	}
	var changes []joule.Change
	change := func(name string, action joule.ChangeAction) {
		changes = append(changes, joule.Change{Kind: "fleet", Name: site + "/" + name, Action: action})
	}
	for _, f := range want {
		prev, ok := old[f.Name]
		delete(old, f.Name)
		switch {
		case !ok:
			if err := insertFleet(ctx, tx, f); err != nil {
				return nil, err
			}
			change(f.Name, joule.Created)
		case sameFleet(prev, f):
			change(f.Name, joule.Unchanged)
		default:
			if err := updateFleet(ctx, tx, f); err != nil {
				return nil, err
			}
			change(f.Name, joule.Updated)
		}
	}
	for name := range old {
		if err := deleteFleet(ctx, tx, site, name); err != nil {
			return nil, err
		}
		change(name, joule.Deleted)
	}
	slices.SortFunc(changes, func(a, b joule.Change) int { return cmp.Compare(a.Name, b.Name) })
	return changes, nil
}

// validateManifest refuses, with EINVALID, a manifest that cannot be applied as a
// whole: an object that fails its own Validate, a name declared twice, a fleet of a
// site the manifest does not declare, or a number the store cannot hold.
func validateManifest(m *joule.Manifest) error {
	if m == nil {
		return joule.Errorf(joule.EINVALID, "no manifest to apply")
	}
	models := map[string]bool{}
	for i, hm := range m.Models {
		if hm == nil {
			return joule.Errorf(joule.EINVALID, "models[%d] is empty", i)
		}
		if err := hm.Validate(); err != nil {
			return err
		}
		if !finite(hm.PriceUSD) || !finite(hm.HashrateTHs) {
			return joule.Errorf(joule.EINVALID, "model %s: numbers must be finite", hm.ID)
		}
		if models[hm.ID] {
			return joule.Errorf(joule.EINVALID, "model %s is declared twice", hm.ID)
		}
		models[hm.ID] = true
	}
	sites := map[string]bool{}
	for i, s := range m.Sites {
		if s == nil {
			return joule.Errorf(joule.EINVALID, "sites[%d] is empty", i)
		}
		if err := s.Validate(); err != nil {
			return err
		}
		if _, err := json.Marshal(&s.Energy); err != nil {
			return joule.Errorf(joule.EINVALID, "site %s: energy: numbers must be finite", s.Name)
		}
		if sites[s.Name] {
			return joule.Errorf(joule.EINVALID, "site %s is declared twice", s.Name)
		}
		sites[s.Name] = true
	}
	fleets := map[string]bool{}
	for i, f := range m.Fleets {
		if f == nil {
			return joule.Errorf(joule.EINVALID, "fleets[%d] is empty", i)
		}
		if err := f.Validate(); err != nil {
			return err
		}
		if !finite(f.UnitPriceUSD) {
			return joule.Errorf(joule.EINVALID, "fleet %s/%s: unit_price_usd must be finite", f.Site, f.Name)
		}
		if !sites[f.Site] {
			return joule.Errorf(joule.EINVALID, "fleet %s: site %q is not declared in the manifest", f.Name, f.Site)
		}
		key := f.Site + "/" + f.Name
		if fleets[key] {
			return joule.Errorf(joule.EINVALID, "fleet %s is declared twice", key)
		}
		fleets[key] = true
	}
	return nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
