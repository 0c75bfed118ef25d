package live

import (
	"context"
	"time"

	"github.com/joule-site/joule"
)

// AppendAgentAudit appends what a site's agent reports: commands, acknowledgements,
// verifications, measured power and events. Every row is recorded as actor's (the
// account that posted it: the agent's ID; empty, joule.ActorAgent for an agent in
// process) whatever it says, and stamped with the server's time beside the agent's own.
// A post is refused whole, and nothing stored, when it holds more than
// joule.MaxAuditRowsPerPost rows or any row is null or not the site's, is a plan (the loop's to
// audit), has an outcome joule does not know, a time before 1970 or more than
// joule.MaxAuditClockAhead ahead of the server's, or a field beyond its bound. A row
// without a time takes the server's.
func (o *Operations) AppendAgentAudit(ctx context.Context, site, actor string, events []*joule.Audit) error {
	if len(events) > joule.MaxAuditRowsPerPost {
		return joule.Errorf(joule.EINVALID, "audit: %d rows in one post; at most %d (post a step in parts)", len(events), joule.MaxAuditRowsPerPost)
	}
	now := o.now()
	for i, e := range events {
		if err := checkAgentRow(i, e, site, now); err != nil {
			return err
		}
	}
	if _, err := o.Sites.Site(ctx, site); err != nil {
		return err
	}
	actor = actorOr(actor, joule.ActorAgent)
	for _, e := range events {
		e.Site, e.ID, e.Actor, e.RecordedAt = site, 0, actor, now
		if e.At.IsZero() {
			e.At = now
		}
	}
	return o.Live.AppendAudit(ctx, events...)
}

// checkAgentRow says why row i of an agent's post to site cannot be stored at now, or
// nil when it can.
func checkAgentRow(i int, e *joule.Audit, site string, now time.Time) error {
	if e == nil {
		return joule.Errorf(joule.EINVALID, "audit row %d is null", i)
	}
	switch e.Kind {
	case joule.AuditCommand, joule.AuditAck, joule.AuditVerify, joule.AuditReport, joule.AuditEvent:
	default:
		return joule.Errorf(joule.EINVALID, "audit row %d: kind %q: an agent reports command, ack, verify, report or event", i, e.Kind)
	}
	switch {
	case e.Site != "" && e.Site != site:
		return joule.Errorf(joule.EINVALID, "audit row %d: site %q is not %q, the site it is posted to", i, e.Site, site)
	case e.Outcome != "" && !e.Outcome.Valid():
		return joule.Errorf(joule.EINVALID, "audit row %d: unknown outcome %q", i, e.Outcome)
	case !e.At.IsZero() && e.At.Before(time.Unix(0, 0)):
		return joule.Errorf(joule.EINVALID, "audit row %d: at %s is before 1970: the agent's clock is not set", i, e.At.UTC().Format(time.RFC3339))
	case e.At.After(now.Add(joule.MaxAuditClockAhead)):
		return joule.Errorf(joule.EINVALID, "audit row %d: at %s is %s ahead of the server's clock; at most %s", i,
			e.At.UTC().Format(time.RFC3339), e.At.Sub(now).Round(time.Second), joule.MaxAuditClockAhead)
	case len(e.Detail) > joule.MaxAuditDetailBytes:
		return joule.Errorf(joule.EINVALID, "audit row %d: detail is %d bytes; at most %d", i, len(e.Detail), joule.MaxAuditDetailBytes)
	}
	for _, f := range []struct{ name, value string }{{"reason", e.Reason}, {"device", e.Device}, {"key", e.Key}} {
		if len(f.value) > joule.MaxAuditFieldBytes {
			return joule.Errorf(joule.EINVALID, "audit row %d: %s is %d bytes; at most %d", i, f.name, len(f.value), joule.MaxAuditFieldBytes)
		}
	}
	return nil
}

// actorOr is actor, or dflt when there is none.
func actorOr(actor, dflt string) string {
	if actor == "" {
		return dflt
	}
	return actor
}
