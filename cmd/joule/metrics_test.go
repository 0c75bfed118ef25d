package main_test

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestServeMetrics: `joule serve --public-metrics` answers /metrics without a token,
// with the site's cap from its manifest and, once the dispatch loop has planned, the
// plan's power; without the flag a scraper needs a token.
func TestServeMetrics(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "served.db")
	example, _ := filepath.Abs("../../examples/west-texas.yaml")
	if r := run(t, dir, "--db", db, "apply", "-f", example); r.code != 0 {
		t.Fatalf("apply: exit %d: %s", r.code, r.stderr)
	}
	_, url := startServe(t, db, "--public-metrics")
	for {
		status, body := getMetrics(t, url)
		if status != http.StatusOK {
			t.Fatalf("GET /metrics without a token: %d %s", status, body)
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
		if err != nil {
			t.Fatalf("parse /metrics: %v", err)
		}
		if cap := mfs["joule_site_power_cap_watts"]; cap == nil || cap.Metric[0].GetGauge().GetValue() != 50_000_000 {
			t.Fatalf("the cap of west-texas (power_cap_mw: 50) is not in the metrics: %v", cap)
		}
		if mfs["joule_site_power_planned_watts"] != nil { // the loop's first plan
			if uses := mfs["joule_site_power_planned_by_use_watts"]; uses == nil || len(uses.Metric) != 6 {
				t.Errorf("the plan's power by use: %v, want six uses", uses)
			}
			break
		}
		time.Sleep(50 * time.Millisecond)
	}

	_, closed := startServe(t, filepath.Join(dir, "other.db"))
	if status, body := getMetrics(t, closed); status != http.StatusUnauthorized {
		t.Errorf("GET /metrics without a token or --public-metrics: %d %s", status, body)
	}
}

func getMetrics(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(data)
}
