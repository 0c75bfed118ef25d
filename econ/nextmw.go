package econ

import "github.com/joule-site/joule"

// MWValue is what a facility megawatt-hour earns on one model.
type MWValue struct {
	Model     string  `json:"model"`
	USDPerMWh float64 `json:"usd_per_mwh"`
}

// GPUMWValue is MWValue for a GPU server, with the price and utilization it assumes.
type GPUMWValue struct {
	MWValue
	USDPerGPUHour float64 `json:"usd_per_gpu_hour"`
	Utilization   float64 `json:"utilization"`
}

// The answers NextMW gives.
const (
	Mine    = "mine"
	Lease   = "lease"
	Neither = "neither" // the energy costs more than either earns
)

// NextMWInput is what the value of a site's next megawatt depends on.
type NextMWInput struct {
	Site *joule.ResolvedSite
	// HashpriceNetUSDPerPHDay is net of the pool fee; HashpriceKnown is false when the
	// chain or price feed is stale, and mining is then not valued.
	HashpriceNetUSDPerPHDay float64
	HashpriceKnown          bool
	// EnergyUSDPerMWh is the site's price now; EnergyKnown false when it is stale, and
	// the energy is then taken as free in the comparison.
	EnergyUSDPerMWh float64
	EnergyKnown     bool
	// GPUUSDPerHour and GPUUtilization are the open market's price and the share of
	// capacity that sells.
	GPUUSDPerHour, GPUUtilization float64
}

// NextMWAnswer is what the site's next facility megawatt-hour earns mined on its most
// efficient miners and leased on its best GPU servers, and which is better.
type NextMWAnswer struct {
	Mining *MWValue    `json:"mining"`
	GPU    *GPUMWValue `json:"gpu"`
	// Better is Mine, Lease, or Neither.
	Better string `json:"better"`
}

// NextMW answers "mine or lease the next megawatt?" for a site now. Both sides are
// per facility MWh (MiningUSDPerFacilityMWh, GPUUSDPerFacilityMWh); the better one
// must also beat the energy price.
func NextMW(in NextMWInput) NextMWAnswer {
	out := NextMWAnswer{Better: Neither}
	pue := max(in.Site.Site.PUE, 1)
	if m := in.Site.MostEfficientASIC(); m != nil && in.HashpriceKnown {
		out.Mining = &MWValue{Model: m.ID, USDPerMWh: MiningUSDPerFacilityMWh(in.HashpriceNetUSDPerPHDay, m.EfficiencyJPerTH(), pue)}
	}
	for _, f := range in.Site.Fleets {
		m := f.Model
		if m.Kind != joule.KindGPUServer || m.PowerW <= 0 {
			continue
		}
		v := GPUUSDPerFacilityMWh(in.GPUUSDPerHour, m.GPUs, in.GPUUtilization, m.PowerW.KW(), m.IdleW.KW(), pue)
		if out.GPU == nil || v > out.GPU.USDPerMWh {
			out.GPU = &GPUMWValue{MWValue: MWValue{Model: m.ID, USDPerMWh: v}, USDPerGPUHour: in.GPUUSDPerHour, Utilization: in.GPUUtilization}
		}
	}
	best := 0.0
	if in.EnergyKnown {
		best = in.EnergyUSDPerMWh
	}
	if out.Mining != nil && out.Mining.USDPerMWh > best {
		out.Better, best = Mine, out.Mining.USDPerMWh
	}
	if out.GPU != nil && out.GPU.USDPerMWh > best {
		out.Better = Lease
	}
	return out
}
