// Package catalog is the embedded hardware catalog: the ASIC miners and GPU servers
// Joule knows out of the box, each number with its source (hardware.yaml). Users
// declare further models in manifests; Models merges the two.
package catalog

import (
	"context"
	_ "embed"
	"slices"
	"strings"
	"sync"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/manifest"
)

//go:embed hardware.yaml
var hardwareYAML []byte

var builtin = sync.OnceValues(func() ([]*joule.HardwareModel, error) {
	m, err := manifest.Parse("catalog/hardware.yaml", hardwareYAML, nil)
	if err != nil {
		return nil, err
	}
	for _, model := range m.Models {
		model.Builtin = true
	}
	slices.SortFunc(m.Models, func(a, b *joule.HardwareModel) int { return strings.Compare(a.ID, b.ID) })
	return m.Models, nil
})

// Builtin returns the catalog's models ordered by id. Callers must not modify them.
func Builtin() []*joule.HardwareModel {
	models, err := builtin()
	if err != nil {
		// The catalog is embedded and tested; a broken one is a build defect.
		panic("catalog: " + err.Error())
	}
	return models
}

// Lookup returns the catalog model with the given id.
func Lookup(id string) (*joule.HardwareModel, bool) {
	for _, m := range Builtin() {
		if m.ID == id {
			return m, true
		}
	}
	return nil, false
}

// Models lists the catalog's models together with the ones users declared in a store.
type Models struct {
	User joule.HardwareService
}

// AllModels returns the catalog's and the user's models: ASICs first, then GPU
// servers, each ordered by id.
func (m Models) AllModels(ctx context.Context) ([]*joule.HardwareModel, error) {
	all := slices.Clone(Builtin())
	if m.User != nil {
		user, err := m.User.Models(ctx)
		if err != nil {
			return nil, err
		}
		all = append(all, user...)
	}
	slices.SortFunc(all, func(a, b *joule.HardwareModel) int {
		if a.Kind != b.Kind {
			return strings.Compare(string(a.Kind), string(b.Kind))
		}
		return strings.Compare(a.ID, b.ID)
	})
	return all, nil
}
