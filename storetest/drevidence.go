package storetest

import (
	"testing"
	"time"

	"github.com/joule-site/joule"
)

// evidence is the store's joule.DemandResponseEvidence: every store's LiveService
// implements it.
func (e *env) evidence(t *testing.T) joule.DemandResponseEvidence {
	t.Helper()
	ev, ok := e.Live.(joule.DemandResponseEvidence)
	if !ok {
		t.Fatalf("%T does not keep a demand-response event's evidence (joule.DemandResponseEvidence)", e.Live)
	}
	return ev
}

// Every census saved is a power reading, the meter's beside the devices' sum, read back
// by time and site; a census whose meter did not answer is a reading without the
// meter; a deleted site's readings go with it; Prune ages them with the audit log.
func testPowerReadings(t *testing.T, e *env) {
	e.apply(t, fixture())
	ev := e.evidence(t)
	start := e.clock.Now()
	censuses := []*joule.DeviceReport{
		{Site: "west-texas", At: start, Fleets: []joule.FleetCensus{{Fleet: "s21", Kind: joule.KindASIC, PowerW: 3_100_000}, {Fleet: "h100", Kind: joule.KindGPUServer, PowerW: 400_000}},
			Meter: &joule.MeterReading{At: start, PowerW: 3_650_000}},
		{Site: "west-texas", At: e.clock.Advance(5 * time.Second), Fleets: []joule.FleetCensus{{Fleet: "s21", Kind: joule.KindASIC, PowerW: 1_000_000}},
			Meter: &joule.MeterReading{At: e.clock.Now(), Err: "no answer"}},
		{Site: "alberta", At: e.clock.Now(), Fleets: []joule.FleetCensus{{Fleet: "s19", PowerW: 7}}},
		{Site: "west-texas", At: e.clock.Advance(5 * time.Second), Fleets: []joule.FleetCensus{}},
	}
	for _, c := range censuses {
		if err := e.Live.SaveDeviceReport(e.ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ev.PowerReadings(e.ctx, "west-texas", start, start.Add(10*time.Second), joule.MaxPowerReadings)
	if err != nil {
		t.Fatal(err)
	}
	want := []joule.PowerReading{
		{At: start.UTC().Truncate(time.Millisecond), Metered: true, MeterW: 3_650_000, DevicesW: 3_500_000, Fleets: []joule.FleetPower{{Fleet: "s21", PowerW: 3_100_000}, {Fleet: "h100", PowerW: 400_000}}},
		{At: start.Add(5 * time.Second).UTC().Truncate(time.Millisecond), DevicesW: 1_000_000, Fleets: []joule.FleetPower{{Fleet: "s21", PowerW: 1_000_000}}},
	}
	checkEqual(t, "west-texas's readings in the first 10 s", got, want)
	if got, err := ev.PowerReadings(e.ctx, "west-texas", start, start.Add(time.Hour), 1); err != nil || len(got) != 1 || !got[0].At.Equal(want[0].At) {
		t.Errorf("the first reading of west-texas: %+v, %v", got, err)
	}
	_, err = ev.PowerReadings(e.ctx, "west-texas", start, start.Add(time.Hour), joule.MaxPowerReadings+1)
	checkCode(t, "too many readings", err, joule.EINVALID)

	if _, _, err := e.Live.Prune(e.ctx, start.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if got, err := ev.PowerReadings(e.ctx, "west-texas", start.Add(-time.Hour), start.Add(time.Hour), 100); err != nil || len(got) != 2 || !got[0].At.Equal(want[1].At) {
		t.Errorf("after pruning the first second, west-texas's readings: %+v, %v", got, err)
	}
	if err := e.Sites.DeleteSite(e.ctx, "west-texas"); err != nil {
		t.Fatal(err)
	}
	if got, err := ev.PowerReadings(e.ctx, "west-texas", start.Add(-time.Hour), start.Add(time.Hour), 100); err != nil || len(got) != 0 {
		t.Errorf("a deleted site's readings: %+v, %v", got, err)
	}
}

// A site's event reads back by ID (not another site's), and its audit rows by their
// time, in pages by ID.
func testDemandResponseEvidence(t *testing.T, e *env) {
	e.apply(t, fixture())
	ev := e.evidence(t)
	now := e.clock.Now()
	dr := &joule.DemandResponse{Site: "west-texas", ReduceToW: 5_000_000, Deadline: now.Add(time.Minute), End: now.Add(time.Hour), By: "grid-desk"}
	if err := e.Live.CreateDemandResponse(e.ctx, dr); err != nil {
		t.Fatal(err)
	}
	got, err := ev.DemandResponse(e.ctx, "west-texas", dr.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != dr.ID || got.ReduceToW != dr.ReduceToW || !got.Deadline.Equal(dr.Deadline) || !got.End.Equal(dr.End) || got.By != "grid-desk" {
		t.Errorf("event %d read back as %+v, want %+v", dr.ID, got, dr)
	}
	_, err = ev.DemandResponse(e.ctx, "alberta", dr.ID)
	checkCode(t, "another site's event", err, joule.ENOTFOUND)
	_, err = ev.DemandResponse(e.ctx, "west-texas", dr.ID+1000)
	checkCode(t, "an event that does not exist", err, joule.ENOTFOUND)

	rows := []*joule.Audit{
		{Site: "west-texas", At: now.Add(-time.Second), Kind: joule.AuditPlan, Detail: "before"},
		{Site: "west-texas", At: now, Kind: joule.AuditEvent, Detail: "notice"},
		{Site: "alberta", At: now.Add(time.Second), Kind: joule.AuditPlan, Detail: "elsewhere"},
		{Site: "west-texas", At: now.Add(2 * time.Second), Kind: joule.AuditCommand, Device: "10.0.0.1:4028", Detail: "sleep"},
		{Site: "west-texas", At: now.Add(time.Second), Kind: joule.AuditAck, Device: "10.0.0.1:4028", Detail: "stamped earlier, stored later"},
		{Site: "west-texas", At: now.Add(time.Hour), Kind: joule.AuditReport, Detail: "after"},
	}
	if err := e.Live.AppendAudit(e.ctx, rows...); err != nil {
		t.Fatal(err)
	}
	between, err := ev.AuditBetween(e.ctx, "west-texas", now, now.Add(time.Hour), 0, joule.MaxAuditQuery)
	if err != nil {
		t.Fatal(err)
	}
	var details []string
	for _, r := range between {
		details = append(details, r.Detail)
	}
	checkEqual(t, "audit rows in the hour from now", details, []string{"notice", "sleep", "stamped earlier, stored later"})
	page, err := ev.AuditBetween(e.ctx, "west-texas", now, now.Add(time.Hour), between[0].ID, 1)
	if err != nil || len(page) != 1 || page[0].ID != between[1].ID {
		t.Errorf("the page after the first row: %+v, %v", page, err)
	}
	_, err = ev.AuditBetween(e.ctx, "west-texas", now, now.Add(time.Hour), 0, 0)
	checkCode(t, "no limit", err, joule.EINVALID)
}
