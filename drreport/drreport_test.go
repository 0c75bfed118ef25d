package drreport_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/drreport"
)

var t0 = time.Date(2026, 7, 1, 15, 0, 0, 0, time.UTC)

func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

func metered(s float64, w joule.Watts) joule.PowerReading {
	return joule.PowerReading{At: at(s), Metered: true, MeterW: w, DevicesW: w - 10_000}
}

// An event noticed at t0 with a deadline 60 s later and an end 160 s later: the site
// drew 1 MW before, came down to 0.4 MW at 40 s, rose above the 0.5 MW target for 10 s
// after the deadline, and held after.
func event() drreport.Input {
	ev := &joule.DemandResponse{ID: 7, Site: "west", ReduceToW: 500_000, CreatedAt: t0, Deadline: at(60), End: at(160)}
	return drreport.Input{
		Event: ev, At: at(600), BaselineWindow: time.Minute,
		Readings: []joule.PowerReading{
			metered(-120, 5_000_000),                                                           // before the baseline's window
			metered(-50, 1_000_000), metered(-30, 1_100_000), {At: at(-10), DevicesW: 900_000}, // the window: the meter's two count
			metered(10, 900_000), metered(40, 400_000), metered(80, 700_000), metered(90, 450_000),
			metered(200, 3_000_000), // after the end
		},
		Plans: []*joule.SitePlan{{Seq: 3, At: at(-1), Reason: "interval"}, {Seq: 4, At: at(1), Reason: "demand response"}},
		Audit: []*joule.Audit{
			{Kind: joule.AuditEvent, At: at(0)},
			{Kind: joule.AuditCommand, Seq: 3, Device: "a", At: at(0.5)}, // the plan before
			{Kind: joule.AuditCommand, Seq: 4, Device: "a", At: at(2)},
			{Kind: joule.AuditCommand, Seq: 4, Device: "b", At: at(2)},
			{Kind: joule.AuditAck, Seq: 4, Device: "a", At: at(2.1), Outcome: joule.OutcomeOK},
			{Kind: joule.AuditAck, Seq: 4, Device: "b", At: at(2.3), Outcome: joule.OutcomeOK},
			{Kind: joule.AuditVerify, Seq: 4, Device: "a", At: at(3), Outcome: joule.OutcomeOK},
			{Kind: joule.AuditVerify, Seq: 4, Device: "b", At: at(5), Outcome: joule.OutcomeFailed},
			{Kind: joule.AuditCommand, Seq: 5, Device: "b", At: at(8)},
			{Kind: joule.AuditVerify, Seq: 5, Device: "b", At: at(9), Outcome: joule.OutcomeOK},
		},
		FleetOf: map[string]string{"a": "s21", "b": "s19"},
	}
}

func TestBuild(t *testing.T) {
	r := drreport.Build(event())
	if !r.Complete || r.TargetW != 500_000 {
		t.Errorf("complete %v, target %v", r.Complete, r.TargetW)
	}
	if b := r.Baseline; b.PowerW != 1_050_000 || !b.Metered || b.Readings != 2 || !b.From.Equal(at(-60)) {
		t.Errorf("baseline %+v, want the mean of the two metered readings in the minute before notice", b)
	}
	s := r.Steps
	if s.PlanSeq != 4 || !s.PlanAt.Equal(at(1)) || s.Sent != 3 || s.Acked != 2 || s.Verified != 2 || s.Failed != 1 ||
		!s.FirstSentAt.Equal(at(2)) || !s.LastSentAt.Equal(at(8)) || !s.LastAckAt.Equal(at(2.3)) || !s.LastVerifiedAt.Equal(at(9)) {
		t.Errorf("steps %+v", s)
	}
	if len(r.Fleets) != 2 || r.Fleets[0].Fleet != "s19" || r.Fleets[0].Sent != 2 || r.Fleets[1].Fleet != "s21" || r.Fleets[1].Verified != 1 {
		t.Errorf("fleets %+v", r.Fleets)
	}
	if !r.TargetReachedAt.Equal(at(40)) || r.TimeToTarget != 40*time.Second || !r.BeforeDeadline {
		t.Errorf("target reached at %v (%v), before the deadline %v", r.TargetReachedAt, r.TimeToTarget, r.BeforeDeadline)
	}
	// From the deadline (60 s) to the end (160 s): 0.4 MW for 20 s, 0.7 MW for 10 s,
	// 0.45 MW for 70 s. Above the target: 0.2 MW for 10 s.
	p := r.Performance
	wantMean := joule.Watts((400_000*20 + 700_000*10 + 450_000*70) / 100)
	if p.Readings != 3 || p.MeanW != wantMean || p.MaxW != 700_000 || p.ShortfallMaxW != 200_000 || p.AboveTarget != 10*time.Second {
		t.Errorf("performance %+v, want mean %v", p, wantMean)
	}
	if want := 200_000 * 10 / 3600.0 / 1e6; !near(p.ShortfallMWh, want) {
		t.Errorf("shortfall %v MWh, want %v", p.ShortfallMWh, want)
	}
	if want := float64(1_050_000-wantMean) * 100 / 3600 / 1e6; p.ReductionW != 1_050_000-wantMean || !near(p.ReductionMWh, want) {
		t.Errorf("reduction %v, %v MWh; want %v MWh", p.ReductionW, p.ReductionMWh, want)
	}
	if len(r.Series) != 7 || r.SeriesBucket != 0 {
		t.Errorf("series of %d points (bucket %v), want the 7 readings from the baseline to the end", len(r.Series), r.SeriesBucket)
	}
}

func near(a, b float64) bool { return a-b < 1e-12 && b-a < 1e-12 }

// An event that has not ended is reported to the report's time; one never reached says
// so; a long series is averaged into at most MaxSeriesPoints buckets.
func TestBuildOngoingAndLong(t *testing.T) {
	in := event()
	in.At = at(85)
	in.Readings = in.Readings[:6] // up to 0.7 MW at 80 s... cut at 40 s: reached
	in.Readings = append(in.Readings[:4], metered(10, 900_000))
	r := drreport.Build(in)
	if r.Complete || !r.TargetReachedAt.IsZero() || !r.Performance.To.Equal(at(85)) {
		t.Errorf("ongoing: complete %v, reached %v, to %v", r.Complete, r.TargetReachedAt, r.Performance.To)
	}
	if r.Performance.ShortfallMaxW != 400_000 {
		t.Errorf("ongoing shortfall %v, want 0.9 MW less the target", r.Performance.ShortfallMaxW)
	}

	in = event()
	in.Event.End = at(3 * 3600)
	in.At = at(4 * 3600)
	in.Readings = nil
	for s := -60.0; s < 3*3600; s += 1 {
		in.Readings = append(in.Readings, metered(s, 1_000_000))
	}
	r = drreport.Build(in)
	if len(r.Series) > drreport.MaxSeriesPoints || len(r.Series) < drreport.MaxSeriesPoints/2 || r.SeriesBucket <= 0 {
		t.Errorf("a series of %d readings became %d points of %v", len(in.Readings), len(r.Series), r.SeriesBucket)
	}
	if r.Series[0].MeterW != 1_000_000 || !r.Series[0].Metered {
		t.Errorf("first bucket %+v", r.Series[0])
	}
}

func TestFormats(t *testing.T) {
	r := drreport.Build(event())
	var csv, text bytes.Buffer
	if err := drreport.WriteCSV(&csv, r); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(csv.String()), "\n")
	if lines[0] != "at,meter_w,devices_w,baseline_w,target_w" || len(lines) != 8 || lines[3] != "2026-07-01T14:59:50Z,,900000,1050000,500000" {
		t.Errorf("csv:\n%s", csv.String())
	}
	if err := drreport.WriteText(&text, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Demand response 7 at west: at most 500.00 kW", "reached 40s after notice, 20s before the deadline", "s19", "NAESB"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
}

// Rows tallied page by page give the same steps as all of them at once, while the
// report keeps only the first rows it was given.
func TestTallyInPages(t *testing.T) {
	whole := drreport.Build(event())
	in := event()
	tally := drreport.NewTally(in.Event, in.Plans, in.FleetOf)
	tally.Add(in.Audit[:4])
	tally.Add(in.Audit[4:])
	in.Tally, in.AuditRows, in.Audit = tally, len(in.Audit), in.Audit[:3]
	paged := drreport.Build(in)
	if paged.Steps != whole.Steps || len(paged.Fleets) != len(whole.Fleets) || paged.Fleets[0] != whole.Fleets[0] || paged.Fleets[1] != whole.Fleets[1] {
		t.Errorf("paged steps %+v %+v, whole %+v %+v", paged.Steps, paged.Fleets, whole.Steps, whole.Fleets)
	}
	if len(paged.Audit) != 3 || paged.AuditRows != 10 {
		t.Errorf("kept %d rows of %d, want 3 of 10", len(paged.Audit), paged.AuditRows)
	}
}
