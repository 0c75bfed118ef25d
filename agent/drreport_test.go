package agent_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/drreport"
	"github.com/joule-site/joule/meter"
	"github.com/joule-site/joule/sim"
)

// A demand-response event on the simulated site produces the evidence report: the
// real server, live loop and agent, simulated miners and a simulated site meter over
// Modbus. The report has the baseline before notice from the meter, the meter's and
// the devices' series through the event, every step's time, the time to target and
// the commands with their audit rows. A miner that restarts mid-event is found
// running, put back to sleep and audited, and stays asleep until the event ends.
func TestDemandResponseEvidenceReport(t *testing.T) {
	const n = 20
	s, loop, fleet, lv := site(t, n)
	s.DRReports = &drreport.Reporter{Evidence: lv, Plans: lv, Devices: s.Telemetry, Now: time.Now}
	sm, err := sim.StartMeter("127.0.0.1:0", fleet.PowerW)
	if err != nil {
		t.Fatal(err)
	}
	defer sm.Close()
	cfg, err := meter.ParseURL(sm.URL())
	if err != nil {
		t.Fatal(err)
	}
	mt, err := meter.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer mt.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	go func() { _ = loop.Run(ctx) }()
	a := newAgent(s)
	a.Meter = mt
	a.RefreshSteps = 2 // every miner read within two steps: a restarted one is found soon
	if devs := a.Discover(ctx, fleet.Addresses(), []joule.FleetTarget{{Fleet: "s21s", Machines: n}}); len(devs) != n {
		t.Fatalf("discovered %d of %d miners", len(devs), n)
	}
	go a.Run(ctx, 200*time.Millisecond)

	// The baseline: a few censuses with the meter before notice.
	readings := func(from, to time.Time) []joule.PowerReading {
		r, err := lv.PowerReadings(ctx, "test-site", from, to, joule.MaxPowerReadings)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	start := time.Now()
	waitFor(t, "three metered censuses of the whole fleet", func() bool {
		got := 0
		for _, r := range readings(start, time.Now().Add(time.Second)) {
			if r.Metered && r.MeterW >= 60_000 {
				got++
			}
		}
		return got >= 3
	})

	// 20 S21 draw 70 kW; the event allows 25 kW from 2 s after notice, for 6 s.
	const limit = joule.Watts(25_000)
	client := operatorClient(s)
	dr, err := client.DemandResponse(ctx, "test-site", limit, 2*time.Second, 6*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the fleet at the event's level", func() bool { return fleet.PowerW() <= limit })

	// Mid-event, a sleeping miner restarts: it boots and hashes until the agent finds it.
	var restarted *sim.Miner
	waitFor(t, "a miner asleep, its sleep verified", func() bool {
		verified := map[string]bool{}
		for _, d := range a.Devices() {
			verified[d.Address] = !d.Awake && d.Healthy && d.State == joule.StateSleeping
		}
		for _, m := range fleet.Miners() {
			if verified[m.Addr()] && m.Reading().State == joule.StateSleeping {
				restarted = m
				return true
			}
		}
		return false
	})
	restarted.Restart()
	restartedAt := time.Now()
	var woke *joule.Audit
	waitFor(t, "the restarted miner audited as woken during the event", func() bool {
		log, err := lv.Audit(ctx, joule.AuditQuery{Site: "test-site", Device: restarted.Addr(), Kinds: []joule.AuditKind{joule.AuditReport}})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range log {
			if e.Reason == "woke during demand response" {
				woke = e
				return true
			}
		}
		return false
	})
	waitFor(t, "the restarted miner asleep again", func() bool { return restarted.Reading().State == joule.StateSleeping })
	if asleep := time.Now(); asleep.Before(dr.End) {
		t.Logf("the restarted miner was asleep again %v after its restart, %v before the event's end", asleep.Sub(restartedAt).Round(time.Millisecond), dr.End.Sub(asleep).Round(time.Millisecond))
	} else {
		t.Logf("the restarted miner was asleep again %v after its restart, after the event's end (a loaded machine)", asleep.Sub(restartedAt).Round(time.Millisecond))
	}
	// It stays asleep until the event ends: every command it got after the restart up
	// to the end is a sleep.
	waitFor(t, "a census after the event's end", func() bool { return len(readings(dr.End, time.Now().Add(time.Second))) > 0 })
	for _, c := range restarted.Commands() {
		if c.At.After(restartedAt) && c.At.Before(dr.End) && c.Action != "sleep" {
			t.Errorf("the restarted miner got %q at %v, during the event", c.Action, c.At)
		}
	}

	rep, err := client.DemandResponseReport(ctx, "test-site", dr.ID, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := drreport.WriteText(&text, rep); err != nil {
		t.Fatal(err)
	}
	t.Logf("the report:\n%s", text.String())

	if !rep.Complete || rep.Event.ID != dr.ID || rep.TargetW != limit {
		t.Errorf("report of event %d, complete %v, target %v", rep.Event.ID, rep.Complete, rep.TargetW)
	}
	if b := rep.Baseline; !b.Metered || b.Readings < 3 || b.PowerW < 60_000 || b.PowerW > 75_000 {
		t.Errorf("baseline %+v: want the meter's ~70 kW over at least 3 readings", b)
	}
	var metered, during int
	for _, p := range rep.Series {
		if p.Metered {
			metered++
		}
		if !p.At.Before(dr.CreatedAt) && !p.At.After(dr.End) {
			during++
		}
	}
	if metered < len(rep.Series)*3/4 || during < 5 {
		t.Errorf("series of %d points, %d metered, %d during the event", len(rep.Series), metered, during)
	}
	if rep.TargetReachedAt.IsZero() || rep.TimeToTarget <= 0 {
		t.Errorf("target not reached: %v after notice", rep.TimeToTarget)
	} else if rep.BeforeDeadline {
		t.Logf("target reached %v after notice, %v before the deadline", rep.TimeToTarget.Round(time.Millisecond), dr.Deadline.Sub(rep.TargetReachedAt).Round(time.Millisecond))
	} else {
		t.Logf("target reached %v after notice, %v after the deadline (a loaded machine)", rep.TimeToTarget.Round(time.Millisecond), rep.TargetReachedAt.Sub(dr.Deadline).Round(time.Millisecond))
	}
	st := rep.Steps
	if st.PlanSeq == 0 || st.PlanAt.Before(st.NoticeAt) || st.Sent < n/2 || st.Verified < n/2 || st.FirstSentAt.Before(st.PlanAt) || st.LastVerifiedAt.Before(st.FirstSentAt) {
		t.Errorf("steps %+v", st)
	}
	if len(rep.Fleets) != 1 || rep.Fleets[0].Fleet != "s21s" || rep.Fleets[0].Sent != st.Sent {
		t.Errorf("fleets %+v: want the commands all in s21s", rep.Fleets)
	}
	kinds := map[joule.AuditKind]int{}
	var wokeInReport bool
	for _, e := range rep.Audit {
		kinds[e.Kind]++
		wokeInReport = wokeInReport || e.ID == woke.ID
	}
	if kinds[joule.AuditCommand] != st.Sent || kinds[joule.AuditVerify] == 0 || kinds[joule.AuditPlan] == 0 || kinds[joule.AuditEvent] == 0 || !wokeInReport {
		t.Errorf("audit rows by kind %v, the woken miner's row in them %v", kinds, wokeInReport)
	}
	p := rep.Performance
	if p.Readings == 0 || p.ReductionW < 30_000 {
		t.Errorf("performance %+v: want a reduction of about 45 kW", p)
	}

	csv, err := client.DemandResponseReportCSV(ctx, "test-site", dr.ID, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	if lines[0] != strings.Join(drreport.CSVHeader, ",") || len(lines) != len(rep.Series)+1 {
		t.Errorf("csv of %d lines for %d points, header %q", len(lines), len(rep.Series), lines[0])
	}
}
