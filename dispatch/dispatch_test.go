package dispatch_test

import (
	"math"
	"testing"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/dispatch"
)

// westTexas is the example site: 50 MW, PUE 1.05, 6000 S21, 4000 S19j Pro, 32 8×H100.
func westTexas(rule dispatch.Rule) dispatch.Site {
	return dispatch.Site{
		CapW: 50_000_000, PUE: 1.05, Rule: rule, Hysteresis: dispatch.DefaultHysteresis,
		Units: []dispatch.Unit{
			{Name: "hall-a-s21", Kind: joule.KindASIC, Count: 6000, PowerW: 3500, IdleW: 20, HashrateTHs: 200},
			{Name: "hall-b-s19j-pro", Kind: joule.KindASIC, Count: 4000, PowerW: 3068, IdleW: 20, HashrateTHs: 104},
			{Name: "h100", Kind: joule.KindGPUServer, Count: 32, PowerW: 10200, IdleW: 1700, GPUs: 8},
		},
	}
}

func policy(t testing.TB, s dispatch.Site) *dispatch.Policy {
	t.Helper()
	p, err := dispatch.New(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func market(now int64, energy float64) dispatch.Interval {
	return dispatch.Interval{Now: now, IntervalSec: 3600, HashpriceUSDPerPHDay: 56, EnergyUSDPerMWh: energy, GPUUSDPerHour: 2, GPUUtilization: 0.85}
}

func TestMeritOrderAndProfiles(t *testing.T) {
	tests := []struct {
		energy           float64
		s21Run, s19Run   float64 // running fraction
		s21Prof, s19Prof float64 // power fraction of running machines
	}{
		{energy: 20, s21Run: 1, s21Prof: 1, s19Run: 1, s19Prof: 1},
		// $80: an S19j Pro at stock loses money (75.6 $/MWh of value), but at 60% power
		// it earns 86.7 $/MWh: the fleet runs underclocked. The S21 stays at stock.
		{energy: 80, s21Run: 1, s21Prof: 1, s19Run: 1, s19Prof: 0.6},
		// $100: the S21's last two profile steps earn 99 and 96.5 $/MWh at the margin:
		// it runs at 80% power.
		{energy: 100, s21Run: 1, s21Prof: 0.8, s19Run: 0, s19Prof: 0},
		// $135: the S21 earns 127.5 $/MWh at stock and 146 at 60%: underclocked.
		{energy: 135, s21Run: 1, s21Prof: 0.6, s19Run: 0, s19Prof: 0},
		{energy: 1000, s21Run: 0, s19Run: 0},
	}
	for _, tt := range tests {
		p := policy(t, westTexas(dispatch.RuleMerit))
		st := p.NewState(false)
		var plan dispatch.Allocation
		p.Allocate(st, market(0, tt.energy), dispatch.Commitments{}, &plan)
		u := plan.Units
		near := func(what string, got, want float64) {
			t.Helper()
			if math.Abs(got-want) > 1e-6 {
				t.Errorf("$%v/MWh: %s = %v, want %v", tt.energy, what, got, want)
			}
		}
		near("S21 running", u[0].RunningFrac, tt.s21Run)
		near("S19j Pro running", u[1].RunningFrac, tt.s19Run)
		near("S21 profile", u[0].PowerFrac, tt.s21Prof)
		near("S19j Pro profile", u[1].PowerFrac, tt.s19Prof)
		// GPUs at $2/GPU-hour are worth far more than any energy price here.
		if tt.energy < 1000 && u[2].RunningFrac != 1 {
			t.Errorf("$%v/MWh: GPU capacity not running", tt.energy)
		}
		if plan.AllocatedW > plan.CapW {
			t.Errorf("allocated %v above cap %v", plan.AllocatedW, plan.CapW)
		}
	}
}

// A price that wobbles a few dollars around a fleet's value makes the strike rule
// flap; the band and minimum times hold Joule's policy still.
func TestHysteresisStopsFlapping(t *testing.T) {
	site := westTexas(dispatch.RuleMerit)
	site.Units = site.Units[:1] // the S21 hall: stock value 127.5 $/MWh
	site.Units[0].Profiles = dispatch.StockProfile
	starts := func(rule dispatch.Rule) int {
		s := site
		s.Rule = rule
		p := policy(t, s)
		st := p.NewState(true)
		var plan dispatch.Allocation
		n, prev := 0, 1.0
		for h := range 48 {
			price := 126.0
			if h%2 == 1 {
				price = 129
			}
			p.Allocate(st, market(int64(h)*3600, price), dispatch.Commitments{}, &plan)
			if r := plan.Units[0].RunningFrac; r > prev {
				n++
			}
			prev = plan.Units[0].RunningFrac
		}
		return n
	}
	if got := starts(dispatch.RuleStrike); got < 20 {
		t.Errorf("strike rule restarted %d times in 48 wobbling hours; expected it to flap", got)
	}
	if got := starts(dispatch.RuleMerit); got != 0 {
		t.Errorf("Joule's policy restarted %d times; the band should hold it", got)
	}
}

func TestWarmupIsCharged(t *testing.T) {
	p := policy(t, westTexas(dispatch.RuleAlways))
	var cold, warm dispatch.Allocation
	p.Allocate(p.NewState(false), market(0, 30), dispatch.Commitments{}, &cold)
	p.Allocate(p.NewState(true), market(0, 30), dispatch.Commitments{}, &warm)
	// Five minutes of an hour's hashing of every miner.
	want := (warm.Units[0].RevenueUSD + warm.Units[1].RevenueUSD) * 300 / 3600
	if math.Abs(cold.StartLossUSD-want) > 1e-6 {
		t.Errorf("warm-up loss %v, want %v", cold.StartLossUSD, want)
	}
	if warm.StartLossUSD != 0 {
		t.Errorf("running fleets paid warm-up %v", warm.StartLossUSD)
	}
}

func TestDemandResponseEvent(t *testing.T) {
	p := policy(t, westTexas(dispatch.RuleMerit))
	st := p.NewState(true)
	c := dispatch.Commitments{Events: []dispatch.Event{{ReduceToW: 5_000_000, Deadline: 7200 + 60, End: 4 * 3600}}}
	var plan dispatch.Allocation
	for h := int64(0); h < 6; h++ {
		p.Allocate(st, market(h*3600, 30), c, &plan)
		inEvent := h >= 2 && h < 4 // the interval holding the deadline is already down
		if inEvent && plan.AllocatedW > 5_000_000 {
			t.Errorf("hour %d: %v allocated during the event", h, plan.AllocatedW)
		}
		if !inEvent && plan.CapW != 50_000_000 {
			t.Errorf("hour %d: cap %v outside the event", h, plan.CapW)
		}
		if inEvent && plan.FirmGPUW+plan.OpenGPUW == 0 {
			t.Errorf("hour %d: GPUs (the most valuable load) were shed first", h)
		}
	}
}

func TestFirmLeasesFirstAndShedOnlyByTheCap(t *testing.T) {
	site := westTexas(dispatch.RuleMerit)
	p := policy(t, site)
	leases := []dispatch.Lease{{Unit: 2, Servers: 20, Class: joule.LeaseFirm, USDPerGPUHour: 0.5}}
	var plan dispatch.Allocation
	// At $3000/MWh nothing flexible runs, but the firm lease does.
	p.Allocate(p.NewState(true), market(0, 3000), dispatch.Commitments{Leases: leases}, &plan)
	wantFirm := joule.Watts(20 * (10200 - 1700) * 1.05)
	if plan.FirmGPUW != wantFirm || plan.MiningW != 0 || plan.OpenGPUW != 0 {
		t.Errorf("firm %v (want %v), mining %v, open %v", plan.FirmGPUW, wantFirm, plan.MiningW, plan.OpenGPUW)
	}
	// A demand-response event below the firm load sheds it, and says so.
	c := dispatch.Commitments{Leases: leases, Events: []dispatch.Event{{ReduceToW: 150_000, Deadline: 0}}}
	p.Allocate(p.NewState(true), market(0, 30), c, &plan)
	if plan.AllocatedW > 150_000 || plan.ShedFirmW == 0 {
		t.Errorf("allocated %v of a 150 kW cap, shed firm %v", plan.AllocatedW, plan.ShedFirmW)
	}
}

// A fleet in a hall of its own PUE draws its IT power times that PUE, idle, firm and
// open alike; the other fleets keep the site's.
func TestUnitPUE(t *testing.T) {
	site := westTexas(dispatch.RuleMerit)
	site.Units = append([]dispatch.Unit(nil), site.Units...)
	site.Units[2].PUE = 1.3
	p := policy(t, site)
	leases := []dispatch.Lease{{Unit: 2, Servers: 20, Class: joule.LeaseFirm, USDPerGPUHour: 0.5}}
	var plan dispatch.Allocation
	m := market(0, 20)
	m.GPUUtilization = 1
	p.Allocate(p.NewState(true), m, dispatch.Commitments{Leases: leases}, &plan)
	if want := joule.Watts(20 * (10200 - 1700) * 1.3); plan.FirmGPUW != want {
		t.Errorf("firm GPU power %v, want %v", plan.FirmGPUW, want)
	}
	if want := joule.Watts(12 * (10200 - 1700) * 1.3); plan.OpenGPUW != want {
		t.Errorf("open GPU power %v, want %v", plan.OpenGPUW, want)
	}
	// All 32 servers at nameplate in the 1.3 hall; the miners at stock in the site's 1.05.
	if want := joule.Watts(32 * 10200 * 1.3); math.Abs(float64(plan.Units[2].DrawW-want)) > 1 {
		t.Errorf("GPU fleet draws %v, want %v", plan.Units[2].DrawW, want)
	}
	if want := joule.Watts(6000 * 3500 * 1.05); math.Abs(float64(plan.Units[0].DrawW-want)) > 1 {
		t.Errorf("S21 fleet draws %v, want %v", plan.Units[0].DrawW, want)
	}
}

func TestValidate(t *testing.T) {
	bad := []func(*dispatch.Site){
		func(s *dispatch.Site) { s.CapW = 0 },
		func(s *dispatch.Site) { s.PUE = 0.5 },
		func(s *dispatch.Site) { s.Units[0].HashrateTHs = 0 },
		func(s *dispatch.Site) { s.Units[0].Profiles = []dispatch.Profile{{0.5, 0.5}, {0.6, 0.7}, {1, 1}} }, // convex
		func(s *dispatch.Site) { s.Units[0].Profiles = []dispatch.Profile{{0.6, 0.7}} },                     // not ending at stock
		func(s *dispatch.Site) { s.Units[2].GPUs = 0 },
		func(s *dispatch.Site) { s.Hysteresis.MinOnSec = -1 },
		func(s *dispatch.Site) { s.Units[2].PUE = 0.9 },
	}
	for i, mutate := range bad {
		s := westTexas(dispatch.RuleMerit)
		s.Units = append([]dispatch.Unit(nil), s.Units...)
		mutate(&s)
		if _, err := dispatch.New(s); joule.ErrorCode(err) != joule.EINVALID {
			t.Errorf("case %d: %v", i, err)
		}
	}
}
