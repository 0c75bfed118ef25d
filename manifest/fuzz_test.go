package manifest_test

import (
	"errors"
	"testing"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/manifest"
)

// FuzzParse checks that no input makes Parse panic, that every failure is a user
// error, and that whatever it accepts passes the root types' own validation.
func FuzzParse(f *testing.F) {
	f.Add(readExample(f))
	f.Add([]byte(""))
	f.Add([]byte(site))
	f.Add([]byte(site + "    fleets:\n      - {name: a, model: s21, count: -3}\n"))
	f.Add([]byte(site + "    gpu_servers:\n      - {name: a, model: h100-sxm, count: 1e3, owner: x}\n"))
	f.Add([]byte("models:\n  - {id: m, kind: gpu_server, name: M, gpus: 8, power_w: 10200, idle_w: 900, sources: {gpus: x}}\n"))
	f.Add([]byte("sites:\n  - name: w\n    power_cap_mw: 1\n    energy:\n      kind: tou\n      default_usd_per_mwh: 1\n      periods:\n        - {name: p, start_hour: 22, end_hour: 6, weekdays: [sat, sun], months: [1], usd_per_mwh: 1}\n"))
	f.Add([]byte("sites:\n  - &a {name: w}\n  - *a\n  - <<: *a\n"))
	f.Add([]byte("sites: [{name: w, power_cap_mw: 1e400, pue: .nan, energy: {kind: wholesale}}]"))
	f.Add([]byte(site + "    alerts: {temp_max_c: 85, off: [feed_stale], webhooks: [{url: https://h.example.com/x, secret_env: S}]}\n    fleets:\n      - {name: a, model: s21, count: 1, pools: [stratum+tcp://p.example.com:3333]}\n"))
	f.Add([]byte("a: [1\nb: {"))
	f.Add([]byte("---\n...\n---\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := manifest.Parse("f.yaml", data, lookup)
		if err != nil {
			var e *joule.Error
			if !errors.As(err, &e) || e.Code != joule.EINVALID {
				t.Fatalf("error %v is not a *joule.Error with code EINVALID", err)
			}
			return
		}
		for _, s := range m.Sites {
			if err := s.Validate(); err != nil {
				t.Errorf("accepted an invalid site: %v", err)
			}
		}
		for _, fl := range m.Fleets {
			if err := fl.Validate(); err != nil || (fl.Kind != joule.KindASIC && fl.Kind != joule.KindGPUServer) {
				t.Errorf("accepted an invalid fleet %+v: %v", fl, err)
			}
		}
		for _, hm := range m.Models {
			if err := hm.Validate(); err != nil {
				t.Errorf("accepted an invalid model: %v", err)
			}
		}
	})
}
