package live

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/dispatch"
	"github.com/joule-site/joule/forecast"
)

// PlanSite plans one site now with the dispatch policy, stores the plan and audits it.
func (l *Loop) PlanSite(ctx context.Context, name, reason string) (*joule.SitePlan, error) {
	l.init()
	now := l.Now()
	rs, err := joule.SiteLoader{Sites: l.Sites, Fleets: l.Fleets, Models: l.Models}.Load(ctx, name)
	if err != nil {
		return nil, err
	}
	site := rs.Site
	declared := rs
	if l.Held != nil {
		held, err := l.Held(ctx, name)
		if err != nil {
			return nil, err
		}
		rs = withoutHeld(rs, held)
	}
	events, err := l.Live.DemandResponses(ctx, name, now)
	if err != nil {
		return nil, err
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	st, err := l.siteState(declared, rs)
	if err != nil {
		return nil, err
	}
	m := dispatch.Interval{Now: now.Unix(), IntervalSec: int64(max(l.Interval, time.Second) / time.Second)}
	var stale []string
	var fresh bool
	if m.HashpriceUSDPerPHDay, fresh = l.Prices.Hashprice(now); !fresh {
		m.HashpriceUSDPerPHDay = 0
		stale = append(stale, "hashprice")
	}
	if m.EnergyUSDPerMWh, fresh = l.forecaster().Price(published{l.Prices, site, now}); !fresh {
		m.EnergyUSDPerMWh = dispatch.UnknownEnergyUSDPerMWh
		stale = append(stale, "energy price")
	}
	m.GPUUSDPerHour, m.GPUUtilization = l.Prices.GPU(now)
	// An event is planned DRLead ahead of its deadline (from the moment it is known when
	// it comes later than that): commanding and verifying a fleet, and putting healthy
	// machines to sleep in place of those that do not obey, takes time, and power must
	// be down by the deadline, not after it.
	var c dispatch.Commitments
	lead := int64(l.drLead() / time.Second)
	for _, e := range events {
		ev := dispatch.Event{ReduceToW: e.ReduceToW, Deadline: e.Deadline.Unix() - lead}
		if !e.CreatedAt.IsZero() {
			ev.Announced = e.CreatedAt.Unix() // a curtailable lease's notice runs from here
		}
		if !e.End.IsZero() {
			// Up to the second after the end: a plan made in the end's last second
			// still holds the site (truncated, it let load back up to a second early).
			ev.End = e.End.Add(time.Second - time.Nanosecond).Unix()
		}
		c.Events = append(c.Events, ev)
		if m.Now+m.IntervalSec > ev.Deadline {
			reason = "demand response"
		}
	}
	if l.Leases != nil {
		if c.Leases, err = l.Leases(ctx, rs, now); err != nil {
			return nil, err
		}
	}
	if len(stale) > 0 {
		reason = "stale feeds: " + strings.Join(stale, ", ") + " (safe state: flexible load stops)"
	}

	st.policy.Allocate(st.state, m, c, &st.plan)
	p := sitePlan(site, st.policy.Site(), &st.plan, now, time.Duration(m.IntervalSec)*time.Second, reason)
	leaseTargets(p, c.Leases, st.plan.Leases)
	if len(stale) == 0 {
		p.EnergyUSDPerMWh, p.HashpriceUSDPerPHDay = m.EnergyUSDPerMWh, m.HashpriceUSDPerPHDay
	} else {
		// A safe state is planned on a prohibitive price, not a real one: its energy
		// cost says nothing.
		p.EnergyUSDPerHour = 0
	}
	if err := l.Live.SavePlan(ctx, p); err != nil {
		return nil, err
	}
	st.last = p
	detail := fmt.Sprintf("plan %d (%s): %s of %s cap allocated", p.Seq, p.Reason, p.AllocatedW, p.CapW)
	for _, f := range p.Fleets {
		detail += fmt.Sprintf("; %s %d/%d running at %.0f%%", f.Fleet, f.Running, f.Machines, f.PowerFrac*100)
		if len(f.Capped) > 0 {
			detail += fmt.Sprintf(", %d capped at %s", len(f.Capped), f.CapW)
		}
	}
	if err := l.Live.AppendAudit(ctx, &joule.Audit{Site: name, At: now, Kind: joule.AuditPlan, Seq: p.Seq,
		Outcome: joule.OutcomeOK, Reason: p.Reason, Actor: joule.ActorLoop, Detail: detail}); err != nil {
		return nil, err
	}
	return p, nil
}

func (l *Loop) forecaster() forecast.Forecaster {
	if l.Forecaster != nil {
		return l.Forecaster
	}
	return forecast.Default()
}

// published is what the live feeds have published at now, for a forecaster: the
// energy feed's price now is the newest it has published (a stale one is none), and
// no day-ahead feed exists yet.
type published struct {
	prices joule.Prices
	site   *joule.Site
	now    time.Time
}

func (k published) Now() time.Time { return k.now }

func (k published) LastSettled() (float64, time.Time, bool) {
	p, fresh := k.prices.Energy(k.site, k.now)
	return p, k.now, fresh
}

func (k published) DayAhead(time.Time) (float64, bool) { return 0, false }

// drLead is how long before a demand-response deadline the loop plans for it.
func (l *Loop) drLead() time.Duration {
	if l.DRLead > 0 {
		return l.DRLead
	}
	return 5 * time.Minute
}

// siteState returns the policy of a site, rebuilt when anything the policy was
// compiled from changes: the cap, the PUE, the fleets, or the specification of a
// model (a re-applied user model with another power or hashrate). declared is the
// site as declared, rs the site as planned (without its machines held asleep): a
// change of holds alone rebuilds the policy but keeps its state, so that the fleets'
// minimum on and off times run on.
func (l *Loop) siteState(declared, rs *joule.ResolvedSite) (*siteState, error) {
	d := dispatch.Compile(rs, dispatch.RuleMerit, l.Hysteresis)
	key := fmt.Sprintf("%+v", d)
	base := key
	if declared != rs {
		base = fmt.Sprintf("%+v", dispatch.Compile(declared, dispatch.RuleMerit, l.Hysteresis))
	}
	old, ok := l.sites[rs.Site.Name]
	if ok && old.key == key {
		return old, nil
	}
	p, err := dispatch.New(d)
	if err != nil {
		return nil, err
	}
	st := &siteState{key: key, base: base, policy: p, state: p.NewState(true)}
	if ok && old.base == base && old.policy.SameShape(p) {
		st.state, st.plan, st.last = old.state, old.plan, old.last
	}
	l.sites[rs.Site.Name] = st
	return st, nil
}

// withoutHeld is rs with each fleet's machines held asleep taken out of its count.
func withoutHeld(rs *joule.ResolvedSite, held map[string]int) *joule.ResolvedSite {
	if len(held) == 0 {
		return rs
	}
	out := &joule.ResolvedSite{Site: rs.Site, Fleets: make([]joule.ResolvedFleet, len(rs.Fleets))}
	for i, f := range rs.Fleets {
		if n := held[f.Name]; n > 0 {
			c := *f.Fleet
			c.Count = max(c.Count-n, 0)
			f.Fleet = &c
		}
		out.Fleets[i] = f
	}
	return out
}

// sitePlan turns the policy's allocation into whole machines per fleet. Machines and
// power settings are rounded down (settings to whole percent, so that a price that
// drifts does not send every miner a new setting each interval): the plan never holds
// more than the policy allocated.
func sitePlan(site *joule.Site, d *dispatch.Site, pl *dispatch.Allocation, now time.Time, interval time.Duration, reason string) *joule.SitePlan {
	p := &joule.SitePlan{
		Site: site.Name, At: now, ValidUntil: now.Add(3 * interval), Reason: reason,
		CapW: pl.CapW, AllocatedW: pl.AllocatedW, PUE: d.PUE, DrawW: pl.DrawW,
		Use: pl.PowerUse,
	}
	if h := interval.Hours(); h > 0 {
		p.RevenueUSDPerHour, p.EnergyUSDPerHour = pl.RevenueUSD/h, pl.EnergyUSD/h
	}
	for i, u := range d.Units {
		up := &pl.Units[i]
		p.Fleets = append(p.Fleets, joule.FleetTarget{
			Fleet: u.Name, Kind: u.Kind, Machines: u.Count,
			Running:    int(math.Floor(up.RunningFrac*float64(u.Count) + 1e-9)),
			PowerFrac:  math.Floor(up.PowerFrac*100+1e-9) / 100,
			StockW:     u.PowerW,
			AllocatedW: up.AllocatedW,
		})
	}
	return p
}

// leaseTargets names, per GPU fleet of plan p, the leased servers the allocation powers
// (Leased) and those of them it holds to a cap (Capped, at CapW). Of each lease's bound
// servers, the powered ones are counted down and the capped ones up, so that the plan
// never draws more than the allocation; a stopped lease's servers are named in neither,
// and the agent idles them before any leased server. A firm lease is never capped.
func leaseTargets(p *joule.SitePlan, leases []dispatch.Lease, plans []dispatch.LeasePlan) {
	for i, ls := range leases {
		if ls.Unit < 0 || ls.Unit >= len(p.Fleets) {
			continue
		}
		f := &p.Fleets[ls.Unit]
		nodes := ls.Nodes
		if i >= len(plans) {
			f.Leased = append(f.Leased, nodes...)
			slices.Sort(f.Leased)
			continue
		}
		lp := plans[i]
		counted := min(lp.Servers, len(nodes))
		powered := min(int(math.Floor(lp.PoweredFrac*float64(lp.Servers)+1e-9)), counted)
		capped := 0
		if ls.Class != joule.LeaseFirm && ls.Class != "" && ls.CapFrac > 0 && lp.CappedFrac > 0 {
			capped = min(int(math.Ceil(lp.CappedFrac*float64(lp.Servers)-1e-9)), powered)
		}
		f.Leased = append(f.Leased, nodes[:powered]...)
		slices.Sort(f.Leased)
		if capped == 0 {
			continue
		}
		f.Capped = append(f.Capped, nodes[:capped]...)
		slices.Sort(f.Capped)
		if w := joule.Watts(math.Floor(ls.CapFrac * float64(f.StockW))); f.CapW == 0 || w < f.CapW {
			f.CapW = w // one limit per fleet: the lowest of its capped leases'
		}
	}
}
