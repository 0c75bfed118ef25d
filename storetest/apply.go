package storetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/joule-site/joule"
)

func testApplyCreates(t *testing.T, e *env) {
	m := fixture()
	checkChanges(t, e.apply(t, m), fixtureChanges(joule.Created))

	want := fixture()
	sites, err := e.Sites.Sites(e.ctx)
	if err != nil {
		t.Fatalf("Sites: %v", err)
	}
	if len(sites) != 2 {
		t.Fatalf("Sites: got %d sites, want 2", len(sites))
	}
	checkSite(t, sites[0], siteNamed(want, "alberta"), t0, t0)
	checkSite(t, sites[1], siteNamed(want, "west-texas"), t0, t0)

	models, err := e.Models.Models(e.ctx)
	if err != nil {
		t.Fatalf("Models: %v", err)
	}
	checkEqual(t, "Models", models, []*joule.HardwareModel{modelID(want, "h100-box"), modelID(want, "s21-custom")})
	checkEqual(t, "Fleets(west-texas)", e.fleets(t, "west-texas"),
		[]*joule.Fleet{fleetNamed(want, "west-texas", "h100"), fleetNamed(want, "west-texas", "s21")})
	checkEqual(t, "Fleets(alberta)", e.fleets(t, "alberta"), []*joule.Fleet{fleetNamed(want, "alberta", "s19")})
	checkEqual(t, "the applied manifest", m, fixture()) // Apply does not change its argument
}

func testReapplyUnchanged(t *testing.T, e *env) {
	e.apply(t, fixture())
	before := e.snapshot(t)
	e.clock.Advance(time.Hour)
	checkChanges(t, e.apply(t, fixture()), fixtureChanges(joule.Unchanged))
	checkEqual(t, "store after re-apply", e.snapshot(t), before)
	checkSite(t, e.site(t, "west-texas"), siteNamed(fixture(), "west-texas"), t0, t0)
}

func testUpdateOneField(t *testing.T, e *env) {
	tests := []struct {
		name   string
		kind   string // of the one object that changes
		object string // its name in the changes
		mutate func(m *joule.Manifest)
	}{
		{"site power cap", "site", "west-texas", func(m *joule.Manifest) { siteNamed(m, "west-texas").PowerCapW = 60_000_000 }},
		{"site pue", "site", "west-texas", func(m *joule.Manifest) { siteNamed(m, "west-texas").PUE = 1.2 }},
		{"site market node", "site", "west-texas", func(m *joule.Manifest) { siteNamed(m, "west-texas").MarketNode = "ERCOT:HB_WEST" }},
		{"site location", "site", "alberta", func(m *joule.Manifest) { siteNamed(m, "alberta").Location = "" }},
		{"energy adder", "site", "west-texas", func(m *joule.Manifest) { siteNamed(m, "west-texas").Energy.AdderUSDPerMWh = 6 }},
		{"energy kind", "site", "alberta", func(m *joule.Manifest) {
			siteNamed(m, "alberta").Energy = joule.EnergyPriceModel{Kind: joule.EnergyTimeOfUse, DefaultUSDPerMWh: 45,
				Periods: []joule.TOUPeriod{{Name: "peak", StartHour: 16, EndHour: 21, USDPerMWh: 120}}}
		}},
		{"model price", "model", "s21-custom", func(m *joule.Manifest) { modelID(m, "s21-custom").PriceUSD = 2800 }},
		{"model source", "model", "s21-custom", func(m *joule.Manifest) { modelID(m, "s21-custom").Sources["price_usd"] = "broker quote, 2025-06" }},
		{"model sources added", "model", "h100-box", func(m *joule.Manifest) { modelID(m, "h100-box").Sources = map[string]string{"gpus": "vendor sheet"} }},
		{"model idle", "model", "h100-box", func(m *joule.Manifest) { modelID(m, "h100-box").IdleW = 1800 }},
		{"fleet count", "fleet", "west-texas/s21", func(m *joule.Manifest) { fleetNamed(m, "west-texas", "s21").Count = 1200 }},
		{"fleet model", "fleet", "alberta/s19", func(m *joule.Manifest) { fleetNamed(m, "alberta", "s19").Model = "s19jpro" }},
		{"fleet owner", "fleet", "west-texas/h100", func(m *joule.Manifest) { fleetNamed(m, "west-texas", "h100").Owner = "" }},
		{"fleet unit price", "fleet", "west-texas/h100", func(m *joule.Manifest) { fleetNamed(m, "west-texas", "h100").UnitPriceUSD = 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e.fresh(t)
			e.apply(t, fixture())
			later := e.clock.Advance(time.Minute)
			want := fixture()
			tt.mutate(want)
			checkChanges(t, e.apply(t, want), with(fixtureChanges(joule.Unchanged), tt.kind, tt.object, joule.Updated))

			// The object reads back as declared; only an updated site has a new
			// UpdatedAt (a fleet's change is not its site's).
			for _, s := range want.Sites {
				updated := t0
				if tt.kind == "site" && s.Name == tt.object {
					updated = later
				}
				checkSite(t, e.site(t, s.Name), s, t0, updated)
			}
			for _, hm := range want.Models {
				got, err := e.Models.Model(e.ctx, hm.ID)
				if err != nil {
					t.Fatalf("Model(%q): %v", hm.ID, err)
				}
				checkEqual(t, "Model("+hm.ID+")", got, hm)
			}
			checkEqual(t, "Fleets(alberta)", e.fleets(t, "alberta"), []*joule.Fleet{fleetNamed(want, "alberta", "s19")})
			checkEqual(t, "Fleets(west-texas)", e.fleets(t, "west-texas"),
				[]*joule.Fleet{fleetNamed(want, "west-texas", "h100"), fleetNamed(want, "west-texas", "s21")})
		})
	}
}

func testRemoveFleet(t *testing.T, e *env) {
	e.apply(t, fixture())
	m := fixture()
	m.Fleets = slices.DeleteFunc(m.Fleets, func(f *joule.Fleet) bool { return f.Name == "h100" })
	checkChanges(t, e.apply(t, m), with(fixtureChanges(joule.Unchanged), "fleet", "west-texas/h100", joule.Deleted))
	checkEqual(t, "Fleets(west-texas)", e.fleets(t, "west-texas"), []*joule.Fleet{fleetNamed(fixture(), "west-texas", "s21")})

	// A declared site without fleets keeps none.
	m.Fleets = slices.DeleteFunc(m.Fleets, func(f *joule.Fleet) bool { return f.Site == "west-texas" })
	want := with(fixtureChanges(joule.Unchanged), "fleet", "west-texas/s21", joule.Deleted)
	want = slices.DeleteFunc(want, func(c joule.Change) bool { return c.Name == "west-texas/h100" })
	checkChanges(t, e.apply(t, m), want)
	if got := e.fleets(t, "west-texas"); len(got) != 0 {
		t.Errorf("Fleets(west-texas): got %s, want none", jsonText(got))
	}
}

func testUndeclaredLeftAlone(t *testing.T, e *env) {
	e.apply(t, fixture())
	before := e.snapshot(t)
	e.clock.Advance(time.Hour)
	m := fixture()
	m.Models = nil
	m.Sites = []*joule.Site{siteNamed(m, "alberta")}
	m.Fleets = []*joule.Fleet{fleetNamed(m, "alberta", "s19")}
	checkChanges(t, e.apply(t, m), []joule.Change{
		{Kind: "site", Name: "alberta", Action: joule.Unchanged},
		{Kind: "fleet", Name: "alberta/s19", Action: joule.Unchanged},
	})
	checkEqual(t, "store after applying a part of it", e.snapshot(t), before)

	checkChanges(t, e.apply(t, &joule.Manifest{}), nil)
	checkEqual(t, "store after applying an empty manifest", e.snapshot(t), before)
}

func testFailedApplyWritesNothing(t *testing.T, e *env) {
	tests := []struct {
		name   string
		mutate func(m *joule.Manifest)
	}{
		{"invalid site", func(m *joule.Manifest) {
			m.Sites = append(m.Sites, &joule.Site{Name: "bad", PowerCapW: 1_000_000, PUE: 0.5,
				Energy: joule.EnergyPriceModel{Kind: joule.EnergyFixed, FixedUSDPerMWh: 40}})
		}},
		{"invalid energy", func(m *joule.Manifest) {
			siteNamed(m, "alberta").Energy = joule.EnergyPriceModel{Kind: joule.EnergyWholesale}
		}},
		{"invalid model", func(m *joule.Manifest) {
			m.Models = append(m.Models, &joule.HardwareModel{ID: "a-bad-one", Kind: "fpga", Name: "?", PowerW: 100})
		}},
		{"invalid fleet", func(m *joule.Manifest) { fleetNamed(m, "alberta", "s19").Count = 0 }},
		{"site declared twice", func(m *joule.Manifest) { m.Sites = append(m.Sites, siteNamed(fixture(), "alberta")) }},
		{"model declared twice", func(m *joule.Manifest) { m.Models = append(m.Models, modelID(fixture(), "h100-box")) }},
		{"fleet declared twice", func(m *joule.Manifest) { m.Fleets = append(m.Fleets, fleetNamed(fixture(), "alberta", "s19")) }},
		{"fleet of an undeclared site", func(m *joule.Manifest) {
			m.Fleets = append(m.Fleets, &joule.Fleet{Site: "nowhere", Name: "s21", Model: "s21-custom", Count: 1})
		}},
		{"nil site", func(m *joule.Manifest) { m.Sites = append(m.Sites, nil) }},
	}
	e.apply(t, fixture())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Besides the fault, the manifest changes, adds and removes valid objects,
			// any of which would show if the store wrote part of it.
			m := fixture()
			siteNamed(m, "west-texas").PUE = 1.3
			modelID(m, "s21-custom").PriceUSD = 1
			m.Models = append(m.Models, &joule.HardwareModel{ID: "new-model", Kind: joule.KindASIC, Name: "New", PowerW: 3000, HashrateTHs: 100})
			m.Sites = append(m.Sites, &joule.Site{Name: "new-site", PowerCapW: 1_000_000, PUE: 1.2,
				Energy: joule.EnergyPriceModel{Kind: joule.EnergyFixed, FixedUSDPerMWh: 40}})
			m.Fleets = slices.DeleteFunc(m.Fleets, func(f *joule.Fleet) bool { return f.Name == "h100" })
			m.Fleets = append(m.Fleets, &joule.Fleet{Site: "new-site", Name: "x", Model: "new-model", Kind: joule.KindASIC, Count: 3})
			tt.mutate(m)

			// On the populated store and on an empty one.
			for _, e := range []*env{e, e.fresh(t)} {
				before := e.snapshot(t)
				e.clock.Advance(time.Minute)
				changes, err := e.Manifests.Apply(e.ctx, m)
				checkCode(t, "Apply", err, joule.EINVALID)
				if changes != nil {
					t.Errorf("Apply failed but returned changes %s", jsonText(changes))
				}
				checkEqual(t, "store after a failed apply", e.snapshot(t), before)
			}
		})
	}
	_, err := e.Manifests.Apply(e.ctx, nil)
	checkCode(t, "Apply(nil)", err, joule.EINVALID)
}

func testConcurrentApply(t *testing.T, e *env) {
	const writers = 8
	results := make([][]joule.Change, writers)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() { results[i], errs[i] = e.Manifests.Apply(e.ctx, fixture()) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: Apply: %v", i, err)
		}
	}
	// The applies ran one after the other: exactly one created everything, and every
	// other found it all unchanged.
	created := 0
	for i, changes := range results {
		switch {
		case slices.Equal(changes, fixtureChanges(joule.Created)):
			created++
		case slices.Equal(changes, fixtureChanges(joule.Unchanged)):
		default:
			t.Errorf("writer %d: changes %s are neither all created nor all unchanged", i, jsonText(changes))
		}
	}
	if created != 1 {
		t.Errorf("%d writers created the fixture, want 1", created)
	}
	checkChanges(t, e.apply(t, fixture()), fixtureChanges(joule.Unchanged))
	checkSite(t, e.site(t, "alberta"), siteNamed(fixture(), "alberta"), t0, t0)
}
