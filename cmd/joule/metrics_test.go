package main_test

import (
	"context"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	domain "github.com/joule-site/joule"
	"github.com/joule-site/joule/leasing"
	"github.com/joule-site/joule/sim"
	"github.com/joule-site/joule/syncbuf"
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
	return getMetricsAs(t, url, "")
}

func getMetricsAs(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
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

// TestAgentCommandsInMetrics runs `joule agent` against simulated miners and a real
// server, with a plan that puts every miner to sleep: the server's command counters
// come to match the command and verify rows the agent posted to the audit log, one
// command and one verification a miner.
func TestAgentCommandsInMetrics(t *testing.T) {
	const miners = 4
	ctx := context.Background()
	dir := t.TempDir()
	rig := agentSite(t, miners)
	s, lv, svc, agentToken := rig.srv, rig.live, rig.exchange, rig.agentToken
	_, viewerToken, err := svc.CreateAccount(ctx, rig.operator, leasing.NewAccountRequest{ID: "prometheus", Role: domain.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	fleet, err := sim.StartFleet(sim.FleetConfig{Miners: miners, RandomPorts: true, Range: "127.0.0.1",
		Miner: sim.MinerConfig{SleepRamp: 100 * time.Millisecond, WakeRamp: 200 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fleet.Close() })
	plan := &domain.SitePlan{Site: "test-site", At: time.Now(), ValidUntil: time.Now().Add(time.Hour), Reason: "interval", CapW: 10_000_000, PUE: 1,
		Fleets: []domain.FleetTarget{{Fleet: "s21s", Kind: domain.KindASIC, Machines: miners, PowerFrac: 1, StockW: 3500}}} // all asleep
	if err := lv.SavePlan(ctx, plan); err != nil {
		t.Fatal(err)
	}
	agent := exec.Command(joule, "agent", "--site", "test-site", "--server", s.URL(), "--token", agentToken,
		"--scan", strings.Join(fleet.MinerAddresses(), ","), "--poll", "200ms", "--spool", filepath.Join(dir, "spool"))
	out := &syncbuf.Buffer{}
	agent.Stdout, agent.Stderr = out, out
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = agent.Process.Kill(); _ = agent.Wait() }) // the agent this test started

	counted := func(mfs map[string]*dto.MetricFamily, outcome string) int {
		for _, m := range mfs["joule_agent_commands_total"].GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["site"] == "test-site" && labels["outcome"] == outcome {
				return int(m.GetCounter().GetValue())
			}
		}
		return 0
	}
	for end := time.Now().Add(2 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
		rows, err := lv.Audit(ctx, domain.AuditQuery{Site: "test-site", Kinds: []domain.AuditKind{domain.AuditCommand, domain.AuditVerify}})
		if err != nil {
			t.Fatal(err)
		}
		var commands, verified int
		for _, r := range rows {
			switch {
			case r.Kind == domain.AuditCommand:
				commands++
			case r.Outcome == domain.OutcomeOK:
				verified++
			}
		}
		status, body := getMetricsAs(t, s.URL(), viewerToken)
		if status != http.StatusOK {
			t.Fatalf("GET /metrics: %d %s", status, body)
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		sent, ok := counted(mfs, "sent"), counted(mfs, "verified")
		if commands >= miners && verified >= miners && sent == commands && ok == verified {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("after two minutes: %d command and %d verified rows, counted %d sent and %d verified; the agent's output:\n%s",
				commands, verified, sent, ok, out.String())
		}
	}
}
