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
	if s.cfg.HostingPerKWMonth <= 0 || s.cfg.Sites == nil || s.cfg.Fleets == nil || s.cfg.Models == nil {
		return nil
	}
	month := time.Date(at.Year(), at.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -1, 0).Format("2006-01")
	models, err := s.cfg.Models.AllModels(ctx)
	if err != nil {
		return err
	}
	power := map[string]joule.Watts{}
	for _, m := range models {
		power[m.ID] = m.PowerW
	}
	sites, err := s.cfg.Sites.Sites(ctx)
	if err != nil {
		return err
	}
	for _, site := range sites {
		fleets, err := s.cfg.Fleets.Fleets(ctx, site.Name)
		if err != nil {
			return err
		}
		byOwner := map[string]joule.Watts{}
		for _, f := range fleets {
			if f.Owner != "" && f.Kind == joule.KindGPUServer {
				byOwner[f.Owner] += joule.Watts(f.Count) * power[f.Model]
			}
		}
		for owner, w := range byOwner {
			key := fmt.Sprintf("hosting:%s:%s:%s", site.Name, owner, month)
			if _, err := s.ledger.HostingFee(key, owner, site.Name, w, s.cfg.HostingPerKWMonth); err != nil && joule.ErrorCode(err) != joule.ECONFLICT {
				return err // ECONFLICT: this month is billed already (at another fleet size)
			}
		}
	}
	return nil
}
