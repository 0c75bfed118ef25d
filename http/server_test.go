package http_test

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/joule-site/joule/alerts"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/catalog"
	"github.com/joule-site/joule/drreport"
	"github.com/joule-site/joule/history"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/leasing"
	"github.com/joule-site/joule/live"
	"github.com/joule-site/joule/pricing"
	"github.com/joule-site/joule/sqlite"
)

// openServer starts a server on a loopback port over a fresh SQLite file; each
// configure sets more of it before it opens.
func openServer(t testing.TB, configure ...func(*jhttp.Server, *sqlite.DB)) *jhttp.Server {
	t.Helper()
	db := sqlite.NewDB(t.TempDir() + "/joule.db")
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	hist, err := history.Default()
	if err != nil {
		t.Fatal(err)
	}
	models := catalog.Models{User: sqlite.NewHardwareService(db)}
	s := jhttp.NewServer()
	s.Addr = "127.0.0.1:0"
	s.Logger = slog.New(slog.DiscardHandler)
	s.Sites = sqlite.NewSiteService(db)
	s.Fleets = sqlite.NewFleetService(db)
	s.Manifests = sqlite.NewManifestService(db)
	s.Models = models
	s.Pricer = &pricing.Pricer{History: hist, Models: models}
	s.Live = sqlite.NewLiveService(db)
	s.Data = sqlite.NewDataService(db)
	s.Telemetry = sqlite.NewTelemetryService(db)
	s.DRReports = &drreport.Reporter{Evidence: sqlite.NewLiveService(db), Plans: s.Live, Devices: s.Telemetry, Now: func() time.Time { return serverNow(s) }}
	s.Alerts = sqlite.NewAlertService(db)
	s.AlertRules = &alerts.Evaluator{Alerts: s.Alerts, Sites: s.Sites, Fleets: s.Fleets, Now: func() time.Time { return serverNow(s) }}
	s.DeviceControl = sqlite.NewDeviceControlService(db)
	// The service's clock is the server's, read late: a configure may set it.
	s.Ops = &live.Operations{Sites: s.Sites, Live: s.Live, Now: func() time.Time { return serverNow(s) }}
	for _, c := range configure {
		c(s, db)
	}
	withAccounts(t, s, db)
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// withAccounts runs the exchange's accounts on the server over db, unless a configure
// did, and keeps an operator's token for the tests' requests (opToken).
func withAccounts(t testing.TB, s *jhttp.Server, db *sqlite.DB) {
	t.Helper()
	if s.Leasing == nil {
		svc, err := leasing.Open(context.Background(), sqlite.NewLeasingStore(db), leasing.Config{
			Now: func() time.Time { return serverNow(s) }, Sites: s.Sites, Fleets: s.Fleets, Models: s.Models,
		})
		if err != nil {
			t.Fatal(err)
		}
		s.Leasing = svc
	}
	// The operator's own account, which the audit log names "operator".
	ctx := context.Background()
	op, err := s.Leasing.Principal(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	issued, err := s.Leasing.IssueToken(ctx, op, op.ID, leasing.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	opTokens.Store(s, issued.Token)
}

// opTokens holds each test server's operator token.
var opTokens sync.Map // *jhttp.Server → string

// opToken is the token of an operator of s.
func opToken(s *jhttp.Server) string {
	tok, _ := opTokens.Load(s)
	return tok.(string)
}

// accountSeq numbers the accounts token makes.
var accountSeq atomic.Int64

// token creates an account of the role on s (the agent of site, for an agent) and
// returns its API token.
func token(t testing.TB, s *jhttp.Server, role joule.AccountRole, site string) string {
	t.Helper()
	ctx := context.Background()
	op, err := s.Leasing.Principal(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("%s-%d", role, accountSeq.Add(1))
	_, tok, err := s.Leasing.CreateAccount(ctx, op, leasing.NewAccountRequest{ID: id, Role: role, Site: site})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// client is a client of s that acts as its operator.
func client(s *jhttp.Server) *jhttp.Client {
	c := jhttp.NewClient(s.URL())
	c.Token = opToken(s)
	return c
}

// serverNow is the server's clock: its Now, or the wall clock.
func serverNow(s *jhttp.Server) time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func example(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile("../examples/west-texas.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestEndpoints(t *testing.T) {
	s := openServer(t)
	tests := []struct {
		name, method, path string
		body               string
		status             int
		contains           []string
	}{
		{"health", "GET", "/healthz", "", 200, []string{`"status": "ok"`, `"role": "leader"`, `"epoch": 1`}},
		{"models", "GET", "/api/v1/models", "", 200, []string{`"id": "s21"`, `"id": "h100-sxm"`, `"builtin": true`}},
		{"econ", "GET", "/api/v1/econ?date=2024-12-23", "", 200, []string{`"hashprice_usd_per_ph_day": 56.2`, `"breakeven_usd_per_mwh"`}},
		{"econ bad date", "GET", "/api/v1/econ?date=23/12/2024", "", 400, []string{"YYYY-MM-DD"}},
		{"econ before the data", "GET", "/api/v1/econ?date=2005-01-01", "", 400, []string{"no BTC price", "pick a day the data covers"}},
		{"econ without a date", "GET", "/api/v1/econ", "", 200, []string{`"date": "2025-05-01"`, "the newest day with every series"}},
		{"compare", "GET", "/api/v1/compare?date=2024-12-23&mw=10&asic=s21&gpu=h100-sxm&gpu_usd_hour=2&energy_usd_mwh=45", "", 200, []string{`"crossover_usd_per_gpu_hour"`, `"better": "leasing"`}},
		{"compare unknown model", "GET", "/api/v1/compare?date=2024-12-23&mw=10&asic=nope&gpu=h100-sxm&gpu_usd_hour=2&energy_usd_mwh=45", "", 404, []string{`unknown asic model \"nope\"`}},
		{"compare with costs", "GET", "/api/v1/compare?date=2024-12-23&mw=10&asic=s21&gpu=h100-sxm&gpu_usd_hour=2&energy_usd_mwh=45&install_lag_months=0&site_owns_asics=true", "", 200, []string{`"breakeven_usd_per_gpu_hour"`, `"site_owns_asics": true`, `"no_irr": "no outlay"`, `"source": "given"`}},
		{"compare resale above one", "GET", "/api/v1/compare?date=2024-12-23&mw=10&asic=s21&gpu=h100-sxm&gpu_usd_hour=2&energy_usd_mwh=45&asic_resale_fraction=1.5", "", 400, []string{"ASIC resale must be a fraction"}},
		{"compare owns asics not a bool", "GET", "/api/v1/compare?date=2024-12-23&mw=10&asic=s21&gpu=h100-sxm&gpu_usd_hour=2&energy_usd_mwh=45&site_owns_asics=maybe", "", 400, []string{"site_owns_asics: true or false"}},
		{"compare missing mw", "GET", "/api/v1/compare?date=2024-12-23&asic=s21&gpu=h100-sxm&gpu_usd_hour=2&energy_usd_mwh=45", "", 400, []string{"mw is required"}},
		{"sites empty", "GET", "/api/v1/sites", "", 200, []string{`"sites": []`}},
		{"site missing", "GET", "/api/v1/sites/nowhere", "", 404, []string{`"code": "not_found"`}},
		{"apply malformed", "POST", "/api/v1/apply?filename=bad.yaml", "sites: [", 400, []string{"bad.yaml"}},
		{"apply catalog id", "POST", "/api/v1/apply?filename=m.yaml", "models:\n  - {id: s21, kind: asic, name: Mine, hashrate_ths: 1, power_w: 10}\n", 400, []string{"built-in catalog"}},
		{"no route", "GET", "/api/v2/nothing", "", 404, []string{"no route"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, s.URL()+tt.path, strings.NewReader(tt.body))
			req.Header.Set("Authorization", "Bearer "+opToken(s))
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/yaml")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			for _, c := range tt.contains {
				if !strings.Contains(string(body), c) {
					t.Errorf("body lacks %s:\n%s", c, body)
				}
			}
		})
	}
}

func TestClientAppliesAndReadsBack(t *testing.T) {
	s := openServer(t)
	c := client(s)
	ctx := context.Background()
	changes, err := c.Apply(ctx, "west-texas.yaml", example(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) == 0 || changes[0].Action != joule.Created {
		t.Fatalf("first apply: %+v", changes)
	}
	again, err := c.Apply(ctx, "west-texas.yaml", example(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range again {
		if ch.Action != joule.Unchanged {
			t.Errorf("second apply changed %s %s: %s", ch.Kind, ch.Name, ch.Action)
		}
	}
	site, err := c.Site(ctx, "west-texas")
	if err != nil {
		t.Fatal(err)
	}
	if site.PowerCapW != 50_000_000 || len(site.Fleets) == 0 {
		t.Errorf("site = %+v", site)
	}
	if _, err := c.Site(ctx, "nowhere"); joule.ErrorCode(err) != joule.ENOTFOUND {
		t.Errorf("missing site: code %q, want %q", joule.ErrorCode(err), joule.ENOTFOUND)
	}
	_, err = c.Apply(ctx, "broken.yaml", []byte("sites:\n  - name: x\n    power_cap_mw: -5\n"))
	if joule.ErrorCode(err) != joule.EINVALID || !strings.Contains(err.Error(), "broken.yaml:") {
		t.Errorf("bad manifest: %v (code %q)", err, joule.ErrorCode(err))
	}
}

func TestLocalClientMatchesServer(t *testing.T) {
	s := openServer(t)
	q := pricing.DayQuery{Date: time.Date(2024, 12, 2, 0, 0, 0, 0, time.UTC), PoolFee: 0.02}
	remote, err := client(s).Day(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	local, err := jhttp.NewLocalClient(s).Day(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(remote)
	b, _ := json.Marshal(local)
	if string(a) != string(b) {
		t.Errorf("in-process and remote answers differ:\n%s\n%s", a, b)
	}
}

func TestGracefulShutdown(t *testing.T) {
	s := openServer(t)
	url := s.URL()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Error("server still answers after Close")
	}
}
