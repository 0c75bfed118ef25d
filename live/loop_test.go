package live_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/catalog"
	"github.com/joule-site/joule/dispatch"
	"github.com/joule-site/joule/forecast"
	"github.com/joule-site/joule/live"
	"github.com/joule-site/joule/manifest"
	"github.com/joule-site/joule/sqlite"
)

// market is a fixed market for tests: prices the test sets, fresh unless told.
type market struct {
	hashprice, energy, gpu float64
	staleEnergy            bool
}

func (m *market) Hashprice(time.Time) (float64, bool)           { return m.hashprice, true }
func (m *market) Energy(*joule.Site, time.Time) (float64, bool) { return m.energy, !m.staleEnergy }
func (m *market) GPU(time.Time) (float64, float64)              { return m.gpu, 0.85 }
func (m *market) BTCUSD(time.Time) (float64, bool)              { return 60_000, true }

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

func setup(t *testing.T) (*live.Loop, *market, *clock, *sqlite.LiveService) {
	t.Helper()
	l, mk, c, lv, _ := setupDB(t)
	return l, mk, c, lv
}

// setupDB is setup, and the store the loop's services use.
func setupDB(t *testing.T) (*live.Loop, *market, *clock, *sqlite.LiveService, *sqlite.DB) {
	t.Helper()
	db := sqlite.NewDB(t.TempDir() + "/joule.db")
	c := &clock{t: time.Date(2024, 7, 1, 12, 0, 0, 0, time.UTC)}
	db.Now = c.Now
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	data, err := os.ReadFile("../examples/west-texas.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Parse("west-texas.yaml", data, catalog.Lookup)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sqlite.NewManifestService(db).Apply(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	mk := &market{hashprice: 55, energy: 30, gpu: 2}
	lv := sqlite.NewLiveService(db)
	l := &live.Loop{
		Sites: sqlite.NewSiteService(db), Fleets: sqlite.NewFleetService(db), Live: lv,
		Models: catalog.Models{User: sqlite.NewHardwareService(db)}, Prices: mk,
		Interval: time.Minute, Hysteresis: dispatch.DefaultHysteresis, Now: c.Now,
	}
	return l, mk, c, lv, db
}

func fleet(p *joule.SitePlan, name string) joule.FleetTarget {
	for _, f := range p.Fleets {
		if f.Fleet == name {
			return f
		}
	}
	return joule.FleetTarget{}
}

func TestPlanStoredAndAudited(t *testing.T) {
	l, _, _, lv := setup(t)
	ctx := context.Background()
	p, err := l.PlanSite(ctx, "west-texas", "interval")
	if err != nil {
		t.Fatal(err)
	}
	if p.Seq != 1 || p.AllocatedW > p.CapW || fleet(p, "hall-a-s21").Running != 6000 {
		t.Errorf("plan %+v", p)
	}
	got, err := lv.LatestPlan(ctx, "west-texas")
	if err != nil || got.Seq != 1 {
		t.Fatalf("stored plan %+v, %v", got, err)
	}
	log, _ := lv.Audit(ctx, joule.AuditQuery{Site: "west-texas"})
	if len(log) != 1 || log[0].Kind != joule.AuditPlan || !strings.Contains(log[0].Detail, "hall-a-s21 6000/6000") {
		t.Errorf("audit %+v", log)
	} else if log[0].Outcome != joule.OutcomeOK || log[0].Reason != "interval" || log[0].Actor != joule.ActorLoop || log[0].Seq != 1 {
		t.Errorf("the plan's audit row: %+v, want ok, the plan's reason, by the loop", log[0])
	}
}

func TestDemandResponseLowersTheCap(t *testing.T) {
	l, _, c, lv := setup(t)
	ctx := context.Background()
	if _, err := l.PlanSite(ctx, "west-texas", "interval"); err != nil {
		t.Fatal(err)
	}
	dr := &joule.DemandResponse{Site: "west-texas", ReduceToW: 5_000_000, Deadline: c.t.Add(60 * time.Second), End: c.t.Add(time.Hour)}
	if err := lv.CreateDemandResponse(ctx, dr); err != nil {
		t.Fatal(err)
	}
	p, err := l.PlanSite(ctx, "west-texas", "triggered")
	if err != nil {
		t.Fatal(err)
	}
	if p.CapW != 5_000_000 || p.AllocatedW > 5_000_000 || p.Reason != "demand response" {
		t.Errorf("plan under the event: cap %v, allocated %v, reason %q", p.CapW, p.AllocatedW, p.Reason)
	}
	// The GPUs (the most valuable load) keep their power; miners give theirs up.
	if g := fleet(p, "h100-pod-1"); g.Running != g.Machines {
		t.Errorf("GPU pod shed: %+v", g)
	}
	var total joule.Watts
	for _, f := range p.Fleets {
		total += f.AllocatedW
	}
	if total > 5_000_000 {
		t.Errorf("fleets hold %v under a 5 MW event", total)
	}
	// After the event ends the cap is back.
	c.t = c.t.Add(2 * time.Hour)
	p, _ = l.PlanSite(ctx, "west-texas", "interval")
	if p.CapW != 50_000_000 {
		t.Errorf("cap after the event %v", p.CapW)
	}
}

func TestStaleEnergyIsSafe(t *testing.T) {
	l, mk, _, _ := setup(t)
	mk.staleEnergy = true
	p, err := l.PlanSite(context.Background(), "west-texas", "interval")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.Reason, "stale feeds: energy price") {
		t.Errorf("reason %q", p.Reason)
	}
	if f := fleet(p, "hall-a-s21"); f.Running != 0 {
		t.Errorf("miners run on an unknown energy price: %+v", f)
	}
	if p.EnergyUSDPerHour != 0 || p.EnergyUSDPerMWh != 0 || p.DrawW <= 0 {
		t.Errorf("a safe state's energy: %g $/h at %g $/MWh for %s drawn; want no cost from the prohibitive price", p.EnergyUSDPerHour, p.EnergyUSDPerMWh, p.DrawW)
	}
}

// Firm leases keep their power in the safe state, when nothing flexible runs.
func TestFirmLeasesKeepPower(t *testing.T) {
	l, mk, _, _ := setup(t)
	mk.staleEnergy = true
	l.Leases = func(_ context.Context, site *joule.ResolvedSite, _ time.Time) ([]dispatch.Lease, error) {
		for i, u := range dispatch.Compile(site, dispatch.RuleMerit, dispatch.DefaultHysteresis).Units {
			if u.Name == "h100-pod-1" {
				return []dispatch.Lease{{Unit: i, Servers: 16, Class: joule.LeaseFirm, USDPerGPUHour: 2.1}}, nil
			}
		}
		return nil, nil
	}
	p, err := l.PlanSite(context.Background(), "west-texas", "interval")
	if err != nil {
		t.Fatal(err)
	}
	if f := fleet(p, "h100-pod-1"); f.Running != 16 {
		t.Errorf("the leased pod: %+v", f)
	}
	if f := fleet(p, "h100-pod-2"); f.Running != 0 {
		t.Errorf("the unleased pod runs in the safe state: %+v", f)
	}
}

// A user model re-applied with another specification rebuilds the site's policy: the
// next plan uses the new power, not the one the policy was first compiled with.
func TestPolicyFollowsModelSpecification(t *testing.T) {
	l, _, _, _ := setup(t)
	db := sqlite.NewDB(t.TempDir() + "/joule.db")
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	l.Sites, l.Fleets, l.Live = sqlite.NewSiteService(db), sqlite.NewFleetService(db), sqlite.NewLiveService(db)
	l.Models = catalog.Models{User: sqlite.NewHardwareService(db)}
	apply := func(powerW int) {
		t.Helper()
		doc := fmt.Sprintf(`models:
  - {id: hydro, kind: asic, name: Hydro, hashrate_ths: 335, power_w: %d, idle_w: 30, sources: {power_w: "spec sheet", hashrate_ths: "spec sheet"}}
sites:
  - name: lab
    power_cap_mw: 10
    energy: {kind: fixed, usd_per_mwh: 30}
    fleets:
      - {name: hall, model: hydro, count: 100}
`, powerW)
		lookup := func(id string) (*joule.HardwareModel, bool) {
			if m, ok := catalog.Lookup(id); ok {
				return m, ok
			}
			m, err := sqlite.NewHardwareService(db).Model(context.Background(), id)
			return m, err == nil
		}
		m, err := manifest.Parse("lab.yaml", []byte(doc), lookup)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sqlite.NewManifestService(db).Apply(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	for _, powerW := range []int{5360, 4000} {
		apply(powerW)
		p, err := l.PlanSite(context.Background(), "lab", "interval")
		if err != nil {
			t.Fatal(err)
		}
		if f := fleet(p, "hall"); f.StockW != joule.Watts(powerW) {
			t.Errorf("after applying %d W: the plan's fleet is at %s stock", powerW, f.StockW)
		}
	}
}

// spikeAhead is a forecaster that expects the published price plus $500/MWh.
type spikeAhead struct{}

func (spikeAhead) Name() string        { return "spike-ahead" }
func (spikeAhead) Description() string { return "the published price plus $500/MWh" }
func (spikeAhead) Price(k forecast.Known) (float64, bool) {
	p, at, ok := k.LastSettled()
	if !at.Equal(k.Now()) {
		return 0, false
	}
	return p + 500, ok
}

// The live loop plans on its forecaster's price, as a backtest does: with the feed at
// $30 a forecast of $530 stops the miners, and the plan records the price it used.
func TestLoopPlansOnTheForecast(t *testing.T) {
	l, _, _, _ := setup(t)
	p, err := l.PlanSite(t.Context(), "west-texas", "test")
	if err != nil {
		t.Fatal(err)
	}
	if p.EnergyUSDPerMWh != 30 || fleet(p, "hall-a-s21").Running == 0 {
		t.Fatalf("persistence at the feed's $30: planned on %v, %d S21 running", p.EnergyUSDPerMWh, fleet(p, "hall-a-s21").Running)
	}
	l.Forecaster = spikeAhead{}
	p, err = l.PlanSite(t.Context(), "west-texas", "test")
	if err != nil {
		t.Fatal(err)
	}
	if p.EnergyUSDPerMWh != 530 || fleet(p, "hall-a-s21").Running != 0 {
		t.Errorf("planned on %v with %d S21 running; want 530 and none", p.EnergyUSDPerMWh, fleet(p, "hall-a-s21").Running)
	}
}
