package storetest

import (
	"testing"
	"time"

	"github.com/joule-site/joule"
)

func testDemandResponses(t *testing.T, e *env) {
	e.apply(t, fixture())
	now := e.clock.Now()
	events := []*joule.DemandResponse{
		{Site: "west-texas", ReduceToW: 5_000_000, Deadline: now.Add(time.Minute), End: now.Add(2 * time.Hour)},
		{Site: "west-texas", ReduceToW: 20_000_000, Deadline: now.Add(-3 * time.Hour), End: now.Add(-time.Hour)}, // over
		{Site: "west-texas", ReduceToW: 0, Deadline: now.Add(time.Hour)},                                         // open-ended
		{Site: "alberta", ReduceToW: 1_000_000, Deadline: now.Add(time.Minute)},
	}
	for _, dr := range events {
		if err := e.Live.CreateDemandResponse(e.ctx, dr); err != nil {
			t.Fatal(err)
		}
		if dr.ID == 0 || !dr.CreatedAt.Equal(now.UTC()) {
			t.Errorf("created %+v: want an ID and CreatedAt %v", dr, now)
		}
	}
	got, err := e.Live.DemandResponses(e.ctx, "west-texas", now)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ReduceToW != 5_000_000 || got[1].ReduceToW != 0 || !got[1].End.IsZero() {
		t.Fatalf("active events: %+v", got)
	}
	if !got[0].Deadline.Equal(events[0].Deadline) || got[0].Deadline.Location() != time.UTC {
		t.Errorf("deadline %v, want %v in UTC", got[0].Deadline, events[0].Deadline)
	}
	bad := []*joule.DemandResponse{
		{Site: "nowhere", ReduceToW: 1, Deadline: now},
		{Site: "west-texas", ReduceToW: -1, Deadline: now},
		{Site: "west-texas", ReduceToW: 1, Deadline: now, End: now.Add(-time.Second)},
	}
	for _, dr := range bad {
		if err := e.Live.CreateDemandResponse(e.ctx, dr); err == nil || joule.ErrorCode(err) == joule.EINTERNAL {
			t.Errorf("bad event %+v: err %v", dr, err)
		}
	}
}

func testPlans(t *testing.T, e *env) {
	e.apply(t, fixture())
	if _, err := e.Live.LatestPlan(e.ctx, "west-texas"); joule.ErrorCode(err) != joule.ENOTFOUND {
		t.Fatalf("no plan yet: %v", err)
	}
	for i := 1; i <= 3; i++ {
		p := &joule.SitePlan{Site: "west-texas", At: e.clock.Advance(time.Minute), Reason: "interval", CapW: 50_000_000, AllocatedW: joule.Watts(i),
			Fleets: []joule.FleetTarget{{Fleet: "s21", Kind: joule.KindASIC, Machines: 1000, Running: 900 + i, PowerFrac: 0.8, AllocatedW: 3_000_000}}}
		if err := e.Live.SavePlan(e.ctx, p); err != nil {
			t.Fatal(err)
		}
		if p.Seq != int64(i) {
			t.Errorf("plan %d got seq %d", i, p.Seq)
		}
	}
	other := &joule.SitePlan{Site: "alberta", At: e.clock.Now()}
	if err := e.Live.SavePlan(e.ctx, other); err != nil || other.Seq != 1 {
		t.Errorf("another site's first plan: seq %d, err %v", other.Seq, err)
	}
	p, err := e.Live.LatestPlan(e.ctx, "west-texas")
	if err != nil {
		t.Fatal(err)
	}
	if p.Seq != 3 || p.AllocatedW != 3 || len(p.Fleets) != 1 || p.Fleets[0].Running != 903 {
		t.Errorf("latest plan %+v", p)
	}
	all, err := e.Live.Plans(e.ctx, "west-texas", time.Time{}, 0)
	if err != nil || len(all) != 3 || all[0].Seq != 1 || all[2].Seq != 3 {
		t.Fatalf("every plan, oldest first: %d plans, %v", len(all), err)
	}
	newest, err := e.Live.Plans(e.ctx, "west-texas", time.Time{}, 2)
	if err != nil || len(newest) != 2 || newest[0].Seq != 2 || newest[1].Seq != 3 {
		t.Errorf("newest 2 plans: %+v, %v", newest, err)
	}
	since, err := e.Live.Plans(e.ctx, "west-texas", all[2].At, 10)
	if err != nil || len(since) != 1 || since[0].Seq != 3 {
		t.Errorf("plans since the third's time: %+v, %v", since, err)
	}
	// Pruning after every plan keeps each site's newest.
	if n, _, err := e.Live.Prune(e.ctx, e.clock.Advance(time.Hour)); err != nil || n != 2 {
		t.Errorf("pruned %d plans, %v; want west-texas's first two", n, err)
	}
	if left, _ := e.Live.Plans(e.ctx, "west-texas", time.Time{}, 0); len(left) != 1 || left[0].Seq != 3 {
		t.Errorf("after pruning: %+v", left)
	}
	if p, err := e.Live.LatestPlan(e.ctx, "alberta"); err != nil || p.Seq != 1 {
		t.Errorf("alberta's only plan: %+v, %v", p, err)
	}
}

func testAuditLog(t *testing.T, e *env) {
	e.apply(t, fixture())
	events := []*joule.Audit{
		{Site: "west-texas", Kind: joule.AuditEvent, Detail: "demand response: 5 MW by 12:00"},
		{Site: "west-texas", Kind: joule.AuditPlan, Seq: 7, Detail: "plan 7"},
		{Site: "west-texas", Kind: joule.AuditCommand, Seq: 7, Device: "127.0.0.2:4028", Detail: "sleep"},
		{Site: "alberta", Kind: joule.AuditPlan, Seq: 1, Detail: "plan 1"},
		{Site: "west-texas", Kind: joule.AuditVerify, Seq: 7, Device: "127.0.0.2:4028", Detail: "sleeping, 12 W", At: e.clock.Advance(time.Second)},
	}
	if err := e.Live.AppendAudit(e.ctx, events...); err != nil {
		t.Fatal(err)
	}
	log, err := e.Live.AuditLog(e.ctx, "west-texas", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 4 {
		t.Fatalf("west-texas log has %d events, want 4: %+v", len(log), log)
	}
	for i, want := range []joule.AuditKind{joule.AuditEvent, joule.AuditPlan, joule.AuditCommand, joule.AuditVerify} {
		if log[i].Kind != want || log[i].ID == 0 || (i > 0 && log[i].ID <= log[i-1].ID) {
			t.Errorf("event %d: %+v, want kind %s with increasing IDs", i, log[i], want)
		}
	}
	if log[0].At.IsZero() || log[2].Device != "127.0.0.2:4028" || log[3].Seq != 7 {
		t.Errorf("fields lost: %+v %+v", log[0], log[3])
	}
	after, err := e.Live.AuditLog(e.ctx, "west-texas", log[1].ID, 1)
	if err != nil || len(after) != 1 || after[0].ID != log[2].ID {
		t.Errorf("paging after %d: %+v, %v", log[1].ID, after, err)
	}
	tail, err := e.Live.AuditTail(e.ctx, "west-texas", 2)
	if err != nil || len(tail) != 2 || tail[0].ID != log[2].ID || tail[1].ID != log[3].ID {
		t.Errorf("tail of 2: %+v, %v; want events %d and %d", tail, err, log[2].ID, log[3].ID)
	}
	// Every event was stamped at or before the last's time: pruning before it keeps them
	// all, pruning after it none, of either site.
	if _, n, err := e.Live.Prune(e.ctx, log[3].At); err != nil || n != 0 {
		t.Errorf("pruned %d events made before the newest's time, %v; want none", n, err)
	}
	if _, n, err := e.Live.Prune(e.ctx, log[3].At.Add(time.Second)); err != nil || n != 5 {
		t.Errorf("pruned %d events, %v; want all 5", n, err)
	}
	if left, _ := e.Live.AuditLog(e.ctx, "west-texas", 0, 0); len(left) != 0 {
		t.Errorf("after pruning: %+v", left)
	}
}
