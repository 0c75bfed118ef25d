package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/joule-site/joule"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/leasing"
	"github.com/joule-site/joule/ledger"
	"github.com/joule-site/joule/sqlite"
)

// metricsServer is a server with the example site, a fixed market and the exchange's
// clock standing still.
func metricsServer(t *testing.T, configure ...func(*jhttp.Server, *sqlite.DB)) *jhttp.Server {
	t.Helper()
	s := openServer(t, append([]func(*jhttp.Server, *sqlite.DB){func(s *jhttp.Server, _ *sqlite.DB) {
		s.Now = func() time.Time { return exchangeT0 }
		s.RateLimit = 10_000
		s.Prices = fixedMarket{hashprice: 50, energy: 30, gpu: 2, util: 0.85, btc: 95_000}
	}}, configure...)...)
	if _, err := client(s).Apply(context.Background(), "west-texas.yaml", example(t)); err != nil {
		t.Fatal(err)
	}
	return s
}

// scrape fetches /metrics with token, checks it is the text format, and parses it with
// Prometheus' own parser.
func scrape(t *testing.T, s *jhttp.Server, token string) (map[string]*dto.MetricFamily, []byte) {
	t.Helper()
	status, _, data := call(t, "GET", s.URL()+"/metrics", token, "", nil)
	if status != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", status, data)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, data)
	}
	return mfs, data
}

// sample returns the value of the family's series with exactly these labels (name,
// value pairs): a gauge's or counter's value, a histogram's count.
func sample(mfs map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	mf := mfs[name]
	if mf == nil {
		return 0, false
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			if l.GetValue() != "" { // to Prometheus an empty label is no label
				have[l.GetName()] = l.GetValue()
			}
		}
		if !maps.Equal(have, want) {
			continue
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// waitScrape scrapes until ok holds of what it reads: the server counts a request once
// its answer is written, so the scrape right after may be a request early. It gives up
// only when the test's deadline nears.
func waitScrape(t *testing.T, s *jhttp.Server, token string, ok func(map[string]*dto.MetricFamily) bool) map[string]*dto.MetricFamily {
	t.Helper()
	deadline, has := t.Deadline()
	if !has {
		deadline = time.Now().Add(time.Minute)
	}
	for {
		mfs, data := scrape(t, s, token)
		if ok(mfs) {
			return mfs
		}
		if time.Now().Add(5 * time.Second).After(deadline) {
			t.Fatalf("the metrics never showed what was waited for:\n%s", data)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMetricsSayWhatTheServicesHold drives a site, its agent, the exchange and the API
// through real requests, then reads each back from /metrics: the site's cap as the
// manifest says, a saved plan's power by use and age, the agent's census and meter,
// the market, the exchange's book, leases and held credit, requests by route and
// status class, and the agent's command rows by outcome.
func TestMetricsSayWhatTheServicesHold(t *testing.T) {
	s := metricsServer(t)
	ctx := context.Background()
	viewer := token(t, s, joule.RoleViewer, "")
	agent := jhttp.NewClient(s.URL())
	agent.Token = token(t, s, joule.RoleAgent, "west-texas")

	// The exchange: a block that fills against the operator's ask, one that rests.
	svc := s.Leasing.(*leasing.Service)
	if err := svc.SyncListings(ctx); err != nil {
		t.Fatal(err)
	}
	op, err := svc.Principal(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetAsk(ctx, op, "h100-sxm/west-texas", "operator", 1_900_000, false); err != nil {
		t.Fatal(err)
	}
	created, err := client(s).CreateTenant(ctx, jhttp.TenantRequest{ID: "acme", CreditMicroUSD: 10_000_000_000})
	if err != nil {
		t.Fatal(err)
	}
	tenant := jhttp.NewClient(s.URL())
	tenant.Token = created.Token
	filled, err := tenant.SubmitOrder(ctx, block("fills", 8, 0, 24, 2.5))
	if err != nil {
		t.Fatal(err)
	}
	resting, err := tenant.SubmitOrder(ctx, block("rests", 8, 0, 24, 0.5))
	if err != nil {
		t.Fatal(err)
	}
	if len(filled.Leases) != 1 || resting.Order.Status != joule.OrderOpen {
		t.Fatalf("the orders: filled %+v, resting %+v", filled, resting.Order)
	}

	// A plan, as the dispatch loop saves it, made 90 s before the server's clock.
	plan := &joule.SitePlan{Site: "west-texas", At: exchangeT0.Add(-90 * time.Second), ValidUntil: exchangeT0.Add(5 * time.Minute),
		Reason: "interval", CapW: 50_000_000, AllocatedW: 32_000_000, PUE: 1.05, DrawW: 31_000_000,
		Use: joule.PowerUse{MiningW: 30_000_000, FirmGPUW: 700_000, OpenGPUW: 300_000, CurtailedW: 4_000_000}}
	if err := s.Live.SavePlan(ctx, plan); err != nil {
		t.Fatal(err)
	}
	// The agent's census, with the site meter, and its command rows.
	census := &joule.DeviceReport{At: exchangeT0, Fleets: []joule.FleetCensus{
		{Fleet: "hall-a-s21", Kind: joule.KindASIC, Machines: 6000, Found: 6000, Running: 5000, Sleeping: 900, Ramping: 50, Off: 30, Unknown: 20, PowerW: 18_000_000, Reported: 5980},
		{Fleet: "hall-b-s19j-pro", Kind: joule.KindASIC, Machines: 4000, Found: 4000, Running: 4000, PowerW: 12_000_000, Reported: 4000},
	}, Meter: &joule.MeterReading{At: exchangeT0, PowerW: 31_500_000}}
	if err := agent.ReportDevices(ctx, "west-texas", census); err != nil {
		t.Fatal(err)
	}
	rows := []*joule.Audit{
		{Kind: joule.AuditCommand, Device: "10.0.0.1:4028"}, {Kind: joule.AuditCommand, Device: "10.0.0.2:4028"},
		{Kind: joule.AuditCommand, Device: "10.0.0.3:4028"},
		{Kind: joule.AuditAck, Device: "10.0.0.1:4028"}, {Kind: joule.AuditAck, Device: "10.0.0.2:4028"},
		{Kind: joule.AuditVerify, Device: "10.0.0.1:4028", Outcome: joule.OutcomeOK},
		{Kind: joule.AuditVerify, Device: "10.0.0.2:4028", Outcome: joule.OutcomeOK},
		{Kind: joule.AuditVerify, Device: "10.0.0.3:4028", Outcome: joule.OutcomeFailed},
		{Kind: joule.AuditReport, Detail: "measured 31 MW"},
	}
	if err := agent.ReportAudit(ctx, "west-texas", rows); err != nil {
		t.Fatal(err)
	}
	// Requests: three a viewer may make, one without a token.
	for range 3 {
		if st, _, data := call(t, "GET", s.URL()+"/api/v1/sites", viewer, "", nil); st != 200 {
			t.Fatalf("GET /api/v1/sites: %d %s", st, data)
		}
	}
	if st, _, _ := call(t, "GET", s.URL()+"/api/v1/sites", "", "", nil); st != 401 {
		t.Fatalf("GET /api/v1/sites without a token: %d", st)
	}

	const route, dur = "route", "joule_http_request_duration_seconds"
	mfs := waitScrape(t, s, viewer, func(mfs map[string]*dto.MetricFamily) bool {
		ok, _ := sample(mfs, dur, route, "GET /api/v1/sites", "code", "2xx")
		refused, _ := sample(mfs, dur, route, "GET /api/v1/sites", "code", "4xx")
		return ok >= 3 && refused >= 1
	})
	held := float64(svc.Balance(ledger.TenantHold("acme")))
	if held <= 0 {
		t.Fatalf("acme holds %v µUSD for its orders: the test needs a hold", held)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"joule_site_power_cap_watts", []string{"site", "west-texas"}, 50_000_000}, // power_cap_mw: 50
		{"joule_site_power_planned_watts", []string{"site", "west-texas"}, 31_000_000},
		{"joule_site_power_planned_by_use_watts", []string{"site", "west-texas", "use", "mining"}, 30_000_000},
		{"joule_site_power_planned_by_use_watts", []string{"site", "west-texas", "use", "firm_gpu"}, 700_000},
		{"joule_site_power_planned_by_use_watts", []string{"site", "west-texas", "use", "open_gpu"}, 300_000},
		{"joule_site_power_planned_by_use_watts", []string{"site", "west-texas", "use", "interruptible_gpu"}, 0},
		{"joule_site_power_planned_by_use_watts", []string{"site", "west-texas", "use", "idle"}, 0},
		{"joule_site_power_planned_by_use_watts", []string{"site", "west-texas", "use", "curtailed"}, 4_000_000},
		{"joule_site_plan_age_seconds", []string{"site", "west-texas"}, 90},
		{"joule_site_power_measured_watts", []string{"site", "west-texas"}, 30_000_000},
		{"joule_site_power_metered_watts", []string{"site", "west-texas"}, 31_500_000},
		{"joule_devices", []string{"site", "west-texas", "fleet", "hall-a-s21", "state", "running"}, 5000},
		{"joule_devices", []string{"site", "west-texas", "fleet", "hall-a-s21", "state", "sleeping"}, 900},
		{"joule_devices", []string{"site", "west-texas", "fleet", "hall-a-s21", "state", "ramping"}, 50},
		{"joule_devices", []string{"site", "west-texas", "fleet", "hall-a-s21", "state", "off"}, 30},
		{"joule_devices", []string{"site", "west-texas", "fleet", "hall-a-s21", "state", "unknown"}, 20},
		{"joule_devices", []string{"site", "west-texas", "fleet", "hall-b-s19j-pro", "state", "running"}, 4000},
		{"joule_hashprice_usd_per_ph_day", nil, 50},
		{"joule_btc_price_usd", nil, 95_000},
		{"joule_energy_price_usd_per_mwh", []string{"site", "west-texas"}, 30},
		{"joule_feed_fresh", []string{"feed", "hashprice"}, 1},
		{"joule_feed_fresh", []string{"feed", "energy", "site", "west-texas"}, 1},
		{"joule_exchange_orders", []string{"status", "open"}, 1},
		{"joule_exchange_orders", []string{"status", "partially_filled"}, 0},
		{"joule_exchange_leases", []string{"status", "active"}, 1},
		{"joule_exchange_gpus_leased", nil, 0}, // the block starts tomorrow
		{"joule_exchange_credit_held_micro_usd", nil, held},
		{"joule_agent_commands_total", []string{"site", "west-texas", "outcome", "sent"}, 3},
		{"joule_agent_commands_total", []string{"site", "west-texas", "outcome", "acked"}, 2},
		{"joule_agent_commands_total", []string{"site", "west-texas", "outcome", "verified"}, 2},
		{"joule_agent_commands_total", []string{"site", "west-texas", "outcome", "failed"}, 1},
	} {
		got, ok := sample(mfs, c.name, c.labels...)
		switch {
		case !ok:
			t.Errorf("%s%v: not in the metrics", c.name, c.labels)
		case got != c.want:
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// No path, and no device's address, becomes a label: only route patterns.
	for _, m := range mfs[dur].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == route && strings.Contains(l.GetValue(), "west-texas") {
				t.Errorf("route label %q is a path, not a pattern", l.GetValue())
			}
		}
	}
	checkExposition(t, s, viewer)
	checkDashboard(t, mfs)
}

// checkDashboard reads the Grafana dashboard's queries: each must name only metrics the
// server exposes, so that a renamed metric cannot leave a panel empty.
func checkDashboard(t *testing.T, mfs map[string]*dto.MetricFamily) {
	t.Helper()
	data, err := os.ReadFile("../deploy/grafana/joule-site.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("deploy/grafana/joule-site.json: %v", err)
	}
	name := regexp.MustCompile(`joule_[a-z_]+`)
	seen := 0
	for _, p := range dash.Panels {
		for _, q := range p.Targets {
			for _, m := range name.FindAllString(q.Expr, -1) {
				seen++
				family := m
				if strings.HasPrefix(m, "joule_http_request_duration_seconds_") {
					family = "joule_http_request_duration_seconds" // its _bucket series
				}
				if mfs[family] == nil {
					t.Errorf("dashboard panel %q: %s is not a metric of the server", p.Title, m)
				}
			}
		}
	}
	if seen == 0 {
		t.Error("the dashboard queries no Joule metric")
	}
}

// checkExposition lints the scraped text with client_golang's promlint, and with
// promtool where it is installed (CI installs it: JOULE_CI=1 makes it required).
func checkExposition(t *testing.T, s *jhttp.Server, token string) {
	t.Helper()
	_, data := scrape(t, s, token)
	problems, err := promlint.New(bytes.NewReader(data)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "joule_") {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
	}
	promtool := lookTool(t, "promtool")
	if promtool == "" {
		return
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(data)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// lookTool returns the path of a Prometheus tool, or "" (and the test says it skipped
// it) when it is not installed here; in CI (JOULE_CI=1) a missing tool fails the test.
func lookTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	switch {
	case err == nil:
		return path
	case os.Getenv("JOULE_CI") == "1":
		t.Fatalf("%s is not installed, and JOULE_CI=1 requires it (Debian's prometheus package)", name)
	}
	t.Logf("%s is not installed: its check is skipped (JOULE_CI=1 requires it)", name)
	return ""
}

// TestMetricsAreForViewersUnlessPublic: a scraper needs a viewer's or the operator's
// token, a tenant's is refused, and with PublicMetrics none is needed.
func TestMetricsAreForViewersUnlessPublic(t *testing.T) {
	s := metricsServer(t)
	tenant := token(t, s, joule.RoleTenant, "")
	for _, c := range []struct {
		name, token string
		want        int
	}{
		{"no token", "", 401},
		{"a bad token", "jt_nonsense", 401},
		{"a tenant", tenant, 403},
		{"a viewer", token(t, s, joule.RoleViewer, ""), 200},
		{"the operator", opToken(s), 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			if st, _, data := call(t, "GET", s.URL()+"/metrics", c.token, "", nil); st != c.want {
				t.Errorf("GET /metrics: %d, want %d: %.200s", st, c.want, data)
			}
		})
	}
	public := metricsServer(t, func(s *jhttp.Server, _ *sqlite.DB) { s.PublicMetrics = true })
	mfs, _ := scrape(t, public, "")
	if got, ok := sample(mfs, "joule_site_power_cap_watts", "site", "west-texas"); !ok || got != 50_000_000 {
		t.Errorf("public /metrics: cap %v (%v), want 50000000", got, ok)
	}
}

// TestPrometheusScrapesTheServer runs a real Prometheus (Debian's prometheus package)
// that scrapes the server with a viewer's token, as the README's scrape config says,
// and reads the site's cap back through Prometheus' query API.
func TestPrometheusScrapesTheServer(t *testing.T) {
	bin := lookTool(t, "prometheus")
	if bin == "" {
		t.Skip("prometheus is not installed")
	}
	s := metricsServer(t)
	viewer := token(t, s, joule.RoleViewer, "")
	dir := t.TempDir()
	target := strings.TrimPrefix(s.URL(), "http://")
	config := fmt.Sprintf(`global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: joule
    metrics_path: /metrics
    authorization: {type: Bearer, credentials: %q}
    static_configs: [{targets: [%q]}]
`, viewer, target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // by its PID: the one this test started
		_ = cmd.Wait()
	})
	query := "http://" + addr + "/api/v1/query?query=" + url.QueryEscape(`joule_site_power_cap_watts{site="west-texas"}`)
	deadline, has := t.Deadline()
	if !has {
		deadline = time.Now().Add(2 * time.Minute)
	}
	for {
		if v, ok := promQuery(query); ok {
			if v != "50000000" {
				t.Fatalf("Prometheus has the cap as %s, want 50000000", v)
			}
			return
		}
		if time.Now().Add(5 * time.Second).After(deadline) {
			t.Fatalf("Prometheus never had the site's cap; its log:\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// promQuery asks Prometheus' query API and returns the one result's value, or false
// while it has none (not started, not yet scraped).
func promQuery(u string) (string, bool) {
	resp, err := http.Get(u)
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out struct {
		Data struct {
			Result []struct {
				Value []any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if json.Unmarshal(data, &out) != nil || len(out.Data.Result) != 1 || len(out.Data.Result[0].Value) != 2 {
		return "", false
	}
	v, _ := out.Data.Result[0].Value[1].(string)
	return v, v != ""
}

// freeAddr returns a loopback address no one listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
