package leasing

import (
	"context"
	"fmt"
	"time"

	"github.com/joule-site/joule"
)

// billHosting charges every owner, once per month just ended, the site's hosting fee
// on the servers it keeps there: their nameplate power times HostingPerKWMonth
// (ledger.HostingFee, keyed by site, owner and month, so later ticks do not charge
// again). The fleets are read as they are at billing; a fleet that changed during the
// month is billed at its size then.
func (s *Service) billHosting(ctx context.Context, at time.Time) error {
	if s.cfg.HostingPerKWMonth <= 0 {
		return nil
	}
	month := time.Date(at.Year(), at.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0).Format("2006-01")
	sites, err := s.sites(ctx)
	if err != nil {
		return err
	}
	for _, site := range sites {
		byOwner := map[string]joule.Watts{}
		for _, f := range site.Fleets {
			if f.Owner != "" && f.Model.Kind == joule.KindGPUServer {
				byOwner[f.Owner] += joule.Watts(f.Count) * f.Model.PowerW
			}
		}
		for owner, w := range byOwner {
			key := fmt.Sprintf("hosting:%s:%s:%s", site.Site.Name, owner, month)
			if _, err := s.ledger.HostingFee(key, owner, site.Site.Name, w, s.cfg.HostingPerKWMonth); err != nil && joule.ErrorCode(err) != joule.ECONFLICT {
				return err // ECONFLICT: this month is billed already (at another fleet size)
			}
		}
	}
	return nil
}
