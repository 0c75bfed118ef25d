package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/joule-site/joule"
)

// alertSite declares a site with alert rules and a fleet with pools, and returns it.
func (e *env) alertSite(t *testing.T) string {
	t.Helper()
	temp, off := 85.0, 3.0
	e.apply(t, &joule.Manifest{
		Sites: []*joule.Site{{Name: "al-1", PowerCapW: 10_000_000, PUE: 1.1,
			Energy: joule.EnergyPriceModel{Kind: joule.EnergyFixed, FixedUSDPerMWh: 40},
			Alerts: joule.AlertRules{TempMaxC: &temp, OfflineMinutes: &off, Off: []joule.AlertRule{joule.AlertFeedStale},
				Webhooks: []joule.Webhook{{URL: "https://hooks.example.com/joule", SecretEnv: "JOULE_HOOK_SECRET"}}}}},
		Models: []*joule.HardwareModel{{ID: "al-s21", Name: "S21 for alerts", Kind: joule.KindASIC, PowerW: 3500, IdleW: 50, HashrateTHs: 200}},
		Fleets: []*joule.Fleet{{Site: "al-1", Name: "s21s", Model: "al-s21", Kind: joule.KindASIC, Count: 10,
			Pools: []string{"stratum+tcp://pool.example.com:3333", "stratum+tcp://backup.example.com:443"}}},
	})
	return "al-1"
}

// A site's alert rules and a fleet's pools come back as applied; applying them again
// changes nothing, and changing one is an update.
func testAlertRulesRoundTrip(t *testing.T, e *env) {
	site := e.alertSite(t)
	s, err := e.Sites.Site(e.ctx, site)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Alerts.Threshold(joule.AlertOverheat); got != 85 {
		t.Errorf("temp_max_c %v, want 85", got)
	}
	if got := s.Alerts.Threshold(joule.AlertHashrateLow); got != joule.DefaultHashrateMinPercent {
		t.Errorf("hashrate_min_percent %v, want the default", got)
	}
	if s.Alerts.On(joule.AlertFeedStale) || !s.Alerts.On(joule.AlertOffline) || len(s.Alerts.Webhooks) != 1 || s.Alerts.Webhooks[0].SecretEnv != "JOULE_HOOK_SECRET" {
		t.Errorf("alerts %+v", s.Alerts)
	}
	fleets, err := e.Fleets.Fleets(e.ctx, site)
	if err != nil {
		t.Fatal(err)
	}
	if len(fleets) != 1 || !reflect.DeepEqual(fleets[0].Pools, []string{"stratum+tcp://pool.example.com:3333", "stratum+tcp://backup.example.com:443"}) {
		t.Fatalf("fleets %+v", fleets)
	}
	m := &joule.Manifest{Sites: []*joule.Site{s}, Fleets: fleets}
	for _, c := range e.apply(t, m) {
		if c.Action != joule.Unchanged {
			t.Errorf("reapplied: %+v", c)
		}
	}
	fleets[0].Pools = fleets[0].Pools[:1]
	changes := e.apply(t, m)
	if !reflect.DeepEqual(changes, []joule.Change{{Kind: "site", Name: site, Action: joule.Unchanged}, {Kind: "fleet", Name: site + "/s21s", Action: joule.Updated}}) {
		t.Errorf("changed a pool: %+v", changes)
	}
}

// An alert fires, is acknowledged by a person and resolves; every transition is kept in
// order with its time and actor, and the audit log shows each.
func testAlertLifecycle(t *testing.T, e *env) {
	site := e.alertSite(t)
	fired := e.clock.Now()
	a := &joule.Alert{Site: site, Rule: joule.AlertOverheat, Subject: "10.0.0.7:4028", Fleet: "s21s", Value: 97.5, Threshold: 85,
		Summary: "10.0.0.7:4028 at 97.5 °C, over 85 °C"}
	created, err := e.Alerts.RaiseAlert(e.ctx, a)
	if err != nil || !created || a.ID == 0 || a.State != joule.AlertFiring || !a.FiredAt.Equal(fired) {
		t.Fatalf("RaiseAlert: created %v, %+v, %v", created, a, err)
	}
	acked := e.clock.Advance(time.Minute)
	got, err := e.Alerts.AckAlert(e.ctx, site, a.ID, "ops-ana", time.Time{})
	if err != nil || got.State != joule.AlertAcknowledged || got.AckedBy != "ops-ana" || !got.AckedAt.Equal(acked) {
		t.Fatalf("AckAlert: %+v, %v", got, err)
	}
	// A second acknowledgement keeps the first.
	e.clock.Advance(time.Second)
	if again, err := e.Alerts.AckAlert(e.ctx, site, a.ID, "ops-ben", time.Time{}); err != nil || again.AckedBy != "ops-ana" || !again.AckedAt.Equal(acked) {
		t.Errorf("second AckAlert: %+v, %v", again, err)
	}
	for _, tt := range []struct {
		site string
		id   int64
		code string
	}{{site, a.ID + 100, joule.ENOTFOUND}, {"elsewhere", a.ID, joule.ENOTFOUND}} {
		if _, err := e.Alerts.AckAlert(e.ctx, tt.site, tt.id, "ops-ana", time.Time{}); joule.ErrorCode(err) != tt.code {
			t.Errorf("AckAlert(%s, %d): %v, want %s", tt.site, tt.id, err, tt.code)
		}
	}
	resolved := e.clock.Advance(time.Minute)
	r, err := e.Alerts.ResolveAlert(e.ctx, site, joule.AlertOverheat, a.Subject, time.Time{}, 70)
	if err != nil || r == nil || r.State != joule.AlertResolved || !r.ResolvedAt.Equal(resolved) || r.AckedBy != "ops-ana" {
		t.Fatalf("ResolveAlert: %+v, %v", r, err)
	}
	if none, err := e.Alerts.ResolveAlert(e.ctx, site, joule.AlertOverheat, a.Subject, time.Time{}, 70); none != nil || err != nil {
		t.Errorf("resolving again: %+v, %v", none, err)
	}
	if _, err := e.Alerts.AckAlert(e.ctx, site, a.ID, "ops-ana", time.Time{}); joule.ErrorCode(err) != joule.ECONFLICT {
		t.Errorf("acknowledging a resolved alert: %v, want a conflict", err)
	}
	trs, err := e.Alerts.AlertTransitions(e.ctx, site, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	var states []joule.AlertState
	for _, tr := range trs {
		states = append(states, tr.State)
	}
	if !reflect.DeepEqual(states, []joule.AlertState{joule.AlertFiring, joule.AlertAcknowledged, joule.AlertResolved}) ||
		!trs[0].At.Equal(fired) || !trs[1].At.Equal(acked) || trs[1].Actor != "ops-ana" || !trs[2].At.Equal(resolved) || trs[2].Value != 70 {
		t.Errorf("transitions %+v", trs)
	}
	audit, err := e.Live.Audit(e.ctx, joule.AuditQuery{Site: site})
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, row := range audit {
		reasons = append(reasons, string(row.Kind)+" "+row.Reason+" "+row.Actor+" "+row.Device)
	}
	want := []string{"event alert overheat firing alerts 10.0.0.7:4028", "change alert overheat acknowledged ops-ana 10.0.0.7:4028", "event alert overheat resolved alerts 10.0.0.7:4028"}
	if !reflect.DeepEqual(reasons, want) {
		t.Errorf("audit rows %q, want %q", reasons, want)
	}
}

// While an alert of (rule, subject) is open, raising it again returns the open one; once
// resolved, the condition coming back fires a new alert. Lists put firing alerts
// first and filter by state.
func testAlertOneOpenPerSubject(t *testing.T, e *env) {
	site := e.alertSite(t)
	raise := func(rule joule.AlertRule, subject string) *joule.Alert {
		t.Helper()
		a := &joule.Alert{Site: site, Rule: rule, Subject: subject, Summary: string(rule) + " " + subject}
		if _, err := e.Alerts.RaiseAlert(e.ctx, a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	first := raise(joule.AlertOffline, "10.0.0.1:4028")
	e.clock.Advance(time.Second)
	if again := raise(joule.AlertOffline, "10.0.0.1:4028"); again.ID != first.ID || !again.FiredAt.Equal(first.FiredAt) {
		t.Errorf("raised twice: %+v then %+v", first, again)
	}
	other := raise(joule.AlertOverheat, "10.0.0.1:4028")
	acked := raise(joule.AlertWrongPool, "10.0.0.2:4028")
	if _, err := e.Alerts.AckAlert(e.ctx, site, acked.ID, "ops", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Alerts.ResolveAlert(e.ctx, site, joule.AlertOffline, "10.0.0.1:4028", time.Time{}, 0); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second)
	back := raise(joule.AlertOffline, "10.0.0.1:4028")
	if back.ID == first.ID || back.State != joule.AlertFiring {
		t.Errorf("the condition came back as %+v", back)
	}
	ids := func(q joule.AlertQuery) []int64 {
		t.Helper()
		list, err := e.Alerts.Alerts(e.ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, a := range list {
			out = append(out, a.ID)
		}
		return out
	}
	if got, want := ids(joule.AlertQuery{Site: site}), []int64{back.ID, other.ID, acked.ID, first.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("all alerts %v, want %v (firing, newest first; then acknowledged; then resolved)", got, want)
	}
	if got, want := ids(joule.AlertQuery{Site: site, State: joule.AlertFiring}), []int64{back.ID, other.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("firing alerts %v, want %v", got, want)
	}
	if got := ids(joule.AlertQuery{Site: "elsewhere"}); len(got) != 0 {
		t.Errorf("another site's alerts: %v", got)
	}
	q := joule.AlertQuery{Site: site, State: "burning"}
	if _, err := e.Alerts.Alerts(e.ctx, q); joule.ErrorCode(err) != joule.EINVALID {
		t.Errorf("state burning: %v", err)
	}
	if _, err := e.Alerts.RaiseAlert(e.ctx, &joule.Alert{Site: site, Rule: "smoke", Subject: "x"}); joule.ErrorCode(err) != joule.EINVALID {
		t.Errorf("rule smoke: %v", err)
	}
}

// Every transition waits in the outbox, oldest first with its alert as it is now,
// until it is marked delivered.
func testAlertOutbox(t *testing.T, e *env) {
	site := e.alertSite(t)
	a := &joule.Alert{Site: site, Rule: joule.AlertReplyShape, Subject: "10.0.0.3:4028", Summary: "shape"}
	if _, err := e.Alerts.RaiseAlert(e.ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Alerts.AckAlert(e.ctx, site, a.ID, "ops", time.Time{}); err != nil {
		t.Fatal(err)
	}
	out, err := e.Alerts.UndeliveredAlerts(e.ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0].Transition.State != joule.AlertFiring || out[1].Transition.State != joule.AlertAcknowledged ||
		out[0].Alert.ID != a.ID || out[0].Alert.State != joule.AlertAcknowledged || out[0].Alert.Subject != a.Subject || out[0].Transition.Site != site {
		t.Fatalf("outbox %+v", out)
	}
	if err := e.Alerts.MarkAlertsDelivered(e.ctx, e.clock.Now(), out[0].Transition.ID); err != nil {
		t.Fatal(err)
	}
	if out, err = e.Alerts.UndeliveredAlerts(e.ctx, 10); err != nil || len(out) != 1 || out[0].Transition.State != joule.AlertAcknowledged {
		t.Fatalf("outbox after one delivered: %+v, %v", out, err)
	}
	if err := e.Alerts.MarkAlertsDelivered(e.ctx, e.clock.Now(), out[0].Transition.ID); err != nil {
		t.Fatal(err)
	}
	if out, err = e.Alerts.UndeliveredAlerts(e.ctx, 10); err != nil || len(out) != 0 {
		t.Fatalf("outbox after all delivered: %+v, %v", out, err)
	}
}

// ChangeAlerts raises and resolves in one transaction: an alert already open is not
// raised twice, a resolution of one that is not open changes nothing, and a change
// with an invalid alert writes nothing at all.
func testAlertChange(t *testing.T, e *env) {
	site := e.alertSite(t)
	open := &joule.Alert{Site: site, Rule: joule.AlertOffline, Subject: "10.0.0.1:4028", Summary: "offline"}
	if _, err := e.Alerts.RaiseAlert(e.ctx, open); err != nil {
		t.Fatal(err)
	}
	at := e.clock.Advance(time.Minute)
	raise := []*joule.Alert{
		{Site: site, Rule: joule.AlertOffline, Subject: "10.0.0.1:4028", Summary: "offline again"},
		{Site: site, Rule: joule.AlertOverheat, Subject: "10.0.0.2:4028", Value: 99, Threshold: 90, Summary: "hot"},
		{Site: site, Rule: joule.AlertOverheat, Subject: "10.0.0.3:4028", Value: 98, Threshold: 90, Summary: "hot"},
	}
	created, resolved, err := e.Alerts.ChangeAlerts(e.ctx, site, raise, []joule.AlertResolution{{Rule: joule.AlertWrongPool, Subject: "10.0.0.9:4028"}}, at)
	if err != nil || created != 2 || resolved != 0 || raise[0].ID != open.ID || raise[1].ID == 0 || !raise[1].FiredAt.Equal(at) {
		t.Fatalf("ChangeAlerts: created %d, resolved %d, %v; %+v", created, resolved, err, raise)
	}
	bad := []*joule.Alert{{Site: site, Rule: joule.AlertOverheat, Subject: "10.0.0.4:4028", Summary: "hot"}, {Site: site, Rule: "smoke", Subject: "x"}}
	if _, _, err := e.Alerts.ChangeAlerts(e.ctx, site, bad, []joule.AlertResolution{{Rule: joule.AlertOffline, Subject: "10.0.0.1:4028"}}, at); joule.ErrorCode(err) != joule.EINVALID {
		t.Fatalf("a change with an invalid alert: %v", err)
	}
	later := e.clock.Advance(time.Minute)
	created, resolved, err = e.Alerts.ChangeAlerts(e.ctx, site, nil, []joule.AlertResolution{{Rule: joule.AlertOffline, Subject: "10.0.0.1:4028"}, {Rule: joule.AlertOverheat, Subject: "10.0.0.2:4028", Value: 70}}, later)
	if err != nil || created != 0 || resolved != 2 {
		t.Fatalf("resolving two: created %d, resolved %d, %v", created, resolved, err)
	}
	list, err := e.Alerts.Alerts(e.ctx, joule.AlertQuery{Site: site})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range list {
		got = append(got, string(a.State)+" "+a.Subject)
		if a.State == joule.AlertResolved && !a.ResolvedAt.Equal(later) {
			t.Errorf("%s resolved at %v, want %v", a.Subject, a.ResolvedAt, later)
		}
	}
	want := []string{"firing 10.0.0.3:4028", "resolved 10.0.0.2:4028", "resolved 10.0.0.1:4028"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("alerts %q, want %q (nothing of the refused change)", got, want)
	}
}
