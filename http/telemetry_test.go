package http_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule"
	jhttp "github.com/joule-site/joule/http"
)

// The site's agent posts a batch; a viewer reads it back as the device table and as
// the device's history, through the client.
func TestTelemetryThroughTheAPI(t *testing.T) {
	s, _ := authServer(t)
	ctx := context.Background()
	at := time.Date(2024, 8, 20, 17, 0, 0, 0, time.UTC)
	var batch []joule.TelemetrySample
	for i := range 3 {
		for k := range 4 {
			batch = append(batch, joule.TelemetrySample{Address: "10.0.0." + string(rune('1'+i)) + ":4028", Fleet: "hall-a-s21", At: at.Add(time.Duration(k) * 15 * time.Second),
				State: joule.StateRunning, PowerW: joule.Watts(3500 + 10*i + k), HashrateTHs: 200 + float64(i), ExpectedHashrateTHs: 210, TempC: 60 + float64(i), Firmware: "braiins"})
		}
	}
	agent := clientAs(s, token(t, s, joule.RoleAgent, "west-texas"))
	if err := agent.AppendTelemetry(ctx, "west-texas", batch); err != nil {
		t.Fatal(err)
	}
	viewer := clientAs(s, token(t, s, joule.RoleViewer, ""))
	page, err := viewer.DeviceTable(ctx, "west-texas", joule.DeviceQuery{Sort: joule.DeviceSortTemp, Desc: true, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 3 || len(page.Devices) != 2 || page.Devices[0].Address != "10.0.0.3:4028" || page.Devices[0].PowerW != 3523 {
		t.Errorf("the hottest two of three: %+v", page)
	}
	page, err = viewer.DeviceTable(ctx, "west-texas", joule.DeviceQuery{Sort: joule.DeviceSortTemp, Desc: true, Limit: 2, Offset: 2})
	if err != nil || len(page.Devices) != 1 || page.Devices[0].Address != "10.0.0.1:4028" {
		t.Errorf("page 2: %+v, %v", page, err)
	}
	h, err := viewer.DeviceHistory(ctx, "west-texas", "10.0.0.2:4028", at, at.Add(time.Hour), joule.ResolutionRaw)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Points) != 4 || h.Points[3].PowerW != 3513 || !h.Points[3].At.Equal(at.Add(45*time.Second)) {
		t.Errorf("history: %+v", h.Points)
	}
	// The agent of another site may not post to this one.
	other := clientAs(s, token(t, s, joule.RoleAgent, "east-texas"))
	if err := other.AppendTelemetry(ctx, "west-texas", batch[:1]); joule.ErrorCode(err) != joule.EFORBIDDEN {
		t.Errorf("another site's agent: %v, want forbidden", err)
	}
}

// Bad input is refused with 400 naming the field at fault, and a refused batch
// writes nothing.
func TestTelemetryBadInput(t *testing.T) {
	s, _ := authServer(t)
	viewer, agent := token(t, s, joule.RoleViewer, ""), token(t, s, joule.RoleAgent, "west-texas")
	table := func() string {
		return string(send(t, "GET", s.URL()+"/api/v1/sites/west-texas/telemetry", viewer, nil, false, nil).body)
	}
	before := table()
	for _, tt := range []struct {
		method, path, tok, body, field string
	}{
		{"GET", "/api/v1/sites/west-texas/telemetry?sort=colour", viewer, "", "sort"},
		{"GET", "/api/v1/sites/west-texas/telemetry?limit=0", viewer, "", "limit"},
		{"GET", "/api/v1/sites/west-texas/telemetry?limit=5000", viewer, "", "limit"},
		{"GET", "/api/v1/sites/west-texas/telemetry?page=x", viewer, "", "page"},
		{"GET", "/api/v1/sites/west-texas/telemetry?order=up", viewer, "", "order"},
		{"GET", "/api/v1/sites/west-texas/telemetry?state=melting", viewer, "", "state"},
		{"GET", "/api/v1/sites/west-texas/devices/10.0.0.1:4028/history?resolution=1d", viewer, "", "resolution"},
		{"GET", "/api/v1/sites/west-texas/devices/10.0.0.1:4028/history?from=yesterday", viewer, "", "from"},
		{"GET", "/api/v1/sites/west-texas/devices/10.0.0.1:4028/history?from=2024-08-21T00:00:00Z&to=2024-08-20T00:00:00Z", viewer, "", "to"},
		{"POST", "/api/v1/sites/west-texas/telemetry", agent, `{"samples": [{"address": "a:1", "at": "2024-08-20T17:00:00Z", "state": "running"}, {"address": "b:1", "at": "2024-08-20T17:00:00Z", "state": "melting"}]}`, "samples[1].state"},
		{"POST", "/api/v1/sites/west-texas/telemetry", agent, `{"samples": [{"address": "a:1", "at": "2024-08-20T17:00:00Z", "state": "running", "temp_c": -4}]}`, "samples[0].temp_c"},
		{"POST", "/api/v1/sites/west-texas/telemetry", agent, `{"samples": [{"at": "2024-08-20T17:00:00Z", "state": "running"}]}`, "samples[0].address"},
		{"POST", "/api/v1/sites/west-texas/telemetry", agent, `{"samples": [{"address": "a:1", "state": "running"}]}`, "samples[0].at"},
		{"POST", "/api/v1/sites/west-texas/telemetry", agent, `{"samples": [{"address": "a:1", "at": "2024-08-20T17:00:00Z", "state": "running", "colour": "red"}]}`, "colour"},
	} {
		var body []byte
		if tt.body != "" {
			body = []byte(tt.body)
		}
		r := send(t, tt.method, s.URL()+tt.path, tt.tok, body, false, map[string]string{"Content-Type": "application/json"})
		if r.status != 400 || !strings.Contains(string(r.body), tt.field) {
			t.Errorf("%s %s: %d %s, want 400 naming %s", tt.method, tt.path, r.status, r.body, tt.field)
		}
	}
	if after := table(); after != before {
		t.Errorf("refused batches changed the table:\nbefore %s\nafter  %s", before, after)
	}
	var big strings.Builder
	big.WriteString(`{"samples": [`)
	for i := range joule.MaxTelemetryBatch + 1 {
		if i > 0 {
			big.WriteString(",")
		}
		big.WriteString(`{"address": "a:1", "at": "2024-08-20T17:00:00Z", "state": "off"}`)
	}
	big.WriteString("]}")
	if r := send(t, "POST", s.URL()+"/api/v1/sites/west-texas/telemetry", agent, []byte(big.String()), false, map[string]string{"Content-Type": "application/json"}); r.status != 400 || !strings.Contains(string(r.body), "samples") {
		t.Errorf("a batch of %d samples: %d %s, want 400", joule.MaxTelemetryBatch+1, r.status, r.body)
	}
}

// clientAs is a client of s that sends tok.
func clientAs(s *jhttp.Server, tok string) *jhttp.Client {
	c := jhttp.NewClient(s.URL())
	c.Token = tok
	return c
}
