package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/drreport"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/sqlite"
)

// drGet fetches path from s with token and the Accept header given, and returns the
// status, the content type and the body.
func drGet(t *testing.T, s *jhttp.Server, token, accept, path string) (int, string, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

// An event's report is JSON, or CSV for ?format=csv or an Accept of text/csv, for the
// operator and a viewer; a tenant and an agent are refused, and so are a bad format, a
// bad baseline, an unknown event and an unknown site.
func TestDemandResponseReportRoute(t *testing.T) {
	var lv *sqlite.LiveService
	var clock atomic.Int64 // the server's clock, unix nanoseconds
	clock.Store(time.Now().UnixNano())
	s := openServer(t, func(s *jhttp.Server, db *sqlite.DB) {
		lv = sqlite.NewLiveService(db)
		s.Now = func() time.Time { return time.Unix(0, clock.Load()) }
	})
	ctx := context.Background()
	if _, err := client(s).Apply(ctx, "west-texas.yaml", example(t)); err != nil {
		t.Fatal(err)
	}
	dr, err := client(s).DemandResponse(ctx, "west-texas", 5_000_000, time.Minute, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// Two censuses before notice and one after: the meter's 9 MW, then 4.
	for i, w := range []joule.Watts{9_000_000, 9_000_000, 4_000_000} {
		at := dr.CreatedAt.Add(time.Duration(2*i-3) * time.Second) // -3 s, -1 s, +1 s
		if err := lv.SaveDeviceReport(ctx, &joule.DeviceReport{Site: "west-texas", At: at, Fleets: []joule.FleetCensus{{Fleet: "hall-a-s21", PowerW: w - 100_000}},
			Meter: &joule.MeterReading{At: at, PowerW: w}}); err != nil {
			t.Fatal(err)
		}
	}
	clock.Add(int64(2 * time.Second)) // the report is made after the last census
	path := fmt.Sprintf("/api/v1/sites/west-texas/dr/%d/report", dr.ID)
	viewer := token(t, s, joule.RoleViewer, "")
	code, ctype, body := drGet(t, s, viewer, "", path)
	var rep drreport.Report
	if code != 200 || !strings.HasPrefix(ctype, "application/json") || json.Unmarshal(body, &rep) != nil {
		t.Fatalf("viewer: %d %s %s", code, ctype, body)
	}
	if rep.Baseline.PowerW != 9_000_000 || !rep.Baseline.Metered || rep.Baseline.Readings != 2 || rep.Complete || len(rep.Series) != 3 {
		t.Errorf("report: baseline %+v, complete %v, %d points", rep.Baseline, rep.Complete, len(rep.Series))
	}
	for _, accept := range []string{"text/csv", ""} {
		p := path
		if accept == "" {
			p += "?format=csv"
		}
		code, ctype, body := drGet(t, s, opToken(s), accept, p)
		lines := strings.Split(strings.TrimSpace(string(body)), "\n")
		if code != 200 || !strings.HasPrefix(ctype, "text/csv") || len(lines) != 4 || lines[1] != strings.Join([]string{rep.Series[0].At.UTC().Format(time.RFC3339Nano), "9000000", "8900000", "9000000", "5000000"}, ",") {
			t.Errorf("csv (Accept %q): %d %s\n%s", accept, code, ctype, body)
		}
	}
	// The client reads both.
	if got, err := client(s).DemandResponseReport(ctx, "west-texas", dr.ID, 2*time.Minute); err != nil || !got.Baseline.From.Equal(dr.CreatedAt.Add(-2*time.Minute)) {
		t.Errorf("client: %+v, %v", got.Baseline, err)
	}
	if csv, err := client(s).DemandResponseReportCSV(ctx, "west-texas", dr.ID, 0); err != nil || !bytes.HasPrefix(csv, []byte("at,meter_w,")) {
		t.Errorf("client csv: %q, %v", csv, err)
	}
	for _, c := range []struct {
		token, path string
		code        int
	}{
		{token(t, s, joule.RoleTenant, ""), path, 403},
		{token(t, s, joule.RoleAgent, "west-texas"), path, 403},
		{"", path, 401},
		{viewer, path + "?format=xml", 400},
		{viewer, path + "?baseline=forever", 400},
		{viewer, path + "?baseline=48h", 400},
		{viewer, "/api/v1/sites/west-texas/dr/0/report", 400},
		{viewer, fmt.Sprintf("/api/v1/sites/west-texas/dr/%d/report", dr.ID+100), 404},
		{viewer, fmt.Sprintf("/api/v1/sites/nowhere/dr/%d/report", dr.ID), 404},
	} {
		if code, _, body := drGet(t, s, c.token, "", c.path); code != c.code {
			t.Errorf("%s: %d, want %d: %s", c.path, code, c.code, body)
		}
	}
}
