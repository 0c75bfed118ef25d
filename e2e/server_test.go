package e2e_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
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

// Bounds on every wait, so that a broken page fails the test in seconds, not at the
// package's timeout. The demo plans every five real seconds (five minutes at ×60).
const (
	startTimeout = 60 * time.Second // build the binary, start it, answer /healthz
	loadTimeout  = 30 * time.Second // a page's first live numbers
	liveTimeout  = 60 * time.Second // numbers that move with the demo's clock
)

// binary is joule built from this tree, once for all the tests.
var binary string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "joule-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "joule")
	build := exec.Command("go", "build", "-o", binary, "./cmd/joule")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build ./cmd/joule: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// chartsBuilt reports whether the binary embeds the chart library (`make web`).
func chartsBuilt() bool {
	_, err := os.Stat("../http/static/vendor/chart.umd.min.js")
	return err == nil
}

// server is a `joule serve` child process.
type server struct {
	URL    string
	cmd    *exec.Cmd
	stderr *syncbuf.Buffer
	done   chan error
}

var servingLine = regexp.MustCompile(`^Joule is serving on (http://127\.0\.0\.1:\d+) \(store `)

// freshDB is the path of a store that does not exist yet, in the test's temporary
// directory.
func freshDB(t *testing.T) string { return filepath.Join(t.TempDir(), "demo.db") }

// joule runs a command of the binary and returns its standard output.
func joule(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if e, ok := err.(*exec.ExitError); ok {
			stderr = e.Stderr
		}
		t.Fatalf("joule %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return string(out)
}

// operatorToken prints the operator's API token of the store db, as the CLI issues it.
// Every test that signs in as the operator gets its token here.
func operatorToken(t *testing.T, db string) string {
	t.Helper()
	return strings.TrimSpace(joule(t, "token", "create", "operator", "--db", db))
}

// startServer runs `joule serve` on the store db, with extra arguments, and returns
// once it answers /healthz. At the end of the test it stops the server with SIGTERM
// and fails the test if it logged an error.
func startServer(t *testing.T, db string, args ...string) *server {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"serve", "--db", db, "--addr", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, stderr: &syncbuf.Buffer{}, done: make(chan error, 1)}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start joule serve: %v", err)
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := servingLine.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() { s.stop(t) })

	select {
	case s.URL = <-urls:
	case err := <-s.done:
		s.done <- nil // stop finds it exited; this says how
		t.Fatalf("joule serve exited before serving: %v\n%s", err, s.stderr)
	case <-time.After(startTimeout):
		t.Fatalf("joule serve printed no \"Joule is serving on\" line in %s\n%s", startTimeout, s.stderr)
	}
	deadline := time.Now().Add(startTimeout)
	for {
		resp, err := http.Get(s.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/healthz did not answer 200 in %s (last error %v)", s.URL, startTimeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop sends SIGTERM, waits for the process to exit, and checks its log.
func (s *server) stop(t *testing.T) {
	t.Helper()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("joule serve exited with %v after SIGTERM", err)
		}
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		t.Errorf("joule serve did not exit within 20s of SIGTERM")
	}
	for line := range strings.SplitSeq(s.stderr.String(), "\n") {
		if strings.Contains(line, `"level":"ERROR"`) {
			t.Errorf("the server logged an error: %s", line)
		}
	}
}
