package live_test

import (
	"context"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/live"
	"github.com/joule-site/joule/sqlite"
)

// planNow plans at once what Operations triggers, as the loop's Run does.
type planNow struct {
	t     *testing.T
	loop  *live.Loop
	plans []*joule.SitePlan
}

func (p *planNow) Trigger(site string) {
	plan, err := p.loop.PlanSite(context.Background(), site, "triggered")
	if err != nil {
		p.t.Errorf("plan %s: %v", site, err)
		return
	}
	p.plans = append(p.plans, plan)
}

func operations(t *testing.T) (*live.Operations, *planNow, *clock, *sqlite.LiveService) {
	t.Helper()
	l, _, c, lv := setup(t)
	planner := &planNow{t: t, loop: l}
	return &live.Operations{Sites: l.Sites, Live: lv, Planner: planner, Now: c.Now}, planner, c, lv
}

// Declaring an event plans the site down at once; cancelling it plans it back up at
// once, and the loop no longer plans for it.
func TestCancelledEventNoLongerPlanned(t *testing.T) {
	ops, planner, c, lv := operations(t)
	ctx := context.Background()
	dr, err := ops.CreateDemandResponse(ctx, "west-texas", live.DemandResponseRequest{ReduceToW: 5_000_000})
	if err != nil {
		t.Fatal(err)
	}
	if !dr.Deadline.Equal(c.t) || !dr.End.IsZero() {
		t.Errorf("an event with no lead time and no duration: %+v, want it at once until cancelled", dr)
	}
	if len(planner.plans) != 1 || planner.plans[0].CapW != 5_000_000 {
		t.Fatalf("plans on declaring: %+v", planner.plans)
	}
	c.t = c.t.Add(time.Minute)
	got, err := ops.CancelDemandResponse(ctx, "west-texas", dr.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if !got.CancelledAt.Equal(c.t) || !got.End.Equal(c.t) {
		t.Errorf("cancelled %+v, want it ended at the service's now %v", got, c.t)
	}
	if len(planner.plans) != 2 || planner.plans[1].CapW != 50_000_000 {
		t.Fatalf("plans on cancelling: %+v", planner.plans)
	}
	if p, _ := planner.loop.PlanSite(ctx, "west-texas", "interval"); p.CapW != 50_000_000 {
		t.Errorf("the loop's next plan has cap %v", p.CapW)
	}
	if events, err := ops.DemandResponses(ctx, "west-texas"); err != nil || len(events) != 0 {
		t.Errorf("events after cancelling: %+v, %v", events, err)
	}
	if _, err := ops.CancelDemandResponse(ctx, "west-texas", dr.ID, ""); joule.ErrorCode(err) != joule.ECONFLICT {
		t.Errorf("cancel twice: %v", err)
	}
	if _, err := ops.DemandResponses(ctx, "nowhere"); joule.ErrorCode(err) != joule.ENOTFOUND {
		t.Errorf("events of a site that does not exist: %v", err)
	}
	log, _ := lv.AuditLog(ctx, "west-texas", 0, 0)
	var events []string
	for _, e := range log {
		if e.Kind == joule.AuditEvent {
			events = append(events, e.Reason+" by "+e.Actor)
		}
	}
	if len(events) != 2 || events[0] != "demand response declared by operator" || events[1] != "demand response cancelled by operator" {
		t.Errorf("audited events: %q", events)
	}
}

// An agent's rows are its own and the site's whatever they claim, and may not be plans
// or carry an outcome joule does not know.
func TestAgentAudit(t *testing.T) {
	ops, _, _, lv := operations(t)
	ctx := context.Background()
	rows := []*joule.Audit{
		{Site: "alberta", ID: 99, Kind: joule.AuditVerify, Device: "10.0.0.1:4028", Outcome: joule.OutcomeFailed, Reason: "no answer", Actor: joule.ActorLoop, Detail: "FAILED: no answer"},
		{Kind: joule.AuditReport, Detail: "an agent older than outcomes"},
	}
	if err := ops.AppendAgentAudit(ctx, "west-texas", rows); err != nil {
		t.Fatal(err)
	}
	log, _ := lv.AuditLog(ctx, "west-texas", 0, 0)
	if len(log) != 2 || log[0].Actor != joule.ActorAgent || log[0].Site != "west-texas" || log[0].ID == 99 ||
		log[0].Outcome != joule.OutcomeFailed || log[0].Reason != "no answer" || log[1].Outcome != "" || log[1].Actor != joule.ActorAgent {
		t.Errorf("stored %+v", log)
	}
	for _, bad := range []*joule.Audit{{Kind: joule.AuditPlan}, {Kind: joule.AuditVerify, Outcome: "fine"}} {
		if err := ops.AppendAgentAudit(ctx, "west-texas", []*joule.Audit{bad}); joule.ErrorCode(err) != joule.EINVALID {
			t.Errorf("an agent's %+v: %v", bad, err)
		}
	}
}

// A census is stamped with the service's now when it has no time, cut to the problems
// a report may list, and kept per site.
func TestCensusKept(t *testing.T) {
	ops, _, c, _ := operations(t)
	ctx := context.Background()
	if _, err := ops.Devices(ctx, "west-texas"); joule.ErrorCode(err) != joule.ENOTFOUND {
		t.Errorf("before the first census: %v", err)
	}
	rep := &joule.DeviceReport{Site: "alberta", Problems: make([]joule.DeviceStatus, joule.MaxReportedProblems+5)}
	if err := ops.ReportDevices(ctx, "west-texas", rep); err != nil {
		t.Fatal(err)
	}
	got, err := ops.Devices(ctx, "west-texas")
	if err != nil || got.Site != "west-texas" || !got.At.Equal(c.t) || len(got.Problems) != joule.MaxReportedProblems {
		t.Errorf("census %+v, %v", got, err)
	}
	if err := ops.ReportDevices(ctx, "nowhere", &joule.DeviceReport{}); joule.ErrorCode(err) != joule.ENOTFOUND {
		t.Errorf("a census of a site that does not exist: %v", err)
	}
}
