package agent_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/meter"
	"github.com/joule-site/joule/sim"
)

// A site meter catches miners whose telemetry lies: a demand response puts every
// miner to sleep, a quarter of them only say so, and the meter (the simulator's true
// power over Modbus) drops by three quarters of what the devices report. The census
// on the server carries the meter's reading and the mismatch, and the audit log the
// check; with honest miners the same event passes the check.
func TestSiteMeterCatchesLyingTelemetry(t *testing.T) {
	for _, liars := range []int{0, 5} {
		t.Run(map[int]string{0: "honest", 5: "five liars"}[liars], func(t *testing.T) {
			const n = 20
			s, loop, fleet, lv := site(t, n)
			for i, m := range fleet.Miners() {
				if i%4 == 1 && i/4 < liars {
					m.SetFault(sim.FaultLieTelemetry)
				}
			}
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

			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			go func() { _ = loop.Run(ctx) }()
			a := newAgent(s)
			a.Meter = mt
			if devs := a.Discover(ctx, fleet.Addresses(), []joule.FleetTarget{{Fleet: "s21s", Machines: n}}); len(devs) != n {
				t.Fatalf("discovered %d of %d miners", len(devs), n)
			}
			go a.Run(ctx, 200*time.Millisecond)

			// 20 S21 draw 70 kW; the event allows 1 kW: every miner sleeps.
			client := operatorClient(s)
			dr, err := client.DemandResponse(ctx, "test-site", 1000, 2*time.Second, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			var check *joule.MeterCheck
			for check == nil || check.ReportedDeltaW > -joule.Watts(n-1)*3000 {
				if ctx.Err() != nil {
					t.Fatalf("no meter check of the curtailment; last %+v", check)
				}
				time.Sleep(100 * time.Millisecond)
				rep, err := client.Devices(ctx, "test-site")
				if err != nil || rep.Meter == nil || rep.Meter.Check == nil || rep.Meter.Check.At.Before(dr.CreatedAt) {
					continue
				}
				check = rep.Meter.Check
				if rep.Meter.Err != "" || rep.Meter.PowerW != fleet.PowerW() {
					t.Errorf("census meter %+v; the fleet draws %v", rep.Meter, fleet.PowerW())
				}
			}
			t.Logf("check of plan %d: %s", check.Seq, check.Detail)
			lying := joule.Watts(liars) * 3480
			if wantOutcome := map[bool]joule.AuditOutcome{true: joule.OutcomeMismatch, false: joule.OutcomeOK}[liars > 0]; check.Outcome() != wantOutcome {
				t.Errorf("check %+v: outcome %q, want %q", check, check.Outcome(), wantOutcome)
			}
			if !check.Judged || check.Mismatch != (liars > 0) || check.MeterDeltaW > check.ReportedDeltaW+lying+1000 || check.MeterDeltaW < check.ReportedDeltaW+lying-1000 {
				t.Errorf("check %+v with %d miners lying", check, liars)
			}
			log, err := lv.Audit(ctx, joule.AuditQuery{Site: "test-site"})
			if err != nil {
				t.Fatal(err)
			}
			var found bool
			for _, e := range log {
				found = found || (e.Kind == joule.AuditReport && e.Detail == check.Detail && strings.HasPrefix(e.Detail, "site meter moved") && e.Outcome == check.Outcome())
			}
			if !found {
				t.Errorf("the audit log has no meter check %q", check.Detail)
			}
		})
	}
}
