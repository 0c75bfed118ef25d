package catalog_test

import (
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/catalog"
)

func TestCatalogHasTheRequiredModels(t *testing.T) {
	required := map[string]joule.HardwareKind{
		"s19j-pro": joule.KindASIC, "s19-xp": joule.KindASIC, "s21": joule.KindASIC, "s21-pro": joule.KindASIC,
		"s21-xp": joule.KindASIC, "m60s": joule.KindASIC, "m66s": joule.KindASIC,
		"h100-sxm": joule.KindGPUServer, "h200": joule.KindGPUServer, "a100-80gb": joule.KindGPUServer,
		"rtx-4090": joule.KindGPUServer, "b200": joule.KindGPUServer,
	}
	for id, kind := range required {
		m, ok := catalog.Lookup(id)
		if !ok {
			t.Errorf("catalog lacks %s", id)
			continue
		}
		if m.Kind != kind {
			t.Errorf("%s is a %s, want %s", id, m.Kind, kind)
		}
	}
}

func TestEveryNumberHasASource(t *testing.T) {
	for _, m := range catalog.Builtin() {
		t.Run(m.ID, func(t *testing.T) {
			if err := m.Validate(); err != nil {
				t.Fatal(err)
			}
			if !m.Builtin {
				t.Error("catalog models must be marked builtin")
			}
			fields := []string{"power_w", "idle_w", "price_usd"}
			if m.Kind == joule.KindASIC {
				fields = append(fields, "hashrate_ths")
			} else {
				fields = append(fields, "gpus", "gpu_memory_gb")
			}
			for _, f := range fields {
				if strings.TrimSpace(m.Sources[f]) == "" {
					t.Errorf("%s has no source", f)
				}
			}
		})
	}
}

func TestASICEfficiencies(t *testing.T) {
	// Vendor efficiencies in J/TH; power_w ÷ hashrate_ths must agree to 0.1 J/TH.
	want := map[string]float64{"s19j-pro": 29.5, "s19-xp": 21.5, "s21": 17.5, "s21-pro": 15.0, "s21-xp": 13.5, "m60s": 18.5, "m66s": 18.5}
	for id, jth := range want {
		m, _ := catalog.Lookup(id)
		if got := m.EfficiencyJPerTH(); math.Abs(got-jth) > 0.1 {
			t.Errorf("%s efficiency = %.2f J/TH, want %.1f", id, got, jth)
		}
	}
}

func TestAllModelsWithoutStore(t *testing.T) {
	all, err := catalog.Models{}.AllModels(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(catalog.Builtin()) {
		t.Fatalf("got %d models, want the %d built-in", len(all), len(catalog.Builtin()))
	}
	if all[0].Kind != joule.KindASIC || all[len(all)-1].Kind != joule.KindGPUServer {
		t.Error("ASICs come first, GPU servers last")
	}
}

// Prices are dated market points: each price source names the year it was read at, and
// a newer generation of the same GPU server class never costs less than the one before.
func TestPricesAreDatedAndOrdered(t *testing.T) {
	year := regexp.MustCompile(`\b20[12]\d\b`)
	for _, m := range catalog.Builtin() {
		if !year.MatchString(m.Sources["price_usd"]) {
			t.Errorf("%s: price source names no year: %q", m.ID, m.Sources["price_usd"])
		}
	}
	generations := []string{"a100-80gb", "h100-sxm", "h200", "b200"}
	for i := 1; i < len(generations); i++ {
		older, _ := catalog.Lookup(generations[i-1])
		newer, _ := catalog.Lookup(generations[i])
		if older == nil || newer == nil {
			t.Fatalf("catalog lacks %s or %s", generations[i-1], generations[i])
		}
		if newer.PriceUSD < older.PriceUSD {
			t.Errorf("%s costs $%.0f, less than the older %s at $%.0f", newer.ID, newer.PriceUSD, older.ID, older.PriceUSD)
		}
	}
}
