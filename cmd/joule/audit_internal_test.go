package main

import (
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule"
)

// TestAuditFoldsRunsOfPlans prints a run of plans for one reason as its first line and
// a count, ends the run at another kind or reason, and keeps a run open across the
// pages that --follow prints until the last.
func TestAuditFoldsRunsOfPlans(t *testing.T) {
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	plan := func(id, seq int64, reason string) *joule.Audit {
		return &joule.Audit{ID: id, Seq: seq, At: at, Kind: joule.AuditPlan, Reason: reason, Outcome: joule.OutcomeOK, Actor: "loop", Detail: "plan"}
	}
	events := []*joule.Audit{
		plan(1, 1, "hashprice"), plan(2, 2, "hashprice"), plan(3, 3, "hashprice"),
		{ID: 4, At: at, Kind: joule.AuditCommand, Device: "127.0.0.2:4028", Detail: "sleep"},
		plan(5, 4, "hashprice"), plan(6, 5, "demand response"), plan(7, 6, "demand response"),
	}
	var b strings.Builder
	p := &auditPrinter{out: &b, fold: true}
	if err := p.print(events[:5], false); err != nil { // a first page while following
		t.Fatal(err)
	}
	if err := p.print(events[5:], true); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"… 2 more plans like it, to plan 3 (id 3", "127.0.0.2:4028", "… 1 more plans like it, to plan 6 (id 7"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1+6 { // header; plan 1, its count, the command, plan 4, plan 5's run and its count
		t.Errorf("%d lines, want 7:\n%s", len(lines), out)
	}
	b.Reset()
	p = &auditPrinter{out: &b}
	if err := p.print(events, true); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), "\n"); n != 1+len(events) || strings.Contains(b.String(), "more plans") {
		t.Errorf("unfolded: %d lines, want %d:\n%s", n, 1+len(events), b.String())
	}
}
