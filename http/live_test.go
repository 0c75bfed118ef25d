package http_test

import (
	"context"
	"encoding/json"
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
	"github.com/joule-site/joule/leasing"
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
	dr, err := c.DemandResponse(ctx, "west-texas", 5_000_000, time.Minute, time.Hour)
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
	log, err := c.Audit(ctx, joule.AuditQuery{Site: "west-texas"})
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
// it does not know, naming them, and nothing refused is stored or planned; an event
// says who declared it.
func TestDemandResponseRules(t *testing.T) {
	planner := &triggers{}
	s, _ := liveServer(t, filepath.Join(t.TempDir(), "joule.db"), planner)
	if _, err := client(s).Apply(context.Background(), "west-texas.yaml", example(t)); err != nil {
		t.Fatal(err)
	}
	applied, err := client(s).Audit(context.Background(), joule.AuditQuery{Site: "west-texas"}) // the manifest's change
	if err != nil {
		t.Fatal(err)
	}
	soon := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for _, tc := range []struct {
		name, body, code, says string
	}{
		{"an unknown field", `{"reduce_to_w": 1000, "within": 60, "for_s": 60}`, joule.EINVALID, `unknown field "within"`},
		{"a misspelt shed_firm", `{"reduce_to_w": 1000, "for_s": 60, "shed_firms": true}`, joule.EINVALID, `unknown field "shed_firms"`},
		{"shed_firm as a string", `{"reduce_to_w": 1000, "for_s": 60, "shed_firm": "yes"}`, joule.EINVALID, "shed_firm"},
		{"no end", `{"reduce_to_w": 1000, "within_s": 60}`, joule.EINVALID, "give for_s"},
		{"a level above the cap", `{"reduce_to_w": 50000001, "for_s": 60}`, joule.EINVALID, "reduce_to_w 50000001 W"},
		{"a negative level", `{"reduce_to_w": -1, "for_s": 60}`, joule.EINVALID, "reduce_to_w must not be negative"},
		{"a negative lead time", `{"reduce_to_w": 1000, "within_s": -5, "for_s": 60}`, joule.EINVALID, "within_s must be"},
		{"a lead time beyond two days", `{"reduce_to_w": 1000, "within_s": 200000, "for_s": 60}`, joule.EINVALID, "within_s must be"},
		{"a lead time that overflows", `{"reduce_to_w": 1000, "within_s": 9223372036854775807, "for_s": 60}`, joule.EINVALID, "within_s must be"},
		{"a deadline beyond two days", `{"reduce_to_w": 1000, "for_s": 60, "deadline": "` + time.Now().Add(72*time.Hour).UTC().Format(time.RFC3339) + `"}`, joule.EINVALID, "more than 48h0m0s away"},
		{"a deadline and a lead time", `{"reduce_to_w": 1000, "deadline": "` + soon + `", "within_s": 60, "for_s": 60}`, joule.EINVALID, "not both"},
		{"a negative duration", `{"reduce_to_w": 1000, "for_s": -1}`, joule.EINVALID, "for_s must be"},
		{"a duration beyond a week", `{"reduce_to_w": 1000, "for_s": 700000}`, joule.EINVALID, "for_s must be"},
		{"an end and a duration", `{"reduce_to_w": 1000, "end": "` + soon + `", "for_s": 60}`, joule.EINVALID, "not both"},
		{"an end that has passed", `{"reduce_to_w": 1000, "deadline": "2024-01-01T00:00:00Z", "end": "2024-01-01T01:00:00Z"}`, joule.EINVALID, "has passed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, code, body := call(t, "POST", s.URL()+"/api/v1/sites/west-texas/dr", opToken(s), tc.body, nil)
			if status != http.StatusBadRequest || code != tc.code || !strings.Contains(errorMessage(body), tc.says) {
				t.Errorf("%s: %d %s, want 400 %q saying %q", tc.body, status, body, tc.code, tc.says)
			}
		})
	}
	if status, code := post(t, s, "/api/v1/sites/nowhere/dr", `{"reduce_to_w": 1000, "for_s": 60}`); code != joule.ENOTFOUND {
		t.Errorf("an event at a site that does not exist: %d %q", status, code)
	}
	var drs struct{ Events []joule.DemandResponse }
	if getJSON(t, s, "/api/v1/sites/west-texas/dr", &drs); len(drs.Events) != 0 || planner.count() != 0 {
		t.Errorf("refused events left %+v and %d plans", drs.Events, planner.count())
	}
	if log, err := client(s).Audit(context.Background(), joule.AuditQuery{Site: "west-texas"}); err != nil || len(log) != len(applied) {
		t.Errorf("refused events were audited: %d rows, %v; want the %d from before", len(log), err, len(applied))
	}
	status, _, body := call(t, "POST", s.URL()+"/api/v1/sites/west-texas/dr", opToken(s), `{"reduce_to_w": 50000000, "within_s": 172800, "for_s": 604800}`, nil)
	var dr joule.DemandResponse
	if err := json.Unmarshal(body, &dr); status != http.StatusCreated || err != nil || dr.By != "operator" || dr.ShedFirm {
		t.Errorf("an event at the bounds: %d %s", status, body)
	}
	if getJSON(t, s, "/api/v1/sites/west-texas/dr", &drs); len(drs.Events) != 1 || drs.Events[0].By != "operator" {
		t.Errorf("the events listed: %+v, want one by the operator", drs.Events)
	}
}

// An agent's rows are recorded over the API as its account, stamped with the
// server's time; a row posted again under its key is stored once, and a post with a
// row that breaks a rule is refused whole with 400 naming it.
func TestAgentAuditOverHTTP(t *testing.T) {
	ctx := context.Background()
	s, _ := liveServer(t, filepath.Join(t.TempDir(), "joule.db"), nil)
	op := client(s)
	if _, err := op.Apply(ctx, "west-texas.yaml", example(t)); err != nil {
		t.Fatal(err)
	}
	created, err := op.CreateAccount(ctx, leasing.NewAccountRequest{ID: "west-agent", Role: joule.RoleAgent, Site: "west-texas"})
	if err != nil {
		t.Fatal(err)
	}
	agent := jhttp.NewClient(s.URL())
	agent.Token = created.Token
	at := time.Now().Add(-time.Hour).UTC().Truncate(time.Second) // sent late, from the agent's spool
	rows := func() []*joule.Audit {
		return []*joule.Audit{
			{At: at, Kind: joule.AuditCommand, Seq: 4, Device: "127.0.0.2:4028", Outcome: joule.OutcomeOK, Actor: "operator", Detail: "sleep", Key: "run1/7/0"},
			{At: at, Kind: joule.AuditCommand, Seq: 4, Device: "127.0.0.3:4028", Outcome: joule.OutcomeOK, Detail: "sleep", Key: "run1/7/1"},
		}
	}
	before := time.Now()
	for range 2 { // posted, and posted again as after a crash before the spool was cleared
		if err := agent.ReportAudit(ctx, "west-texas", rows()); err != nil {
			t.Fatal(err)
		}
	}
	commands := func() []*joule.Audit {
		t.Helper()
		all, err := op.Audit(ctx, joule.AuditQuery{Site: "west-texas"})
		if err != nil {
			t.Fatal(err)
		}
		var out []*joule.Audit
		for _, e := range all {
			if e.Kind == joule.AuditCommand {
				out = append(out, e)
			}
		}
		return out
	}
	log := commands()
	if len(log) != 2 {
		t.Fatalf("the command rows after posting twice: %d; want the 2 rows once", len(log))
	}
	for _, e := range log {
		if e.Actor != "west-agent" || !e.At.Equal(at) || e.RecordedAt.Before(before.Add(-time.Second)) || e.Key == "" {
			t.Errorf("row %+v: want it by west-agent, at %v, recorded by the server since %v", e, at, before)
		}
	}
	var raw struct {
		Audit []map[string]any `json:"audit"`
	}
	if getJSON(t, s, "/api/v1/sites/west-texas/audit?tail=1", &raw); len(raw.Audit) != 1 || raw.Audit[0]["recorded_at"] == nil || raw.Audit[0]["key"] != "run1/7/1" {
		t.Errorf("the JSON of a row: %v, want recorded_at and key", raw.Audit)
	}
	all, err := op.Audit(ctx, joule.AuditQuery{Site: "west-texas"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, body, says string }{
		{"another site's row", `[{"kind": "command", "detail": "sleep"}, {"site": "east-texas", "kind": "command", "detail": "sleep"}]`, `audit row 1: site "east-texas" is not "west-texas"`},
		{"a clock far ahead", `[{"kind": "ack", "at": "` + time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `", "detail": "sleep accepted"}]`, "ahead of the server's clock"},
		{"a clock before 1970", `[{"kind": "ack", "at": "1960-01-01T00:00:00Z", "detail": "sleep accepted"}]`, "before 1970"},
		{"a detail too long", `[{"kind": "report", "detail": "` + strings.Repeat("x", joule.MaxAuditDetailBytes+1) + `"}]`, "detail is 4097 bytes"},
		{"a plan", `[{"kind": "plan", "detail": "plan 9"}]`, `kind "plan"`},
	} {
		status, code, body := call(t, "POST", s.URL()+"/api/v1/sites/west-texas/audit", created.Token, tc.body, nil)
		if status != http.StatusBadRequest || code != joule.EINVALID || !strings.Contains(errorMessage(body), tc.says) {
			t.Errorf("%s: %d %s, want 400 saying %q", tc.name, status, body, tc.says)
		}
	}
	if after, err := op.Audit(ctx, joule.AuditQuery{Site: "west-texas"}); err != nil || len(after) != len(all) {
		t.Errorf("refused posts left %d rows, %v; want the %d from before", len(after), err, len(all))
	}
}

// errorMessage is the message of an error reply's body.
func errorMessage(body []byte) string {
	var e struct {
		Error struct{ Message string } `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	return e.Error.Message
}

// post sends a JSON body to the server and returns the status and the error code.
func post(t *testing.T, s *jhttp.Server, path, body string) (int, string) {
	t.Helper()
	status, code, _ := call(t, "POST", s.URL()+path, opToken(s), body, map[string]string{"Content-Type": "application/json"})
	return status, code
}

// Over the API, an event below what the site's firm GPU leases draw is a 409 naming
// that load in watts and changes nothing; with shed_firm it is declared, and says so.
func TestDemandResponseBelowFirmLoad(t *testing.T) {
	ctx := context.Background()
	s, _ := liveServer(t, filepath.Join(t.TempDir(), "joule.db"), nil)
	ops := s.Ops.(*live.Operations)
	ops.Leases, ops.Fleets, ops.Models = s.Leasing.(*leasing.Service), s.Fleets, s.Models
	op := client(s)
	if _, err := op.Apply(ctx, "west-texas.yaml", example(t)); err != nil {
		t.Fatal(err)
	}
	if err := ops.Leases.(*leasing.Service).SyncListings(ctx); err != nil { // the exchange lists the fleets just applied
		t.Fatal(err)
	}
	acme, err := op.CreateTenant(ctx, jhttp.TenantRequest{ID: "acme", CreditMicroUSD: 50_000 * joule.MicroUSDPerUSD})
	if err != nil {
		t.Fatal(err)
	}
	tenant := jhttp.NewClient(s.URL())
	tenant.Token = acme.Token
	// One 8-GPU server, firm, from now on: 10.2 kW at the wall, 10.71 kW with the PUE.
	if _, err := tenant.SubmitOrder(ctx, jhttp.OrderRequest{IdempotencyKey: "one-server", Product: "h100-sxm/west-texas", Kind: joule.OrderOnDemand, GPUs: 8, LimitMicroUSDPerGPUHour: 3 * joule.MicroUSDPerUSD}); err != nil {
		t.Fatal(err)
	}
	before := state(t, s)
	status, code, body := call(t, "POST", s.URL()+"/api/v1/sites/west-texas/dr", opToken(s), `{"reduce_to_w": 5000, "for_s": 3600}`, nil)
	if status != http.StatusConflict || code != joule.ECONFLICT || !strings.Contains(errorMessage(body), "reduce_to_w 5000 W is below the 10710 W") {
		t.Errorf("an event below the firm load: %d %s, want 409 naming 10710 W", status, body)
	}
	if after := state(t, s); after != before {
		t.Errorf("the refused event changed the store:\nbefore %s\nafter  %s", before, after)
	}
	status, _, body = call(t, "POST", s.URL()+"/api/v1/sites/west-texas/dr", opToken(s), `{"reduce_to_w": 5000, "for_s": 3600, "shed_firm": true}`, nil)
	var dr joule.DemandResponse
	if err := json.Unmarshal(body, &dr); status != http.StatusCreated || err != nil || !dr.ShedFirm || dr.By != "operator" {
		t.Errorf("the event with shed_firm: %d %s", status, body)
	}
}
