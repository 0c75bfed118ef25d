package leasing

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/joule-site/joule"
)

// billEnergy passes the site's energy through to the owners whose servers it hosts,
// hour by hour as hours complete: for each owner's GPU servers at a site, the ones
// bound to a lease in the hour (ServersAt) draw their nameplate power and the rest idle, times the site's
// PUE, at the site's energy price that hour (Config.EnergyPrice). Each owner-hour is
// one ledger entry keyed by site, owner and hour, so a tick that repeats it charges
// nothing more. It runs before the matcher advances, while the hour's leases are
// still in memory; hours that pass while no server runs are not billed afterwards.
func (s *Service) billEnergy(ctx context.Context, now time.Time) error {
	if s.cfg.EnergyPrice == nil {
		return nil
	}
	hour := now.Truncate(time.Hour).Add(-time.Hour) // the last complete hour
	if !s.energyBilled.IsZero() && !hour.After(s.energyBilled) {
		return nil
	}
	sites, err := s.sites(ctx)
	if err != nil {
		return err
	}
	for _, rs := range sites {
		site := rs.Site
		price, ok := s.cfg.EnergyPrice(site, hour)
		if !ok || price <= 0 {
			continue // no price known, or negative: nothing to pass through
		}
		type key struct {
			owner string
			model *joule.HardwareModel
		}
		servers := map[key]int{}
		ownerOf := map[string]key{} // server name → its owner and model
		for _, f := range rs.Fleets {
			if f.Owner != "" && f.Model.Kind == joule.KindGPUServer {
				k := key{f.Owner, f.Model}
				servers[k] += f.Count
				for _, n := range ServerNames(f) {
					ownerOf[n] = k
				}
			}
		}
		leased := map[key]int{} // servers bound to a lease in the hour
		for _, b := range s.serversAt(rs, hour) {
			if k, ok := ownerOf[b.Server]; ok {
				leased[k]++
			}
		}
		wh := map[string]float64{}
		for k, n := range servers {
			m := k.model
			on := min(leased[k], n)
			wh[k.owner] += (float64(on)*float64(m.PowerW) + float64(n-on)*float64(m.IdleW)) * site.PUE
		}
		for owner, w := range wh {
			key := fmt.Sprintf("energy:%s:%s:%s", site.Name, owner, hour.UTC().Format("2006-01-02T15"))
			if _, err := s.ledger.PassThroughEnergy(key, owner, site.Name, int64(math.Round(w)), joule.MicroUSDFromUSD(price)); err != nil && joule.ErrorCode(err) != joule.ECONFLICT {
				return err
			}
		}
	}
	s.energyBilled = hour
	return nil
}
