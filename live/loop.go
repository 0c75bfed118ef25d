// Package live runs the dispatch policy on the live system: every interval, at once
// when the energy price spikes or a demand-response event arrives, it plans each site
// with the same policy backtests run, stores the plan for the site's agent, and writes
// the audit log. When a feed goes stale it plans a safe state instead: miners stop
// (their value is unknown), firm leases keep their power.
package live

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/dispatch"
	"github.com/joule-site/joule/forecast"
)

// Loop plans every site on a schedule. Set the fields, then Run.
type Loop struct {
	Sites  joule.SiteService
	Fleets joule.FleetService
	Models joule.ModelLister
	Live   joule.LiveService
	Prices joule.Prices
	// Leases, when set, tells what the site's GPU leases commit this interval, as
	// dispatch leases of its units (dispatch.Compile's, one per fleet in order): firm
	// ones keep their power first.
	Leases func(ctx context.Context, site *joule.ResolvedSite, at time.Time) ([]dispatch.Lease, error)
	// Held, when set, says how many machines of each of a site's fleets operators'
	// actions hold asleep (joule.HeldAsleep): each fleet is planned without them, so
	// that the power they would have drawn goes to machines that can run.
	Held func(ctx context.Context, site string) (map[string]int, error)

	Interval time.Duration // between plans; 60 s by default
	// Every is how often Run plans in wall-clock time: Interval when zero. It differs
	// only under an accelerated clock (the demo), where Interval is clock time.
	Every      time.Duration
	Hysteresis dispatch.Hysteresis
	// SpikeUSDPerMWh is how far the energy price must move from the last plan's to
	// plan again at once, checked every SpikeCheck.
	SpikeUSDPerMWh float64
	SpikeCheck     time.Duration
	// DRLead is how long before a demand-response deadline the site is planned down
	// (5 minutes by default; at once for an event announced with less notice).
	DRLead time.Duration
	// Forecaster turns the energy prices published so far into the price each plan
	// decides on: the same forecasters the backtests replay (forecast.Default() when
	// nil).
	Forecaster forecast.Forecaster
	Now        func() time.Time

	mu      sync.Mutex
	sites   map[string]*siteState
	trigger chan string
}

// siteState is what the loop keeps per site between plans.
type siteState struct {
	key    string // what the policy was built from; rebuilt when it changes
	base   string // the same, of the site as declared (before holds)
	policy *dispatch.Policy
	state  *dispatch.State
	plan   dispatch.Allocation
	last   *joule.SitePlan
}

// Trigger asks the loop to plan a site now (a demand-response event, an operator).
func (l *Loop) Trigger(site string) {
	l.init()
	select {
	case l.trigger <- site:
	default: // a plan is already pending
	}
}

func (l *Loop) init() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.trigger == nil {
		l.trigger = make(chan string, 64)
		l.sites = map[string]*siteState{}
	}
}

// Run plans every site each Interval, and a site at once when triggered or when its
// energy price jumps, until ctx ends.
func (l *Loop) Run(ctx context.Context) error {
	l.init()
	// Each run starts from the store: a replica that led before, and leads again, has
	// missed the plans of the leaders between.
	l.mu.Lock()
	l.sites = map[string]*siteState{}
	l.mu.Unlock()
	interval, spike := l.Interval, l.SpikeCheck
	if l.Every > 0 {
		interval = l.Every
	}
	if interval <= 0 {
		interval = time.Minute
	}
	if spike <= 0 {
		spike = 5 * time.Second
	}
	l.planAll(ctx, "interval")
	tick, check := time.NewTicker(interval), time.NewTicker(spike)
	defer tick.Stop()
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			l.planAll(ctx, "interval")
		case site := <-l.trigger:
			if _, err := l.PlanSite(ctx, site, "triggered"); err != nil {
				l.planningFailed(ctx, site, err)
			}
		case <-check.C:
			l.checkSpikes(ctx)
		}
	}
}

func (l *Loop) planAll(ctx context.Context, reason string) {
	sites, err := l.Sites.Sites(ctx)
	if err != nil {
		return
	}
	for _, s := range sites {
		if _, err := l.PlanSite(ctx, s.Name, reason); err != nil {
			l.planningFailed(ctx, s.Name, err)
		}
	}
}

// checkSpikes plans a site again when its energy price moved more than the spike
// threshold since its last plan.
func (l *Loop) checkSpikes(ctx context.Context) {
	threshold := l.SpikeUSDPerMWh
	if threshold <= 0 {
		threshold = 25
	}
	l.mu.Lock()
	var due []string
	for name, st := range l.sites {
		if st.last == nil {
			continue
		}
		site, err := l.Sites.Site(ctx, name)
		if err != nil {
			continue
		}
		if p, fresh := l.Prices.Energy(site, l.Now()); fresh && math.Abs(p-st.last.EnergyUSDPerMWh) > threshold {
			due = append(due, name)
		}
	}
	l.mu.Unlock()
	for _, name := range due {
		_, _ = l.PlanSite(ctx, name, "price spike")
	}
}

// planningFailed audits a plan the loop could not make: the agent keeps the last one
// while it is valid.
func (l *Loop) planningFailed(ctx context.Context, site string, err error) {
	_ = l.Live.AppendAudit(ctx, &joule.Audit{Site: site, At: l.Now(), Kind: joule.AuditEvent,
		Outcome: joule.OutcomeFailed, Reason: "planning failed", Actor: joule.ActorLoop, Detail: fmt.Sprintf("planning failed: %v", err)})
}
