package storetest

import (
	"testing"
	"time"

	"github.com/joule-site/joule"
)

func testEmptyStore(t *testing.T, e *env) {
	s := e.snapshot(t)
	if len(s.Sites) != 0 || len(s.Models) != 0 {
		t.Errorf("a fresh store has sites %s and models %s, want none", jsonText(s.Sites), jsonText(s.Models))
	}
}

func testNotFound(t *testing.T, e *env) {
	check := func(t *testing.T) {
		t.Helper()
		_, err := e.Sites.Site(e.ctx, "nowhere")
		checkCode(t, "Site", err, joule.ENOTFOUND)
		_, err = e.Fleets.Fleets(e.ctx, "nowhere")
		checkCode(t, "Fleets", err, joule.ENOTFOUND)
		checkCode(t, "DeleteSite", e.Sites.DeleteSite(e.ctx, "nowhere"), joule.ENOTFOUND)
		_, err = e.Models.Model(e.ctx, "no-such-model")
		checkCode(t, "Model", err, joule.ENOTFOUND)
		// A built-in model a fleet names is not a stored model.
		_, err = e.Models.Model(e.ctx, "s19xp")
		checkCode(t, "Model(built-in)", err, joule.ENOTFOUND)
	}
	t.Run("empty", check)
	e.apply(t, fixture())
	t.Run("populated", check)
}

func testDeleteSiteCascades(t *testing.T, e *env) {
	e.apply(t, fixture())
	if err := e.Sites.DeleteSite(e.ctx, "west-texas"); err != nil {
		t.Fatalf("DeleteSite: %v", err)
	}
	_, err := e.Sites.Site(e.ctx, "west-texas")
	checkCode(t, "Site after delete", err, joule.ENOTFOUND)
	_, err = e.Fleets.Fleets(e.ctx, "west-texas")
	checkCode(t, "Fleets after delete", err, joule.ENOTFOUND)
	checkCode(t, "DeleteSite again", e.Sites.DeleteSite(e.ctx, "west-texas"), joule.ENOTFOUND)

	// The other site, its fleets and the models stay.
	s := e.snapshot(t)
	if len(s.Sites) != 1 || s.Sites[0].Name != "alberta" {
		t.Errorf("sites after delete: %s, want alberta only", jsonText(s.Sites))
	}
	checkEqual(t, "Fleets(alberta)", s.Fleets["alberta"], []*joule.Fleet{fleetNamed(fixture(), "alberta", "s19")})
	if len(s.Models) != 2 {
		t.Errorf("models after delete: %s, want both", jsonText(s.Models))
	}

	// Declaring the site again finds no fleets of the old one to delete: they went
	// with it.
	later := e.clock.Advance(time.Hour)
	m := fixture()
	m.Fleets = []*joule.Fleet{fleetNamed(m, "alberta", "s19")}
	checkChanges(t, e.apply(t, m), []joule.Change{
		{Kind: "model", Name: "h100-box", Action: joule.Unchanged},
		{Kind: "model", Name: "s21-custom", Action: joule.Unchanged},
		{Kind: "site", Name: "alberta", Action: joule.Unchanged},
		{Kind: "site", Name: "west-texas", Action: joule.Created},
		{Kind: "fleet", Name: "alberta/s19", Action: joule.Unchanged},
	})
	checkSite(t, e.site(t, "west-texas"), siteNamed(m, "west-texas"), later, later)
	if got := e.fleets(t, "west-texas"); len(got) != 0 {
		t.Errorf("Fleets(west-texas) after re-creating it: %s, want none", jsonText(got))
	}
}

func testOrdering(t *testing.T, e *env) {
	site := func(name string) *joule.Site {
		return &joule.Site{Name: name, PowerCapW: 1_000_000, PUE: 1.1, Energy: joule.EnergyPriceModel{Kind: joule.EnergyFixed, FixedUSDPerMWh: 50}}
	}
	model := func(id string) *joule.HardwareModel {
		return &joule.HardwareModel{ID: id, Kind: joule.KindASIC, Name: id, PowerW: 3000, HashrateTHs: 100}
	}
	fleet := func(name string) *joule.Fleet {
		return &joule.Fleet{Site: "b", Name: name, Model: "m2", Kind: joule.KindASIC, Count: 1}
	}
	m := &joule.Manifest{
		Models: []*joule.HardwareModel{model("m3"), model("m1"), model("m2")},
		Sites:  []*joule.Site{site("c"), site("a"), site("b")},
		Fleets: []*joule.Fleet{fleet("z"), fleet("a"), fleet("m")},
	}
	checkChanges(t, e.apply(t, m), []joule.Change{
		{Kind: "model", Name: "m1", Action: joule.Created},
		{Kind: "model", Name: "m2", Action: joule.Created},
		{Kind: "model", Name: "m3", Action: joule.Created},
		{Kind: "site", Name: "a", Action: joule.Created},
		{Kind: "site", Name: "b", Action: joule.Created},
		{Kind: "site", Name: "c", Action: joule.Created},
		{Kind: "fleet", Name: "b/a", Action: joule.Created},
		{Kind: "fleet", Name: "b/m", Action: joule.Created},
		{Kind: "fleet", Name: "b/z", Action: joule.Created},
	})
	s := e.snapshot(t)
	var sites, models, fleets []string
	for _, x := range s.Sites {
		sites = append(sites, x.Name)
	}
	for _, x := range s.Models {
		models = append(models, x.ID)
	}
	for _, x := range s.Fleets["b"] {
		fleets = append(fleets, x.Name)
	}
	checkEqual(t, "site order", sites, []string{"a", "b", "c"})
	checkEqual(t, "model order", models, []string{"m1", "m2", "m3"})
	checkEqual(t, "fleet order", fleets, []string{"a", "m", "z"})
}

func testEnergyRoundTrip(t *testing.T, e *env) {
	tests := []struct {
		name   string
		energy joule.EnergyPriceModel
	}{
		{"fixed", joule.EnergyPriceModel{Kind: joule.EnergyFixed, FixedUSDPerMWh: 42.17}},
		{"fixed free", joule.EnergyPriceModel{Kind: joule.EnergyFixed}},
		{"tou", joule.EnergyPriceModel{
			Kind: joule.EnergyTimeOfUse, DefaultUSDPerMWh: 31.5, Timezone: "America/Chicago",
			Periods: []joule.TOUPeriod{
				{Name: "summer-peak", StartHour: 14, EndHour: 20, USDPerMWh: 180.25,
					Weekdays: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday},
					Months:   []time.Month{time.June, time.July, time.August, time.September}},
				{Name: "weekend", StartHour: 0, EndHour: 24, USDPerMWh: 22, Weekdays: []time.Weekday{time.Saturday, time.Sunday}},
				{Name: "night", StartHour: 22, EndHour: 6, USDPerMWh: -3.75},
			},
		}},
		{"tou utc", joule.EnergyPriceModel{Kind: joule.EnergyTimeOfUse, Periods: []joule.TOUPeriod{{Name: "all", StartHour: 0, EndHour: 24, USDPerMWh: 60}}}},
		{"wholesale", joule.EnergyPriceModel{Kind: joule.EnergyWholesale, Node: "ERCOT:HB_WEST", AdderUSDPerMWh: 4.25}},
		{"wholesale no adder", joule.EnergyPriceModel{Kind: joule.EnergyWholesale, Node: "PJM:WESTERN HUB"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			declare := func() *joule.Manifest {
				return &joule.Manifest{Sites: []*joule.Site{{Name: "site", PowerCapW: 5_000_000, PUE: 1.25, Energy: tt.energy}}}
			}
			e.apply(t, declare())
			checkEqual(t, "energy", e.site(t, "site").Energy, tt.energy)
			checkChanges(t, e.apply(t, declare()), []joule.Change{{Kind: "site", Name: "site", Action: joule.Unchanged}})
		})
	}
}

// A site's costs round-trip field by field, an undeclared cost stays undeclared (not
// zero), and changing one is an update while re-applying the same is not.
func testCostsRoundTrip(t *testing.T, e *env) {
	f := func(v float64) *float64 { return &v }
	declare := func(c joule.SiteCosts) *joule.Manifest {
		return &joule.Manifest{Sites: []*joule.Site{{Name: "site", PowerCapW: 5_000_000, PUE: 1.25,
			Energy: joule.EnergyPriceModel{Kind: joule.EnergyFixed, FixedUSDPerMWh: 40}, Costs: c}}}
	}
	some := joule.SiteCosts{GPUOpexUSDPerServerHour: f(1.35), ConversionUSDPerMW: f(3_250_000), ASICResaleFraction: f(0), DiscountRate: f(0.095)}
	e.apply(t, declare(some))
	got := e.site(t, "site").Costs
	checkEqual(t, "costs", got, some)
	if got.NetworkStorageFraction != nil || got.InstallLagMonths != nil || got.ASICResaleFraction == nil {
		t.Errorf("undeclared costs came back declared, or a declared 0 came back undeclared: %+v", got)
	}
	checkChanges(t, e.apply(t, declare(some)), []joule.Change{{Kind: "site", Name: "site", Action: joule.Unchanged}})
	more := some
	more.InstallLagMonths = f(9)
	checkChanges(t, e.apply(t, declare(more)), []joule.Change{{Kind: "site", Name: "site", Action: joule.Updated}})
	checkEqual(t, "costs", e.site(t, "site").Costs, more)
	checkChanges(t, e.apply(t, declare(joule.SiteCosts{})), []joule.Change{{Kind: "site", Name: "site", Action: joule.Updated}})
	checkEqual(t, "costs", e.site(t, "site").Costs, joule.SiteCosts{})
}

func testModelRoundTrip(t *testing.T, e *env) {
	models := []*joule.HardwareModel{
		{
			ID: "asic-full", Kind: joule.KindASIC, Name: "Whatsminer M66S", Vendor: "MicroBT",
			PowerW: 5500, IdleW: 120, HashrateTHs: 298.5, PriceUSD: 5299.99,
			Sources: map[string]string{"power_w": "spec sheet rev 2", "hashrate_ths": "spec sheet rev 2", "price_usd": "https://example.com/q"},
		},
		{ID: "asic-bare", Kind: joule.KindASIC, Name: "Bare", PowerW: 1, HashrateTHs: 0.5},
		{
			ID: "gpu-full", Kind: joule.KindGPUServer, Name: "8×H200 server", Vendor: "Dell",
			PowerW: 11_000, IdleW: 2500, GPUs: 8, GPUModel: "H200 SXM", GPUMemoryGB: 141, PriceUSD: 350_000,
			Sources: map[string]string{"gpu_memory_gb": "NVIDIA H200 datasheet"},
		},
	}
	declare := func() *joule.Manifest {
		m := &joule.Manifest{}
		for _, hm := range models {
			c := *hm
			m.Models = append(m.Models, &c)
		}
		return m
	}
	e.apply(t, declare())
	for _, want := range models {
		got, err := e.Models.Model(e.ctx, want.ID)
		if err != nil {
			t.Fatalf("Model(%q): %v", want.ID, err)
		}
		checkEqual(t, "Model("+want.ID+")", got, want)
	}
	all, err := e.Models.Models(e.ctx)
	if err != nil {
		t.Fatalf("Models: %v", err)
	}
	checkEqual(t, "Models", all, []*joule.HardwareModel{models[1], models[0], models[2]})
	checkChanges(t, e.apply(t, declare()), []joule.Change{
		{Kind: "model", Name: "asic-bare", Action: joule.Unchanged},
		{Kind: "model", Name: "asic-full", Action: joule.Unchanged},
		{Kind: "model", Name: "gpu-full", Action: joule.Unchanged},
	})
}
