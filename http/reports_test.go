package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/backtest"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/reports"
	"github.com/joule-site/joule/sqlite"
)

// stripe draws a report's "chart" as a PNG one pixel high and n wide: enough to
// check that the server serves what the renderer drew.
func stripe(name string, n int) (map[string][]byte, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, n, 1))); err != nil {
		return nil, err
	}
	return map[string][]byte{name: buf.Bytes()}, nil
}

// serveReports opens a server on a real SQLite store with the example site applied,
// whose reports run on the store's own sites, fleets and models.
func serveReports(t *testing.T, cfg reports.Config) *jhttp.Server {
	t.Helper()
	s := openServer(t, func(s *jhttp.Server, _ *sqlite.DB) {
		cfg.Sites = joule.SiteLoader{Sites: s.Sites, Fleets: s.Fleets, Models: s.Models}
		s.Reports = reports.NewService(cfg)
	})
	if _, err := client(s).Apply(context.Background(), "west-texas.yaml", example(t)); err != nil {
		t.Fatal(err)
	}
	return s
}

func get(t *testing.T, s *jhttp.Server, url string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+opToken(s))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestServerServesReportsOfItsStore(t *testing.T) {
	s := serveReports(t, reports.Config{
		BacktestCharts: func(r *backtest.Report) (map[string][]byte, error) { return stripe("power", len(r.Strategies)) },
		PivotCharts:    func(p *backtest.PivotReport) (map[string][]byte, error) { return stripe("npv", p.Paths) },
	})
	base := s.URL() + "/api/v1/sites/west-texas"

	q := "?from=2023-01-01&to=2023-01-03"
	resp, body := get(t, s, base+"/backtest"+q)
	var bt struct {
		Site       string `json:"site"`
		Node       string `json:"node"`
		From, To   string
		Intervals  int `json:"intervals"`
		Strategies []struct {
			Name string `json:"name"`
		} `json:"strategies"`
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal(body, &bt) != nil {
		t.Fatalf("backtest: %d %s %.300s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if bt.Site != "west-texas" || bt.Node != "ERCOT:LZ_WEST" || bt.From != "2023-01-01" || bt.To != "2023-01-03" || bt.Intervals != 72 ||
		len(bt.Strategies) != 7 || bt.Strategies[6].Name != backtest.Optimum {
		t.Errorf("backtest report %+v", bt)
	}
	resp, chart := get(t, s, base+"/backtest/power.png"+q)
	img, err := png.Decode(bytes.NewReader(chart))
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || err != nil || img.Bounds().Dx() != len(bt.Strategies) {
		t.Errorf("power chart: %d %s, %v", resp.StatusCode, resp.Header.Get("Content-Type"), err)
	}

	p := "?convert_mw=2&gpu=h100-sxm&at=2024-06-01&years=1&paths=20"
	resp, body = get(t, s, base+"/planreport"+p)
	var plan struct {
		Paths, Years int
		GPUModel     string `json:"gpu_model"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &plan) != nil || plan.Paths != 20 || plan.Years != 1 || plan.GPUModel != "h100-sxm" {
		t.Errorf("plan: %d %+v %.300s", resp.StatusCode, plan, body)
	}
	if resp, chart := get(t, s, base+"/planreport/npv.png"+p); resp.StatusCode != 200 || !bytes.HasPrefix(chart, []byte("\x89PNG")) {
		t.Errorf("npv chart: %d", resp.StatusCode)
	}

	for _, tc := range []struct {
		path   string
		status int
		want   string
	}{
		{"/backtest?from=2023-01-01&to=nope", 400, `to: want YYYY-MM-DD, got \"nope\"`},
		{"/backtest?from=2023-01-01&to=2023-01-03&rm=1", 400, `backtest: unknown parameter \"rm\" (known: from, to,`},
		{"/planreport?convert_mw=2&gpu=h100-sxm&at=2024-06-01&paths=5000", 400, "paths: at most 2000 on this server, got 5000"},
		{"/planreport?convert_mw=2&gpu=h100-sxm&at=2024-06-01&years=40", 400, "years: want 1 to 30, got 40"},
		{"/planreport?convert_mw=2&gpu=s21&at=2024-06-01&paths=10", 400, `gpu: unknown GPU server model \"s21\"`},
		{"/backtest/margin.png" + q, 404, `has no chart \"margin\"`},
	} {
		if resp, body := get(t, s, base+tc.path); resp.StatusCode != tc.status || !strings.Contains(string(body), tc.want) {
			t.Errorf("GET %s: %d %s, want %d and %s", tc.path, resp.StatusCode, body, tc.status, tc.want)
		}
	}
	if resp, _ := get(t, s, s.URL()+"/api/v1/sites/nowhere/backtest"+q); resp.StatusCode != 404 {
		t.Errorf("a backtest of no site: %d", resp.StatusCode)
	}
}

// A report beyond those the server runs and queues is refused at once, with a time to
// retry after.
func TestServerRefusesReportsBeyondItsQueue(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	s := serveReports(t, reports.Config{Running: 1, Queued: -1, BacktestCharts: func(*backtest.Report) (map[string][]byte, error) {
		close(started)
		<-release // the running report holds its turn until the test lets it go
		return nil, nil
	}})
	base := s.URL() + "/api/v1/sites/west-texas/backtest"
	first := make(chan int, 1)
	go func() {
		resp, _ := get(t, s, base+"?from=2023-01-01&to=2023-01-03")
		first <- resp.StatusCode
	}()
	<-started
	resp, body := get(t, s, base+"?from=2023-01-02&to=2023-01-03")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), `"code": "unavailable"`) {
		t.Errorf("a report beyond the queue: %d, Retry-After %q, %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	close(release)
	if code := <-first; code != 200 {
		t.Errorf("the running report: %d", code)
	}
}
