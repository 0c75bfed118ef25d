package main_test

import (
	"bufio"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"
)

// TestServeAndRemoteClient starts `joule serve` on a free loopback port, drives it with
// the CLI's --server mode, and stops it with SIGTERM.
func TestServeAndRemoteClient(t *testing.T) {
	dir := t.TempDir()
	srv := exec.Command(joule, "serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "served.db"))
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()

	urls := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`http://127\.0\.0\.1:\d+`)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if u := re.FindString(sc.Text()); u != "" {
				urls <- u
				return
			}
		}
	}()
	var url string
	select {
	case url = <-urls:
	case <-time.After(20 * time.Second):
		t.Fatal("joule serve printed no address")
	}

	example, _ := filepath.Abs("../../examples/west-texas.yaml")
	if r := run(t, dir, "--server", url, "apply", "-f", example); r.code != 0 {
		t.Fatalf("apply through the server: exit %d: %s", r.code, r.stderr)
	}
	r := run(t, dir, "--server", url, "sites", "--json")
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
	if r := run(t, dir, "--server", url, "econ", "--date", "1999-01-01"); r.code == 0 {
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

func TestServerUnreachable(t *testing.T) {
	r := run(t, t.TempDir(), "--server", "http://127.0.0.1:1", "sites")
	if r.code == 0 || !regexp.MustCompile(`cannot reach the server`).MatchString(r.stderr) {
		t.Errorf("exit %d, stderr %s", r.code, r.stderr)
	}
}
