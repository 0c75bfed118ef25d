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

// account turns segment allocations into the plan's power, revenue and cost, and
// advances the state: the fraction of each fleet running, and when it last started
// or stopped. Machines that start lose WarmupSec of hashing.
func (p *Policy) account(st *State, m *Market, alloc []float64, off []bool, hours float64, out *Plan) {
	site := &p.site
	var allocated, draw, idle float64
	for i := range site.Units {
		if off[i] {
			continue
		}
		idle += p.idleW[i]
		out.Units[i].AllocatedW = joule.Watts(p.idleW[i])
		out.Units[i].DrawW = joule.Watts(p.idleW[i])
	}
	allocated, draw = idle, idle
	var curtailed float64
	for i := range p.segs {
		s := &p.segs[i]
		a := alloc[i]
		res, dr := a*s.reserve, a*s.draw
		allocated += res
		draw += dr
		u := &out.Units[s.unit]
		u.AllocatedW += joule.Watts(res)
		u.DrawW += joule.Watts(dr)
		u.RevenueUSD += a * s.revenue * hours
		switch s.kind {
		case segFirm:
			out.FirmGPUW += joule.Watts(dr)
		case segInterruptible:
			out.InterruptibleGPUW += joule.Watts(dr)
			curtailed += (1 - a) * s.draw
		case segOpen:
			out.OpenGPUW += joule.Watts(dr)
			curtailed += (1 - a) * s.draw
		case segBase, segStep:
			out.MiningW += joule.Watts(dr)
			curtailed += (1 - a) * s.draw
			u.HashTHs += a * s.hashTHs
		}
	}
	// Per-unit running fraction and profile, warm-up losses, and the new state.
	for i := range p.segs[:p.static] {
		s := &p.segs[i]
		u := &out.Units[s.unit]
		unit := &site.Units[s.unit]
		switch s.kind {
		case segOpen:
			if unit.Count > 0 {
				u.RunningFrac = alloc[i] * float64(p.servers[s.unit]) / float64(unit.Count)
			}
		case segBase:
			u.RunningFrac = alloc[i]
		}
		prev, now := st.onFrac[i], alloc[i]
		if s.kind == segBase && now > prev && u.RevenueUSD > 0 {
			started := now - prev
			perRunning := u.RevenueUSD / now // this interval's revenue of a fleet fully running at its profile
			loss := math.Min(started*perRunning*float64(site.Hysteresis.WarmupSec)/3600/hours, started*perRunning)
			out.StartLossUSD += loss
			u.RevenueUSD -= loss
		}
		if (prev > 0) != (now > 0) {
			st.changed[i] = m.Now
		}
		st.onFrac[i] = now
	}
	for i := range site.Units {
		u := &out.Units[i]
		unit := &site.Units[i]
		if unit.Kind == joule.KindASIC && u.RunningFrac > 0 && unit.Count > 0 {
			running := u.RunningFrac * float64(unit.Count)
			asleep := (1 - u.RunningFrac) * p.idleW[i]
			u.PowerFrac = (float64(u.DrawW) - asleep) / site.PUE / running / float64(unit.PowerW)
		}
		out.RevenueUSD += u.RevenueUSD
	}
	out.AllocatedW = joule.Watts(math.Floor(allocated))
	out.DrawW = joule.Watts(math.Floor(draw))
	out.IdleW = joule.Watts(idle)
	out.CurtailedW = joule.Watts(curtailed)
	out.EnergyUSD = draw / 1e6 * hours * m.EnergyUSDPerMWh
}
