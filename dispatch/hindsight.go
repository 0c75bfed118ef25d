package dispatch

import (
	"math"
	"time"

	"github.com/joule-site/joule"
)

// Hindsight replays ms with the best schedule any policy could have run knowing every
// price in advance, under the same warm-up cost and minimum on and off times, and
// calls each with every interval's plan, accounted exactly as Allocate accounts.
//
// Method: while the cap does not bind, fleets do not compete for power and the
// problem splits by fleet. GPU capacity has no switching cost, so running it whenever
// it earns more than its energy is optimal. Each ASIC fleet is a two-state (running,
// stopped) dynamic program over the intervals, whose states also count intervals since
// the last switch up to the minimum times; running earns the base profile's margin plus
// every higher profile whose marginal value beats the price (profiles change without
// cost), and starting pays the warm-up. The program is exact: O(intervals × states) per
// fleet. If the cap binds in any interval, Hindsight returns ECAPACITY rather than a
// number it cannot vouch for.
//
// The policy must have been built with RuleMerit; running says whether the fleets
// start running (as NewState(true)) or stopped. Intervals must have one length.
func (p *Policy) Hindsight(ms []Interval, c Commitments, running bool, each func(i int, plan *Allocation)) error {
	if p.site.Rule != RuleMerit {
		return joule.Errorf(joule.EINVALID, "hindsight: build the policy with RuleMerit")
	}
	if len(ms) == 0 {
		return nil
	}
	step := ms[0].IntervalSec
	for i := range ms {
		if ms[i].IntervalSec != step || step <= 0 {
			return joule.Errorf(joule.EINVALID, "hindsight: every interval must last %d s", step)
		}
	}
	fleets := p.fleetSegments()
	wf := min(float64(p.site.Hysteresis.WarmupSec)/float64(step), 1)
	hours := float64(step) / 3600

	// Pass 1: each fleet's margin when running, when starting, and its profile choice.
	T := len(ms)
	run := make([][]fleetInterval, len(fleets))
	for f := range fleets {
		run[f] = make([]fleetInterval, T)
	}
	var scratch Allocation
	for t := range ms {
		remaining, off := p.prepare(&ms[t], &c, &scratch)
		remaining = p.allocateFirm(p.alloc(), off, remaining, &scratch)
		var flexible float64
		for i := range p.segs {
			if p.segs[i].kind != segFirm && !off[p.segs[i].unit] {
				flexible += p.segs[i].reserve
			}
		}
		if flexible > remaining+1e-6 || scratch.ShedFirmW > 0 {
			at := time.Unix(ms[t].Now, 0).UTC().Format(time.RFC3339)
			return joule.Errorf(joule.ECAPACITY, "hindsight: the cap binds at %s (%.1f MW of flexible load, %.1f MW free); the exact bound needs an uncongested cap", at, flexible/1e6, max(remaining, 0)/1e6)
		}
		price := ms[t].EnergyUSDPerMWh
		for f, fl := range fleets {
			if off[fl.unit] {
				run[f][t] = fleetInterval{margin: math.Inf(-1), startMargin: math.Inf(-1)}
				continue
			}
			run[f][t] = p.fleetMargins(fl, price, hours, wf)
		}
	}

	// Pass 2: the dynamic program, fleet by fleet.
	h := &p.site.Hysteresis
	minOn := intervalsAtLeast(h.MinOnSec, step)
	minOff := intervalsAtLeast(h.MinOffSec, step)
	schedules := make([][]bool, len(fleets))
	for f := range fleets {
		schedules[f] = bestSchedule(run[f], minOn, minOff, running)
	}

	// Pass 3: replay the schedule through the same accounting as Allocate.
	st := p.NewState(running)
	var plan Allocation
	for t := range ms {
		m := &ms[t]
		_, off := p.prepare(m, &c, &plan)
		alloc := p.alloc()
		p.allocateFirm(alloc, off, math.Inf(1), &plan)
		for i := range p.segs {
			s := &p.segs[i]
			if (s.kind == segOpen || s.kind == segInterruptible || s.kind == segCurtailable) && !off[s.unit] && s.revenue > m.EnergyUSDPerMWh*s.draw/1e6 {
				alloc[i] = 1
			}
		}
		for f, fl := range fleets {
			if !schedules[f][t] || off[fl.unit] {
				continue
			}
			choice := run[f][t].steps
			if st.onFrac[fl.base] == 0 {
				choice = run[f][t].startSteps
			}
			alloc[fl.base] = 1
			for k := 1; k <= choice; k++ {
				alloc[fl.base+k] = 1
			}
		}
		p.account(st, m, alloc, off, hours, &plan)
		each(t, &plan)
	}
	return nil
}

// fleet is an ASIC unit's segments: the base profile at index base, then steps.
type fleet struct {
	unit, base, steps int
}

func (p *Policy) fleetSegments() []fleet {
	var fs []fleet
	for i := 0; i < p.static; i++ {
		if p.segs[i].kind == segBase {
			f := fleet{unit: p.segs[i].unit, base: i}
			for j := i + 1; j < p.static && p.segs[j].kind == segStep; j++ {
				f.steps++
			}
			fs = append(fs, f)
		}
	}
	return fs
}

// fleetInterval is what one fleet earns over one interval if it runs, having run
// before (margin, with steps profiles raised) or starting now (startMargin, startSteps).
type fleetInterval struct {
	margin, startMargin float64
	steps, startSteps   int
}

// fleetMargins prices running a fleet this interval, taking each higher profile while
// it beats the price (in order: the curve is concave, so the first that does not ends
// the climb). Starting loses the warm-up fraction wf of the interval's revenue.
func (p *Policy) fleetMargins(fl fleet, price, hours, wf float64) fleetInterval {
	margin := func(i int, keep float64) float64 {
		s := &p.segs[i]
		return (s.revenue*keep - price*s.draw/1e6) * hours
	}
	var out fleetInterval
	out.margin = margin(fl.base, 1)
	out.startMargin = margin(fl.base, 1-wf)
	climbing, climbingStart := true, true
	for k := 1; k <= fl.steps; k++ {
		if m := margin(fl.base+k, 1); climbing && m > 0 {
			out.margin += m
			out.steps = k
		} else {
			climbing = false
		}
		if m := margin(fl.base+k, 1-wf); climbingStart && m > 0 {
			out.startMargin += m
			out.startSteps = k
		} else {
			climbingStart = false
		}
	}
	return out
}

// intervalsAtLeast is how many intervals of step seconds make at least sec seconds.
func intervalsAtLeast(sec, step int64) int {
	return max(int((sec+step-1)/step), 1)
}

// bestSchedule solves one fleet's two-state program and returns, per interval,
// whether it runs. States: running k intervals (k = 1..minOn, minOn meaning "long
// enough to stop") and stopped k intervals (likewise with minOff).
func bestSchedule(iv []fleetInterval, minOn, minOff int, running bool) []bool {
	T := len(iv)
	nStates := minOn + minOff // 0..minOn-1: running k+1; minOn..: stopped k-minOn+1
	negInf := math.Inf(-1)
	cur := make([]float64, nStates)
	next := make([]float64, nStates)
	back := make([]int16, T*nStates) // previous state of each (t, state)
	for i := range cur {
		cur[i] = negInf
	}
	if running {
		cur[minOn-1] = 0
	} else {
		cur[nStates-1] = 0
	}
	for t := range T {
		for i := range next {
			next[i] = negInf
		}
		relax := func(to, from int, v float64) {
			if v > next[to] {
				next[to] = v
				back[t*nStates+to] = int16(from)
			}
		}
		for s, v := range cur {
			if v == negInf {
				continue
			}
			if s < minOn { // running k = s+1
				relax(min(s+1, minOn-1), s, v+iv[t].margin)
				if s == minOn-1 {
					relax(minOn, s, v) // stop
				}
			} else { // stopped k = s-minOn+1
				relax(min(s+1, nStates-1), s, v)
				if s == nStates-1 {
					relax(0, s, v+iv[t].startMargin) // start
				}
			}
		}
		cur, next = next, cur
	}
	best := 0
	for s := range cur {
		if cur[s] > cur[best] {
			best = s
		}
	}
	on := make([]bool, T)
	for t := T - 1; t >= 0; t-- {
		on[t] = best < minOn
		best = int(back[t*nStates+best])
	}
	return on
}
