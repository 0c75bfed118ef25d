package dispatch

import (
	"math"

	"github.com/joule-site/joule"
)

// BoundIterations is how many subgradient steps HindsightBound takes.
const BoundIterations = 150

// HindsightBound returns an upper bound on the margin any policy could have earned
// over ms, for sites whose cap binds (where Hindsight refuses). It is a Lagrangian
// relaxation: the cap of each interval is priced at λ dollars per MWh instead of
// enforced, which splits the problem by fleet again; each fleet's best schedule at
// those prices is the dynamic program of Hindsight without minimum times (dropping
// constraints only raises the optimum, and so keeps it a bound), and
//
//	L(λ) = Σ_t λ_t·cap_t + Σ_fleets best(λ) ≥ the best feasible margin, for every λ ≥ 0.
//
// λ starts at 0 (the uncongested bound) and follows subgradient steps toward the
// intervals whose cap was overrun; the least L seen is returned. The bound is exact
// where the cap never binds and may be loose where it does: a percentage of it
// understates how close a policy came. ok is false when the idle draw alone exceeds
// the cap in some interval (fleets powered off whole), which the relaxation does not
// model.
func (p *Policy) HindsightBound(ms []Interval, c Commitments, running bool) (bound float64, ok bool, err error) {
	if p.site.Rule != RuleMerit {
		return 0, false, joule.Errorf(joule.EINVALID, "hindsight bound: build the policy with RuleMerit")
	}
	T := len(ms)
	if T == 0 {
		return 0, true, nil
	}
	fleets := p.fleetSegments()
	h := &p.site.Hysteresis

	// What no schedule changes: idle draw and firm leases; what is left of each cap.
	var constant float64
	capLeft := make([]float64, T)
	hours := make([]float64, T)
	var scratch Allocation
	type gpuSeg struct{ revenue, draw, reserve float64 }
	gpus := make([][]gpuSeg, T)
	for t := range ms {
		remaining, off := p.prepare(&ms[t], &c, &scratch)
		for _, o := range off {
			if o {
				return 0, false, nil
			}
		}
		alloc := p.alloc()
		remaining = p.allocateFirm(alloc, off, remaining, &scratch)
		hr := float64(ms[t].IntervalSec) / 3600
		hours[t], capLeft[t] = hr, max(remaining, 0)
		price := ms[t].EnergyUSDPerMWh
		constant -= p.idleTotal / 1e6 * hr * price
		for i := range p.segs {
			s := &p.segs[i]
			switch s.kind {
			case segFirm:
				constant += alloc[i] * (s.revenue - price*s.draw/1e6) * hr
			case segOpen, segInterruptible, segCurtailable:
				if s.reserve > 0 {
					gpus[t] = append(gpus[t], gpuSeg{s.revenue, s.draw, s.reserve})
				}
			}
		}
	}

	// The fleets' segments per interval, kept to re-price them at each λ.
	segs := make([][][]fleetSeg, len(fleets)) // fleet → interval → base then steps
	for f, fl := range fleets {
		segs[f] = make([][]fleetSeg, T)
		for t := range ms {
			p.prepare(&ms[t], &c, &scratch)
			for k := 0; k <= fl.steps; k++ {
				s := &p.segs[fl.base+k]
				segs[f][t] = append(segs[f][t], fleetSeg{s.revenue, s.draw})
			}
		}
	}

	lambda := make([]float64, T)
	usage := make([]float64, T)
	iv := make([]fleetInterval, T)
	best := math.Inf(1)
	for k := range BoundIterations {
		clear(usage)
		L := constant
		for t := range ms {
			L += lambda[t] * capLeft[t] / 1e6 * hours[t]
			price := ms[t].EnergyUSDPerMWh
			for _, g := range gpus[t] {
				if m := (g.revenue - price*g.draw/1e6 - lambda[t]*g.reserve/1e6) * hours[t]; m > 0 {
					L += m
					usage[t] += g.reserve
				}
			}
		}
		for f := range fleets {
			wf := min(float64(h.WarmupSec)/float64(ms[0].IntervalSec), 1)
			for t := range ms {
				iv[t] = priced(segs[f][t], ms[t].EnergyUSDPerMWh+lambda[t], hours[t], wf)
			}
			on := bestSchedule(iv, 1, 1, running)
			prev := running
			for t := range ms {
				if !on[t] {
					prev = false
					continue
				}
				steps := iv[t].steps
				if prev {
					L += iv[t].margin
				} else {
					L += iv[t].startMargin
					steps = iv[t].startSteps
				}
				for j := 0; j <= steps; j++ {
					usage[t] += segs[f][t][j].draw
				}
				prev = true
			}
		}
		best = min(best, L)
		// Step toward the intervals that overran their cap, away from the idle ones.
		step := 200.0 / float64(k+1) // $/MWh
		for t := range ms {
			if capLeft[t] <= 0 {
				lambda[t] = max(lambda[t]+step, 0)
				continue
			}
			lambda[t] = max(lambda[t]+step*(usage[t]-capLeft[t])/capLeft[t], 0)
		}
	}
	return best, true, nil
}

// fleetSeg is one of a fleet's segments in one interval: what it earns per hour and
// what it draws.
type fleetSeg struct{ revenue, draw float64 }

// priced is a fleet's interval at an energy price, as fleetMargins computes it.
func priced(segs []fleetSeg, price, hours, wf float64) fleetInterval {
	margin := func(i int, keep float64) float64 { return (segs[i].revenue*keep - price*segs[i].draw/1e6) * hours }
	out := fleetInterval{margin: margin(0, 1), startMargin: margin(0, 1-wf)}
	climbing, climbingStart := true, true
	for k := 1; k < len(segs); k++ {
		if m := margin(k, 1); climbing && m > 0 {
			out.margin += m
			out.steps = k
		} else {
			climbing = false
		}
		if m := margin(k, 1-wf); climbingStart && m > 0 {
			out.startMargin += m
			out.startSteps = k
		} else {
			climbingStart = false
		}
	}
	return out
}
