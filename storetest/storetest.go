// Package storetest is the conformance suite of Joule's stores: the behaviour of
// joule.SiteService, FleetService, HardwareService, ManifestService, LiveService,
// LeasingStore, DataService and TelemetryService that every store implementation (SQLite, PostgreSQL)
// must show, run from that store's own tests:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, now func() time.Time) storetest.Store {
//			db := sqlite.NewDB(filepath.Join(t.TempDir(), "joule.db"))
//			db.Now = now
//			…
//		})
//	}
//
// The suite drives time through the clock it hands to open. Its times are whole
// microseconds, the finest that PostgreSQL keeps, in a zone other than UTC, so a store
// must convert to UTC.
package storetest

import (
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/joule-site/joule"
)

// Store bundles the services a store implementation provides.
type Store struct {
	Sites     joule.SiteService
	Fleets    joule.FleetService
	Models    joule.HardwareService
	Manifests joule.ManifestService
	Live      joule.LiveService
	Leasing   joule.LeasingStore
	Data      joule.DataService
	Telemetry joule.TelemetryService
	Alerts    joule.AlertService
	Control   joule.DeviceControlService
}

// Group is a part of the suite: the tests of some of a store's services, so that a
// store that implements only those yet can run their part (RunGroups).
type Group string

// The groups, in the order Run runs them.
const (
	// Manifests: SiteService, FleetService, HardwareService and ManifestService.
	Manifests Group = "manifests"
	// Live: LiveService (demand responses, device reports, plans, the audit log), on
	// sites that a manifest declared.
	Live Group = "live"
	// Leasing: LeasingStore (accounts, tokens, orders, leases, the ledger) and its
	// entries in the audit log.
	Leasing Group = "leasing"
	// Data: DataService (imported market series).
	Data Group = "data"
	// Telemetry: TelemetryService (the device table and its history), on a site a
	// manifest declared.
	Telemetry Group = "telemetry"
	// Alerts: AlertService (alerts, their transitions, the outbox and their audit
	// rows), and the alert rules and pools a manifest declares, on a declared site.
	Alerts Group = "alerts"
	// Control: DeviceControlService (device tags, bulk actions and holds), beside the
	// device table of the telemetry history.
	Control Group = "control"
)

// tests is the whole suite, in the order it runs.
var tests = []struct {
	name  string
	group Group
	fn    func(t *testing.T, e *env)
}{
	{"EmptyStore", Manifests, testEmptyStore},
	{"ApplyCreates", Manifests, testApplyCreates},
	{"ReapplyUnchanged", Manifests, testReapplyUnchanged},
	{"UpdateOneField", Manifests, testUpdateOneField},
	{"RemoveFleet", Manifests, testRemoveFleet},
	{"UndeclaredLeftAlone", Manifests, testUndeclaredLeftAlone},
	{"FailedApplyWritesNothing", Manifests, testFailedApplyWritesNothing},
	{"NotFound", Manifests, testNotFound},
	{"DeleteSiteCascades", Manifests, testDeleteSiteCascades},
	{"Ordering", Manifests, testOrdering},
	{"EnergyRoundTrip", Manifests, testEnergyRoundTrip},
	{"CostsRoundTrip", Manifests, testCostsRoundTrip},
	{"ModelRoundTrip", Manifests, testModelRoundTrip},
	{"ConcurrentApply", Manifests, testConcurrentApply},
	{"DemandResponses", Live, testDemandResponses},
	{"CancelDemandResponse", Live, testCancelDemandResponse},
	{"DeviceReports", Live, testDeviceReports},
	{"Plans", Live, testPlans},
	{"AuditLog", Live, testAuditLog},
	{"AuditKeys", Live, testAuditKeys},
	{"PowerReadings", Live, testPowerReadings},
	{"DemandResponseEvidence", Live, testDemandResponseEvidence},
	{"LeasingRoundTrip", Leasing, testLeasingRoundTrip},
	{"LeasingConflicts", Leasing, testLeasingConflicts},
	{"LeasingAccounts", Leasing, testLeasingAccounts},
	{"TokensManyPerAccount", Leasing, testTokensManyPerAccount},
	{"TokenExpiry", Leasing, testTokenExpiry},
	{"TokenRevoke", Leasing, testTokenRevoke},
	{"TokenRefusals", Leasing, testTokenRefusals},
	{"ExchangeAudit", Leasing, testExchangeAudit},
	{"LeasingQueries", Leasing, testLeasingQueries},
	{"LeasingLoadSelects", Leasing, testLeasingLoadSelects},
	{"LedgerJournalSpan", Leasing, testLedgerJournalSpan},
	{"DataRoundTrip", Data, testDataRoundTrip},
	{"DataReplace", Data, testDataReplace},
	{"DataList", Data, testDataList},
	{"DataDelete", Data, testDataDelete},
	{"DataNotFound", Data, testDataNotFound},
	{"DataFailedImportWritesNothing", Data, testDataFailedImportWritesNothing},
	{"TelemetryLatest", Telemetry, testTelemetryLatest},
	{"TelemetryDeviceTable", Telemetry, testTelemetryDeviceTable},
	{"TelemetryRollup", Telemetry, testTelemetryRollup},
	{"TelemetryRetention", Telemetry, testTelemetryRetention},
	{"AlertRulesRoundTrip", Alerts, testAlertRulesRoundTrip},
	{"AlertLifecycle", Alerts, testAlertLifecycle},
	{"AlertOneOpenPerSubject", Alerts, testAlertOneOpenPerSubject},
	{"AlertOutbox", Alerts, testAlertOutbox},
	{"AlertChangeInOneTransaction", Alerts, testAlertChange},
	{"DeviceTags", Control, testDeviceTags},
	{"DeviceActions", Control, testDeviceActions},
}

// Run runs every conformance test as a subtest of t. For each, open returns a fresh,
// empty store whose services stamp times with now, and registers the store's cleanup
// with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T, now func() time.Time) Store) {
	RunGroups(t, open, Manifests, Live, Leasing, Data, Telemetry, Alerts, Control)
}

// RunGroups runs the conformance tests of the groups given, as Run does, in Run's
// order: for a store that implements some of the services yet, whose Store leaves the
// others nil.
func RunGroups(t *testing.T, open func(t *testing.T, now func() time.Time) Store, groups ...Group) {
	for _, tt := range tests {
		if !slices.Contains(groups, tt.group) {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newEnv(t, open))
		})
	}
}

// newEnv opens a fresh store with a clock at t0.
func newEnv(t *testing.T, open func(t *testing.T, now func() time.Time) Store) *env {
	c := &clock{t: t0}
	return &env{Store: open(t, c.Now), clock: c, ctx: t.Context(), open: open}
}

// t0 is when every test starts: whole microseconds, in a zone that is not UTC.
var t0 = time.Date(2025, time.March, 9, 1, 59, 58, 123456000, time.FixedZone("CST", -6*60*60))

// clock is a test clock that moves only when told to.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock on by d and returns the new time.
func (c *clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// env is what each test works with: the store under test and its clock.
type env struct {
	Store
	clock *clock
	ctx   context.Context
	open  func(t *testing.T, now func() time.Time) Store
}

// fresh returns an env on a new, empty store, for a subtest that needs its own.
func (e *env) fresh(t *testing.T) *env { return newEnv(t, e.open) }

// apply applies m and fails the test on error.
func (e *env) apply(t *testing.T, m *joule.Manifest) []joule.Change {
	t.Helper()
	changes, err := e.Manifests.Apply(e.ctx, m)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return changes
}

// state is everything the services can read, for before/after comparisons.
type state struct {
	Sites  []*joule.Site
	Models []*joule.HardwareModel
	Fleets map[string][]*joule.Fleet // by site
}

// snapshot reads the whole store.
func (e *env) snapshot(t *testing.T) state {
	t.Helper()
	var s state
	var err error
	if s.Sites, err = e.Sites.Sites(e.ctx); err != nil {
		t.Fatalf("Sites: %v", err)
	}
	if s.Models, err = e.Models.Models(e.ctx); err != nil {
		t.Fatalf("Models: %v", err)
	}
	s.Fleets = map[string][]*joule.Fleet{}
	for _, site := range s.Sites {
		if s.Fleets[site.Name], err = e.Fleets.Fleets(e.ctx, site.Name); err != nil {
			t.Fatalf("Fleets(%q): %v", site.Name, err)
		}
	}
	return s
}

// fleets reads the fleets of a site and fails the test on error.
func (e *env) fleets(t *testing.T, site string) []*joule.Fleet {
	t.Helper()
	fleets, err := e.Fleets.Fleets(e.ctx, site)
	if err != nil {
		t.Fatalf("Fleets(%q): %v", site, err)
	}
	return fleets
}

// site reads one site and fails the test on error.
func (e *env) site(t *testing.T, name string) *joule.Site {
	t.Helper()
	s, err := e.Sites.Site(e.ctx, name)
	if err != nil {
		t.Fatalf("Site(%q): %v", name, err)
	}
	return s
}

// fixture returns a fresh manifest of two models, two sites (declared out of name
// order) and three fleets, one of them on a built-in catalog model.
func fixture() *joule.Manifest {
	return &joule.Manifest{
		Models: []*joule.HardwareModel{
			{
				ID: "s21-custom", Kind: joule.KindASIC, Name: "Antminer S21 (custom)", Vendor: "Bitmain",
				PowerW: 3500, IdleW: 50, HashrateTHs: 200, PriceUSD: 3000,
				Sources: map[string]string{"power_w": "https://example.com/s21-spec", "price_usd": "broker quote, 2025-01"},
			},
			{
				ID: "h100-box", Kind: joule.KindGPUServer, Name: "8×H100 SXM server", Vendor: "Supermicro",
				PowerW: 10200, IdleW: 2000, GPUs: 8, GPUModel: "H100 SXM", GPUMemoryGB: 80, PriceUSD: 300000,
			},
		},
		Sites: []*joule.Site{
			{
				Name: "west-texas", PowerCapW: 50_000_000, PUE: 1.1, MarketNode: "ERCOT:LZ_WEST", Location: "Pecos, TX",
				Energy: joule.EnergyPriceModel{Kind: joule.EnergyWholesale, Node: "ERCOT:LZ_WEST", AdderUSDPerMWh: 5.5},
			},
			{
				Name: "alberta", PowerCapW: 12_500_000, PUE: 1.05, Location: "Alberta, CA",
				Energy: joule.EnergyPriceModel{Kind: joule.EnergyFixed, FixedUSDPerMWh: 45},
			},
		},
		Fleets: []*joule.Fleet{
			{Site: "west-texas", Name: "s21", Model: "s21-custom", Kind: joule.KindASIC, Count: 1000},
			{Site: "west-texas", Name: "h100", Model: "h100-box", Kind: joule.KindGPUServer, Count: 10, Owner: "investor-a", UnitPriceUSD: 280000},
			{Site: "alberta", Name: "s19", Model: "s19xp", Kind: joule.KindASIC, Count: 500},
		},
	}
}

// fixtureChanges returns what applying the fixture reports, all with one action.
func fixtureChanges(a joule.ChangeAction) []joule.Change {
	return []joule.Change{
		{Kind: "model", Name: "h100-box", Action: a},
		{Kind: "model", Name: "s21-custom", Action: a},
		{Kind: "site", Name: "alberta", Action: a},
		{Kind: "site", Name: "west-texas", Action: a},
		{Kind: "fleet", Name: "alberta/s19", Action: a},
		{Kind: "fleet", Name: "west-texas/h100", Action: a},
		{Kind: "fleet", Name: "west-texas/s21", Action: a},
	}
}

// with returns changes with the action of the object kind/name replaced.
func with(changes []joule.Change, kind, name string, a joule.ChangeAction) []joule.Change {
	out := make([]joule.Change, len(changes))
	for i, c := range changes {
		if c.Kind == kind && c.Name == name {
			c.Action = a
		}
		out[i] = c
	}
	return out
}

func siteNamed(m *joule.Manifest, name string) *joule.Site {
	for _, s := range m.Sites {
		if s.Name == name {
			return s
		}
	}
	panic("storetest: no site " + name)
}

func modelID(m *joule.Manifest, id string) *joule.HardwareModel {
	for _, hm := range m.Models {
		if hm.ID == id {
			return hm
		}
	}
	panic("storetest: no model " + id)
}

func fleetNamed(m *joule.Manifest, site, name string) *joule.Fleet {
	for _, f := range m.Fleets {
		if f.Site == site && f.Name == name {
			return f
		}
	}
	panic("storetest: no fleet " + site + "/" + name)
}

// checkChanges fails the test unless got is want, in order.
func checkChanges(t *testing.T, got, want []joule.Change) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("changes:\n got %s\nwant %s", jsonText(got), jsonText(want))
	}
}

// checkSite fails the test unless got is want with the given timestamps, in UTC.
func checkSite(t *testing.T, got, want *joule.Site, created, updated time.Time) {
	t.Helper()
	if got.CreatedAt.Location() != time.UTC || got.UpdatedAt.Location() != time.UTC {
		t.Errorf("site %s: times are in %v and %v, want UTC", got.Name, got.CreatedAt.Location(), got.UpdatedAt.Location())
	}
	if !got.CreatedAt.Equal(created) || !got.UpdatedAt.Equal(updated) {
		t.Errorf("site %s: created %v, updated %v; want %v, %v", got.Name, got.CreatedAt, got.UpdatedAt, created.UTC(), updated.UTC())
	}
	g, w := *got, *want
	g.CreatedAt, g.UpdatedAt, w.CreatedAt, w.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("site:\n got %s\nwant %s", jsonText(g), jsonText(w))
	}
}

// checkEqual fails the test unless got and want are deeply equal.
func checkEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %s\nwant %s", what, jsonText(got), jsonText(want))
	}
}

// checkCode fails the test unless err has the error code want.
func checkCode(t *testing.T, what string, err error, want string) {
	t.Helper()
	if got := joule.ErrorCode(err); got != want {
		t.Errorf("%s: error %v has code %q, want %q", what, err, got, want)
	}
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}
