package joule_test

import (
	"context"
	"strings"
	"testing"

	"github.com/joule-site/joule"
)

func TestResolvedSite(t *testing.T) {
	byID := joule.ModelsByID([]*joule.HardwareModel{
		{ID: "s19j-pro", Kind: joule.KindASIC, PowerW: 3068, HashrateTHs: 104},
		{ID: "s21", Kind: joule.KindASIC, PowerW: 3500, HashrateTHs: 200},
		{ID: "h100-sxm", Kind: joule.KindGPUServer, PowerW: 10200, GPUs: 8},
	})
	site := &joule.Site{Name: "a"}
	fleets := []*joule.Fleet{{Name: "old", Model: "s19j-pro"}, {Name: "gpu", Model: "h100-sxm", Owner: "inv"}, {Name: "new", Model: "s21"}}
	rs, err := joule.ResolveSite(site, fleets, byID.Lookup)
	if err != nil {
		t.Fatal(err)
	}
	if m := rs.MostEfficientASIC(); m == nil || m.ID != "s21" {
		t.Errorf("most efficient: %+v, want s21", m)
	}
	if m, ok := rs.GPUModel(); !ok || m.ID != "h100-sxm" {
		t.Errorf("GPU model: %+v, want h100-sxm", m)
	}
	if got := rs.Fleets[1].Seller("op"); got != "inv" {
		t.Errorf("seller of an owned fleet: %q", got)
	}
	if got := rs.Fleets[0].Seller("op"); got != "op" {
		t.Errorf("seller of the operator's fleet: %q", got)
	}
	gpuOnly, err := joule.ResolveSite(site, fleets[1:2], byID.Lookup)
	if err != nil {
		t.Fatal(err)
	}
	if m := gpuOnly.MostEfficientASIC(); m != nil {
		t.Errorf("GPU servers only: %+v, want none", m)
	}
	_, err = joule.ResolveSite(site, append(fleets, &joule.Fleet{Name: "x", Model: "unknown"}), byID.Lookup)
	if joule.ErrorCode(err) != joule.EINVALID {
		t.Errorf("unknown model: %v, want EINVALID", err)
	}
}

// stored is a store's sites and fleets, for SiteLoader.
type stored struct {
	sites  []*joule.Site
	fleets map[string][]*joule.Fleet
	models []*joule.HardwareModel
}

func (s stored) Sites(context.Context) ([]*joule.Site, error) { return s.sites, nil }
func (s stored) Site(_ context.Context, name string) (*joule.Site, error) {
	for _, x := range s.sites {
		if x.Name == name {
			return x, nil
		}
	}
	return nil, joule.Errorf(joule.ENOTFOUND, "no site %q", name)
}
func (s stored) Fleets(_ context.Context, site string) ([]*joule.Fleet, error) {
	return s.fleets[site], nil
}
func (s stored) AllModels(context.Context) ([]*joule.HardwareModel, error) { return s.models, nil }

// A site with a fleet of an unknown model is named in LoadAll's error and left out;
// the other sites still load.
func TestLoadAllLeavesOutASiteThatDoesNotResolve(t *testing.T) {
	st := stored{
		sites: []*joule.Site{{Name: "a"}, {Name: "b"}},
		fleets: map[string][]*joule.Fleet{
			"a": {{Name: "hall", Model: "s21"}},
			"b": {{Name: "hall", Model: "gone"}},
		},
		models: []*joule.HardwareModel{{ID: "s21", Kind: joule.KindASIC, PowerW: 3500, HashrateTHs: 200}},
	}
	l := joule.SiteLoader{Sites: st, Fleets: st, Models: st}
	sites, err := l.LoadAll(context.Background())
	if len(sites) != 1 || sites[0].Site.Name != "a" || sites[0].Fleets[0].Model.ID != "s21" {
		t.Errorf("sites loaded: %+v", sites)
	}
	if joule.ErrorCode(err) != joule.EINVALID || !strings.Contains(err.Error(), `site b: fleet hall: unknown model "gone"`) {
		t.Errorf("error: %v", err)
	}
	if _, err := l.Load(context.Background(), "b"); joule.ErrorCode(err) != joule.EINVALID {
		t.Errorf("loading the broken site alone: %v, want EINVALID", err)
	}
}
