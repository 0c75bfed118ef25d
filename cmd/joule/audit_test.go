package main_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/joule-site/joule/syncbuf"
)

// TestAuditFiltersAndFollows reads a site's log by kind and tail, refuses an unknown
// kind naming the flag, and follows the log: an event declared while `joule audit
// --follow` runs is printed, and Ctrl-C ends it with exit 0.
func TestAuditFiltersAndFollows(t *testing.T) {
	dir := t.TempDir()
	example, _ := filepath.Abs("../../examples/west-texas.yaml")
	for _, args := range [][]string{
		{"apply", "-f", example},
		{"dr", "--site", "west-texas", "--reduce-to-mw", "5", "--for", "1h"},
		{"dr", "--site", "west-texas", "--reduce-to-mw", "4", "--for", "1h"},
	} {
		if r := run(t, dir, args...); r.code != 0 {
			t.Fatalf("%q: %s", args, r.stderr)
		}
	}
	var log struct {
		Audit []struct {
			ID           int64
			Kind, Detail string
		}
	}
	jsonRun(t, dir, &log, "audit", "--site", "west-texas", "--kind", "event", "--tail", "1", "--json")
	if len(log.Audit) != 1 || log.Audit[0].Kind != "event" || !strings.Contains(log.Audit[0].Detail, "4.00 MW") {
		t.Errorf("the newest event: %+v", log.Audit)
	}
	jsonRun(t, dir, &log, "audit", "--site", "west-texas", "--kind", "change,event", "--json")
	if len(log.Audit) != 3 {
		t.Errorf("changes and events: %+v, want the apply and both events", log.Audit)
	}
	if r := run(t, dir, "audit", "--site", "west-texas", "--kind", "nonsense"); r.code != 1 || !strings.Contains(r.stderr, "--kind") {
		t.Errorf("an unknown kind: exit %d: %s", r.code, r.stderr)
	}

	follow := exec.Command(joule, "audit", "--site", "west-texas", "--tail", "1", "--follow", "--json")
	follow.Dir = dir
	follow.Env = append(os.Environ(), "JOULE_DB="+filepath.Join(dir, "joule.db"), "JOULE_SERVER=")
	out := &syncbuf.Buffer{}
	follow.Stdout, follow.Stderr = out, out
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- follow.Wait() }()
	waitOutput(t, out, done, `"id":3,`) // the tail it starts from, as one document per line
	if r := run(t, dir, "dr", "--site", "west-texas", "--reduce-to-mw", "3", "--for", "1h"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	waitOutput(t, out, done, "at most 3.00 MW")
	_ = follow.Process.Signal(syscall.SIGINT)
	if err := <-done; err != nil {
		t.Errorf("interrupted, --follow ended with %v:\n%s", err, out)
	}
	var line struct{ ID int64 }
	last := strings.Split(strings.TrimSpace(out.String()), "\n")
	if err := json.Unmarshal([]byte(last[len(last)-1]), &line); err != nil || line.ID != 4 {
		t.Errorf("the followed event as a JSON line: %q (%v)", last[len(last)-1], err)
	}
}

// waitOutput waits until out holds want, or fails if the command ends first.
func waitOutput(t *testing.T, out *syncbuf.Buffer, done chan error, want string) {
	t.Helper()
	for {
		changed := out.Changed()
		if strings.Contains(out.String(), want) {
			return
		}
		select {
		case err := <-done:
			t.Fatalf("ended (%v) before printing %q:\n%s", err, want, out)
		case <-changed:
		}
	}
}
