// Package dispatch decides who gets a site's power each interval: firm GPU leases first,
// then interruptible leases, GPU capacity sold on the open market and ASIC miners at
// their power profiles, in merit order of marginal dollars per MWh, while the value
// beats the energy price, with hysteresis so miners do not flap. The live dispatch loop
// and every backtest call the same Policy; planned power never exceeds the site's cap.
//
// The policy is a pure function of the site, the market, the commitments and the
// previous state. It does no I/O and allocates nothing per interval, so a backtest can
// replay years of history in a fraction of a second.
package dispatch

import (
	"fmt"
	"math"

	"github.com/joule-site/joule"
)

// Profile is one power setting of an ASIC, as tuning firmware offers them: the fraction
// of stock power it draws and the fraction of stock hashrate it delivers.
type Profile struct {
	PowerFrac float64 `json:"power_frac"`
	HashFrac  float64 `json:"hash_frac"`
}

// DefaultProfiles are the settings assumed when a model declares none: 60% to 100% of
// stock power with hashrate ∝ power^0.75, so an underclocked machine is up to 12% more
// efficient. This is an assumption shaped on what tuning firmware advertises (lower
// clocks at lower voltage trade hashrate for efficiency), not a measured curve; give a
// fleet measured profiles where you have them.
var DefaultProfiles = []Profile{
	{0.6, 0.682}, {0.7, 0.765}, {0.8, 0.846}, {0.9, 0.924}, {1, 1},
}

// StockProfile is the single setting of a machine run as shipped.
var StockProfile = []Profile{{1, 1}}

// Unit is a dispatchable fleet: Count identical ASICs or GPU servers.
type Unit struct {
	Name  string
	Kind  joule.HardwareKind
	Count int
	// PowerW is one machine's wall power at stock (ASIC) or nameplate (server);
	// IdleW what it draws asleep or idle.
	PowerW joule.Watts
	IdleW  joule.Watts
	// HashrateTHs is one ASIC's stock hashrate; Profiles its power settings in
	// ascending power, the last one stock ({1, 1}); nil means DefaultProfiles.
	HashrateTHs float64
	Profiles    []Profile
	// GPUs is the number of GPUs in one server.
	GPUs int
	// PUE, when set, is the facility ÷ IT power of this fleet's own hall (a GPU hall
	// converted from mining cools otherwise than the site's miners); 0 takes the site's.
	PUE float64
}

// UnitOf is a fleet of count machines of model m as the policy sees it.
func UnitOf(name string, m *joule.HardwareModel, count int) Unit {
	return Unit{
		Name: name, Kind: m.Kind, Count: count, PowerW: m.PowerW, IdleW: m.IdleW,
		HashrateTHs: m.HashrateTHs, GPUs: m.GPUs,
	}
}

// Compile turns a resolved site into what the policy dispatches: one unit per fleet,
// in the site's fleet order, so that a plan's Units line up with rs.Fleets. It is the
// one translation from the domain to dispatch, for the live loop and every backtest.
func Compile(rs *joule.ResolvedSite, rule Rule, h Hysteresis) Site {
	d := Site{CapW: rs.Site.PowerCapW, PUE: rs.Site.PUE, Rule: rule, Hysteresis: h, Units: make([]Unit, 0, len(rs.Fleets))}
	for _, f := range rs.Fleets {
		d.Units = append(d.Units, UnitOf(f.Name, f.Model, f.Count))
	}
	return d
}

// Rule is how the policy decides which flexible load runs.
type Rule uint8

// Rules. RuleMerit is Joule's policy; the others are the baselines backtests compare it
// with, run by the same code so that their accounting is identical.
const (
	RuleMerit  Rule = iota // merit order with profiles, strike band and minimum times
	RuleStrike             // stock profile only; run while value beats price, no band, no minimum times
	RuleAlways             // every machine at stock, every interval
)

// String names the rule as reports do.
func (r Rule) String() string {
	switch r {
	case RuleMerit:
		return "joule"
	case RuleStrike:
		return "strike-price"
	case RuleAlways:
		return "always-mine"
	}
	return fmt.Sprintf("rule(%d)", uint8(r))
}

// Hysteresis keeps miners from flapping around their breakeven.
type Hysteresis struct {
	// BandUSDPerMWh is the strike band: a running fleet stops only when the energy
	// price exceeds its value by more than the band, and a stopped one restarts only
	// when its value exceeds the price by more than the band.
	BandUSDPerMWh float64
	// MinOnSec and MinOffSec are the shortest time a fleet stays running or stopped,
	// unless the cap forces it down.
	MinOnSec  int64
	MinOffSec int64
	// WarmupSec is the hashing lost each time machines start (boot, autotune): the
	// switching cost, charged in every rule's accounting.
	WarmupSec int64
}

// DefaultHysteresis is a band of $5/MWh, ten minutes minimum on and off, and five
// minutes of warm-up per start (assumptions: set them for your firmware and market).
// Minimum times longer than a few intervals cost more than they save on five-minute
// prices: a 2024 backtest at ERCOT HB_WEST whose plans saw each interval's price earned
// 99.4% of the bound with one hour and 99.9% with ten minutes, against 99.7% for the
// strike-price rule.
var DefaultHysteresis = Hysteresis{BandUSDPerMWh: 5, MinOnSec: 600, MinOffSec: 600, WarmupSec: 300}

// Site is what the policy dispatches: a cap on facility power, the PUE that turns IT
// power into facility power, and the fleets.
type Site struct {
	CapW       joule.Watts
	PUE        float64
	Units      []Unit
	Rule       Rule
	Hysteresis Hysteresis
}

// Validate checks the site and its units.
func (s *Site) Validate() error {
	if s.CapW <= 0 {
		return joule.Errorf(joule.EINVALID, "dispatch: cap must be positive")
	}
	if !(s.PUE >= 1 && s.PUE <= 3) {
		return joule.Errorf(joule.EINVALID, "dispatch: pue must be between 1 and 3, got %v", s.PUE)
	}
	h := s.Hysteresis
	if !(h.BandUSDPerMWh >= 0) || math.IsInf(h.BandUSDPerMWh, 0) || h.MinOnSec < 0 || h.MinOffSec < 0 || h.WarmupSec < 0 {
		return joule.Errorf(joule.EINVALID, "dispatch: hysteresis values must not be negative")
	}
	for i := range s.Units {
		if err := s.Units[i].validate(); err != nil {
			return err
		}
	}
	return nil
}

// UnitPUE is the facility ÷ IT power of unit i: its own where it has one, else the
// site's.
func (s *Site) UnitPUE(i int) float64 {
	if pue := s.Units[i].PUE; pue != 0 {
		return pue
	}
	return s.PUE
}

func (u *Unit) validate() error {
	switch {
	case u.PUE != 0 && !(u.PUE >= 1 && u.PUE <= 3):
		return joule.Errorf(joule.EINVALID, "dispatch: unit %s: pue must be between 1 and 3, got %v", u.Name, u.PUE)
	case u.Count < 0:
		return joule.Errorf(joule.EINVALID, "dispatch: unit %s: count must not be negative", u.Name)
	case u.PowerW <= 0 || u.IdleW < 0 || u.IdleW > u.PowerW:
		return joule.Errorf(joule.EINVALID, "dispatch: unit %s: need 0 ≤ idle ≤ power and power > 0", u.Name)
	}
	switch u.Kind {
	case joule.KindASIC:
		if !(u.HashrateTHs > 0) {
			return joule.Errorf(joule.EINVALID, "dispatch: unit %s: an asic needs a hashrate", u.Name)
		}
		return validProfiles(u.Name, u.profiles(), float64(u.IdleW)/float64(u.PowerW))
	case joule.KindGPUServer:
		if u.GPUs <= 0 {
			return joule.Errorf(joule.EINVALID, "dispatch: unit %s: a gpu server needs gpus", u.Name)
		}
		return nil
	}
	return joule.Errorf(joule.EINVALID, "dispatch: unit %s: unknown kind %q", u.Name, u.Kind)
}

func (u *Unit) profiles() []Profile {
	if len(u.Profiles) == 0 {
		return DefaultProfiles
	}
	return u.Profiles
}

// validProfiles checks that profiles rise in power and hashrate, end at stock, and
// have falling marginal hashrate per watt, counting the first step from idle: then
// the merit order always fills a fleet's lower settings before its higher ones.
func validProfiles(name string, ps []Profile, idleFrac float64) error {
	prevP, prevH, prevSlope := idleFrac, 0.0, math.Inf(1)
	for i, p := range ps {
		if !(p.PowerFrac > prevP) || !(p.HashFrac > prevH) || p.PowerFrac > 1 || p.HashFrac > 1 {
			return joule.Errorf(joule.EINVALID, "dispatch: unit %s: profile %d must rise in power and hashrate above idle, at most stock", name, i+1)
		}
		slope := (p.HashFrac - prevH) / (p.PowerFrac - prevP)
		if slope > prevSlope*(1+1e-9) {
			return joule.Errorf(joule.EINVALID, "dispatch: unit %s: profile %d gains more hashrate per watt than the one below it; the curve must be concave", name, i+1)
		}
		prevP, prevH, prevSlope = p.PowerFrac, p.HashFrac, slope
	}
	if last := ps[len(ps)-1]; last.PowerFrac != 1 || last.HashFrac != 1 {
		return joule.Errorf(joule.EINVALID, "dispatch: unit %s: the last profile must be stock (1, 1)", name)
	}
	return nil
}
