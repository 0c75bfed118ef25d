package main_test

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	domain "github.com/joule-site/joule"
)

// TestDemandResponseCommands declares, lists and cancels events on a local store, and
// finds both changes in the audit log with their structured fields.
func TestDemandResponseCommands(t *testing.T) {
	dir := t.TempDir()
	example, _ := filepath.Abs("../../examples/west-texas.yaml")
	if r := run(t, dir, "apply", "-f", example); r.code != 0 {
		t.Fatalf("apply: %s", r.stderr)
	}
	var first, second domain.DemandResponse
	jsonRun(t, dir, &first, "dr", "--site", "west-texas", "--reduce-to-mw", "5", "--within", "10m", "--for", "3h", "--json")
	jsonRun(t, dir, &second, "dr", "--site", "west-texas", "--reduce-to-mw", "2", "--within", "1h", "--for", "2h", "--json")
	var list struct{ Events []domain.DemandResponse }
	jsonRun(t, dir, &list, "dr", "ls", "--site", "west-texas", "--json")
	if len(list.Events) != 2 || list.Events[0].ID != first.ID || list.Events[1].ID != second.ID {
		t.Fatalf("dr ls: %+v, want events %d and %d", list.Events, first.ID, second.ID)
	}
	if first.By != domain.ActorOperator || list.Events[1].By != domain.ActorOperator {
		t.Errorf("declared by %q and %q, want the operator", first.By, list.Events[1].By)
	}
	if r := run(t, dir, "dr", "ls", "--site", "west-texas"); r.code != 0 || !strings.Contains(r.stdout, "DECLARED BY") || !strings.Contains(r.stdout, "operator") || !strings.Contains(r.stdout, "5.00 MW") {
		t.Errorf("dr ls: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}

	var cancelled domain.DemandResponse
	jsonRun(t, dir, &cancelled, "dr", "cancel", "--site", "west-texas", strconv.FormatInt(first.ID, 10), "--json")
	if cancelled.ID != first.ID || cancelled.CancelledAt.IsZero() || !cancelled.End.Equal(cancelled.CancelledAt) {
		t.Errorf("dr cancel: %+v, want it ended as it was cancelled", cancelled)
	}
	jsonRun(t, dir, &list, "dr", "ls", "--site", "west-texas", "--json")
	if len(list.Events) != 1 || list.Events[0].ID != second.ID {
		t.Errorf("dr ls after cancelling %d: %+v", first.ID, list.Events)
	}
	jsonRun(t, dir, &list, "dr", "ls", "--site", "west-texas", "--history", "10", "--json")
	if len(list.Events) != 2 || list.Events[0].ID != second.ID || list.Events[1].ID != first.ID || list.Events[1].CancelledAt.IsZero() {
		t.Errorf("dr ls --history: %+v, want both, newest first, %d cancelled", list.Events, first.ID)
	}
	if r := run(t, dir, "dr", "ls", "--site", "west-texas", "--history", "10"); r.code != 0 || !strings.Contains(r.stdout, "(cancelled)") {
		t.Errorf("dr ls --history: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, dir, "dr", "ls", "--site", "west-texas", "--history", "0"); r.code != 1 || !strings.Contains(r.stderr, "--history") {
		t.Errorf("dr ls --history 0: exit %d: %s", r.code, r.stderr)
	}

	var log struct{ Audit []domain.Audit }
	jsonRun(t, dir, &log, "audit", "--site", "west-texas", "--json")
	var reasons []string
	for _, e := range log.Audit {
		if e.Kind == domain.AuditEvent && e.Outcome == domain.OutcomeOK && e.Actor == domain.ActorOperator {
			reasons = append(reasons, e.Reason)
		}
	}
	if strings.Join(reasons, ", ") != "demand response declared, demand response declared, demand response cancelled" {
		t.Errorf("the audit log's operator events: %q", reasons)
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"cancel again", []string{"dr", "cancel", "--site", "west-texas", strconv.FormatInt(first.ID, 10)}, "was cancelled"},
		{"cancel an unknown event", []string{"dr", "cancel", "--site", "west-texas", "999"}, "no demand-response event 999"},
		{"cancel a bad id", []string{"dr", "cancel", "--site", "west-texas", "three"}, "positive whole number"},
		{"a lead time too long", []string{"dr", "--site", "west-texas", "--reduce-to-mw", "5", "--within", "72h", "--for", "1h"}, "within_s must be"},
		{"no duration", []string{"dr", "--site", "west-texas", "--reduce-to-mw", "5", "--within", "1m"}, `required flag(s) "for" not set`},
		{"a duration too long", []string{"dr", "--site", "west-texas", "--reduce-to-mw", "5", "--for", "200h"}, "for_s must be from 1 to 604800"},
		{"a level above the cap", []string{"dr", "--site", "west-texas", "--reduce-to-mw", "60", "--for", "1h"}, "above the site's cap of 50000000 W"},
		{"ls of an unknown site", []string{"dr", "ls", "--site", "nowhere"}, "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, dir, tc.args...)
			if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("joule %s: exit %d, stderr %q; want a failure saying %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.want)
			}
		})
	}
}

// An event below what the site's firm GPU leases draw is refused, naming that load in
// watts, and changes nothing; with --shed-firm it is declared, listed as shedding, and
// audited as such.
func TestDemandResponseKeepsFirmLoad(t *testing.T) {
	dir := t.TempDir()
	example, _ := filepath.Abs("../../examples/west-texas.yaml")
	if r := run(t, dir, "apply", "-f", example); r.code != 0 {
		t.Fatalf("apply: %s", r.stderr)
	}
	if r := run(t, dir, "tenant", "create", "acme", "--credit-usd", "50000"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	// One 8-GPU server, firm, from now on: 10.2 kW at the wall, 10.71 kW with the PUE.
	if r := run(t, dir, "--as", "acme", "order", "create", "--product", "h100-sxm/west-texas", "--gpus", "8", "--on-demand"); r.code != 0 {
		t.Fatalf("on-demand order: %s%s", r.stdout, r.stderr)
	}
	r := run(t, dir, "dr", "--site", "west-texas", "--reduce-to-mw", "0.005", "--for", "1h")
	if r.code != 1 || !strings.Contains(r.stderr, "reduce_to_w 5000 W is below the 10710 W") || !strings.Contains(r.stderr, "--shed-firm") {
		t.Fatalf("an event below the firm load: exit %d: %s", r.code, r.stderr)
	}
	var list struct{ Events []domain.DemandResponse }
	if jsonRun(t, dir, &list, "dr", "ls", "--site", "west-texas", "--json"); len(list.Events) != 0 {
		t.Fatalf("a refused event was stored: %+v", list.Events)
	}
	var shed domain.DemandResponse
	jsonRun(t, dir, &shed, "dr", "--site", "west-texas", "--reduce-to-mw", "0.005", "--for", "1h", "--shed-firm", "--json")
	if !shed.ShedFirm || shed.By != domain.ActorOperator {
		t.Errorf("declared with --shed-firm: %+v", shed)
	}
	if r := run(t, dir, "dr", "ls", "--site", "west-texas"); r.code != 0 || !strings.Contains(r.stdout, "may be shed") {
		t.Errorf("dr ls: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}
	var log struct{ Audit []domain.Audit }
	jsonRun(t, dir, &log, "audit", "--site", "west-texas", "--json")
	var reasons []string
	for _, e := range log.Audit {
		if e.Kind == domain.AuditEvent {
			reasons = append(reasons, e.Reason)
		}
	}
	if strings.Join(reasons, "; ") != "demand response declared, shedding firm load" {
		t.Errorf("audited events: %q", reasons)
	}
}
