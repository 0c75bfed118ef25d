package http_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/joule-site/joule"
	jhttp "github.com/joule-site/joule/http"
)

// Applying a manifest tags its fleets' devices by address range at the miner API's
// port; applying it again without them removes the manifest's tags and leaves those
// set live; the device table shows them and filters on them.
func TestManifestTagsApplied(t *testing.T) {
	s := openServer(t)
	ctx := context.Background()
	c := client(s)
	doc := "sites:\n  - name: lab\n    power_cap_mw: 1\n    energy: {kind: fixed, usd_per_mwh: 30}\n    fleets:\n      - name: s21s\n        model: s21\n        count: 4\n"
	tagged := doc + "        tags:\n          - {range: 10.0.0.1-10.0.0.2, set: {rack: A1}}\n          - {range: 10.0.0.2-10.0.0.4, set: {row: \"3\"}}\n"
	if _, err := c.Apply(ctx, "lab.yaml", []byte(tagged)); err != nil {
		t.Fatal(err)
	}
	var samples []joule.TelemetrySample
	for _, a := range []string{"10.0.0.1:4028", "10.0.0.2:4028", "10.0.0.3:4028", "10.0.0.4:4028"} {
		samples = append(samples, joule.TelemetrySample{Address: a, Fleet: "s21s", At: time.Now(), State: joule.StateRunning})
	}
	if err := c.AppendTelemetry(ctx, "lab", samples); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetTags(ctx, "lab", jhttp.DeviceSelection{Addresses: []string{"10.0.0.4:4028"}}, map[string]string{"rack": "B9"}); err != nil {
		t.Fatal(err)
	}
	tags := func(q string) map[string]map[string]string {
		t.Helper()
		p, err := c.DeviceTable(ctx, "lab", joule.DeviceQuery{Q: q, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]map[string]string{}
		for _, d := range p.Devices {
			out[d.Address] = d.Tags
		}
		return out
	}
	want := map[string]map[string]string{
		"10.0.0.1:4028": {"rack": "A1"},
		"10.0.0.2:4028": {"rack": "A1", "row": "3"},
		"10.0.0.3:4028": {"row": "3"},
		"10.0.0.4:4028": {"rack": "B9", "row": "3"},
	}
	if got := tags(""); !reflect.DeepEqual(got, want) {
		t.Errorf("tags %v, want %v", got, want)
	}
	if got := tags("tag:rack=A1"); len(got) != 2 || got["10.0.0.3:4028"] != nil {
		t.Errorf("tag:rack=A1 keeps %v", got)
	}
	if _, err := c.Apply(ctx, "lab.yaml", []byte(doc)); err != nil {
		t.Fatal(err)
	}
	if got := tags(""); !reflect.DeepEqual(got, map[string]map[string]string{"10.0.0.1:4028": nil, "10.0.0.2:4028": nil, "10.0.0.3:4028": nil, "10.0.0.4:4028": {"rack": "B9"}}) {
		t.Errorf("after applying without tags: %v, want only the live one", got)
	}
}
