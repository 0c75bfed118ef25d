package live_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/catalog"
	"github.com/joule-site/joule/leasing"
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
	dr, err := ops.CreateDemandResponse(ctx, "west-texas", live.DemandResponseRequest{ReduceToW: 5_000_000, For: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if !dr.Deadline.Equal(c.t) || !dr.End.Equal(c.t.Add(2*time.Hour)) || dr.By != joule.ActorOperator {
		t.Errorf("an event with no lead time, for two hours: %+v, want it at once for two hours, by the operator", dr)
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
	log, _ := lv.Audit(ctx, joule.AuditQuery{Site: "west-texas"})
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

// An agent's rows are recorded as the account that posts them (the constant agent
// only in process, without one), stamped with the server's time beside their own, and
// may not be plans, carry an outcome joule does not know, name another site, come from
// a clock far ahead or before 1970, or be longer than the bounds; a post that breaks a
// rule is refused whole.
func TestAgentAudit(t *testing.T) {
	ops, _, c, lv := operations(t)
	ctx := context.Background()
	deviceTime := c.t.Add(-time.Hour) // sent late, from the agent's spool
	rows := []*joule.Audit{
		{Site: "west-texas", ID: 99, At: deviceTime, Kind: joule.AuditVerify, Device: "10.0.0.1:4028", Outcome: joule.OutcomeFailed, Reason: "no answer",
			Actor: joule.ActorLoop, Detail: "FAILED: no answer", Key: "a/1/0", RecordedAt: deviceTime},
		{Kind: joule.AuditReport, Detail: "an agent older than outcomes"},
	}
	if err := ops.AppendAgentAudit(ctx, "west-texas", "west-texas-agent", rows); err != nil {
		t.Fatal(err)
	}
	if err := ops.AppendAgentAudit(ctx, "west-texas", "", []*joule.Audit{{Kind: joule.AuditReport, Detail: "in process"}}); err != nil {
		t.Fatal(err)
	}
	log, _ := lv.Audit(ctx, joule.AuditQuery{Site: "west-texas"})
	if len(log) != 3 || log[0].Actor != "west-texas-agent" || log[0].Site != "west-texas" || log[0].ID == 99 || log[0].Key != "a/1/0" ||
		log[0].Outcome != joule.OutcomeFailed || log[0].Reason != "no answer" || log[1].Outcome != "" || log[1].Actor != "west-texas-agent" || log[2].Actor != joule.ActorAgent {
		t.Fatalf("stored %+v", log)
	}
	if !log[0].At.Equal(deviceTime) || !log[0].RecordedAt.Equal(c.t) || !log[1].At.Equal(c.t) || !log[1].RecordedAt.Equal(c.t) {
		t.Errorf("times: at %v recorded %v, and %v %v; want the agent's %v recorded at the server's %v, and the server's for a row without one",
			log[0].At, log[0].RecordedAt, log[1].At, log[1].RecordedAt, deviceTime, c.t)
	}
	tooMany := make([]*joule.Audit, joule.MaxAuditRowsPerPost+1)
	for i := range tooMany {
		tooMany[i] = &joule.Audit{Kind: joule.AuditReport, Detail: "one of many"}
	}
	ok := &joule.Audit{Kind: joule.AuditCommand, Device: "10.0.0.2:4028", Detail: "sleep"} // sent with each bad row: refused with it
	for _, tc := range []struct {
		name string
		rows []*joule.Audit
		want string
	}{
		{"a plan", []*joule.Audit{ok, {Kind: joule.AuditPlan}}, `audit row 1: kind "plan"`},
		{"an unknown outcome", []*joule.Audit{ok, {Kind: joule.AuditVerify, Outcome: "fine"}}, `audit row 1: unknown outcome "fine"`},
		{"another site's row", []*joule.Audit{ok, {Site: "alberta", Kind: joule.AuditCommand}}, `audit row 1: site "alberta" is not "west-texas"`},
		{"a clock far ahead", []*joule.Audit{ok, {Kind: joule.AuditAck, At: c.t.Add(joule.MaxAuditClockAhead + time.Second)}}, "audit row 1: at 2024-07-01T12:05:01Z is 5m1s ahead of the server's clock; at most 5m0s"},
		{"a clock before 1970", []*joule.Audit{ok, {Kind: joule.AuditAck, At: time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)}}, "audit row 1: at 1969-12-31T00:00:00Z is before 1970"},
		{"a detail too long", []*joule.Audit{ok, {Kind: joule.AuditReport, Detail: strings.Repeat("x", joule.MaxAuditDetailBytes+1)}}, "audit row 1: detail is 4097 bytes; at most 4096"},
		{"a key too long", []*joule.Audit{ok, {Kind: joule.AuditReport, Key: strings.Repeat("k", joule.MaxAuditFieldBytes+1)}}, "audit row 1: key is 257 bytes; at most 256"},
		{"too many rows", tooMany, "audit: 1001 rows in one post; at most 1000"},
	} {
		err := ops.AppendAgentAudit(ctx, "west-texas", "west-texas-agent", tc.rows)
		if joule.ErrorCode(err) != joule.EINVALID || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want invalid, saying %q", tc.name, err, tc.want)
		}
	}
	// Within the skew and at the bounds, rows are taken.
	edge := []*joule.Audit{{Kind: joule.AuditAck, At: c.t.Add(joule.MaxAuditClockAhead), Detail: strings.Repeat("x", joule.MaxAuditDetailBytes)}}
	if err := ops.AppendAgentAudit(ctx, "west-texas", "west-texas-agent", edge); err != nil {
		t.Errorf("a row at the bounds: %v", err)
	}
	if after, _ := lv.Audit(ctx, joule.AuditQuery{Site: "west-texas"}); len(after) != 4 {
		t.Errorf("the log holds %d rows after the refused posts and one at the bounds, want 4", len(after))
	}
	if err := ops.AppendAgentAudit(ctx, "nowhere", "", []*joule.Audit{ok}); joule.ErrorCode(err) != joule.ENOTFOUND {
		t.Errorf("rows of a site that does not exist: %v", err)
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

// firmLease opens the GPU exchange on the test's store and leases 16 GPUs (two
// servers) of west-texas to a tenant, firm, from one hour after the clock for four
// hours; it returns the exchange and the facility power those servers draw.
func firmLease(t *testing.T, l *live.Loop, db *sqlite.DB, c *clock) (*leasing.Service, joule.Watts) {
	t.Helper()
	ctx := context.Background()
	svc, err := leasing.Open(ctx, sqlite.NewLeasingStore(db), leasing.Config{Sites: l.Sites, Fleets: l.Fleets, Models: l.Models, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	op, err := svc.Principal(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	acme, _, err := svc.CreateAccount(ctx, op, leasing.NewAccountRequest{ID: "acme", Role: joule.RoleTenant, CreditMicroUSD: 1_000_000 * joule.MicroUSDPerUSD})
	if err != nil {
		t.Fatal(err)
	}
	start := c.t.Truncate(time.Hour).Add(time.Hour)
	res, err := svc.SubmitOrder(ctx, acme, joule.Order{IdempotencyKey: "block", Product: joule.ProductID("h100-sxm", "west-texas"), Kind: joule.OrderReserved,
		GPUs: 16, Start: start, End: start.Add(4 * time.Hour), LimitMicroUSDPerGPUHour: 3 * joule.MicroUSDPerUSD, AllOrNone: true})
	if err != nil || len(res.Leases) == 0 {
		t.Fatalf("the firm lease: %+v, %v", res, err)
	}
	h100, _ := catalog.Lookup("h100-sxm")
	return svc, joule.Watts(math.Ceil(2 * float64(h100.PowerW) * 1.05)) // the example's PUE
}

// An event must end, stay within the site's cap and leave the firm GPU leases that
// hold while it does their power, unless it says it sheds them: each refusal names
// the field or the firm load in watts and changes nothing; shedding is admitted and
// audited as such, and every event says who declared it.
func TestDemandResponseRules(t *testing.T) {
	l, _, c, lv, db := setupDB(t)
	planner := &planNow{t: t, loop: l}
	ops := &live.Operations{Sites: l.Sites, Fleets: l.Fleets, Models: l.Models, Live: lv, Planner: planner, Now: c.Now}
	svc, firmW := firmLease(t, l, db, c)
	ops.Leases = svc
	l.Leases = svc.DispatchLeases
	ctx := context.Background()
	state := func() (drs []*joule.DemandResponse, audit int) {
		drs, err := ops.DemandResponses(ctx, "west-texas")
		if err != nil {
			t.Fatal(err)
		}
		log, _ := lv.Audit(ctx, joule.AuditQuery{Site: "west-texas"})
		return drs, len(log)
	}
	for _, tc := range []struct {
		name string
		req  live.DemandResponseRequest
		code string
		want string
	}{
		{"no end", live.DemandResponseRequest{ReduceToW: 1_000_000, Within: time.Hour}, joule.EINVALID, "give for_s"},
		{"above the cap", live.DemandResponseRequest{ReduceToW: 60_000_000, For: time.Hour}, joule.EINVALID, "reduce_to_w 60000000 W (60.00 MW) is above the site's cap of 50000000 W"},
		{"a negative level", live.DemandResponseRequest{ReduceToW: -1, For: time.Hour}, joule.EINVALID, "reduce_to_w must not be negative"},
		{"beyond a week", live.DemandResponseRequest{ReduceToW: 1, For: live.MaxDemandResponseDuration + time.Second}, joule.EINVALID, "for_s must be from 1 to 604800"},
		{"below the firm leases", live.DemandResponseRequest{ReduceToW: 10_000, Within: 90 * time.Minute, For: time.Hour, Actor: "grid-desk"}, joule.ECONFLICT,
			fmt.Sprintf("reduce_to_w 10000 W is below the %d W", firmW)},
		{"below the firm leases, which begin while it holds", live.DemandResponseRequest{ReduceToW: firmW - 1, For: 2 * time.Hour}, joule.ECONFLICT,
			fmt.Sprintf("below the %d W", firmW)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			drsBefore, auditBefore := state()
			plans := len(planner.plans)
			_, err := ops.CreateDemandResponse(ctx, "west-texas", tc.req)
			if joule.ErrorCode(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%+v: %v; want %s saying %q", tc.req, err, tc.code, tc.want)
			}
			drsAfter, auditAfter := state()
			if len(drsAfter) != len(drsBefore) || auditAfter != auditBefore || len(planner.plans) != plans {
				t.Errorf("a refused event changed things: %d events (were %d), %d audit rows (were %d), %d plans (were %d)",
					len(drsAfter), len(drsBefore), auditAfter, auditBefore, len(planner.plans), plans)
			}
		})
	}

	// Before the lease begins, and at exactly its power, an event keeps the firm load.
	early, err := ops.CreateDemandResponse(ctx, "west-texas", live.DemandResponseRequest{ReduceToW: 10_000, For: 30 * time.Minute, Actor: "grid-desk"})
	if err != nil || early.ShedFirm || early.By != "grid-desk" {
		t.Fatalf("an event that ends before the lease begins: %+v, %v", early, err)
	}
	if _, err := ops.CreateDemandResponse(ctx, "west-texas", live.DemandResponseRequest{ReduceToW: firmW, Within: time.Hour, For: time.Hour}); err != nil {
		t.Errorf("an event at the firm load: %v", err)
	}
	// With leave to shed firm load it is declared, and audited as shedding it.
	shed, err := ops.CreateDemandResponse(ctx, "west-texas", live.DemandResponseRequest{ReduceToW: 10_000, Within: 90 * time.Minute, For: time.Hour, ShedFirm: true, Actor: "grid-desk"})
	if err != nil || !shed.ShedFirm || shed.By != "grid-desk" {
		t.Fatalf("an event that sheds firm load: %+v, %v", shed, err)
	}
	drs, _ := state()
	if len(drs) != 3 || drs[2].ID != shed.ID || !drs[2].ShedFirm || drs[2].By != "grid-desk" || drs[0].By != "grid-desk" || drs[1].By != joule.ActorOperator {
		t.Errorf("the events as listed: %+v", drs)
	}
	log, _ := lv.Audit(ctx, joule.AuditQuery{Site: "west-texas"})
	var declared []string
	var last *joule.Audit
	for _, e := range log {
		if e.Kind == joule.AuditEvent {
			declared = append(declared, e.Reason+" by "+e.Actor)
			last = e
		}
	}
	want := []string{"demand response declared by grid-desk", "demand response declared by operator", "demand response declared, shedding firm load by grid-desk"}
	if strings.Join(declared, "; ") != strings.Join(want, "; ") {
		t.Errorf("audited: %q, want %q", declared, want)
	}
	if !strings.Contains(last.Detail, fmt.Sprintf("sheds up to %s of the %s that firm GPU leases draw", firmW-10_000, firmW)) {
		t.Errorf("the shedding event's audit: %q", last.Detail)
	}
}
