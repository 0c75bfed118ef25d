package live

import (
	"context"
	"fmt"
	"time"

	"github.com/joule-site/joule"
)

// Planner plans a site at once (the Loop does): Operations asks it when a
// demand-response event is declared or cancelled, so the site's next plan does not
// wait for the interval.
type Planner interface {
	Trigger(site string)
}

// SiteFinder finds a site by name, or ENOTFOUND.
type SiteFinder interface {
	Site(ctx context.Context, name string) (*joule.Site, error)
}

// Operations is the one path for what people and agents do to a live site: declare,
// list and cancel demand-response events, append the audit rows an agent reports, and
// keep the census of the site's devices. It holds the rules; Live stores. Every event
// declared or cancelled is audited, and the site planned again at once.
type Operations struct {
	Sites   SiteFinder
	Live    joule.LiveService
	Planner Planner          // nil: sites are planned on the loop's schedule only
	Now     func() time.Time // nil: the wall clock
}

// Bounds of a demand-response event. Grid programmes call events from minutes to a day
// ahead and hold them for hours; a deadline or an end further out is a mistake in the
// request (a lead time in milliseconds read as seconds, say), not an event.
const (
	MaxDemandResponseLead     = 48 * time.Hour     // from now to the deadline
	MaxDemandResponseDuration = 7 * 24 * time.Hour // from the deadline to the end
)

// DemandResponseRequest declares an event: the level, when it must hold — a
// Deadline, or a lead time Within from now (neither: at once) — and until when — an
// End, or a duration For after the deadline (neither: until cancelled).
type DemandResponseRequest struct {
	// Actor is who declares the event, as the audit log records it: an account's ID;
	// empty, joule.ActorOperator.
	Actor     string
	ReduceToW joule.Watts
	Deadline  time.Time
	Within    time.Duration
	End       time.Time
	For       time.Duration
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
		return nil, joule.Errorf(joule.EINVALID, "demand response: for_s must be from 0 (until cancelled) to %d (%s)", int64(MaxDemandResponseDuration/time.Second), MaxDemandResponseDuration)
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
	case dr.End.IsZero():
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
// the site at once.
func (o *Operations) CreateDemandResponse(ctx context.Context, site string, req DemandResponseRequest) (*joule.DemandResponse, error) {
	now := o.now()
	dr, err := req.event(site, now)
	if err != nil {
		return nil, err
	}
	if _, err := o.Sites.Site(ctx, site); err != nil {
		return nil, err
	}
	if err := o.Live.CreateDemandResponse(ctx, dr); err != nil {
		return nil, err
	}
	detail := fmt.Sprintf("demand response %d: at most %s by %s", dr.ID, dr.ReduceToW, dr.Deadline.UTC().Format(time.RFC3339))
	if !dr.End.IsZero() {
		detail += " until " + dr.End.UTC().Format(time.RFC3339)
	}
	if err := o.changed(ctx, site, now, req.Actor, "demand response declared", detail); err != nil {
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
	if actor == "" {
		actor = joule.ActorOperator
	}
	if err := o.Live.AppendAudit(ctx, &joule.Audit{Site: site, At: now, Kind: joule.AuditEvent,
		Outcome: joule.OutcomeOK, Reason: reason, Actor: actor, Detail: detail}); err != nil {
		return err
	}
	if o.Planner != nil {
		o.Planner.Trigger(site)
	}
	return nil
}

// AppendAgentAudit appends what a site's agent reports: commands, acknowledgements,
// verifications, measured power and events. The rows are the site's and the agent's
// whatever they say; plans are the loop's to audit, and an outcome must be one of
// joule's (or none, from an agent older than outcomes).
func (o *Operations) AppendAgentAudit(ctx context.Context, site string, events []*joule.Audit) error {
	for i, e := range events {
		if e == nil {
			return joule.Errorf(joule.EINVALID, "audit: event %d is null", i)
		}
		e.Site, e.ID, e.Actor = site, 0, joule.ActorAgent
		switch e.Kind {
		case joule.AuditCommand, joule.AuditAck, joule.AuditVerify, joule.AuditReport, joule.AuditEvent:
		default:
			return joule.Errorf(joule.EINVALID, "audit: an agent may not report kind %q", e.Kind)
		}
		if e.Outcome != "" && !e.Outcome.Valid() {
			return joule.Errorf(joule.EINVALID, "audit: unknown outcome %q", e.Outcome)
		}
	}
	return o.Live.AppendAudit(ctx, events...)
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
