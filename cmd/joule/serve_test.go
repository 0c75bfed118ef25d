package main_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/joule-site/joule/syncbuf"
)

// TestServeAndRemoteClient starts `joule serve` on a free loopback port, drives it with
// the CLI's --server mode, and stops it with SIGTERM.
func TestServeAndRemoteClient(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "served.db")
	opToken := strings.TrimSpace(run(t, dir, "--db", db, "account", "token", "operator").stdout)
	srv, url := startServe(t, db)

	example, _ := filepath.Abs("../../examples/west-texas.yaml")
	if r := run(t, dir, "--server", url, "apply", "-f", example); r.code == 0 || !strings.Contains(r.stderr, "API token is required") {
		t.Errorf("apply through the server without a token: exit %d: %s", r.code, r.stderr)
	}
	if r := run(t, dir, "--server", url, "--token", opToken, "apply", "-f", example); r.code != 0 {
		t.Fatalf("apply through the server: exit %d: %s", r.code, r.stderr)
	}
	r := run(t, dir, "--server", url, "--token", opToken, "sites", "--json")
	var out struct {
		Sites []struct {
			Name   string `json:"name"`
			Fleets []any  `json:"fleets"`
		} `json:"sites"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out.Sites) != 1 || out.Sites[0].Name != "west-texas" || len(out.Sites[0].Fleets) == 0 {
		t.Fatalf("sites through the server: %v\n%s%s", err, r.stdout, r.stderr)
	}
	// The local store in dir is a different store: the site went to the server's.
	if r := run(t, dir, "sites", "--json"); r.code != 0 || !regexp.MustCompile(`"sites": \[\]`).MatchString(r.stdout) {
		t.Errorf("the local store should be empty:\n%s%s", r.stdout, r.stderr)
	}
	if r := run(t, dir, "--server", url, "--token", opToken, "econ", "--date", "1999-01-01"); r.code == 0 {
		t.Error("a bad date through the server exited 0")
	}

	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve did not exit cleanly on SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop within 15 s of SIGTERM")
	}
}

// startServe starts `joule serve` on a free loopback port over the store at db and
// returns the process and its URL; the process is killed when the test ends.
func startServe(t *testing.T, db string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	srv, url, _ := startLogged(t, append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db}, args...)...)
	return srv, url
}

// startLogged runs joule with args until it prints its address, and returns the
// process, the address and its standard error as it grows.
func startLogged(t *testing.T, args ...string) (*exec.Cmd, string, *syncbuf.Buffer) {
	t.Helper()
	srv := exec.Command(joule, args...)
	logs := &syncbuf.Buffer{}
	srv.Stderr = logs
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	urls := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`https?://127\.0\.0\.1:\d+`)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u := re.FindString(sc.Text()); u != "" {
				urls <- u
				break
			}
		}
		for sc.Scan() { // keep draining so the server never blocks on a full pipe
		}
	}()
	select {
	case u := <-urls:
		return srv, u, logs
	case <-time.After(30 * time.Second):
		t.Fatalf("joule %s printed no address; log:\n%s", args[0], logs)
	}
	return nil, "", nil
}

// TestExchangeThroughServer drives the GPU exchange of `joule serve` with tokens: the
// operator's (issued on the local store), then a tenant's.
func TestExchangeThroughServer(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "served.db")
	example, _ := filepath.Abs("../../examples/west-texas.yaml")
	if r := run(t, dir, "--db", db, "apply", "-f", example); r.code != 0 {
		t.Fatal(r.stderr)
	}
	opToken := strings.TrimSpace(run(t, dir, "--db", db, "account", "token", "operator").stdout)
	_, url := startServe(t, db)
	if r := run(t, dir, "--server", url, "lease", "ls"); r.code != 1 || !strings.Contains(r.stderr, "API token is required") {
		t.Errorf("no token: %d %s", r.code, r.stderr)
	}
	var created struct{ Token string }
	jsonRun(t, dir, &created, "--server", url, "--token", opToken, "tenant", "create", "acme", "--credit-usd", "1000", "--json")
	r := run(t, dir, "--server", url, "--token", created.Token, "order", "create", "--product", "h100-sxm/west-texas", "--gpus", "8", "--on-demand")
	if r.code != 0 || !strings.Contains(r.stdout, "filled") {
		t.Fatalf("on-demand through the server: %d %s%s", r.code, r.stdout, r.stderr)
	}
	var leases struct {
		Leases []struct{ Tenant string }
	}
	jsonRun(t, dir, &leases, "--server", url, "--token", created.Token, "lease", "ls", "--json")
	if len(leases.Leases) != 1 || leases.Leases[0].Tenant != "acme" {
		t.Errorf("acme's leases through the server: %+v", leases)
	}
	if r := run(t, dir, "--server", url, "--token", created.Token, "tenant", "create", "mallory", "--credit-usd", "1000000"); r.code != 1 || !strings.Contains(r.stderr, "only the operator") {
		t.Errorf("a tenant creates a tenant: %d %s", r.code, r.stderr)
	}
	if r := run(t, dir, "--server", url, "--as", "acme", "lease", "ls"); r.code != 1 || !strings.Contains(r.stderr, "--token") {
		t.Errorf("--as against a server: %d %s", r.code, r.stderr)
	}
}

// A server that cannot be reached is no fault of the input: exit 2, not the 1 of a
// mistake in the command line.
func TestServerUnreachable(t *testing.T) {
	r := run(t, t.TempDir(), "--server", "http://127.0.0.1:1", "sites")
	if r.code != 2 || !regexp.MustCompile(`cannot reach the server`).MatchString(r.stderr) {
		t.Errorf("exit %d, stderr %s", r.code, r.stderr)
	}
}

// TestAgentAndViewerTokens makes a site's agent and a viewer on the local store, as
// the operator does, and uses their tokens against the server: the viewer reads and
// writes nothing, the agent reads its site's plan and nothing of the control plane.
func TestAgentAndViewerTokens(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "served.db")
	example, _ := filepath.Abs("../../examples/west-texas.yaml")
	if r := run(t, dir, "--db", db, "apply", "-f", example); r.code != 0 {
		t.Fatal(r.stderr)
	}
	var agent, viewer struct {
		Account struct{ ID, Role, Site string }
		Token   string
	}
	jsonRun(t, dir, &agent, "--db", db, "account", "create", "west-agent", "--role", "agent", "--site", "west-texas", "--json")
	jsonRun(t, dir, &viewer, "--db", db, "account", "create", "noc", "--role", "viewer", "--json")
	if agent.Token == "" || agent.Account.Role != "agent" || agent.Account.Site != "west-texas" || viewer.Token == "" {
		t.Fatalf("created %+v and %+v", agent, viewer)
	}
	for _, args := range [][]string{
		{"account", "create", "lost", "--role", "agent"},
		{"account", "create", "far", "--role", "agent", "--site", "nowhere"},
		{"account", "create", "boss", "--role", "root"},
	} {
		if r := run(t, dir, append([]string{"--db", db}, args...)...); r.code == 0 {
			t.Errorf("%v: exit 0: %s", args, r.stdout)
		}
	}
	_, url := startServe(t, db)
	if r := run(t, dir, "--server", url, "--token", viewer.Token, "sites"); r.code != 0 || !strings.Contains(r.stdout, "west-texas") {
		t.Errorf("the viewer lists sites: %d %s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, dir, "--server", url, "--token", viewer.Token, "apply", "-f", example); r.code == 0 || !strings.Contains(r.stderr, "only the operator") {
		t.Errorf("the viewer applies a manifest: %d %s", r.code, r.stderr)
	}
	if r := run(t, dir, "--server", url, "--token", agent.Token, "sites"); r.code == 0 || !strings.Contains(r.stderr, "agent of site west-texas") {
		t.Errorf("the agent lists sites: %d %s", r.code, r.stderr)
	}
	if r := run(t, dir, "--server", url, "--token", viewer.Token, "account", "create", "mine", "--role", "operator"); r.code == 0 {
		t.Errorf("the viewer creates an operator: %d %s", r.code, r.stdout)
	}
}

// TestServeWithAnHTTPChainFeed: a site without a Bitcoin node gets its chain from an
// HTTP JSON endpoint (here on loopback) and the BTC price from a file; the overview
// shows a fresh hashprice, which it never does without a chain feed.
func TestServeWithAnHTTPChainFeed(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "chain.db")
	opToken := strings.TrimSpace(run(t, dir, "--db", db, "account", "token", "operator").stdout)
	chain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `{"tip": {"height": 875960, "difficulty": 1.085e14, "time": %d}, "fees_per_block_sats": 7800000}`, time.Now().Add(-3*time.Minute).Unix())
	}))
	defer chain.Close()
	price := filepath.Join(dir, "price.json")
	if err := os.WriteFile(price, []byte(`{"bitcoin": {"usd": 94686.24}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, url := startServe(t, db, "--chain-url", chain.URL, "--chain-height-path", "tip.height", "--chain-difficulty-path", "tip.difficulty",
		"--chain-tip-time-path", "tip.time", "--btc-price-file", price, "--btc-price-path", ".bitcoin.usd")
	var o struct {
		Market struct {
			Hashprice float64 `json:"hashprice_usd_per_ph_day"`
			Fresh     bool    `json:"hashprice_fresh"`
		} `json:"market"`
	}
	eventually(t, 30*time.Second, "a fresh hashprice", func() bool {
		_, body := getBody(t, url+"/api/v1/overview", opToken)
		return json.Unmarshal(body, &o) == nil && o.Market.Fresh
	})
	// 86400 s × 1e15 H/s × (3.125 + 0.078) BTC ÷ (1.085e14 × 2^32) × $94,686.24.
	want := 86400 * 1e15 * 3.203 / (1.085e14 * 4294967296) * 94686.24
	if math.Abs(o.Market.Hashprice-want) > 1e-6*want {
		t.Errorf("hashprice %v, want %v", o.Market.Hashprice, want)
	}
	if r := run(t, dir, "--db", filepath.Join(dir, "other.db"), "serve", "--chain-url", chain.URL, "--btc-rpc", "127.0.0.1:1", "--addr", "127.0.0.1:0"); r.code == 0 || !strings.Contains(r.stderr, "not both") {
		t.Errorf("both chain sources: exit %d: %s", r.code, r.stderr)
	}
}
