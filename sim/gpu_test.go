package sim

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/gpuapi"
)

func TestGPUServerAPI(t *testing.T) {
	g, err := StartGPUServer(GPUConfig{Clock: NewFakeClock(t0)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	base := "http://" + g.Addr()

	get := func(t *testing.T) gpuapi.Telemetry {
		t.Helper()
		resp, err := http.Get(base + "/telemetry")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var tel gpuapi.Telemetry
		if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&tel) != nil {
			t.Fatalf("GET /telemetry: %s", resp.Status)
		}
		return tel
	}
	post := func(t *testing.T, body string) int {
		t.Helper()
		resp, err := http.Post(base+"/power", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	tests := []struct {
		state  string
		powerW joule.Watts
		gpus   int
		util   float64
	}{
		{GPUOn, 1700 + 7650, 8, 0.9}, // idle + 90 % of the span to 10200 W
		{GPUIdle, 1700, 8, 0},
		{GPUOff, 25, 0, 0},
		{GPUOn, 9350, 8, 0.9},
	}
	for i, tc := range tests {
		if i > 0 {
			if code := post(t, `{"state":"`+tc.state+`"}`); code != http.StatusOK {
				t.Fatalf("POST %s: %d", tc.state, code)
			}
		}
		tel := get(t)
		if tel.State != tc.state || tel.PowerW != tc.powerW || len(tel.GPUs) != tc.gpus || tel.Utilization != tc.util || g.PowerW() != tc.powerW {
			t.Errorf("%s: %+v", tc.state, tel)
		}
		if tc.gpus > 0 && (tel.GPUs[0].PowerLimitW != 700 || tel.GPUs[0].MemoryTotalBytes != 80<<30 || tel.MemoryTotalBytes != 8*80<<30) {
			t.Errorf("%s: GPU 0 %+v", tc.state, tel.GPUs[0])
		}
	}
	for _, bad := range []string{`{"state":"sleep"}`, `not json`, `{}`} {
		if code := post(t, bad); code != http.StatusBadRequest {
			t.Errorf("POST %s: %d, want 400", bad, code)
		}
	}
}
