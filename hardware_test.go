package joule_test

import (
	"testing"

	"github.com/joule-site/joule"
)

func TestMostEfficientASIC(t *testing.T) {
	byID := joule.ModelsByID([]*joule.HardwareModel{
		{ID: "s19j-pro", Kind: joule.KindASIC, PowerW: 3068, HashrateTHs: 104},
		{ID: "s21", Kind: joule.KindASIC, PowerW: 3500, HashrateTHs: 200},
		{ID: "h100-sxm", Kind: joule.KindGPUServer, PowerW: 10200, GPUs: 8},
	})
	fleets := []*joule.Fleet{{Model: "s19j-pro"}, {Model: "h100-sxm"}, {Model: "s21"}, {Model: "unknown"}}
	if m := joule.MostEfficientASIC(fleets, byID); m == nil || m.ID != "s21" {
		t.Errorf("most efficient: %+v, want s21", m)
	}
	if m := joule.MostEfficientASIC(fleets[1:2], byID); m != nil {
		t.Errorf("GPU servers only: %+v, want none", m)
	}
}
