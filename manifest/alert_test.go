package manifest_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/manifest"
)

// A site's alerts block sets the thresholds it names, turns rules off and lists its
// webhooks; what it leaves out takes the defaults. A fleet lists its pools.
func TestParseAlerts(t *testing.T) {
	doc := site + "    alerts:\n      temp_max_c: 85\n      offline_minutes: 2\n      off: [feed_stale]\n" +
		"      webhooks:\n        - {url: https://hooks.example.com/a, secret_env: JOULE_HOOK}\n" +
		"    fleets:\n      - name: a\n        model: s21\n        count: 3\n        pools: [stratum+tcp://pool.example.com:3333, stratum+tcp://backup.example.com:443]\n"
	m, err := manifest.Parse("t.yaml", []byte(doc), lookup)
	if err != nil {
		t.Fatal(err)
	}
	r := m.Sites[0].Alerts
	for rule, want := range map[joule.AlertRule]float64{joule.AlertOverheat: 85, joule.AlertOffline: 2, joule.AlertHashrateLow: joule.DefaultHashrateMinPercent, joule.AlertMeterMismatch: joule.DefaultMeterMismatchPercent} {
		if got := r.Threshold(rule); got != want {
			t.Errorf("%s: %v, want %v", rule, got, want)
		}
	}
	if r.On(joule.AlertFeedStale) || !r.On(joule.AlertWrongPool) || !reflect.DeepEqual(r.Webhooks, []joule.Webhook{{URL: "https://hooks.example.com/a", SecretEnv: "JOULE_HOOK"}}) {
		t.Errorf("rules %+v", r)
	}
	if got := m.Fleets[0].Pools; !reflect.DeepEqual(got, []string{"stratum+tcp://pool.example.com:3333", "stratum+tcp://backup.example.com:443"}) {
		t.Errorf("pools %q", got)
	}
	if !m.Fleets[0].AllowsPool("STRATUM+TCP://pool.example.com:3333/") || m.Fleets[0].AllowsPool("stratum+tcp://evil.example.com:3333") {
		t.Error("AllowsPool compares URLs wrongly")
	}
}

func TestParseAlertErrors(t *testing.T) {
	fleet := "    fleets:\n      - name: a\n        model: s21\n        count: 3\n"
	tests := []struct {
		name, doc, want string
	}{
		{"threshold out of range", site + "    alerts:\n      hashrate_min_percent: 120\n", "t.yaml:6: sites[0].alerts.hashrate_min_percent: must be from 1 to 100, got 120"},
		{"threshold not a number", site + "    alerts:\n      temp_max_c: hot\n", `t.yaml:6: sites[0].alerts.temp_max_c: must be a number, got text "hot"`},
		{"unknown rule off", site + "    alerts:\n      off: [smoke]\n", "t.yaml:6: sites[0].alerts.off[0]: must be a rule (offline, overheat"},
		{"rule off twice", site + "    alerts:\n      off: [overheat, overheat]\n", "t.yaml:6: sites[0].alerts.off[1]: overheat is listed twice"},
		{"unknown field", site + "    alerts:\n      temp_max: 80\n", "t.yaml:6: sites[0].alerts.temp_max: unknown field; did you mean temp_max_c?"},
		{"webhook not http", site + "    alerts:\n      webhooks: [{url: ftp://x.example.com/}]\n", `t.yaml:6: sites[0].alerts.webhooks[0]: url: "ftp://x.example.com/" is not an http or https URL with a host`},
		{"webhook secret name", site + "    alerts:\n      webhooks: [{url: https://x.example.com/, secret_env: my-secret}]\n", `secret_env: "my-secret" is not an environment variable's name`},
		{"webhook without url", site + "    alerts:\n      webhooks: [{secret_env: X}]\n", "t.yaml:6: sites[0].alerts.webhooks[0].url: required"},
		{"pool not a url", site + fleet + "        pools: [pool.example.com]\n", `t.yaml:9: sites[0].fleets[0].pools[0]: "pool.example.com" is not a pool URL like stratum+tcp://pool.example.com:3333`},
		{"pool twice", site + fleet + "        pools: [stratum+tcp://a.example.com:1, STRATUM+TCP://a.example.com:1]\n", "t.yaml:9: sites[0].fleets[0].pools[1]: STRATUM+TCP://a.example.com:1 is listed twice"},
		{"pools on GPU servers", site + "    gpu_servers:\n      - {name: g, model: h100-sxm, count: 1, pools: [stratum+tcp://a.example.com:1]}\n", "t.yaml:6: sites[0].gpu_servers[0].pools: only for miner fleets (fleets:), not GPU servers"},
		{"pools not a list", site + fleet + "        pools: stratum+tcp://a.example.com:1\n", "t.yaml:9: sites[0].fleets[0].pools: must be a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := manifest.Parse("t.yaml", []byte(tt.doc), lookup)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}
