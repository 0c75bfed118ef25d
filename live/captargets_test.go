package live_test

import (
	"slices"
	"testing"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/dispatch"
	"github.com/joule-site/joule/live"
)

// A plan's leased servers are the powered ones, counted down, and its capped servers
// counted up, so that the agent never draws more than the allocation; a stopped share
// is named in neither and a firm lease is never capped.
func TestLeaseTargetsRoundTowardLessPower(t *testing.T) {
	p := &joule.SitePlan{Fleets: []joule.FleetTarget{{Fleet: "pod", Kind: joule.KindGPUServer, Machines: 6, StockW: 10_200}}}
	leases := []dispatch.Lease{
		{Unit: 0, Servers: 3, Class: joule.LeaseFirm, CapFrac: 0.65, Nodes: []string{"pod-01", "pod-02", "pod-03"}},
		{Unit: 0, Servers: 3, Class: joule.LeaseInterruptible, CapFrac: 0.65, Nodes: []string{"pod-04", "pod-05", "pod-06"}},
	}
	plans := []dispatch.LeasePlan{
		{Servers: 3, PoweredFrac: 1, CappedFrac: 0.5}, // a firm lease is never capped, whatever the plan says
		{Servers: 3, PoweredFrac: 0.9, CappedFrac: 0.4},
	}
	live.LeaseTargets(p, leases, plans)
	f := p.Fleets[0]
	// 0.9 × 3 = 2.7 powered: 2; 0.4 × 3 = 1.2 capped: 2.
	if want := []string{"pod-01", "pod-02", "pod-03", "pod-04", "pod-05"}; !slices.Equal(f.Leased, want) {
		t.Errorf("leased %v, want %v", f.Leased, want)
	}
	if want := []string{"pod-04", "pod-05"}; !slices.Equal(f.Capped, want) || f.CapW != 6630 {
		t.Errorf("capped %v at %v, want %v at 6630 W", f.Capped, f.CapW, want)
	}
}
