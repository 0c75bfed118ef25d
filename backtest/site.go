// Package backtest replays real history and Monte Carlo futures through the dispatch
// policy the live system runs: what a site would have earned, interval by interval,
// under each way of running it, against the hindsight-optimal bound, and what turning
// megawatts of miners into GPUs is worth across many possible futures.
package backtest

import (
	"github.com/joule-site/joule"
	"github.com/joule-site/joule/dispatch"
)

// ModelLookup finds a hardware model by id.
type ModelLookup func(id string) (*joule.HardwareModel, bool)

// Fleet is a site's fleet with its model resolved.
type Fleet struct {
	*joule.Fleet
	Model *joule.HardwareModel
}

// SiteSpec is a declared site with its fleets, ready to dispatch.
type SiteSpec struct {
	Site   *joule.Site
	Fleets []Fleet
}

// NewSiteSpec resolves a site's fleets against the known models.
func NewSiteSpec(site *joule.Site, fleets []*joule.Fleet, lookup ModelLookup) (*SiteSpec, error) {
	spec := &SiteSpec{Site: site}
	for _, f := range fleets {
		m, ok := lookup(f.Model)
		if !ok {
			return nil, joule.Errorf(joule.EINVALID, "site %s: fleet %s: unknown model %q", site.Name, f.Name, f.Model)
		}
		spec.Fleets = append(spec.Fleets, Fleet{Fleet: f, Model: m})
	}
	return spec, nil
}

// Dispatch returns the site as the dispatch policy sees it.
func (s *SiteSpec) Dispatch(rule dispatch.Rule, h dispatch.Hysteresis) dispatch.Site {
	d := dispatch.Site{CapW: s.Site.PowerCapW, PUE: s.Site.PUE, Rule: rule, Hysteresis: h}
	for _, f := range s.Fleets {
		d.Units = append(d.Units, dispatch.UnitOf(f.Name, f.Model, f.Count))
	}
	return d
}

// Converted returns the site with share (0..1] of every ASIC fleet's machines replaced
// by servers of gpu drawing the same facility power, and the capex of those servers.
// share 1 is the all-GPU site, 0.5 the hybrid split.
func (s *SiteSpec) Converted(share float64, gpu *joule.HardwareModel) (*SiteSpec, float64) {
	out := &SiteSpec{Site: s.Site}
	var freedW float64
	var gpuFleet *joule.Fleet
	for _, f := range s.Fleets {
		if f.Model.Kind != joule.KindASIC {
			if f.Model.ID == gpu.ID && gpuFleet == nil {
				cp := *f.Fleet
				gpuFleet = &cp
				out.Fleets = append(out.Fleets, Fleet{Fleet: gpuFleet, Model: f.Model})
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
			out.Fleets = append(out.Fleets, Fleet{Fleet: &cp, Model: f.Model})
		}
	}
	servers := int(freedW / float64(gpu.PowerW))
	if gpuFleet == nil {
		gpuFleet = &joule.Fleet{Site: s.Site.Name, Name: "converted-" + gpu.ID, Model: gpu.ID, Kind: gpu.Kind}
		out.Fleets = append(out.Fleets, Fleet{Fleet: gpuFleet, Model: gpu})
	}
	gpuFleet.Count += servers
	return out, float64(servers) * gpu.PriceUSD
}

// GPUModel returns the model of the site's first GPU fleet, if it has one.
func (s *SiteSpec) GPUModel() (*joule.HardwareModel, bool) {
	for _, f := range s.Fleets {
		if f.Model.Kind == joule.KindGPUServer {
			return f.Model, true
		}
	}
	return nil, false
}
