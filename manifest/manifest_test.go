package manifest_test

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/manifest"
)

// catalog holds minimal versions of the catalog models the example uses.
var catalog = map[string]*joule.HardwareModel{
	"s21":      {ID: "s21", Kind: joule.KindASIC, Name: "Antminer S21", PowerW: 3500, HashrateTHs: 200, Builtin: true},
	"s19j-pro": {ID: "s19j-pro", Kind: joule.KindASIC, Name: "Antminer S19j Pro", PowerW: 3068, HashrateTHs: 104, Builtin: true},
	"h100-sxm": {ID: "h100-sxm", Kind: joule.KindGPUServer, Name: "8x H100 SXM5", PowerW: 10200, GPUs: 8, Builtin: true},
}

func lookup(id string) (*joule.HardwareModel, bool) {
	m, ok := catalog[id]
	return m, ok
}

func readExample(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile("../examples/west-texas.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseExample(t *testing.T) {
	m, err := manifest.Parse("west-texas.yaml", readExample(t), lookup)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(m.Models) != 0 || len(m.Sites) != 1 {
		t.Fatalf("got %d models and %d sites, want 0 and 1", len(m.Models), len(m.Sites))
	}
	s := m.Sites[0]
	want := joule.EnergyPriceModel{Kind: joule.EnergyWholesale, Node: "ERCOT:LZ_WEST", AdderUSDPerMWh: 4.5}
	if s.Name != "west-texas" || s.PowerCapW != 50_000_000 || s.PUE != 1.05 || s.MarketNode != "ERCOT:LZ_WEST" || !reflect.DeepEqual(s.Energy, want) {
		t.Errorf("site = %+v", s)
	}

	var it joule.Watts
	kinds := map[string]joule.HardwareKind{}
	owned := 0
	for _, f := range m.Fleets {
		if f.Site != "west-texas" {
			t.Errorf("fleet %s: site %q", f.Name, f.Site)
		}
		kinds[f.Name] = f.Kind
		it += joule.Watts(f.Count) * catalog[f.Model].PowerW
		if f.Owner != "" {
			owned += f.Count
		}
	}
	wantKinds := map[string]joule.HardwareKind{
		"hall-a-s21": joule.KindASIC, "hall-b-s19j-pro": joule.KindASIC,
		"h100-pod-1": joule.KindGPUServer, "h100-pod-2": joule.KindGPUServer,
	}
	if !reflect.DeepEqual(kinds, wantKinds) {
		t.Errorf("fleet kinds = %v, want %v", kinds, wantKinds)
	}
	if owned == 0 {
		t.Error("no fleet is owned by an investor")
	}
	// The comments in the file promise headroom under the cap.
	facility := joule.Watts(float64(it) * s.PUE)
	if facility >= s.PowerCapW*9/10 {
		t.Errorf("facility power %v leaves too little headroom under the %v cap", facility, s.PowerCapW)
	}
}

func TestParseModelsOnly(t *testing.T) {
	doc := `
models:
  - id: s21-hydro
    kind: asic
    name: Antminer S21 Hydro
    vendor: Bitmain
    hashrate_ths: 335
    power_w: 5360
    idle_w: 30
    price_usd: 6000
    sources: {power_w: "Bitmain spec sheet", hashrate_ths: "Bitmain spec sheet"}
  - id: h200
    kind: gpu_server
    name: HGX H200 8-GPU
    power_w: 10.2e3
    gpus: 8
    gpu_model: H200 SXM 141GB
    gpu_memory_gb: 141
`
	m, err := manifest.Parse("hardware.yaml", []byte(doc), nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := []*joule.HardwareModel{
		{ID: "s21-hydro", Kind: joule.KindASIC, Name: "Antminer S21 Hydro", Vendor: "Bitmain", HashrateTHs: 335, PowerW: 5360, IdleW: 30, PriceUSD: 6000,
			Sources: map[string]string{"power_w": "Bitmain spec sheet", "hashrate_ths": "Bitmain spec sheet"}},
		{ID: "h200", Kind: joule.KindGPUServer, Name: "HGX H200 8-GPU", PowerW: 10200, GPUs: 8, GPUModel: "H200 SXM 141GB", GPUMemoryGB: 141},
	}
	if !reflect.DeepEqual(m.Models, want) {
		t.Errorf("models = %+v, want %+v", m.Models, want)
	}
}

func TestParseEnergyAndFleets(t *testing.T) {
	doc := `
models:
  - {id: s21-hydro, kind: asic, name: S21 Hydro, hashrate_ths: 335, power_w: 5360}
sites:
  - name: ohio
    power_cap_mw: 0.5
    energy:
      kind: tou
      timezone: America/New_York
      default_usd_per_mwh: 40
      periods:
        - {name: peak, start_hour: 14, end_hour: 20, weekdays: [mon, Tuesday, WED], months: [6, 7], usd_per_mwh: 120}
        - {name: night, start_hour: 22, end_hour: 6, usd_per_mwh: 25}
    fleets:
      - {name: a, model: s21-hydro, count: 50, owner: "", unit_price_usd: 3200}
      - {name: b, model: s21, count: 6e1}
  - name: fixed
    power_cap_mw: 1
    market_node: PJM:AEP
    energy: {kind: fixed, usd_per_mwh: 45}
  - name: market
    power_cap_mw: 2
    market_node: ERCOT:HB_WEST
    energy: {kind: wholesale}
`
	m, err := manifest.Parse("t.yaml", []byte(doc), lookup)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	ohio := m.Sites[0]
	if ohio.PUE != 1 || ohio.PowerCapW != 500_000 {
		t.Errorf("ohio: pue %v cap %v, want the default 1 and 500 kW", ohio.PUE, ohio.PowerCapW)
	}
	wantPeak := joule.TOUPeriod{Name: "peak", StartHour: 14, EndHour: 20,
		Weekdays: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday},
		Months:   []time.Month{time.June, time.July}, USDPerMWh: 120}
	if len(ohio.Energy.Periods) != 2 || !reflect.DeepEqual(ohio.Energy.Periods[0], wantPeak) {
		t.Errorf("periods = %+v", ohio.Energy.Periods)
	}
	if got := m.Sites[1].Energy; got.Kind != joule.EnergyFixed || got.FixedUSDPerMWh != 45 || got.Node != "" {
		t.Errorf("fixed energy = %+v", got)
	}
	if got := m.Sites[2].Energy.Node; got != "ERCOT:HB_WEST" {
		t.Errorf("wholesale node = %q, want the site's market node", got)
	}
	want := []*joule.Fleet{
		{Site: "ohio", Name: "a", Model: "s21-hydro", Kind: joule.KindASIC, Count: 50, UnitPriceUSD: 3200},
		{Site: "ohio", Name: "b", Model: "s21", Kind: joule.KindASIC, Count: 60},
	}
	if !reflect.DeepEqual(m.Fleets, want) {
		t.Errorf("fleets = %+v, want %+v", m.Fleets, want)
	}
}

// site is the start of a valid site; error cases append to it. Its fleets: key is on
// line 5.
const site = `sites:
  - name: w
    power_cap_mw: 50
    energy: {kind: fixed, usd_per_mwh: 40}
`

// A site's costs block sets the costs it names and leaves the others undeclared.
func TestParseCosts(t *testing.T) {
	doc := "sites:\n  - name: w\n    power_cap_mw: 5\n    energy: {kind: fixed, usd_per_mwh: 40}\n" +
		"    costs:\n      conversion_usd_per_mw: 3500000\n      install_lag_months: 9\n      discount_rate: 0.1\n"
	m, err := manifest.Parse("t.yaml", []byte(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := m.Sites[0].Costs
	if c.ConversionUSDPerMW == nil || *c.ConversionUSDPerMW != 3_500_000 || c.InstallLagMonths == nil || *c.InstallLagMonths != 9 ||
		c.DiscountRate == nil || *c.DiscountRate != 0.1 || c.GPUOpexUSDPerServerHour != nil || c.ASICResaleFraction != nil {
		t.Errorf("costs %+v", c)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string // each a line of the message, or a part of one
	}{
		{"empty file", "", []string{"t.yaml: the file is empty"}},
		{"only comments", "# nothing\n", []string{"t.yaml: the file is empty"}},
		{"null document", "---\n~\n", []string{"t.yaml:2: the file is empty"}},
		{"nothing declared", "models: []\nsites:\n", []string{"t.yaml:1: declares no models and no sites"}},
		{"not a mapping", "- a\n- b\n", []string{"t.yaml:1: must be a manifest (a mapping of fields), got a list"}},
		{"malformed yaml", "sites:\n  - name: w\n   power_cap_mw: 5\n", []string{"t.yaml:3: malformed YAML: did not find expected '-' indicator"}},
		{"malformed yaml, unclosed flow mapping", site + "    fleets:\n      - {name: a, model: s21\n      - b\n    pue: 1\n",
			[]string{"t.yaml:6: malformed YAML: did not find expected ',' or '}'"}},
		{"malformed yaml, mapping in a value", site + "    location: a: b\n",
			[]string{"t.yaml:5: malformed YAML: mapping values are not allowed in this context"}},
		{"malformed yaml, tab", site + "\tpue: 1\n",
			[]string{"t.yaml:5: malformed YAML: found character that cannot start any token (indent with spaces: YAML does not allow tabs there)"}},
		{"invalid utf-8", "sites:\n  - name: \xff\n", []string{"t.yaml:2: the file is not valid UTF-8 text"}},
		{"two documents", "models: []\n---\nsites: []\n", []string{"t.yaml:2: a manifest is one YAML document"}},
		{"unknown top-level field", "site:\n  - name: w\n", []string{"t.yaml:1: site: unknown field; did you mean sites?"}},
		{"unknown field with suggestion", "sites:\n  - name: w\n    power_cap_MW: 5\n    energy: {kind: fixed, usd_per_mwh: 1}\n",
			[]string{"t.yaml:3: sites[0].power_cap_MW: unknown field; did you mean power_cap_mw?"}},
		{"unknown field listing fields", site + "    colour: red\n",
			[]string{"t.yaml:5: sites[0].colour: unknown field; a site has name, location, power_cap_mw"}},
		{"field set twice", site + "    pue: 1.1\n    pue: 1.2\n", []string{"t.yaml:6: sites[0].pue: set twice (first on line 5)"}},
		{"cost out of range", site + "    costs:\n      gpu_opex_usd_per_server_hour: 1.2\n      asic_resale_fraction: 1.5\n",
			[]string{"t.yaml:7: sites[0].costs.asic_resale_fraction: must be from 0 to 1, got 1.5"}},
		{"unknown cost", site + "    costs:\n      opex: 1\n", []string{"t.yaml:6: sites[0].costs.opex: unknown field"}},
		{"alias", "sites:\n  - &s {name: a, power_cap_mw: 1, energy: {kind: fixed, usd_per_mwh: 1}}\n  - *s\n",
			[]string{"t.yaml:3: sites[1]: aliases (*s) are not supported"}},
		{"negative count", site + "    fleets:\n      - {name: a, model: s21, count: -3}\n",
			[]string{"t.yaml:6: sites[0].fleets[0].count: must be a positive integer, got -3"}},
		{"fractional count", site + "    fleets:\n      - {name: a, model: s21, count: 2.5}\n",
			[]string{"t.yaml:6: sites[0].fleets[0].count: must be a whole number, got 2.5"}},
		{"count as text", site + "    fleets:\n      - {name: a, model: s21, count: \"ten\"}\n",
			[]string{`t.yaml:6: sites[0].fleets[0].count: must be a number, got text "ten"`}},
		{"missing count", site + "    fleets:\n      - {name: a, model: s21}\n",
			[]string{"t.yaml:6: sites[0].fleets[0].count: required"}},
		{"nan price", site + "    fleets:\n      - {name: a, model: s21, count: 1, unit_price_usd: .nan}\n",
			[]string{"t.yaml:6: sites[0].fleets[0].unit_price_usd: must be a finite number, got .nan"}},
		{"infinite cap", "sites:\n  - name: w\n    power_cap_mw: .inf\n    energy: {kind: fixed, usd_per_mwh: 1}\n",
			[]string{"t.yaml:3: sites[0].power_cap_mw: must be a finite number, got .inf"}},
		{"negative cap", "sites:\n  - name: w\n    power_cap_mw: -5\n    energy: {kind: fixed, usd_per_mwh: 1}\n",
			[]string{"t.yaml:3: sites[0].power_cap_mw: must be positive, got -5"}},
		{"pue out of range", site + "    pue: 0.9\n", []string{"t.yaml:5: sites[0].pue: must be between 1 and 3"}},
		{"unknown model", site + "    fleets:\n      - {name: a, model: s9, count: 1}\n",
			[]string{`t.yaml:6: sites[0].fleets[0].model: unknown model "s9"; declare it under models: or use a catalog id`}},
		{"unknown model, normalized spelling known", site + "    fleets:\n      - {name: a, model: S21, count: 1}\n",
			[]string{`t.yaml:6: sites[0].fleets[0].model: unknown model "S21"; did you mean s21?`}},
		{"unknown model, close to a declared one",
			"models:\n  - {id: s21-hydro, kind: asic, name: H, hashrate_ths: 335, power_w: 5360}\n" + site + "    fleets:\n      - {name: a, model: s21-hydr, count: 1}\n",
			[]string{`t.yaml:8: sites[0].fleets[0].model: unknown model "s21-hydr"; did you mean s21-hydro?`}},
		{"unknown model, listing the declared ones",
			"models:\n  - {id: s21-hydro, kind: asic, name: H, hashrate_ths: 335, power_w: 5360}\n" + site + "    fleets:\n      - {name: a, model: antminer, count: 1}\n",
			[]string{`t.yaml:8: sites[0].fleets[0].model: unknown model "antminer"; declare it under models: or use a catalog id (this file declares asic models s21-hydro)`}},
		{"gpu server under fleets", site + "    fleets:\n      - {name: a, model: h100-sxm, count: 1}\n",
			[]string{"t.yaml:6: sites[0].fleets[0].model: h100-sxm is a gpu_server; list it under gpu_servers, not fleets"}},
		{"asic under gpu_servers", site + "    gpu_servers:\n      - {name: a, model: s21, count: 1}\n",
			[]string{"t.yaml:6: sites[0].gpu_servers[0].model: s21 is an asic; list it under fleets, not gpu_servers"}},
		{"duplicate fleet", site + "    fleets:\n      - {name: a, model: s21, count: 1}\n    gpu_servers:\n      - {name: a, model: h100-sxm, count: 1}\n",
			[]string{"t.yaml:8: sites[0].gpu_servers[0].name: duplicate fleet a in this site (first on line 6)"}},
		{"duplicate site", site + strings.Replace(site, "sites:\n", "", 1),
			[]string{"t.yaml:5: sites[1].name: duplicate site w (first on line 2)"}},
		{"duplicate model", "models:\n  - {id: m, kind: asic, name: M, hashrate_ths: 1, power_w: 1}\n  - {id: m, kind: asic, name: M, hashrate_ths: 1, power_w: 1}\n",
			[]string{"t.yaml:3: models[1].id: duplicate model m (first on line 2)"}},
		{"bad slug", "sites:\n  - name: West Texas\n    power_cap_mw: 1\n    energy: {kind: fixed, usd_per_mwh: 1}\n",
			[]string{`t.yaml:2: sites[0].name: "West Texas" is not a valid site name`}},
		{"missing energy", "sites:\n  - {name: w, power_cap_mw: 1}\n", []string{"t.yaml:2: sites[0].energy: required"}},
		{"energy field of another kind", "sites:\n  - name: w\n    power_cap_mw: 1\n    energy:\n      kind: fixed\n      usd_per_mwh: 1\n      node: ERCOT:LZ_WEST\n",
			[]string{"t.yaml:7: sites[0].energy.node: only for kind wholesale, not fixed"}},
		{"wholesale without node", "sites:\n  - name: w\n    power_cap_mw: 1\n    energy:\n      kind: wholesale\n",
			[]string{"t.yaml:5: sites[0].energy.node: required for kind wholesale"}},
		{"bad energy kind", "sites:\n  - name: w\n    power_cap_mw: 1\n    energy: {kind: spot}\n",
			[]string{`t.yaml:4: sites[0].energy.kind: must be fixed, tou or wholesale, got "spot"`}},
		{"bad tou period", "sites:\n  - name: w\n    power_cap_mw: 1\n    energy:\n      kind: tou\n      timezone: Mars/Olympus\n      default_usd_per_mwh: 1\n      periods:\n        - {name: p, start_hour: 25, end_hour: 3, weekdays: [mon, funday], months: [13], usd_per_mwh: 1}\n",
			[]string{
				`t.yaml:6: sites[0].energy.timezone: unknown time zone "Mars/Olympus"`,
				"t.yaml:9: sites[0].energy.periods[0].start_hour: must be between 0 and 23, got 25",
				`t.yaml:9: sites[0].energy.periods[0].weekdays[1]: must be a weekday (mon, tue, ... sun), got text "funday"`,
				"t.yaml:9: sites[0].energy.periods[0].months[0]: must be between 1 and 12, got 13",
			}},
		{"model problems", "models:\n  - id: m\n    kind: asic\n    name: M\n    power_w: 100\n    idle_w: 200\n    gpus: 8\n    sources: {power_w: \"\", wattage: x}\n",
			[]string{
				"t.yaml:2: models[0].hashrate_ths: required",
				"t.yaml:6: models[0].idle_w: must not exceed power_w (100), got 200",
				"t.yaml:7: models[0].gpus: only for kind gpu_server, not asic",
				"t.yaml:8: models[0].sources.wattage: unknown field",
				"t.yaml:8: models[0].sources.power_w: must say where the value came from",
			}},
		{"fleet of a broken model is not also unknown",
			"models:\n  - {id: m, kind: asic, name: M, power_w: 1}\n" + site + "    fleets:\n      - {name: a, model: m, count: 1}\n",
			[]string{"t.yaml:2: models[0].hashrate_ths: required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := manifest.Parse("t.yaml", []byte(tt.doc), lookup)
			if err == nil {
				t.Fatalf("Parse succeeded with %+v", m)
			}
			var e *joule.Error
			if !errors.As(err, &e) || e.Code != joule.EINVALID {
				t.Fatalf("error %v is not a *joule.Error with code EINVALID", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
			if n := strings.Count(err.Error(), "\n") + 1; n != len(tt.want) {
				t.Errorf("error has %d lines, want %d:\n%v", n, len(tt.want), err)
			}
		})
	}
}

func TestParseLimitsProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString(site + "    fleets:\n")
	for range 25 {
		b.WriteString("      - {name: a, model: s21, count: 0}\n")
	}
	_, err := manifest.Parse("t.yaml", []byte(b.String()), lookup)
	if err == nil {
		t.Fatal("Parse succeeded")
	}
	lines := strings.Split(err.Error(), "\n")
	// 25 bad counts and 24 duplicate names: 20 listed, then a count of the rest.
	if len(lines) != 21 || lines[20] != "t.yaml: ... and 29 more problems" {
		t.Errorf("got %d lines ending %q", len(lines), lines[len(lines)-1])
	}
}

func TestParseDeterministic(t *testing.T) {
	docs := map[string][]byte{
		"example": readExample(t),
		"broken":  []byte(site + "    fleets:\n      - {name: a, model: s9, count: -1, owner: 3}\n      - {name: a, model: s21, count: 0}\n    sources: {}\n"),
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			m1, err1 := manifest.Parse("t.yaml", doc, lookup)
			for range 20 {
				m2, err2 := manifest.Parse("t.yaml", doc, lookup)
				if !reflect.DeepEqual(m1, m2) || !reflect.DeepEqual(err1, err2) {
					t.Fatalf("two parses differ:\n%+v %v\n%+v %v", m1, err1, m2, err2)
				}
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	data := readExample(b)
	for b.Loop() {
		if _, err := manifest.Parse("west-texas.yaml", data, lookup); err != nil {
			b.Fatal(err)
		}
	}
}

// A fleet's tags are address ranges with the tags their devices carry, kept in order;
// a bad range, a bad key or a value that is not text is a problem on its line.
func TestParseFleetTags(t *testing.T) {
	doc := site + `    fleets:
      - name: a
        model: s21
        count: 12
        tags:
          - range: 10.0.1.1-10.0.1.6
            set: {rack: A1, row: "3"}
          - {range: 10.0.1.7, set: {rack: A2}}
`
	m, err := manifest.Parse("t.yaml", []byte(doc), lookup)
	if err != nil {
		t.Fatal(err)
	}
	want := []joule.TagRange{{Range: "10.0.1.1-10.0.1.6", Tags: map[string]string{"rack": "A1", "row": "3"}}, {Range: "10.0.1.7", Tags: map[string]string{"rack": "A2"}}}
	if got := m.Fleets[0].Tags; !reflect.DeepEqual(got, want) {
		t.Errorf("tags %+v, want %+v", got, want)
	}
	for _, bad := range []struct{ tags, want string }{
		{"          - {range: 10.0.1.9-10.0.1.1, set: {rack: A}}\n", "t.yaml:10: sites[0].fleets[0].tags[0].range: \"10.0.1.9-10.0.1.1\" is not an address or a range"},
		{"          - {range: 10.0.1.1, set: {Rack: A}}\n", `t.yaml:10: sites[0].fleets[0].tags[0].set: tag key "Rack"`},
		{"          - {range: 10.0.1.1, set: {rack: [A]}}\n", "t.yaml:10: sites[0].fleets[0].tags[0].set: a tag is key: value"},
		{"          - {set: {rack: A}}\n", "t.yaml:10: sites[0].fleets[0].tags[0].range: required"},
		{"          - {range: 10.0.1.1, set: {rack: A}, colour: red}\n", "t.yaml:10: sites[0].fleets[0].tags[0].colour: unknown field"},
	} {
		doc := site + "    fleets:\n      - name: a\n        model: s21\n        count: 12\n        tags:\n" + bad.tags
		_, err := manifest.Parse("t.yaml", []byte(doc), lookup)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("tags %q: %v, want %q", bad.tags, err, bad.want)
		}
	}
}
