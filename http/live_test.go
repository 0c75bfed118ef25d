package http_test

import (
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/catalog"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/live"
	"github.com/joule-site/joule/sqlite"
)

// triggers counts the sites Operations asks to plan at once.
type triggers struct {
	mu    sync.Mutex
	sites []string
}

func (p *triggers) Trigger(site string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sites = append(p.sites, site)
}

func (p *triggers) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.sites)
}

// liveServer opens a server with live operations on the SQLite file at path, and
// closes both when the test ends or when the returned close is called.
func liveServer(t *testing.T, path string, planner live.Planner) (*jhttp.Server, func()) {
	t.Helper()
	db := sqlite.NewDB(path)
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	s := jhttp.NewServer()
	s.Addr, s.Logger = "127.0.0.1:0", slog.New(slog.DiscardHandler)
	s.Sites, s.Fleets, s.Manifests, s.Live = sqlite.NewSiteService(db), sqlite.NewFleetService(db), sqlite.NewManifestService(db), sqlite.NewLiveService(db)
	s.Models = catalog.Models{User: sqlite.NewHardwareService(db)}
	s.Ops = &live.Operations{Sites: s.Sites, Live: s.Live, Planner: planner, Now: time.Now}
	withAccounts(t, s, db)
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	closeAll := func() {
		once.Do(func() {
			s.Close()
			db.Close()
		})
	}
	t.Cleanup(closeAll)
	return s, closeAll
}

// The census an agent reports is kept in the store: a server started again on the
// same file returns it.
func TestCensusSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "joule.db")
	s, closeFirst := liveServer(t, path, nil)
	c := client(s)
	if _, err := c.Apply(ctx, "west-texas.yaml", example(t)); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 8, 20, 18, 0, 0, 0, time.UTC)
	rep := &joule.DeviceReport{At: at,
		Fleets:   []joule.FleetCensus{{Fleet: "hall-a-s21", Kind: joule.KindASIC, Machines: 6000, Found: 5990, Running: 5000, Sleeping: 980, Unknown: 10, PowerW: 17_500_000, Reported: 5980}},
		Problems: []joule.DeviceStatus{{Address: "10.0.0.7:4028", Fleet: "hall-a-s21", State: joule.StateUnknown, Detail: "no answer"}},
		Meter:    &joule.MeterReading{At: at, PowerW: 18_000_000}}
	if err := c.ReportDevices(ctx, "west-texas", rep); err != nil {
		t.Fatal(err)
	}
	closeFirst()

	s, _ = liveServer(t, path, nil)
	got, err := client(s).Devices(ctx, "west-texas")
	if err != nil {
		t.Fatalf("the census after a restart: %v", err)
	}
	if got.Site != "west-texas" || !got.At.Equal(at) || len(got.Fleets) != 1 || got.Fleets[0] != rep.Fleets[0] ||
		len(got.Problems) != 1 || got.Problems[0] != rep.Problems[0] || got.Meter == nil || got.Meter.PowerW != 18_000_000 {
		t.Errorf("the census after a restart: %+v, want %+v", got, rep)
	}
	var o jhttp.Overview
	if getJSON(t, s, "/api/v1/overview", &o); len(o.Sites) != 1 || o.Sites[0].MeasuredW == nil || *o.Sites[0].MeasuredW != 17_500_000 {
		t.Errorf("the overview after a restart measures %+v", o.Sites)
	}
}

// A demand-response event is declared, listed and cancelled over the API; each
// change is audited and plans the site at once.
func TestDemandResponseCancel(t *testing.T) {
	ctx := context.Background()
	planner := &triggers{}
	s, _ := liveServer(t, filepath.Join(t.TempDir(), "joule.db"), planner)
	c := client(s)
	if _, err := c.Apply(ctx, "west-texas.yaml", example(t)); err != nil {
		t.Fatal(err)
	}
	dr, err := c.DemandResponse(ctx, "west-texas", 5_000_000, time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	if planner.count() != 1 {
		t.Errorf("declaring an event planned %d times, want once", planner.count())
	}
	if events, err := c.DemandResponses(ctx, "west-texas"); err != nil || len(events) != 1 || events[0].ID != dr.ID {
		t.Fatalf("events: %+v, %v", events, err)
	}
	before := time.Now()
	got, err := c.CancelDemandResponse(ctx, "west-texas", dr.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != dr.ID || got.CancelledAt.Before(before.Add(-time.Second)) || !got.End.Equal(got.CancelledAt) {
		t.Errorf("cancelled %+v: want it ended now", got)
	}
	if planner.count() != 2 {
		t.Errorf("cancelling planned the site %d times in all, want twice", planner.count())
	}
	if events, err := c.DemandResponses(ctx, "west-texas"); err != nil || len(events) != 0 {
		t.Errorf("events after cancelling: %+v, %v", events, err)
	}
	log, err := c.Audit(ctx, "west-texas", 0)
	if err != nil || len(log) != 3 || log[0].Reason != "manifest applied" {
		t.Fatalf("audit: %+v, %v", log, err)
	}
	log = log[1:] // the events, after the manifest that made the site
	for i, reason := range []string{"demand response declared", "demand response cancelled"} {
		if e := log[i]; e.Kind != joule.AuditEvent || e.Outcome != joule.OutcomeOK || e.Actor != joule.ActorOperator || e.Reason != reason || !strings.Contains(e.Detail, "demand response") {
			t.Errorf("audit row %d: %+v, want %q by the operator", i, e, reason)
		}
	}

	for _, tc := range []struct {
		path string
		code string
	}{
		{"/api/v1/sites/west-texas/dr/" + strconv.FormatInt(dr.ID, 10) + "/cancel", joule.ECONFLICT},
		{"/api/v1/sites/west-texas/dr/999/cancel", joule.ENOTFOUND},
		{"/api/v1/sites/nowhere/dr/" + strconv.FormatInt(dr.ID, 10) + "/cancel", joule.ENOTFOUND},
		{"/api/v1/sites/west-texas/dr/0/cancel", joule.EINVALID},
		{"/api/v1/sites/west-texas/dr/x/cancel", joule.EINVALID},
	} {
		if status, code := post(t, s, tc.path, ""); code != tc.code {
			t.Errorf("POST %s: %d %q, want %q", tc.path, status, code, tc.code)
		}
	}
	if planner.count() != 2 {
		t.Errorf("refused cancellations planned the site: %d plans in all", planner.count())
	}
}

// The service's rules for a new event answer invalid, the HTTP layer refuses fields
// it does not know, and nothing refused is stored or planned.
func TestDemandResponseRules(t *testing.T) {
	planner := &triggers{}
	s, _ := liveServer(t, filepath.Join(t.TempDir(), "joule.db"), planner)
	if _, err := client(s).Apply(context.Background(), "west-texas.yaml", example(t)); err != nil {
		t.Fatal(err)
	}
	soon := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for _, tc := range []struct {
		name, body, code string
	}{
		{"an unknown field", `{"reduce_to_w": 1000, "within": 60}`, joule.EINVALID},
		{"a negative level", `{"reduce_to_w": -1}`, joule.EINVALID},
		{"a negative lead time", `{"reduce_to_w": 1000, "within_s": -5}`, joule.EINVALID},
		{"a lead time beyond two days", `{"reduce_to_w": 1000, "within_s": 200000}`, joule.EINVALID},
		{"a lead time that overflows", `{"reduce_to_w": 1000, "within_s": 9223372036854775807}`, joule.EINVALID},
		{"a deadline beyond two days", `{"reduce_to_w": 1000, "deadline": "` + time.Now().Add(72*time.Hour).UTC().Format(time.RFC3339) + `"}`, joule.EINVALID},
		{"a deadline and a lead time", `{"reduce_to_w": 1000, "deadline": "` + soon + `", "within_s": 60}`, joule.EINVALID},
		{"a negative duration", `{"reduce_to_w": 1000, "for_s": -1}`, joule.EINVALID},
		{"a duration beyond a week", `{"reduce_to_w": 1000, "for_s": 700000}`, joule.EINVALID},
		{"an end and a duration", `{"reduce_to_w": 1000, "end": "` + soon + `", "for_s": 60}`, joule.EINVALID},
		{"an end that has passed", `{"reduce_to_w": 1000, "deadline": "2024-01-01T00:00:00Z", "end": "2024-01-01T01:00:00Z"}`, joule.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status, code := post(t, s, "/api/v1/sites/west-texas/dr", tc.body); code != tc.code {
				t.Errorf("%s: %d %q, want %q", tc.body, status, code, tc.code)
			}
		})
	}
	if status, code := post(t, s, "/api/v1/sites/nowhere/dr", `{"reduce_to_w": 1000}`); code != joule.ENOTFOUND {
		t.Errorf("an event at a site that does not exist: %d %q", status, code)
	}
	var drs struct{ Events []joule.DemandResponse }
	if getJSON(t, s, "/api/v1/sites/west-texas/dr", &drs); len(drs.Events) != 0 || planner.count() != 0 {
		t.Errorf("refused events left %+v and %d plans", drs.Events, planner.count())
	}
	if status, code := post(t, s, "/api/v1/sites/west-texas/dr", `{"reduce_to_w": 1000, "within_s": 172800, "for_s": 604800}`); status != http.StatusCreated {
		t.Errorf("an event at the bounds: %d %q", status, code)
	}
}

// post sends a JSON body to the server and returns the status and the error code.
func post(t *testing.T, s *jhttp.Server, path, body string) (int, string) {
	t.Helper()
	status, code, _ := call(t, "POST", s.URL()+path, opToken(s), body, map[string]string{"Content-Type": "application/json"})
	return status, code
}
