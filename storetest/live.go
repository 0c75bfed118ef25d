package storetest

import (
	"fmt"
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
		{Site: "west-texas", ReduceToW: 0, Deadline: now.Add(time.Hour), By: "grid-desk", ShedFirm: true},        // open-ended
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
	// Who declared an event, and whether it may shed firm load, come back as written.
	if got[0].By != "" || got[0].ShedFirm || got[1].By != "grid-desk" || !got[1].ShedFirm {
		t.Errorf("by and shed_firm: %q %v, %q %v; want \"\" false, \"grid-desk\" true", got[0].By, got[0].ShedFirm, got[1].By, got[1].ShedFirm)
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

func testCancelDemandResponse(t *testing.T, e *env) {
	e.apply(t, fixture())
	now := e.clock.Now()
	open := &joule.DemandResponse{Site: "west-texas", ReduceToW: 5_000_000, Deadline: now.Add(time.Minute)}                           // until cancelled
	timed := &joule.DemandResponse{Site: "west-texas", ReduceToW: 2_000_000, Deadline: now.Add(time.Minute), End: now.Add(time.Hour)} // ends in an hour
	over := &joule.DemandResponse{Site: "west-texas", ReduceToW: 1_000_000, Deadline: now.Add(-2 * time.Hour), End: now.Add(-time.Hour)}
	for _, dr := range []*joule.DemandResponse{open, timed, over} {
		if err := e.Live.CreateDemandResponse(e.ctx, dr); err != nil {
			t.Fatal(err)
		}
	}
	at := e.clock.Advance(10 * time.Second)
	got, err := e.Live.CancelDemandResponse(e.ctx, "west-texas", open.ID, at)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != open.ID || got.ReduceToW != 5_000_000 || !got.End.Equal(at) || !got.CancelledAt.Equal(at) || got.CancelledAt.Location() != time.UTC {
		t.Errorf("cancelled %+v: want it ended and cancelled at %v, in UTC", got, at)
	}
	// The cancelled event has ended; the timed one stands until it too is cancelled.
	active, err := e.Live.DemandResponses(e.ctx, "west-texas", at)
	if err != nil || len(active) != 1 || active[0].ID != timed.ID || !active[0].CancelledAt.IsZero() {
		t.Fatalf("active after cancelling %d: %+v, %v; want only %d", open.ID, active, err, timed.ID)
	}
	if got, err := e.Live.CancelDemandResponse(e.ctx, "west-texas", timed.ID, at); err != nil || !got.End.Equal(at) {
		t.Errorf("cancel an event before its end: %+v, %v; want it ended at %v", got, err, at)
	}
	if active, _ := e.Live.DemandResponses(e.ctx, "west-texas", at.Add(-time.Second)); len(active) != 2 {
		t.Errorf("before the cancellations, %d events were active, want 2", len(active))
	}
	for _, tc := range []struct {
		name string
		site string
		id   int64
		code string
	}{
		{"again", "west-texas", open.ID, joule.ECONFLICT},
		{"one that ended", "west-texas", over.ID, joule.ECONFLICT},
		{"another site's", "alberta", open.ID, joule.ENOTFOUND},
		{"one that does not exist", "west-texas", 1_000_000, joule.ENOTFOUND},
	} {
		_, err := e.Live.CancelDemandResponse(e.ctx, tc.site, tc.id, at)
		checkCode(t, "cancel "+tc.name, err, tc.code)
	}
	// The history keeps every event, ended and cancelled too, newest first.
	history, err := e.Live.DemandResponseHistory(e.ctx, "west-texas", 10)
	if err != nil || len(history) != 3 || history[0].ID != over.ID || history[2].ID != open.ID || !history[2].CancelledAt.Equal(at) {
		t.Errorf("history: %+v, %v; want %d, %d, %d with %d cancelled", history, err, over.ID, timed.ID, open.ID, open.ID)
	}
	if two, _ := e.Live.DemandResponseHistory(e.ctx, "west-texas", 2); len(two) != 2 || two[1].ID != timed.ID {
		t.Errorf("the newest two: %+v", two)
	}
	if other, _ := e.Live.DemandResponseHistory(e.ctx, "alberta", 10); len(other) != 0 {
		t.Errorf("another site's history: %+v", other)
	}
	_, err = e.Live.DemandResponseHistory(e.ctx, "west-texas", 0)
	checkCode(t, "a history of none", err, joule.EINVALID)
}

func testDeviceReports(t *testing.T, e *env) {
	e.apply(t, fixture())
	_, err := e.Live.DeviceReport(e.ctx, "west-texas")
	checkCode(t, "census before the first", err, joule.ENOTFOUND)
	first := &joule.DeviceReport{Site: "west-texas", At: e.clock.Now(),
		Fleets:   []joule.FleetCensus{{Fleet: "s21", Kind: joule.KindASIC, Machines: 1000, Found: 990, Running: 900, Sleeping: 80, Unknown: 10, PowerW: 3_100_000, Reported: 980}},
		Problems: []joule.DeviceStatus{{Address: "10.0.0.7:4028", Fleet: "s21", State: joule.StateUnknown, Detail: "no answer"}},
		Meter:    &joule.MeterReading{At: e.clock.Now(), PowerW: 3_200_000, Check: &joule.MeterCheck{Seq: 4, MeterDeltaW: -10_000, ReportedDeltaW: -40_000, Devices: 3, Judged: true, Mismatch: true, Detail: "site meter moved"}},
	}
	if err := e.Live.SaveDeviceReport(e.ctx, first); err != nil {
		t.Fatal(err)
	}
	got, err := e.Live.DeviceReport(e.ctx, "west-texas")
	if err != nil {
		t.Fatal(err)
	}
	if !got.At.Equal(first.At) || got.Site != "west-texas" || got.Meter == nil || !got.Meter.At.Equal(first.Meter.At) {
		t.Fatalf("census at %v of %q, meter %+v; want %v of west-texas, meter read at %v", got.At, got.Site, got.Meter, first.At, first.Meter.At)
	}
	got.At, got.Meter.At = first.At, first.Meter.At // the same instants, compared above; a store may keep another zone
	checkEqual(t, "census", got, first)
	// A newer census replaces the site's, and leaves another site's alone.
	second := &joule.DeviceReport{Site: "west-texas", At: e.clock.Advance(5 * time.Second), Fleets: []joule.FleetCensus{}, Problems: []joule.DeviceStatus{}}
	if err := e.Live.SaveDeviceReport(e.ctx, second); err != nil {
		t.Fatal(err)
	}
	if err := e.Live.SaveDeviceReport(e.ctx, &joule.DeviceReport{Site: "alberta", At: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if got, err := e.Live.DeviceReport(e.ctx, "west-texas"); err != nil || !got.At.Equal(second.At) || len(got.Fleets) != 0 || got.Meter != nil {
		t.Errorf("census after the second: %+v, %v", got, err)
	}
	checkCode(t, "census of a site that does not exist", e.Live.SaveDeviceReport(e.ctx, &joule.DeviceReport{Site: "nowhere", At: e.clock.Now()}), joule.ENOTFOUND)
	// A deleted site's census goes with it.
	if err := e.Sites.DeleteSite(e.ctx, "west-texas"); err != nil {
		t.Fatal(err)
	}
	_, err = e.Live.DeviceReport(e.ctx, "west-texas")
	checkCode(t, "census of a deleted site", err, joule.ENOTFOUND)
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
		{Site: "west-texas", Kind: joule.AuditEvent, Outcome: joule.OutcomeOK, Actor: joule.ActorOperator, Detail: "demand response: 5 MW by 12:00"},
		{Site: "west-texas", Kind: joule.AuditPlan, Seq: 7, Outcome: joule.OutcomeOK, Reason: "demand response", Actor: joule.ActorLoop, Detail: "plan 7"},
		{Site: "west-texas", Kind: joule.AuditCommand, Seq: 7, Device: "127.0.0.2:4028", Detail: "sleep"},
		{Site: "alberta", Kind: joule.AuditPlan, Seq: 1, Detail: "plan 1"},
		{Site: "west-texas", Kind: joule.AuditVerify, Seq: 7, Device: "127.0.0.2:4028", Outcome: joule.OutcomeFailed, Reason: "no answer", Actor: joule.ActorAgent, Detail: "FAILED: no answer", At: e.clock.Advance(time.Second)},
	}
	if err := e.Live.AppendAudit(e.ctx, events...); err != nil {
		t.Fatal(err)
	}
	log, err := e.Live.Audit(e.ctx, joule.AuditQuery{Site: "west-texas", After: 0, Limit: 0})
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
	// The structured fields come back as written, and empty where none were.
	for i, want := range []struct {
		outcome       joule.AuditOutcome
		reason, actor string
	}{{joule.OutcomeOK, "", joule.ActorOperator}, {joule.OutcomeOK, "demand response", joule.ActorLoop}, {"", "", ""}, {joule.OutcomeFailed, "no answer", joule.ActorAgent}} {
		if log[i].Outcome != want.outcome || log[i].Reason != want.reason || log[i].Actor != want.actor {
			t.Errorf("event %d: outcome %q, reason %q, actor %q; want %q, %q, %q", i, log[i].Outcome, log[i].Reason, log[i].Actor, want.outcome, want.reason, want.actor)
		}
	}
	after, err := e.Live.Audit(e.ctx, joule.AuditQuery{Site: "west-texas", After: log[1].ID, Limit: 1})
	if err != nil || len(after) != 1 || after[0].ID != log[2].ID {
		t.Errorf("paging after %d: %+v, %v", log[1].ID, after, err)
	}
	tail, err := e.Live.Audit(e.ctx, joule.AuditQuery{Site: "west-texas", Limit: 2, Tail: true})
	if err != nil || len(tail) != 2 || tail[0].ID != log[2].ID || tail[1].ID != log[3].ID {
		t.Errorf("tail of 2: %+v, %v; want events %d and %d", tail, err, log[2].ID, log[3].ID)
	}
	// Filters by kind and device, alone, together and on the tail.
	ids := func(log []*joule.Audit) (out []int64) {
		for _, e := range log {
			out = append(out, e.ID)
		}
		return out
	}
	for _, tt := range []struct {
		q    joule.AuditQuery
		want []int64
	}{
		{joule.AuditQuery{Kinds: []joule.AuditKind{joule.AuditCommand, joule.AuditVerify}}, []int64{log[2].ID, log[3].ID}},
		{joule.AuditQuery{Kinds: []joule.AuditKind{joule.AuditPlan}}, []int64{log[1].ID}}, // not alberta's
		{joule.AuditQuery{Device: "127.0.0.2:4028"}, []int64{log[2].ID, log[3].ID}},
		{joule.AuditQuery{Device: "127.0.0.2:4028", Kinds: []joule.AuditKind{joule.AuditVerify}}, []int64{log[3].ID}},
		{joule.AuditQuery{Kinds: []joule.AuditKind{joule.AuditEvent, joule.AuditCommand}, Limit: 1, Tail: true}, []int64{log[2].ID}},
		{joule.AuditQuery{Device: "127.0.0.9:4028"}, nil},
	} {
		tt.q.Site = "west-texas"
		got, err := e.Live.Audit(e.ctx, tt.q)
		if err != nil || fmt.Sprint(ids(got)) != fmt.Sprint(tt.want) {
			t.Errorf("%+v: events %v, %v; want %v", tt.q, ids(got), err, tt.want)
		}
	}
	for _, bad := range []joule.AuditQuery{{Site: "west-texas", Kinds: []joule.AuditKind{"bogus"}}, {Site: "west-texas", Limit: joule.MaxAuditQuery + 1}, {Site: "west-texas", After: -1}} {
		if _, err := e.Live.Audit(e.ctx, bad); joule.ErrorCode(err) != joule.EINVALID {
			t.Errorf("%+v: %v, want invalid", bad, err)
		}
	}
	// Every event was stamped at or before the last's time: pruning before it keeps them
	// all, pruning after it none, of either site.
	if _, n, err := e.Live.Prune(e.ctx, log[3].At); err != nil || n != 0 {
		t.Errorf("pruned %d events made before the newest's time, %v; want none", n, err)
	}
	if _, n, err := e.Live.Prune(e.ctx, log[3].At.Add(time.Second)); err != nil || n != 5 {
		t.Errorf("pruned %d events, %v; want all 5", n, err)
	}
	if left, _ := e.Live.Audit(e.ctx, joule.AuditQuery{Site: "west-texas", After: 0, Limit: 0}); len(left) != 0 {
		t.Errorf("after pruning: %+v", left)
	}
}

// testAuditKeys: a row an agent posts twice under its key is stored once per site, and
// keeps its first ID and recorded time; rows are stamped with the store's time as they
// are recorded, beside the agent's own, and age by it.
func testAuditKeys(t *testing.T, e *env) {
	e.apply(t, fixture())
	deviceTime := e.clock.Now().Add(-3 * time.Hour) // an agent's row spooled through an outage
	row := func(key, detail string) *joule.Audit {
		return &joule.Audit{Site: "west-texas", At: deviceTime, Kind: joule.AuditCommand, Seq: 3, Device: "127.0.0.2:4028",
			Outcome: joule.OutcomeOK, Actor: "west-texas-agent", Detail: detail, Key: key}
	}
	first := []*joule.Audit{row("a1/1/0", "sleep"), row("a1/1/1", "wake"), {Site: "west-texas", Kind: joule.AuditPlan, Seq: 3, Detail: "plan 3"}}
	if err := e.Live.AppendAudit(e.ctx, first...); err != nil {
		t.Fatal(err)
	}
	recorded := e.clock.Now()
	for _, r := range first {
		if !r.RecordedAt.Equal(recorded) {
			t.Errorf("row %q recorded at %v, want the store's now %v", r.Key, r.RecordedAt, recorded)
		}
	}
	// Posted again later, with a row new to the log, and the same key at another site.
	e.clock.Advance(time.Minute)
	again := []*joule.Audit{row("a1/1/0", "sleep"), row("a1/1/2", "power"), {Site: "alberta", Kind: joule.AuditCommand, Key: "a1/1/0", Detail: "sleep"}}
	if err := e.Live.AppendAudit(e.ctx, again...); err != nil {
		t.Fatalf("posting a row again: %v", err)
	}
	if again[0].ID != first[0].ID || !again[0].RecordedAt.Equal(recorded) {
		t.Errorf("the row posted again has ID %d, recorded at %v; want the stored row's %d, %v", again[0].ID, again[0].RecordedAt, first[0].ID, recorded)
	}
	log, err := e.Live.Audit(e.ctx, joule.AuditQuery{Site: "west-texas", After: 0, Limit: 0})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, r := range log {
		keys = append(keys, r.Key)
	}
	checkEqual(t, "the keys of west-texas's log", keys, []string{"a1/1/0", "a1/1/1", "", "a1/1/2"})
	if !log[0].At.Equal(deviceTime) || !log[0].RecordedAt.Equal(recorded) || !log[3].RecordedAt.Equal(e.clock.Now()) {
		t.Errorf("times: at %v recorded %v, and the later row recorded %v; want %v, %v and %v", log[0].At, log[0].RecordedAt, log[3].RecordedAt, deviceTime, recorded, e.clock.Now())
	}
	if other, _ := e.Live.Audit(e.ctx, joule.AuditQuery{Site: "alberta", After: 0, Limit: 0}); len(other) != 1 {
		t.Errorf("alberta's log holds %d rows, want its own row under the same key", len(other))
	}
	// Retention goes by when the rows were recorded, not by the agent's time.
	if _, n, err := e.Live.Prune(e.ctx, recorded); err != nil || n != 0 {
		t.Errorf("pruning before the rows were recorded deleted %d, %v; want none", n, err)
	}
	if _, n, err := e.Live.Prune(e.ctx, recorded.Add(time.Second)); err != nil || n != 3 {
		t.Errorf("pruning after the first post deleted %d, %v; want its 3 rows", n, err)
	}
}
