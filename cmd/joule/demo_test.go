package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/joule-site/joule/syncbuf"
)

// startDemo starts `joule serve --demo` with a small fleet on db and returns the
// process, its URL and its log.
func startDemo(t *testing.T, db string, args ...string) (*exec.Cmd, string, *syncbuf.Buffer) {
	t.Helper()
	return startLogged(t, append([]string{"serve", "--demo", "--addr", "127.0.0.1:0", "--db", db,
		"--demo-miners", "60", "--demo-gpu-servers", "4", "--demo-speed", "300", "--demo-cap-mw", "0.2"}, args...)...)
}

func getBody(t *testing.T, url, token string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// eventually polls check every 250 ms until it is true or timeout passes.
// demoOperatorToken is the operator's token a demo hands its pages, without a token.
func demoOperatorToken(t *testing.T, url string) string {
	t.Helper()
	code, body := getBody(t, url+"/api/v1/demo", "")
	var demo struct {
		OperatorToken string `json:"operator_token"`
	}
	if err := json.Unmarshal(body, &demo); code != 200 || err != nil || demo.OperatorToken == "" {
		t.Fatalf("demo: %d %v %s", code, err, body)
	}
	return demo.OperatorToken
}

func eventually(t *testing.T, timeout time.Duration, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", timeout, what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

type demoOverview struct {
	Now    time.Time `json:"now"`
	Demo   bool      `json:"demo"`
	Market struct {
		BTCUSD    float64 `json:"btc_usd"`
		Hashprice float64 `json:"hashprice_usd_per_ph_day"`
		GPU       float64 `json:"gpu_usd_per_gpu_hour"`
	} `json:"market"`
	Sites []struct {
		Name string `json:"name"`
		CapW int64  `json:"cap_w"`
		Plan *struct {
			Seq        int64 `json:"seq"`
			AllocatedW int64 `json:"allocated_w"`
			Use        struct {
				MiningW int64 `json:"mining_w"`
			} `json:"use"`
		} `json:"plan"`
	} `json:"sites"`
}

// TestDemo runs the demo as `make run` does, with a small fleet and a fast clock: the
// site is planned under its cap, the agent commands and verifies the simulated
// miners, tenants trade, the grid calls a demand response, a page's token places an
// order, the Economics reports run, and a restart goes on from the store.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "demo.db")
	srv, url, logs := startDemo(t, db, "--retention", "30m")
	op := demoOperatorToken(t, url)

	var o demoOverview
	eventually(t, 30*time.Second, "plans, a trade and market tickers", func() bool {
		_, body := getBody(t, url+"/api/v1/overview", op)
		if err := json.Unmarshal(body, &o); err != nil {
			t.Fatalf("overview: %v: %s", err, body)
		}
		return len(o.Sites) == 1 && o.Sites[0].Plan != nil && o.Sites[0].Plan.Seq >= 3 && o.Market.GPU > 0
	})
	site := o.Sites[0]
	if !o.Demo || site.Name != "west-texas" || site.CapW != 200_000 || site.Plan.AllocatedW > site.CapW || o.Market.BTCUSD < 50_000 || o.Market.Hashprice <= 0 {
		t.Errorf("overview: %+v", o)
	}
	if o.Now.Before(time.Date(2024, 8, 20, 17, 0, 0, 0, time.UTC)) || o.Now.After(time.Date(2024, 8, 21, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("the demo's clock reads %s, want the afternoon of 2024-08-20", o.Now)
	}

	eventually(t, 30*time.Second, "verified commands and a demand response in the audit log", func() bool {
		_, body := getBody(t, url+"/api/v1/sites/west-texas/audit?tail=2000", op)
		return bytes.Contains(body, []byte(`"kind": "verify"`)) && bytes.Contains(body, []byte("demand response 1"))
	})

	eventually(t, 30*time.Second, "the agent's census of every simulated miner and GPU server", func() bool {
		code, body := getBody(t, url+"/api/v1/sites/west-texas/devices", op)
		var census struct {
			Fleets []struct {
				Fleet          string
				Found, Unknown int
				PowerW         int64 `json:"power_w"`
			}
		}
		if code != 200 || json.Unmarshal(body, &census) != nil {
			return false
		}
		found := map[string]int{}
		for _, f := range census.Fleets {
			if f.PowerW > 0 || f.Found == 0 {
				found[f.Fleet] = f.Found
			}
		}
		return found["hall-a-s21"] == 60 && found["h100-pod-1"] == 2 && found["h100-pod-2"] == 2
	})

	var demo struct {
		Speed         float64 `json:"speed"`
		OperatorToken string  `json:"operator_token"`
		Tenants       []struct{ ID, Token string }
	}
	_, body := getBody(t, url+"/api/v1/demo", "")
	if err := json.Unmarshal(body, &demo); err != nil || demo.Speed != 300 || len(demo.Tenants) != 3 || demo.OperatorToken == "" {
		t.Fatalf("demo: %v %s", err, body)
	}
	order := `{"product":"h100-sxm/west-texas","kind":"spot","gpus":8,"limit_micro_usd_per_gpu_hour":9000000}`
	req, _ := http.NewRequest(http.MethodPost, url+"/api/v1/orders", strings.NewReader(order))
	req.Header.Set("Authorization", "Bearer "+demo.Tenants[0].Token)
	req.Header.Set("Idempotency-Key", "demo-test-1")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	placed, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK || !bytes.Contains(placed, []byte(`"leases"`)) {
		t.Errorf("a tenant's order with the demo token: %d %s", resp.StatusCode, placed)
	}
	if code, body := getBody(t, url+"/api/v1/leases", demo.Tenants[0].Token); code != 200 || !bytes.Contains(body, []byte(demo.Tenants[0].ID)) {
		t.Errorf("the tenant's leases: %d %s", code, body)
	}

	// The Economics page's backtest runs on the demo's store, as the backtest command would.
	q := "?from=2024-08-01&to=2024-08-03"
	code, body := getBody(t, url+"/api/v1/sites/west-texas/backtest"+q, op)
	if code != 200 || !bytes.Contains(body, []byte("hindsight")) {
		t.Errorf("backtest: %d %.300s", code, body)
	}
	if code, png := getBody(t, url+"/api/v1/sites/west-texas/backtest/power.png"+q, op); code != 200 || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("backtest chart: %d, %d bytes", code, len(png))
	}
	if code, body := getBody(t, url+"/api/v1/sites/west-texas/backtest?from=2024-08-01&to=nope", op); code != 400 || !bytes.Contains(body, []byte(`to: want YYYY-MM-DD, got \"nope\"`)) {
		t.Errorf("a bad backtest date: %d %s", code, body)
	}
	if code, body := getBody(t, url+"/api/v1/sites/west-texas/backtest?rm=1", op); code != 400 || !bytes.Contains(body, []byte("unknown parameter")) {
		t.Errorf("an unknown backtest parameter: %d %s", code, body)
	}

	// Plans and audit events older than the retention are deleted as the clock runs.
	eventually(t, 30*time.Second, "the audit log pruned to the last 30 clock minutes", func() bool {
		_, body := getBody(t, url+"/api/v1/sites/west-texas/audit?limit=1", op)
		var first struct{ Audit []struct{ At time.Time } }
		return json.Unmarshal(body, &first) == nil && len(first.Audit) == 1 && first.Audit[0].At.After(o.Now.Add(15*time.Minute))
	})

	// A restart goes on from the store: the clock resumes after the last plan.
	before := o.Now
	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := srv.Wait(); err != nil {
		t.Fatalf("demo did not exit cleanly: %v\n%s", err, logs)
	}
	if strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("the demo logged errors:\n%s", logs)
	}
	_, url, _ = startDemo(t, db)
	_, body = getBody(t, url+"/api/v1/overview", demoOperatorToken(t, url))
	var again demoOverview
	if err := json.Unmarshal(body, &again); err != nil || !again.Now.After(before) {
		t.Errorf("after a restart the clock reads %s, before it %s (%v)", again.Now, before, err)
	}
}

// TestDemoNeedsItsOwnStore: the demo never mixes with real sites.
func TestDemoNeedsItsOwnStore(t *testing.T) {
	dir := t.TempDir()
	example, _ := filepath.Abs("../../examples/west-texas.yaml")
	db := filepath.Join(dir, "real.db")
	if r := run(t, dir, "--db", db, "apply", "-f", example); r.code != 0 {
		t.Fatal(r.stderr)
	}
	r := run(t, dir, "--db", db, "serve", "--demo", "--addr", "127.0.0.1:0")
	if r.code != 1 || !strings.Contains(r.stderr, "store of its own") {
		t.Errorf("demo on a store with a real site: exit %d: %s", r.code, r.stderr)
	}
	r = run(t, dir, "serve", "--demo", "--btc-price-file", "price.json", "--addr", "127.0.0.1:0")
	if r.code != 1 || !strings.Contains(r.stderr, "replays history") {
		t.Errorf("a demo given a live feed: exit %d: %s", r.code, r.stderr)
	}
	r = run(t, dir, "serve", "--demo", "--demo-miners", "0", "--addr", "127.0.0.1:0")
	if r.code != 1 || !strings.Contains(r.stderr, fmt.Sprintf("--demo-miners %d", 0)) {
		t.Errorf("a demo without miners: exit %d: %s", r.code, r.stderr)
	}
}
