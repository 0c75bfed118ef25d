package live

import (
	"context"
	"fmt"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/dispatch"
)

// Planner plans a site at once (the Loop does): Operations asks it when a
// demand-response event is declared or cancelled, so the site's next plan does not
// wait for the interval.
type Planner interface {
	Trigger(site string)
}

// Leases tells what a site's GPU leases commit at a moment, as the dispatch policy's
// leases of its units (one per fleet, in order): the leasing service's DispatchLeases,
// which the loop plans with too.
type Leases interface {
	DispatchLeases(ctx context.Context, site *joule.ResolvedSite, at time.Time) ([]dispatch.Lease, error)
}

// Operations is the one path for what people and agents do to a live site: declare,
// list and cancel demand-response events, append the audit rows an agent reports, and
// keep the census of the site's devices. It holds the rules; Live stores. Every event
// declared or cancelled is audited, and the site planned again at once.
type Operations struct {
	Sites joule.SiteReader
	Live  joule.LiveService
	// Leases, with Fleets and Models to resolve a site, tells what the site's firm GPU
	// leases draw: an event that would hold the site below that is refused unless it
	// says it sheds firm load. Nil: no lease is firm to Operations.
	Leases  Leases
	Fleets  joule.FleetService
	Models  joule.ModelLister
	Planner Planner          // nil: sites are planned on the loop's schedule only
	Now     func() time.Time // nil: the wall clock
}

// Bounds of a demand-response event. Grid programmes call events from minutes to a day
// ahead and hold them for hours; a deadline or an end further out is a mistake in the
// request (a lead time in milliseconds read as seconds, say), not an event. Every event
// ends: one left to run until somebody remembers to cancel it would hold the site down
// for good.
const (
	MaxDemandResponseLead     = 48 * time.Hour     // from now to the deadline
	MaxDemandResponseDuration = 7 * 24 * time.Hour // from the deadline to the end
)

// DemandResponseRequest declares an event: the level, at most the site's cap; when it
// must hold — a Deadline, or a lead time Within from now (neither: at once) — and
// until when — an End, or a duration For after the deadline (one of them is required).
type DemandResponseRequest struct {
	// Actor is who declares the event, as the audit log records it: an account's ID;
	// empty, joule.ActorOperator.
	Actor     string
	ReduceToW joule.Watts
	Deadline  time.Time
	Within    time.Duration
	End       time.Time
	For       time.Duration
	// ShedFirm lets the event hold the site below what its firm GPU leases draw; without
	// it such an event is refused, as breaking tenants' leases is not a thing to do by
	// mistake.
	ShedFirm bool
}

func (o *Operations) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// event turns a request into the event it declares at now, or says why it cannot.
func (req DemandResponseRequest) event(site string, now time.Time) (*joule.DemandResponse, error) {
	dr := &joule.DemandResponse{Site: site, ReduceToW: req.ReduceToW, Deadline: req.Deadline, End: req.End}
	switch {
	case req.ReduceToW < 0:
		return nil, joule.Errorf(joule.EINVALID, "demand response: reduce_to_w must not be negative")
	case !req.Deadline.IsZero() && req.Within != 0:
		return nil, joule.Errorf(joule.EINVALID, "demand response: give a deadline or within_s, not both")
	case req.Within < 0 || req.Within > MaxDemandResponseLead:
		return nil, joule.Errorf(joule.EINVALID, "demand response: within_s must be from 0 to %d (%s)", int64(MaxDemandResponseLead/time.Second), MaxDemandResponseLead)
	case !req.End.IsZero() && req.For != 0:
		return nil, joule.Errorf(joule.EINVALID, "demand response: give an end or for_s, not both")
	case req.For < 0 || req.For > MaxDemandResponseDuration:
		return nil, joule.Errorf(joule.EINVALID, "demand response: for_s must be from 1 to %d (%s)", int64(MaxDemandResponseDuration/time.Second), MaxDemandResponseDuration)
	case req.End.IsZero() && req.For == 0:
		return nil, joule.Errorf(joule.EINVALID, "demand response: give for_s (a duration, at most %s) or an end: an event without an end is refused", MaxDemandResponseDuration)
	}
	if dr.Deadline.IsZero() {
		dr.Deadline = now.Add(req.Within)
	}
	if req.For > 0 {
		dr.End = dr.Deadline.Add(req.For)
	}
	switch {
	case dr.Deadline.After(now.Add(MaxDemandResponseLead)):
		return nil, joule.Errorf(joule.EINVALID, "demand response: the deadline %s is more than %s away", dr.Deadline.UTC().Format(time.RFC3339), MaxDemandResponseLead)
	case !dr.End.After(dr.Deadline):
		return nil, joule.Errorf(joule.EINVALID, "demand response: the end must be after the deadline")
	case !dr.End.After(now):
		return nil, joule.Errorf(joule.EINVALID, "demand response: the end %s has passed", dr.End.UTC().Format(time.RFC3339))
	case dr.End.Sub(dr.Deadline) > MaxDemandResponseDuration:
		return nil, joule.Errorf(joule.EINVALID, "demand response: the event lasts more than %s after its deadline", MaxDemandResponseDuration)
	}
	return dr, nil
}

// CreateDemandResponse declares an event at a site that exists, audits it and plans
// the site at once. The level must be within the site's cap, and at least what the
// site's firm GPU leases draw while the event holds unless the request sheds firm load
// (ECONFLICT, naming the firm load in watts); an event that sheds it is audited as such.
func (o *Operations) CreateDemandResponse(ctx context.Context, site string, req DemandResponseRequest) (*joule.DemandResponse, error) {
	now := o.now()
	dr, err := req.event(site, now)
	if err != nil {
		return nil, err
	}
	s, err := o.Sites.Site(ctx, site)
	if err != nil {
		return nil, err
	}
	if dr.ReduceToW > s.PowerCapW {
		return nil, joule.Errorf(joule.EINVALID, "demand response: reduce_to_w %d W (%s) is above the site's cap of %d W (%s)",
			int64(dr.ReduceToW), dr.ReduceToW, int64(s.PowerCapW), s.PowerCapW)
	}
	firmW, err := o.firmW(ctx, site, now, dr.Deadline, dr.End)
	if err != nil {
		return nil, err
	}
	sheds := dr.ReduceToW < firmW
	if sheds && !req.ShedFirm {
		return nil, joule.Errorf(joule.ECONFLICT, "demand response: reduce_to_w %d W is below the %d W (%s) that %s's firm GPU leases draw while the event holds; "+
			"set shed_firm (joule dr --shed-firm) to cut firm load", int64(dr.ReduceToW), int64(firmW), firmW, site)
	}
	dr.By, dr.ShedFirm = actorOr(req.Actor, joule.ActorOperator), req.ShedFirm
	if err := o.Live.CreateDemandResponse(ctx, dr); err != nil {
		return nil, err
	}
	reason := "demand response declared"
	detail := fmt.Sprintf("demand response %d: at most %s by %s until %s", dr.ID, dr.ReduceToW, dr.Deadline.UTC().Format(time.RFC3339), dr.End.UTC().Format(time.RFC3339))
	if sheds {
		reason += ", shedding firm load"
		detail += fmt.Sprintf("; sheds up to %s of the %s that firm GPU leases draw", firmW-dr.ReduceToW, firmW)
	}
	if err := o.changed(ctx, site, now, dr.By, reason, detail); err != nil {
		return nil, err
	}
	return dr, nil
}

// DemandResponses returns the site's events that have not ended, by deadline.
func (o *Operations) DemandResponses(ctx context.Context, site string) ([]*joule.DemandResponse, error) {
	if _, err := o.Sites.Site(ctx, site); err != nil {
		return nil, err
	}
	return o.Live.DemandResponses(ctx, site, o.now())
}

// DemandResponseHistory returns the site's newest n events, whether they stand, have
// ended or were cancelled, newest first.
func (o *Operations) DemandResponseHistory(ctx context.Context, site string, n int) ([]*joule.DemandResponse, error) {
	if _, err := o.Sites.Site(ctx, site); err != nil {
		return nil, err
	}
	return o.Live.DemandResponseHistory(ctx, site, n)
}

// CancelDemandResponse calls off the site's event id now: it ends at once, is
// audited, and the site is planned again without it. ENOTFOUND when the site has no
// such event; ECONFLICT when it had ended or was cancelled already.
func (o *Operations) CancelDemandResponse(ctx context.Context, site string, id int64, actor string) (*joule.DemandResponse, error) {
	if _, err := o.Sites.Site(ctx, site); err != nil {
		return nil, err
	}
	now := o.now()
	dr, err := o.Live.CancelDemandResponse(ctx, site, id, now)
	if err != nil {
		return nil, err
	}
	detail := fmt.Sprintf("demand response %d cancelled: at most %s no longer asked", dr.ID, dr.ReduceToW)
	if err := o.changed(ctx, site, now, actor, "demand response cancelled", detail); err != nil {
		return nil, err
	}
	return dr, nil
}

// changed audits an operator's change of the site's events, as actor (an account's
// ID; empty: joule.ActorOperator), and plans the site again.
func (o *Operations) changed(ctx context.Context, site string, now time.Time, actor, reason, detail string) error {
	if err := o.Live.AppendAudit(ctx, &joule.Audit{Site: site, At: now, RecordedAt: now, Kind: joule.AuditEvent,
		Outcome: joule.OutcomeOK, Reason: reason, Actor: actorOr(actor, joule.ActorOperator), Detail: detail}); err != nil {
		return err
	}
	if o.Planner != nil {
		o.Planner.Trigger(site)
	}
	return nil
}

// ReportDevices keeps an agent's census as the site's newest, in the store: it
// survives a restart of the server and is the same for every replica. A census
// without a time is stamped now; its problems are cut to joule.MaxReportedProblems.
func (o *Operations) ReportDevices(ctx context.Context, site string, r *joule.DeviceReport) error {
	r.Site = site
	if r.At.IsZero() {
		r.At = o.now()
	}
	if len(r.Problems) > joule.MaxReportedProblems {
		r.Problems = r.Problems[:joule.MaxReportedProblems]
	}
	return o.Live.SaveDeviceReport(ctx, r)
}

// Devices returns the site's newest census, or ENOTFOUND before its agent's first.
func (o *Operations) Devices(ctx context.Context, site string) (*joule.DeviceReport, error) {
	return o.Live.DeviceReport(ctx, site)
}
