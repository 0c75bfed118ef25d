package e2e_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestDashboardAlerts: a miner an agent reports overheating fires an alert on a real
// `joule serve`; the Site page's Alerts card shows it firing, and an operator
// acknowledges it there: the card then says who did.
func TestDashboardAlerts(t *testing.T) {
	ctx := browser(t)
	db := freshDB(t)
	joule(t, "apply", "-f", "examples/west-texas.yaml", "--db", db)
	token := operatorToken(t, db)
	out := joule(t, "account", "create", "west-agent", "--role", "agent", "--site", "west-texas", "--db", db)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	agentToken := strings.TrimSpace(lines[len(lines)-1])
	s := startServer(t, db)

	body := `{"samples": [{"address": "10.0.0.7:4028", "fleet": "hall-a-s21", "at": "2026-03-01T12:00:00Z", "state": "running", "power_w": 3500,
		"hashrate_ths": 200, "expected_hashrate_ths": 200, "temp_c": 96, "chip_temp_c": 104, "firmware": "LuxOS"}]}`
	req, err := http.NewRequest(http.MethodPost, s.URL+"/api/v1/sites/west-texas/telemetry", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+agentToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("posting telemetry: %s", resp.Status)
	}

	open(t, ctx, s, "/sites/west-texas")
	signIn(t, ctx, token)
	row := waitFor[string](t, ctx, loadTimeout, "the firing alert with its button", `(r => r && r.querySelector("button.ack") ? r.textContent : "")(document.querySelector("#alerts tr.alert-firing"))`)
	if !strings.Contains(row, "overheat") || !strings.Contains(row, "10.0.0.7:4028") || !strings.Contains(row, "104.0 °C, over 90 °C") {
		t.Errorf("the alert's row: %q", row)
	}
	if meta := eval[string](t, ctx, `document.getElementById("alerts-meta").textContent`); meta != "1 firing, 0 acknowledged and still firing." {
		t.Errorf("alerts meta %q", meta)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#alerts button.ack"))); err != nil {
		t.Fatalf("acknowledge: %v", err)
	}
	acked := waitFor[string](t, ctx, loadTimeout, "the alert acknowledged", `(r => r ? r.textContent : "")(document.querySelector("#alerts tr.alert-acknowledged"))`)
	if !strings.Contains(acked, "acknowledged by operator") || strings.Contains(acked, "Acknowledge") {
		t.Errorf("after the acknowledgement the row reads %q", acked)
	}
	screenshot(t, ctx, "alerts")
}
