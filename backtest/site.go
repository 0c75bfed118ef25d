// Package backtest replays real history and Monte Carlo futures through the dispatch
// policy the live system runs: what a site would have earned, interval by interval,
// under each way of running it, against the hindsight-optimal bound, and what turning
// megawatts of miners into GPUs is worth across many possible futures.
package backtest

import (
	"github.com/joule-site/joule"
)

// converted returns the site with share (0..1] of every ASIC fleet's machines replaced
// by servers of gpu drawing the same facility power, the number of servers bought and
// the IT power freed (W). share 1 is the all-GPU site, 0.5 the hybrid split.
func converted(s *joule.ResolvedSite, share float64, gpu *joule.HardwareModel) (*joule.ResolvedSite, int, float64) {
	out := &joule.ResolvedSite{Site: s.Site}
	var freedW float64
	var gpuFleet *joule.Fleet
	for _, f := range s.Fleets {
		if f.Model.Kind != joule.KindASIC {
			if f.Model.ID == gpu.ID && gpuFleet == nil {
				cp := *f.Fleet
				gpuFleet = &cp
				out.Fleets = append(out.Fleets, joule.ResolvedFleet{Fleet: gpuFleet, Model: f.Model})
			} else {
				out.Fleets = append(out.Fleets, f)
			}
			continue
		}
		moved := int(float64(f.Count) * share)
		freedW += float64(moved) * float64(f.Model.PowerW)
		if left := f.Count - moved; left > 0 {
			cp := *f.Fleet
			cp.Count = left
			out.Fleets = append(out.Fleets, joule.ResolvedFleet{Fleet: &cp, Model: f.Model})
		}
	}
	servers := int(freedW / float64(gpu.PowerW))
	if gpuFleet == nil {
		gpuFleet = &joule.Fleet{Site: s.Site.Name, Name: "converted-" + gpu.ID, Model: gpu.ID, Kind: gpu.Kind}
		out.Fleets = append(out.Fleets, joule.ResolvedFleet{Fleet: gpuFleet, Model: gpu})
	}
	gpuFleet.Count += servers
	return out, servers, freedW
}
