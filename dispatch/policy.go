package dispatch

import (
	"math"

	"github.com/joule-site/joule"
)

// segKind is what a segment of load is.
type segKind uint8

const (
	segFirm          segKind = iota // leased servers, firm
	segInterruptible                // leased servers, interruptible
	segCurtailable                  // leased servers, curtailable, during an event after their notice
	segOpen                         // servers sold on the open market
	segBase                         // ASICs running at their lowest profile
	segStep                         // ASICs raised one profile
)

// segment is a block of load that runs as a whole or in part: the policy allocates a
// fraction of it. Power is facility watts above the machines' idle draw.
type segment struct {
	unit    int
	kind    segKind
	reserve float64 // facility W the cap must hold for it
	draw    float64 // facility W it is expected to draw (open GPU capacity draws less when unsold)
	hashTHs float64 // ASIC hashrate it adds
	gpus    float64 // GPUs it sells (servers × GPUs per server)
	price   float64 // lease price per GPU-hour (leases)
	// runShare is the share of the unit's servers the segment powers (leases and open
	// capacity; 0 for the part of a lease above its cap).
	runShare float64
	// lease is the index of the lease the segment belongs to, -1 for static segments;
	// top marks the part of a capped lease's power above its cap, which runs only when
	// the part below (the segment before it) runs whole.
	lease int
	top   bool
	// curtailable marks a curtailable lease's segment: held as firm outside an event
	// (or before its notice), but shed before firm leases when the cap cannot hold both.
	curtailable bool
	// always: the rule runs it whatever the price (always-mine); hysteresis: the rule
	// applies the strike band and minimum times (a fleet's base profile under Joule's
	// policy). Otherwise it runs while its value beats the price.
	always, hysteresis bool

	revenue float64 // USD per hour at full allocation, this interval
	value   float64 // revenue per MWh of drawn energy, this interval
}

// Policy dispatches one site. Build it once with New; Allocate is called every interval.
type Policy struct {
	site      Site
	static    int       // number of static segments (ASIC and open GPU capacity)
	segs      []segment // static segments, then this interval's leases
	idleW     []float64 // facility idle W per unit
	servers   []int     // scratch: servers of each GPU unit not under a lease
	off       []bool    // scratch: units powered off whole this interval
	held      []bool    // scratch: units with servers under leases that must be powered
	allocs    []float64 // scratch: fraction of each segment allocated this interval
	sums      []unitSums
	started   []float64 // scratch: share of each unit's running machines that started this interval
	stockW    []float64 // facility W of each unit with every machine at stock
	idleTotal float64   // facility idle W of every unit
	anyOff    bool      // some unit is powered off whole this interval
	invStockW []float64 // 1 / stockW, 0 where stockW is 0
	sorted    []int     // every segment by value, highest first, for the prices in priced
	priced    priceKey  // the prices the segments were last priced at
}

// priceKey is what segment prices depend on besides leases.
type priceKey struct {
	hashprice, gpuPrice, gpuUtilization float64
}

// New compiles a site into a policy.
func New(site Site) (*Policy, error) {
	if err := site.Validate(); err != nil {
		return nil, err
	}
	n := len(site.Units)
	p := &Policy{site: site, idleW: make([]float64, n), servers: make([]int, n), started: make([]float64, n), stockW: make([]float64, n), invStockW: make([]float64, n)}
	for i, u := range site.Units {
		n, pue := float64(u.Count), site.UnitPUE(i)
		p.idleW[i] = n * float64(u.IdleW) * pue
		p.stockW[i] = n * float64(u.PowerW) * pue
		p.idleTotal += p.idleW[i]
		if p.stockW[i] > 0 {
			p.invStockW[i] = 1 / p.stockW[i]
		}
		switch u.Kind {
		case joule.KindASIC:
			profiles := u.profiles()
			if site.Rule != RuleMerit {
				profiles = StockProfile
			}
			prevW, prevH := float64(u.IdleW), 0.0
			for k, pr := range profiles {
				w := pr.PowerFrac * float64(u.PowerW)
				kind := segStep
				if k == 0 {
					kind = segBase
				}
				p.segs = append(p.segs, segment{unit: i, kind: kind, reserve: n * (w - prevW) * pue, draw: n * (w - prevW) * pue, hashTHs: n * (pr.HashFrac - prevH) * u.HashrateTHs,
					always: site.Rule == RuleAlways, hysteresis: site.Rule == RuleMerit && kind == segBase, lease: -1})
				prevW, prevH = w, pr.HashFrac
			}
		case joule.KindGPUServer:
			p.segs = append(p.segs, segment{unit: i, kind: segOpen, lease: -1})
		}
	}
	p.static = len(p.segs)
	p.priced = priceKey{math.NaN(), math.NaN(), math.NaN()} // never equal: price on first use
	return p, nil
}

// Site returns the site the policy was built for.
func (p *Policy) Site() *Site { return &p.site }

// State is what the policy remembers between intervals: how much of each fleet runs
// and since when. The live loop persists it; a backtest keeps one per strategy.
type State struct {
	onFrac  []float64 // fraction of each static segment running
	changed []int64   // when each static segment last started or stopped, Unix seconds
}

// SameShape reports whether q has p's static segments, unit by unit, so that a State
// of one is a State of the other: two policies of one site whose fleets differ only in
// their machine counts.
func (p *Policy) SameShape(q *Policy) bool {
	if p.static != q.static {
		return false
	}
	for i := range p.static {
		if p.segs[i].unit != q.segs[i].unit || p.segs[i].kind != q.segs[i].kind {
			return false
		}
	}
	return true
}

// NewState returns the state of a site whose machines have all been stopped (running
// false) or all been running at stock (running true) for longer than any minimum time.
func (p *Policy) NewState(running bool) *State {
	s := &State{onFrac: make([]float64, p.static), changed: make([]int64, p.static)}
	for i := range s.changed {
		s.changed[i] = math.MinInt64 / 2
		if running {
			s.onFrac[i] = 1
		}
	}
	return s
}

// Reset puts st back to what NewState(running) returns, without allocating.
func (p *Policy) Reset(st *State, running bool) {
	for i := range st.changed {
		st.changed[i] = math.MinInt64 / 2
		st.onFrac[i] = 0
		if running {
			st.onFrac[i] = 1
		}
	}
}

// Allocation is who gets the site's power in one interval, as the policy decided it,
// with the power by use and the money expected of it.
type Allocation struct {
	CapW       joule.Watts // the cap this interval, after demand-response events
	AllocatedW joule.Watts // facility power held for running load and idle draw, ≤ CapW
	DrawW      joule.Watts // facility power expected to be drawn
	// PowerUse is the power by use (facility W, expected draw), as the domain's site
	// plan records it: CurtailedW is flexible load that could have run but did not;
	// ShedFirmW is firm lease power cut to respect the cap.
	joule.PowerUse
	// RevenueUSD and EnergyUSD are expected over the interval; StartLossUSD is the
	// hashing lost to warm-up of machines that started (included in RevenueUSD).
	RevenueUSD, EnergyUSD, StartLossUSD float64
	// CappedW is the facility power that capping leases' servers below their
	// nameplate took off this interval (capping comes before stopping them).
	CappedW joule.Watts
	// Units has one entry per unit of the site; Leases one per lease of the
	// commitments, in their order.
	Units  []UnitPlan
	Leases []LeasePlan
}

// LeasePlan is what a lease's servers do in one interval.
type LeasePlan struct {
	// Servers is how many servers the plan counts for the lease (no more than its unit
	// has free); PoweredFrac the share of them powered, CappedFrac the share powered
	// but held to the lease's cap (≤ PoweredFrac). A firm lease is always powered
	// whole unless the cap sheds it, and never capped.
	Servers     int
	PoweredFrac float64
	CappedFrac  float64
	// RevenueUSD is what the lease earns over the interval at its price, and at its
	// capped price for the capped share.
	RevenueUSD float64
}

// MarginUSD is revenue less energy over the interval.
func (pl *Allocation) MarginUSD() float64 { return pl.RevenueUSD - pl.EnergyUSD }

// UnitPlan is one unit's part of a plan.
type UnitPlan struct {
	AllocatedW joule.Watts // facility power held, idle included
	DrawW      joule.Watts // expected facility draw, idle included
	// RunningFrac is the fraction of machines running; PowerFrac the power of running
	// ASICs as a fraction of stock (their profile).
	RunningFrac float64
	PowerFrac   float64
	HashTHs     float64
	RevenueUSD  float64
}
