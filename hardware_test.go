package joule_test

import (
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
