// Package backtest replays real history and Monte Carlo futures through the dispatch
// policy the live system runs: what a site would have earned, interval by interval,
// under each way of running it, against the hindsight-optimal bound, and what turning
// megawatts of miners into GPUs is worth across many possible futures.
package backtest

import (
	"github.com/joule-site/joule"
)

// conversionSite is a site with a share of its miners replaced by GPU servers.
type conversionSite struct {
	site *joule.ResolvedSite
	// unit is the bought servers' fleet in site.Fleets: a fleet of its own, so that
	// the policy draws its hall's PUE for it.
	unit    int
	servers int
	// facilityW is the facility power the retired miners drew at stock: what the
	// servers draw at nameplate in their hall, and what the conversion capex prices.
	facilityW float64
}

// converted returns the site with share (0..1] of every ASIC fleet's machines replaced
// by servers of gpu in a hall of PUE gpuPUE, as many whole servers as the facility
// power freed feeds at nameplate. share 1 is the all-GPU site, 0.5 the hybrid split.
func converted(s *joule.ResolvedSite, share float64, gpu *joule.HardwareModel, gpuPUE float64) conversionSite {
	out := &joule.ResolvedSite{Site: s.Site}
	var freedW float64
	for _, f := range s.Fleets {
		if f.Model.Kind != joule.KindASIC {
			out.Fleets = append(out.Fleets, f)
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
	facilityW := freedW * s.Site.PUE
	servers := int(facilityW / (gpuPUE * float64(gpu.PowerW)))
	out.Fleets = append(out.Fleets, joule.ResolvedFleet{
		Fleet: &joule.Fleet{Site: s.Site.Name, Name: "converted-" + gpu.ID, Model: gpu.ID, Kind: gpu.Kind, Count: servers}, Model: gpu})
	return conversionSite{site: out, unit: len(out.Fleets) - 1, servers: servers, facilityW: facilityW}
}
