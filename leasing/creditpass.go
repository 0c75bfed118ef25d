package leasing

import (
	"context"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/sla"
)

// CreditGrace is how long after an hour ends the credit pass waits for its last
// samples: an agent's batch of a step may arrive that late.
const CreditGrace = 2 * time.Minute

// CreditPass posts the service credits of each hour once it has closed: every site's
// leases assessed against the GPU servers' samples the Recorder saw (CreditHour). It
// runs on the leader, which takes every batch of samples; an hour that began before the
// recorder's first sample (a process that just started leading) is not assessed,
// since the recorder did not see it whole: no credit without evidence.
type CreditPass struct {
	Exchange *Service
	Recorder *sla.Recorder
	// Events returns a site's recent demand-response events, which excuse curtailable
	// leases' time off after their notice.
	Events func(ctx context.Context, site string) ([]*joule.DemandResponse, error)
	Terms  sla.Terms     // sla.DefaultTerms when zero
	Every  time.Duration // how often Run looks for a closed hour; a minute when zero

	done time.Time // the newest hour assessed
}

// Run passes every Every until ctx ends; a pass that fails is logged and tried again.
func (p *CreditPass) Run(ctx context.Context) error {
	every := p.Every
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := p.Pass(ctx); err != nil && ctx.Err() == nil {
			p.Exchange.cfg.Logger.Warn("leasing: service credits", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Pass assesses every closed hour it has not yet that the recorder saw whole, oldest
// first, and returns what it found.
func (p *CreditPass) Pass(ctx context.Context) ([]sla.Result, error) {
	newest := p.Exchange.cfg.Now().Add(-CreditGrace).Truncate(time.Hour).Add(-time.Hour)
	since := p.Recorder.Since()
	if since.IsZero() {
		return nil, nil
	}
	first := since.Truncate(time.Hour)
	if first.Before(since) {
		first = first.Add(time.Hour) // the recorder saw this hour in part only
	}
	if !p.done.IsZero() {
		first = joule.Later(first, p.done.Add(time.Hour))
	}
	var out []sla.Result
	for hour := first; !hour.After(newest); hour = hour.Add(time.Hour) {
		rs, err := p.assess(ctx, hour)
		if err != nil {
			return out, err
		}
		out = append(out, rs...)
		p.done = hour
	}
	return out, nil
}

// assess posts one hour's credits, every site's.
func (p *CreditPass) assess(ctx context.Context, hour time.Time) ([]sla.Result, error) {
	terms := p.Terms
	if terms == (sla.Terms{}) {
		terms = sla.DefaultTerms
	}
	op, err := p.Exchange.Principal(ctx, "")
	if err != nil {
		return nil, err
	}
	sites, err := p.Exchange.sites(ctx)
	if err != nil {
		return nil, err
	}
	var out []sla.Result
	for _, site := range sites {
		var events []*joule.DemandResponse
		if p.Events != nil {
			if events, err = p.Events(ctx, site.Site.Name); err != nil {
				return nil, err
			}
		}
		samples := p.Recorder.Samples(site.Site.Name, hour.Add(-terms.MaxGap), hour.Add(time.Hour))
		rs, err := p.Exchange.CreditHour(ctx, op, site, hour, samples, events, terms)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			if r.Owed() > 0 {
				p.Exchange.cfg.Logger.Info("leasing: service credit", "site", site.Site.Name, "lease", r.Lease, "hour", hour,
					"unserved_s", r.UnservedSec, "excused_s", r.ExcusedSec, "refund", r.RefundMicroUSD, "penalty", r.PenaltyMicroUSD)
			}
		}
		out = append(out, rs...)
	}
	return out, nil
}
