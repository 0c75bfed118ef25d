package dispatch

import (
	"math"

	"github.com/joule-site/joule"
)

// Allocate allocates the interval's power and advances st to the new state. It never
// holds more than the cap: idle draw first, then firm leases, then flexible load in
// merit order. It allocates nothing once out.Units has room for every unit.
//
// st must come from this policy's NewState; out is overwritten.
func (p *Policy) Allocate(st *State, m Interval, c Commitments, out *Allocation) {
	remaining, off := p.prepare(&m, &c, out)
	alloc := p.alloc()
	remaining = p.allocateFirm(alloc, off, remaining, out)
	// Flexible load the rule wants, by value (p.sorted is every segment by value).
	price := m.EnergyUSDPerMWh
	for _, i := range p.sorted {
		s := &p.segs[i]
		if s.kind == segFirm || s.reserve <= 0 || ((s.kind == segStep || s.top) && alloc[i-1] < 1) || (p.anyOff && off[s.unit]) {
			continue // a fleet rises a profile, and a capped lease lifts its cap, only when every machine runs the one below
		}
		switch {
		case s.always:
		case !s.hysteresis:
			if s.value <= price {
				continue
			}
		case !p.wantsRunning(st, i, s.value-price, m.Now):
			continue
		}
		if s.reserve <= remaining {
			alloc[i] = 1
			remaining -= s.reserve
			continue
		}
		a := max(remaining, 0)
		alloc[i] = frac(a, s.reserve)
		remaining -= a
	}
	p.account(st, &m, alloc, off, float64(m.IntervalSec)/3600, out)
}

// prepare resets out, lays out this interval's lease segments, prices every segment,
// and holds the idle draw, powering fleets off whole if even that is above the cap.
// It returns the facility watts left under the cap and the powered-off units.
func (p *Policy) prepare(m *Interval, c *Commitments, out *Allocation) (float64, []bool) {
	site := &p.site
	units := site.Units
	capW := capAt(site.CapW, m, c)
	*out = Allocation{CapW: capW, Units: resize(out.Units, len(units)), Leases: resize(out.Leases, len(c.Leases))}

	remaining := float64(capW) - p.idleTotal
	off := p.powerOff(&remaining, c)

	// Segments keep their prices while the market's prices and the leases stay the
	// same: hashprice changes daily, so most intervals skip the work below.
	key := priceKey{m.HashpriceUSDPerPHDay, m.GPUUSDPerHour, m.GPUUtilization}
	if key == p.priced && len(c.Leases) == 0 && len(p.segs) == p.static {
		return remaining, off
	}
	p.priced = key
	// Servers not under a lease are sold on the open market.
	for i := range units {
		p.servers[i] = units[i].Count
	}
	p.segs = p.segs[:p.static]
	for li, l := range c.Leases {
		if l.Unit < 0 || l.Unit >= len(units) || units[l.Unit].Kind != joule.KindGPUServer || l.Servers <= 0 {
			continue // the caller validates leases; a bad one must not break the cap
		}
		u := &units[l.Unit]
		n := min(l.Servers, p.servers[l.Unit])
		p.servers[l.Unit] -= n
		out.Leases[li].Servers = n
		p.addLease(m, c, li, &l, u, n, site.UnitPUE(l.Unit))
	}

	hashUSDPerTHHour := m.HashpriceUSDPerPHDay / 1000 / 24
	for i := range p.segs {
		s := &p.segs[i]
		switch s.kind {
		case segBase, segStep:
			s.revenue = s.hashTHs * hashUSDPerTHHour
		case segOpen:
			u := &units[s.unit]
			servers := float64(p.servers[s.unit])
			s.reserve = servers * float64(u.PowerW-u.IdleW) * site.UnitPUE(s.unit)
			s.draw = s.reserve * m.GPUUtilization
			s.gpus = servers * float64(u.GPUs)
			s.revenue = s.gpus * m.GPUUtilization * m.GPUUSDPerHour
			s.runShare = 0
			if u.Count > 0 {
				s.runShare = servers / float64(u.Count)
			}
		case segFirm, segInterruptible, segCurtailable:
			s.revenue = s.gpus * s.price
		}
		switch {
		case s.draw > 0:
			s.value = s.revenue / (s.draw / 1e6)
		case s.revenue > 0:
			s.value = math.Inf(1)
		default:
			s.value = 0
		}
	}
	p.sortByValue()
	return remaining, off
}

// addLease lays out the segments of n servers of lease li on unit u: one firm segment
// for a lease that must be powered, else one the merit order may curtail, split in two
// where the lease may be capped — the power up to its cap at the capped price, and the
// rest at what lifting the cap adds — so that merit order caps it before it stops it.
func (p *Policy) addLease(m *Interval, c *Commitments, li int, l *Lease, u *Unit, n int, pue float64) {
	kind := segFirm
	switch l.Class {
	case joule.LeaseInterruptible:
		kind = segInterruptible
	case joule.LeaseCurtailable:
		if curtailing(m, c, l.NoticeSec) {
			kind = segCurtailable
		}
	}
	servers, gpus := float64(n), float64(n*u.GPUs)
	w := servers * float64(u.PowerW-u.IdleW) * pue
	share := servers / float64(max(u.Count, 1))
	whole := segment{unit: l.Unit, kind: kind, reserve: w, draw: w, gpus: gpus, price: l.USDPerGPUHour, runShare: share, lease: li,
		curtailable: l.Class == joule.LeaseCurtailable}
	capW := servers * (l.CapFrac*float64(u.PowerW) - float64(u.IdleW)) * pue
	if kind == segFirm || !cappable(l, capW, w) {
		p.segs = append(p.segs, whole)
		return
	}
	floor := whole
	floor.reserve, floor.draw, floor.price = capW, capW, l.CappedUSDPerGPUHour
	top := whole
	top.reserve, top.draw, top.price, top.runShare, top.top = w-capW, w-capW, l.USDPerGPUHour-l.CappedUSDPerGPUHour, 0, true
	p.segs = append(p.segs, floor, top)
}

// cappable says whether a lease whose servers draw w facility watts above idle at
// nameplate and capW under its cap may be capped: the cap is above idle and below
// nameplate, the capped price is no more than the full one, and a capped watt earns at
// least what lifting the cap earns a watt (else merit order could lift a cap it has
// not yet powered under).
func cappable(l *Lease, capW, w float64) bool {
	if !(l.CapFrac > 0 && l.CapFrac < 1) || !(capW > 0 && capW < w) || !(l.CappedUSDPerGPUHour >= 0) || l.CappedUSDPerGPUHour > l.USDPerGPUHour {
		return false
	}
	return l.CappedUSDPerGPUHour/capW >= (l.USDPerGPUHour-l.CappedUSDPerGPUHour)/(w-capW)
}

// allocateFirm holds power for leases that must be powered, firm leases first and then
// curtailable ones not yet curtailable, each in the order given; what the cap cannot
// hold is shed and reported.
func (p *Policy) allocateFirm(alloc []float64, off []bool, remaining float64, out *Allocation) float64 {
	for _, curtailable := range [...]bool{false, true} {
		for i := p.static; i < len(p.segs); i++ {
			s := &p.segs[i]
			if s.kind != segFirm || s.curtailable != curtailable || off[s.unit] {
				continue
			}
			a := min(s.reserve, max(remaining, 0))
			alloc[i] = frac(a, s.reserve)
			remaining -= a
			out.ShedFirmW += joule.Watts(s.reserve - a)
		}
	}
	return remaining
}

// wantsRunning applies the strike band and minimum times to a fleet's base profile:
// a running fleet stops when the price beats its value by more than the band (and it
// has run long enough); a stopped one starts when its value beats the price by more
// than the band (and it has rested long enough).
func (p *Policy) wantsRunning(st *State, i int, margin float64, now int64) bool {
	h := &p.site.Hysteresis
	since := now - st.changed[i]
	if st.onFrac[i] > 0 {
		return margin > -h.BandUSDPerMWh || since < h.MinOnSec
	}
	return margin > h.BandUSDPerMWh && since >= h.MinOffSec
}

// powerOff picks fleets to switch off whole when idle draw alone is above the cap
// (a deep demand-response event): miners first, then servers that hold no lease that
// must be powered, then the rest, each in unit order.
func (p *Policy) powerOff(remaining *float64, c *Commitments) []bool {
	if len(p.off) != len(p.site.Units) {
		p.off = make([]bool, len(p.site.Units))
	}
	off := p.off
	if p.anyOff { // the last interval powered some off; they are back unless needed
		clear(off)
	}
	p.anyOff = *remaining < 0
	if !p.anyOff {
		return off
	}
	// Units with servers under leases that must be powered, counting leases onto
	// servers in the order prepare does.
	if len(p.held) != len(p.site.Units) {
		p.held = make([]bool, len(p.site.Units))
	}
	clear(p.held)
	for i := range p.site.Units {
		p.servers[i] = p.site.Units[i].Count
	}
	for _, l := range c.Leases {
		if l.Unit < 0 || l.Unit >= len(p.site.Units) || l.Servers <= 0 {
			continue
		}
		n := min(l.Servers, p.servers[l.Unit])
		p.servers[l.Unit] -= n
		if n > 0 && l.Class != joule.LeaseInterruptible {
			p.held[l.Unit] = true
		}
	}
	held := func(unit int) bool { return p.held[unit] }
	for pass := range 3 {
		for i := range p.site.Units {
			if *remaining >= 0 {
				return off
			}
			u := &p.site.Units[i]
			var mine bool
			switch pass {
			case 0:
				mine = u.Kind == joule.KindASIC
			case 1:
				mine = u.Kind == joule.KindGPUServer && !held(i)
			default:
				mine = u.Kind == joule.KindGPUServer && held(i)
			}
			if mine && !off[i] && p.idleW[i] > 0 {
				off[i] = true
				*remaining += p.idleW[i]
			}
		}
	}
	return off
}

// sortByValue puts every segment in p.sorted by value, highest first, keeping index
// order on ties (insertion sort: a site has a handful of segments).
func (p *Policy) sortByValue() {
	p.sorted = p.sorted[:0]
	for i := range p.segs {
		p.sorted = append(p.sorted, i)
	}
	o := p.sorted
	for i := 1; i < len(o); i++ {
		for j := i; j > 0 && p.segs[o[j]].value > p.segs[o[j-1]].value; j-- {
			o[j], o[j-1] = o[j-1], o[j]
		}
	}
}

func frac(a, whole float64) float64 {
	if whole <= 0 {
		return 0
	}
	return min(a/whole, 1)
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}
