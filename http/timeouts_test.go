package http_test

import (
	"context"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/backtest"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/reports"
	"github.com/joule-site/joule/sqlite"
)

// A report may take longer than the server's WriteTimeout: its route extends its own
// write deadline (to ReportWriteTimeout) instead of the server lifting everyone's.
func TestReportOutlastsTheWriteTimeout(t *testing.T) {
	const writeTimeout = 200 * time.Millisecond
	s := openServer(t, func(s *jhttp.Server, _ *sqlite.DB) {
		jhttp.SetWriteTimeout(s, writeTimeout)
		s.Reports = reports.NewService(reports.Config{
			Sites: joule.SiteLoader{Sites: s.Sites, Fleets: s.Fleets, Models: s.Models},
			BacktestCharts: func(r *backtest.Report) (map[string][]byte, error) {
				time.Sleep(3 * writeTimeout) // the work of a long report: past the server's deadline
				return stripe("power", len(r.Strategies))
			},
		})
	})
	if _, err := client(s).Apply(context.Background(), "west-texas.yaml", example(t)); err != nil {
		t.Fatal(err)
	}
	resp, body := get(t, s, s.URL()+"/api/v1/sites/west-texas/backtest?from=2023-01-01&to=2023-01-02")
	if resp.StatusCode != 200 || len(body) == 0 {
		t.Fatalf("a report that outlasts the write timeout: %d %.300s", resp.StatusCode, body)
	}
}
