package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/sqlite"
	"github.com/joule-site/joule/webhook"
)

// receiver is a loopback webhook receiver that answers the first fail requests with
// status, then 204, and keeps every request it got.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	fail   int
	status int
	got    []received
}

type received struct {
	body      []byte
	signature string
}

func newReceiver(t *testing.T, fail, status int) *receiver {
	t.Helper()
	r := &receiver{fail: fail, status: status}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.got = append(r.got, received{b, req.Header.Get(joule.AlertSignatureHeader)})
		if len(r.got) <= r.fail {
			w.WriteHeader(r.status)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// store declares a site whose alerts go to url (signed with $HOOK_SECRET) and fires
// one alert on it.
func store(t *testing.T, url string) (*sqlite.AlertService, *sqlite.SiteService, *joule.Alert) {
	t.Helper()
	db := sqlite.NewDB(filepath.Join(t.TempDir(), "joule.db"))
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	if _, err := sqlite.NewManifestService(db).Apply(ctx, &joule.Manifest{Sites: []*joule.Site{{Name: "s", PowerCapW: 1e6, PUE: 1,
		Energy: joule.EnergyPriceModel{Kind: joule.EnergyFixed, FixedUSDPerMWh: 40},
		Alerts: joule.AlertRules{Webhooks: []joule.Webhook{{URL: url, SecretEnv: "HOOK_SECRET"}}}}}}); err != nil {
		t.Fatal(err)
	}
	al := sqlite.NewAlertService(db)
	a := &joule.Alert{Site: "s", Rule: joule.AlertOverheat, Subject: "10.0.0.9:4028", Fleet: "f", Value: 104, Threshold: 90, Summary: "miner 10.0.0.9:4028 is at 104.0 °C"}
	if _, err := al.RaiseAlert(ctx, a); err != nil {
		t.Fatal(err)
	}
	return al, sqlite.NewSiteService(db), a
}

func deliverer(al *sqlite.AlertService, sites *sqlite.SiteService) *webhook.Deliverer {
	d := webhook.NewDeliverer(al, sites, time.Now, slog.New(slog.DiscardHandler))
	d.Backoff, d.MaxBackoff, d.Attempts = time.Millisecond, 4*time.Millisecond, 4
	d.Secret = func(name string) string {
		if name == "HOOK_SECRET" {
			return "s3cret"
		}
		return ""
	}
	return d
}

// A receiver that fails the first tries gets the transition on a retry, signed, with
// every field a pager needs; the outbox is empty after.
func TestDeliveryRetriesAndSigns(t *testing.T) {
	r := newReceiver(t, 2, http.StatusServiceUnavailable)
	al, sites, a := store(t, r.URL+"/hook")
	d := deliverer(al, sites)
	n, err := d.DeliverPending(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("DeliverPending: %d, %v", n, err)
	}
	got := r.requests()
	if len(got) != 3 {
		t.Fatalf("%d requests, want 3 (two refused, one taken)", len(got))
	}
	last := got[2]
	if want := webhook.Sign([]byte("s3cret"), last.body); last.signature != want {
		t.Errorf("signature %q, want %q", last.signature, want)
	}
	var body webhook.Body
	if err := json.Unmarshal(last.body, &body); err != nil {
		t.Fatal(err)
	}
	if body.AlertID != a.ID || body.Site != "s" || body.Rule != joule.AlertOverheat || body.Subject != "10.0.0.9:4028" || body.State != joule.AlertFiring ||
		body.Value != 104 || body.Threshold != 90 || body.FiredAt.IsZero() || body.At.IsZero() || body.TransitionID == 0 ||
		!strings.HasPrefix(body.Text, "[FIRING] s overheat: miner 10.0.0.9:4028") {
		t.Errorf("body %+v", body)
	}
	if left, err := al.UndeliveredAlerts(context.Background(), 10); err != nil || len(left) != 0 {
		t.Errorf("outbox after delivery: %+v, %v", left, err)
	}
}

// Retries are bounded: a receiver that always fails is tried Attempts times, and one
// that refuses the body (4xx) once; either way the transition leaves the outbox.
func TestDeliveryGivesUp(t *testing.T) {
	for _, tt := range []struct {
		status, tries int
	}{{http.StatusInternalServerError, 4}, {http.StatusBadRequest, 1}, {http.StatusTooManyRequests, 4}} {
		r := newReceiver(t, 100, tt.status)
		al, sites, _ := store(t, r.URL)
		if _, err := deliverer(al, sites).DeliverPending(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := len(r.requests()); got != tt.tries {
			t.Errorf("status %d: %d tries, want %d", tt.status, got, tt.tries)
		}
		if left, _ := al.UndeliveredAlerts(context.Background(), 10); len(left) != 0 {
			t.Errorf("status %d: %d left in the outbox", tt.status, len(left))
		}
	}
}

// A webhook whose secret is not set on the server gets nothing: an unsigned body
// would pass for a forged one.
func TestDeliveryWithoutSecret(t *testing.T) {
	r := newReceiver(t, 0, 0)
	al, sites, _ := store(t, r.URL)
	d := deliverer(al, sites)
	d.Secret = func(string) string { return "" }
	if _, err := d.DeliverPending(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(r.requests()); got != 0 {
		t.Errorf("%d requests without a secret", got)
	}
}

// Run delivers as soon as it is woken.
func TestDeliveryRunWakes(t *testing.T) {
	r := newReceiver(t, 0, 0)
	al, sites, a := store(t, r.URL)
	d := deliverer(al, sites)
	d.Every = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, func() bool { return len(r.requests()) == 1 })
	if _, err := al.ResolveAlert(context.Background(), "s", a.Rule, a.Subject, time.Time{}, 70); err != nil {
		t.Fatal(err)
	}
	d.Wake()
	waitFor(t, func() bool { return len(r.requests()) == 2 })
	var body webhook.Body
	if err := json.Unmarshal(r.requests()[1].body, &body); err != nil || body.State != joule.AlertResolved || body.ResolvedAt.IsZero() || body.Value != 70 {
		t.Errorf("second body %+v, %v", body, err)
	}
}

// waitFor waits for cond, failing the test after a minute.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(time.Minute); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("condition not met within a minute")
		}
	}
}
