package alerts_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/alerts"
	"github.com/joule-site/joule/sqlite"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type rig struct {
	eval  *alerts.Evaluator
	store *sqlite.AlertService
	live  *sqlite.LiveService
	sites *sqlite.SiteService
	now   time.Time
	woken int
}

// newRig declares site "s" with the rules of yaml (indented under alerts:) and one
// fleet "f" whose pools are pools, on a fresh SQLite store.
func newRig(t *testing.T, rules joule.AlertRules, pools ...string) *rig {
	t.Helper()
	db := sqlite.NewDB(filepath.Join(t.TempDir(), "joule.db"))
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	r := &rig{store: sqlite.NewAlertService(db), live: sqlite.NewLiveService(db), now: t0,
		sites: sqlite.NewSiteService(db)}
	db.Now = func() time.Time { return r.now }
	_, err := sqlite.NewManifestService(db).Apply(context.Background(), &joule.Manifest{
		Models: []*joule.HardwareModel{{ID: "m", Name: "M", Kind: joule.KindASIC, PowerW: 3500, IdleW: 20, HashrateTHs: 200}},
		Sites: []*joule.Site{{Name: "s", PowerCapW: 1e7, PUE: 1, Energy: joule.EnergyPriceModel{Kind: joule.EnergyFixed, FixedUSDPerMWh: 40},
			Alerts: rules}},
		Fleets: []*joule.Fleet{{Site: "s", Name: "f", Model: "m", Kind: joule.KindASIC, Count: 10, Pools: pools}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r.eval = &alerts.Evaluator{Alerts: r.store, Sites: r.sites, Fleets: sqlite.NewFleetService(db), Now: func() time.Time { return r.now },
		Changed: func() { r.woken++ }}
	return r
}

// running is a healthy reading of miner addr at the rig's time.
func (r *rig) running(addr string) joule.TelemetrySample {
	return joule.TelemetrySample{Site: "s", Address: addr, Fleet: "f", At: r.now, State: joule.StateRunning, PowerW: 3500,
		HashrateTHs: 200, ExpectedHashrateTHs: 200, TempC: 60, ChipTempC: 70, Pool: "stratum+tcp://pool.example.com:3333",
		Firmware: "LuxOS", FirmwareVersion: "2025.4", ReplyShape: "aaaa"}
}

// batch sends samples and returns the open alerts after it, as "rule subject".
func (r *rig) batch(t *testing.T, samples ...joule.TelemetrySample) []string {
	t.Helper()
	if err := r.eval.Telemetry(context.Background(), "s", samples); err != nil {
		t.Fatal(err)
	}
	return r.open(t)
}

func (r *rig) open(t *testing.T) []string {
	t.Helper()
	list, err := r.store.Alerts(context.Background(), joule.AlertQuery{Site: "s"})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range list {
		if a.Open() {
			out = append(out, string(a.Rule)+" "+a.Subject)
		}
	}
	slices.Sort(out)
	return out
}

func ptr(f float64) *float64 { return &f }

func want(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: open alerts %q, want %q", what, got, want)
	}
}

// Each device rule fires on the batch that shows its condition and resolves on the
// batch that shows it cleared; a miner that does not answer is offline from its first
// missed poll (the default), and its other alerts stand while it says nothing.
func TestDeviceRules(t *testing.T) {
	r := newRig(t, joule.AlertRules{}, "stratum+tcp://pool.example.com:3333")
	const a = "10.0.0.1:4028"
	want(t, "healthy", r.batch(t, r.running(a)))

	hot := r.running(a)
	hot.ChipTempC = 104
	want(t, "overheating", r.batch(t, hot), "overheat "+a)

	r.now = r.now.Add(15 * time.Second)
	want(t, "not answering", r.batch(t, joule.TelemetrySample{Site: "s", Address: a, Fleet: "f", At: r.now, State: joule.StateUnknown}),
		"offline "+a, "overheat "+a)

	r.now = r.now.Add(15 * time.Second)
	want(t, "back and cool", r.batch(t, r.running(a)))

	slow := r.running(a)
	slow.HashrateTHs = 120
	want(t, "hashing at 60%", r.batch(t, slow), "hashrate_low "+a)
	asleep := slow
	asleep.State, asleep.HashrateTHs = joule.StateSleeping, 0
	want(t, "asleep is not slow", r.batch(t, asleep))

	elsewhere := r.running(a)
	elsewhere.Pool = "stratum+tcp://wrong-pool.example.net:3333"
	want(t, "wrong pool", r.batch(t, elsewhere), "wrong_pool "+a)
	want(t, "switched back", r.batch(t, r.running(a)))

	list, err := r.store.Alerts(context.Background(), joule.AlertQuery{Site: "s", State: joule.AlertResolved})
	if err != nil {
		t.Fatal(err)
	}
	summaries := map[joule.AlertRule]string{}
	for _, al := range list {
		summaries[al.Rule] = al.Summary
	}
	for rule, part := range map[joule.AlertRule]string{joule.AlertOverheat: "is at 104.0 °C, over 90 °C", joule.AlertOffline: "has not answered since",
		joule.AlertHashrateLow: "60% of the 200.0 TH/s expected, under 80%", joule.AlertWrongPool: "hashes for stratum+tcp://wrong-pool.example.net:3333, not one of its fleet's pools"} {
		if !strings.Contains(summaries[rule], part) || !strings.Contains(summaries[rule], "miner "+a+" (fleet f)") {
			t.Errorf("%s summary %q, want it to say %q", rule, summaries[rule], part)
		}
	}
	if r.woken == 0 {
		t.Error("no batch woke the delivery")
	}
}

// offline_minutes: N counts from the first poll missed; the rule fires at the first
// batch N minutes on. Rules that are off never fire.
func TestOfflineMinutesAndRulesOff(t *testing.T) {
	r := newRig(t, joule.AlertRules{OfflineMinutes: ptr(2), Off: []joule.AlertRule{joule.AlertOverheat}})
	const a = "10.0.0.2:4028"
	gone := func() joule.TelemetrySample {
		return joule.TelemetrySample{Site: "s", Address: a, Fleet: "f", At: r.now, State: joule.StateUnknown}
	}
	want(t, "first missed", r.batch(t, gone()))
	r.now = r.now.Add(time.Minute)
	want(t, "a minute", r.batch(t, gone()))
	r.now = r.now.Add(time.Minute)
	want(t, "two minutes", r.batch(t, gone()), "offline "+a)
	hot := r.running(a)
	hot.TempC = 120
	want(t, "back, hot, overheat off", r.batch(t, hot))
}

// A miner whose replies change shape fires until they return to a shape the fleet's
// firmware has; a new shape that holds for a day becomes one of the firmware's.
func TestReplyShape(t *testing.T) {
	r := newRig(t, joule.AlertRules{})
	const a, b = "10.0.0.3:4028", "10.0.0.4:4028"
	want(t, "first shape", r.batch(t, r.running(a), r.running(b)))
	updated := r.running(a)
	updated.ReplyShape, updated.FirmwareVersion = "bbbb", "2025.5"
	want(t, "updated", r.batch(t, updated, r.running(b)), "reply_shape "+a)
	want(t, "rolled back", r.batch(t, r.running(a)))
	want(t, "updated again", r.batch(t, updated), "reply_shape "+a)
	r.now = r.now.Add(joule.ReplyShapeSettle)
	updated.At = r.now
	want(t, "a day later", r.batch(t, updated))
	old := r.running(b)
	old.At = r.now
	want(t, "both shapes are the firmware's now", r.batch(t, old, updated))
	third := r.running(b)
	third.At, third.ReplyShape = r.now, "cccc"
	want(t, "a third shape", r.batch(t, third), "reply_shape "+b)
}

// The meter fires when it and the devices' sum differ by more than the limit.
func TestMeterMismatch(t *testing.T) {
	r := newRig(t, joule.AlertRules{MeterMismatchPercent: ptr(5)})
	reporting := 10
	census := func(meter, devices joule.Watts) {
		t.Helper()
		if err := r.eval.Census(context.Background(), "s", &joule.DeviceReport{Site: "s", At: r.now,
			Fleets: []joule.FleetCensus{{Fleet: "f", PowerW: devices, Found: 10, Reported: reporting}}, Meter: &joule.MeterReading{At: r.now, PowerW: meter}}); err != nil {
			t.Fatal(err)
		}
	}
	census(1_000_000, 980_000)
	want(t, "2% apart", r.open(t))
	census(1_000_000, 800_000)
	want(t, "20% apart", r.open(t), "meter_mismatch meter")
	census(1_000_000, 1_010_000)
	want(t, "1% apart", r.open(t))
	reporting = 9
	census(1_000_000, 500_000)
	want(t, "a device does not report its power: not judged", r.open(t))
}

// The watch fires on a stale feed and on an event at risk, and resolves them when the
// feed is fresh again and the site is under the event's limit or the event ended.
func TestWatch(t *testing.T) {
	r := newRig(t, joule.AlertRules{})
	ctx := context.Background()
	lastGood := t0
	w := &alerts.Watch{Evaluator: r.eval, Sites: r.sites, Live: r.live, Every: time.Minute, Log: slog.New(slog.DiscardHandler),
		Feeds: func(time.Time) []alerts.Feed { return []alerts.Feed{{Name: "btc_price", LastGood: lastGood}} }}
	once := func(what string, open ...string) {
		t.Helper()
		if err := w.Once(ctx); err != nil {
			t.Fatal(err)
		}
		want(t, what, r.open(t), open...)
	}
	once("fresh")
	r.now = t0.Add(31 * time.Minute)
	once("31 minutes old", "feed_stale feed:btc_price")
	lastGood = r.now
	once("fresh again")

	dr := &joule.DemandResponse{Site: "s", ReduceToW: 500_000, Deadline: r.now.Add(10 * time.Minute), End: r.now.Add(time.Hour)}
	if err := r.live.CreateDemandResponse(ctx, dr); err != nil {
		t.Fatal(err)
	}
	report := func(w joule.Watts) {
		t.Helper()
		if err := r.live.SaveDeviceReport(ctx, &joule.DeviceReport{Site: "s", At: r.now, Fleets: []joule.FleetCensus{{Fleet: "f", PowerW: w}}}); err != nil {
			t.Fatal(err)
		}
	}
	report(900_000)
	once("ten minutes to the deadline")
	r.now = r.now.Add(6 * time.Minute)
	lastGood = r.now
	once("four minutes to the deadline, over the limit", "dr_at_risk dr:"+itoa(dr.ID))
	report(400_000)
	once("under the limit")
	report(900_000)
	once("over again", "dr_at_risk dr:"+itoa(dr.ID))
	r.now = dr.End.Add(time.Second)
	lastGood = r.now
	once("the event ended")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// A replica that takes over the leadership judges the alerts the one before fired: it
// reads the open ones from the store, at once when it starts and again within
// a minute when it had judged the site before.
func TestTakeOver(t *testing.T) {
	r := newRig(t, joule.AlertRules{})
	const a = "10.0.0.5:4028"
	before := &alerts.Evaluator{Alerts: r.store, Sites: r.eval.Sites, Fleets: r.eval.Fleets, Now: r.eval.Now}
	want(t, "the new leader has judged the site once", r.batch(t, r.running(a)))
	hot := r.running(a)
	hot.TempC = 99
	if err := before.Telemetry(context.Background(), "s", []joule.TelemetrySample{hot}); err != nil {
		t.Fatal(err)
	}
	want(t, "fired by the replica before", r.open(t), "overheat "+a)
	r.now = r.now.Add(61 * time.Second)
	want(t, "cleared after the take-over", r.batch(t, r.running(a)))
}
