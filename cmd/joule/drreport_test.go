package main_test

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	domain "github.com/joule-site/joule"
	"github.com/joule-site/joule/drreport"
)

// TestDemandResponseReportCommand reports an event on a local store as text, JSON and
// CSV; a bad ID, an unknown event and --csv with --json are refused.
func TestDemandResponseReportCommand(t *testing.T) {
	dir := t.TempDir()
	example, _ := filepath.Abs("../../examples/west-texas.yaml")
	if r := run(t, dir, "apply", "-f", example); r.code != 0 {
		t.Fatalf("apply: %s", r.stderr)
	}
	var ev domain.DemandResponse
	jsonRun(t, dir, &ev, "dr", "--site", "west-texas", "--reduce-to-mw", "5", "--within", "10m", "--for", "3h", "--json")
	id := strconv.FormatInt(ev.ID, 10)
	var rep drreport.Report
	jsonRun(t, dir, &rep, "dr", "report", "--site", "west-texas", id, "--json", "--baseline", "30m")
	if rep.Event == nil || rep.Event.ID != ev.ID || rep.TargetW != 5_000_000 || rep.Complete || rep.Baseline.Readings != 0 ||
		rep.Baseline.From != ev.CreatedAt.Add(-30*60e9) || !strings.Contains(rep.Baseline.Source, "NAESB") {
		t.Errorf("report: %+v", rep)
	}
	if r := run(t, dir, "dr", "report", "--site", "west-texas", id); r.code != 0 || !strings.Contains(r.stdout, "Demand response "+id+" at west-texas: at most 5.00 MW") ||
		!strings.Contains(r.stdout, "Baseline:  none") || !strings.Contains(r.stdout, "not reached") {
		t.Errorf("dr report: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, dir, "dr", "report", "--site", "west-texas", id, "--csv"); r.code != 0 || strings.TrimSpace(r.stdout) != strings.Join(drreport.CSVHeader, ",") {
		t.Errorf("dr report --csv: exit %d: %q%s", r.code, r.stdout, r.stderr)
	}
	for _, c := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{id, "--csv", "--json"}, 1, "one or the other"},
		{[]string{"first"}, 1, "positive whole number"},
		{[]string{"999"}, 1, "no demand-response event 999"},
		{[]string{id, "--baseline", "10s"}, 1, "baseline"},
	} {
		if r := run(t, dir, append([]string{"dr", "report", "--site", "west-texas"}, c.args...)...); r.code != c.code || !strings.Contains(r.stderr, c.says) {
			t.Errorf("dr report %v: exit %d, %q; want %d saying %q", c.args, r.code, r.stderr, c.code, c.says)
		}
	}
}
