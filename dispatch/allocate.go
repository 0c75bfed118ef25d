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
		if s.kind == segFirm || s.reserve <= 0 || (s.kind == segStep && alloc[i-1] < 1) || (p.anyOff && off[s.unit]) {
			continue // a fleet rises a profile only when every machine runs the one below
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
	*out = Allocation{CapW: capW, Units: resize(out.Units, len(units))}

	remaining := float64(capW) - p.idleTotal
	off := p.powerOff(&remaining)

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
	for _, l := range c.Leases {
		if l.Unit < 0 || l.Unit >= len(units) || units[l.Unit].Kind != joule.KindGPUServer || l.Servers <= 0 {
			continue // the caller validates leases; a bad one must not break the cap
		}
		u := &units[l.Unit]
		n := min(l.Servers, p.servers[l.Unit])
		p.servers[l.Unit] -= n
		w := float64(n) * float64(u.PowerW-u.IdleW) * site.UnitPUE(l.Unit)
		kind := segFirm
		if l.Class == joule.LeaseInterruptible {
			kind = segInterruptible
		}
		p.segs = append(p.segs, segment{unit: l.Unit, kind: kind, reserve: w, draw: w, gpus: float64(n * u.GPUs), price: l.USDPerGPUHour,
			runShare: float64(n) / float64(max(u.Count, 1))})
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
		case segFirm, segInterruptible:
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

// allocateFirm holds power for firm leases in the order given; what the cap cannot
// hold is shed and reported.
func (p *Policy) allocateFirm(alloc []float64, off []bool, remaining float64, out *Allocation) float64 {
	for i := p.static; i < len(p.segs); i++ {
		s := &p.segs[i]
		if s.kind != segFirm || off[s.unit] {
			continue
		}
		a := min(s.reserve, max(remaining, 0))
		alloc[i] = frac(a, s.reserve)
		remaining -= a
		out.ShedFirmW += joule.Watts(s.reserve - a)
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
// (a deep demand-response event): miners first, then servers, each in unit order.
func (p *Policy) powerOff(remaining *float64) []bool {
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
	for _, kind := range [...]joule.HardwareKind{joule.KindASIC, joule.KindGPUServer} {
		for i := range p.site.Units {
			if *remaining >= 0 {
				return off
			}
			if p.site.Units[i].Kind == kind && p.idleW[i] > 0 {
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
