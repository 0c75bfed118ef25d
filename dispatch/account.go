package dispatch

import (
	"math"

	"github.com/joule-site/joule"
)

// alloc returns the per-segment allocation scratch, zeroed.
func (p *Policy) alloc() []float64 {
	p.allocs = resize(p.allocs, len(p.segs))
	return p.allocs
}

// unitSums accumulates one unit's share of a plan in floats; account converts once.
type unitSums struct {
	allocated, draw, revenue, hash float64
}

// account turns segment allocations into the plan's power, revenue and cost, and
// advances the state: the fraction of each fleet running, and when it last started
// or stopped. Machines that start lose WarmupSec of hashing.
func (p *Policy) account(st *State, m *Interval, alloc []float64, off []bool, hours float64, out *Allocation) {
	site := &p.site
	if len(p.sums) != len(site.Units) {
		p.sums = make([]unitSums, len(site.Units))
	}
	sums := p.sums
	var idle float64
	for i := range sums {
		sums[i] = unitSums{}
		if !off[i] {
			idle += p.idleW[i]
			sums[i].allocated = p.idleW[i]
			sums[i].draw = p.idleW[i]
		}
	}
	allocated, draw := idle, idle
	var mining, firm, interruptible, open, curtailed, capped float64
	warmupSec := site.Hysteresis.WarmupSec
	for i := range p.segs {
		s := &p.segs[i]
		a := alloc[i]
		dr := a * s.draw
		res := a * s.reserve
		allocated += res
		su := &sums[s.unit]
		su.allocated += res
		su.draw += dr
		su.revenue += a * s.revenue
		if s.lease >= 0 {
			lp := &out.Leases[s.lease]
			lp.RevenueUSD += a * s.revenue * hours
			if !s.top {
				lp.PoweredFrac = a
			} else {
				// The part above the cap of the servers that run is capped; that of
				// the servers stopped is curtailed with them.
				lp.CappedFrac = lp.PoweredFrac - a
				capped += lp.PoweredFrac*s.draw - dr
				curtailed += (1 - lp.PoweredFrac) * s.draw
			}
		}
		switch s.kind {
		case segFirm:
			firm += dr
			out.Units[s.unit].RunningFrac += a * s.runShare
			continue
		case segCurtailable, segInterruptible:
			if s.kind == segCurtailable {
				firm += dr // a firm-priced lease, honoured as curtailable during the event
			} else {
				interruptible += dr
			}
			if !s.top {
				curtailed += s.draw - dr
			}
			out.Units[s.unit].RunningFrac += a * s.runShare
			continue
		case segOpen:
			open += dr
			curtailed += s.draw - dr
			out.Units[s.unit].RunningFrac += a * s.runShare
		default:
			mining += dr
			curtailed += s.draw - dr
			su.hash += a * s.hashTHs
		}
		// Static segments carry state: what runs, and since when.
		prev := st.onFrac[i]
		if (prev > 0) != (a > 0) {
			st.changed[i] = m.Now
		}
		st.onFrac[i] = a
		if s.kind == segBase {
			out.Units[s.unit].RunningFrac = a
			if a > prev && warmupSec > 0 {
				p.started[s.unit] = (a - prev) / a // share of the running machines that just started
			}
		}
	}
	draw += mining + firm + interruptible + open
	// Machines that started lose the warm-up share of their revenue this interval.
	warm := min(float64(warmupSec)/3600/hours, 1)
	for i, f := range p.started {
		if f > 0 {
			loss := f * sums[i].revenue * warm * hours
			out.StartLossUSD += loss
			sums[i].revenue -= loss / hours
			p.started[i] = 0
		}
	}
	var revenue float64
	for i := range sums {
		su, u, unit := &sums[i], &out.Units[i], &site.Units[i]
		u.AllocatedW, u.DrawW = joule.Watts(su.allocated), joule.Watts(su.draw)
		u.RevenueUSD, u.HashTHs = su.revenue*hours, su.hash
		revenue += u.RevenueUSD
		switch {
		case unit.Kind != joule.KindASIC || u.RunningFrac <= 0 || p.stockW[i] == 0:
		case u.RunningFrac == 1:
			u.PowerFrac = su.draw * p.invStockW[i]
		default:
			asleep := (1 - u.RunningFrac) * p.idleW[i]
			u.PowerFrac = (su.draw - asleep) / (u.RunningFrac * p.stockW[i])
		}
	}
	out.RevenueUSD = revenue
	out.AllocatedW = joule.Watts(math.Floor(allocated))
	out.DrawW = min(joule.Watts(math.Floor(draw)), out.AllocatedW) // equal sums in another order

	out.MiningW, out.FirmGPUW, out.InterruptibleGPUW, out.OpenGPUW = joule.Watts(mining), joule.Watts(firm), joule.Watts(interruptible), joule.Watts(open)
	out.IdleW = joule.Watts(idle)
	out.CurtailedW = joule.Watts(curtailed)
	out.CappedW = joule.Watts(capped)
	out.EnergyUSD = draw / 1e6 * hours * m.EnergyUSDPerMWh
}
