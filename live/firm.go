package live

import (
	"context"
	"math"
	"time"

	"github.com/joule-site/joule"
)

// firmW is the most facility power a site's firm GPU leases hold at any moment from
// from until to: each firm server at its full wall power, times the site's PUE (what a
// demand-response level, read at the meter, must leave them). Leases begin and end on
// the hour, so it looks at from and at every hour after it, before to. Every lease that
// is not interruptible is firm, as the dispatch policy counts them, except a curtailable
// one whose notice, counted from announced, has run by from: the event may curtail it.
// Zero without Leases.
func (o *Operations) firmW(ctx context.Context, site string, announced, from, to time.Time) (joule.Watts, error) {
	if o.Leases == nil {
		return 0, nil
	}
	rs, err := joule.SiteLoader{Sites: o.Sites, Fleets: o.Fleets, Models: o.Models}.Load(ctx, site)
	if err != nil {
		return 0, err
	}
	pue := max(rs.Site.PUE, 1)
	var most joule.Watts
	for at := from; at.Before(to); at = at.Truncate(time.Hour).Add(time.Hour) {
		leases, err := o.Leases.DispatchLeases(ctx, rs, at)
		if err != nil {
			return 0, err
		}
		var w float64
		for _, l := range leases {
			curtailable := l.Class == joule.LeaseCurtailable && !announced.Add(time.Duration(l.NoticeSec)*time.Second).After(from)
			if l.Class == joule.LeaseInterruptible || curtailable || l.Unit < 0 || l.Unit >= len(rs.Fleets) {
				continue
			}
			f := rs.Fleets[l.Unit]
			w += float64(min(l.Servers, f.Count)) * float64(f.Model.PowerW) * pue
		}
		most = max(most, joule.Watts(math.Ceil(w)))
	}
	return most, nil
}
