package agent

import (
	"context"
	"crypto/rand"
	"fmt"
	"unicode/utf8"

	"github.com/joule-site/joule"
)

// Spool keeps, durably, the audit rows the server has not taken, for a later step to
// send: the spool package's file. Append returns once the rows are on disk.
type Spool interface {
	Append(rows []*joule.Audit) error
	// Pending returns every row kept, oldest first.
	Pending() ([]*joule.Audit, error)
	// Clear forgets every row kept: the server has them.
	Clear() error
}

// maxUnsent bounds the rows the agent keeps in memory when neither the server nor the
// spool takes them; past it the oldest are dropped, and the log says so.
const maxUnsent = 100 * joule.MaxAuditRowsPerPost

// The audit trail of every command is written ahead of the command: before a step
// sends any, its command rows are posted to the server or, when the server cannot take
// them, appended to the spool and flushed to disk; a step whose rows neither took sends
// nothing. What the step saw (acknowledgements, verifications, the census) follows the
// same way after it, and each step first sends what earlier ones left in the spool.
// Every row has a key of its own (the agent's instance, the step, the row), so the
// server stores a row once however often it is sent.

// drain sends what the spool and earlier steps left unsent, oldest first, and forgets
// it once the server has it all.
func (a *Agent) drain(ctx context.Context) {
	var rows []*joule.Audit
	if a.Spool != nil {
		kept, err := a.Spool.Pending()
		if err != nil {
			a.warnf("audit spool: %v", err)
		}
		rows = kept
	}
	spooled := len(rows)
	rows = append(rows, a.unsent...)
	if len(rows) == 0 {
		return
	}
	if err := a.post(ctx, rows); err != nil {
		a.warnf("audit: %d rows of earlier steps still not sent, kept for the next step: %v", len(rows), err)
		return
	}
	a.unsent = nil
	if spooled > 0 {
		if err := a.Spool.Clear(); err != nil {
			a.warnf("audit spool: sent, but not cleared (they will be sent again, and stored once): %v", err)
		}
	}
	a.logf("audit: sent %d rows kept from earlier steps", len(rows))
}

// post sends rows to the server, at most joule.MaxAuditRowsPerPost a post.
func (a *Agent) post(ctx context.Context, rows []*joule.Audit) error {
	for len(rows) > 0 {
		n := min(len(rows), joule.MaxAuditRowsPerPost)
		if err := a.Server.ReportAudit(ctx, a.Site, rows[:n]); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// recordIntent makes a step's command rows durable before any command is sent: the
// server has them or, when it cannot be reached, the spool does. It reports whether
// the commands may go out, and says in the log why not when they may not.
func (a *Agent) recordIntent(ctx context.Context, rows []*joule.Audit) bool {
	err := a.post(ctx, rows)
	switch {
	case err == nil:
		return true
	case refused(err):
		a.warnf("%d commands not sent: the server refuses their audit: %v", len(rows), err)
		return false
	case a.Spool == nil:
		a.warnf("%d commands not sent: the server did not take their audit (%v) and the agent has no spool", len(rows), err)
		return false
	}
	if serr := a.Spool.Append(rows); serr != nil {
		a.warnf("%d commands not sent: neither the server (%v) nor the spool (%v) took their audit", len(rows), err, serr)
		return false
	}
	a.logf("audit of %d commands kept in the spool, the server did not take it: %v", len(rows), err)
	return true
}

// recordAfter sends what a step saw after its commands: to the server, else the
// spool, else memory until a later step sends it.
func (a *Agent) recordAfter(ctx context.Context, rows []*joule.Audit) {
	err := a.post(ctx, rows)
	if err == nil {
		return
	}
	if a.Spool != nil {
		serr := a.Spool.Append(rows)
		if serr == nil {
			return
		}
		err = fmt.Errorf("%w; spool: %w", err, serr)
	}
	a.warnf("audit: %d rows kept in memory for the next step: %v", len(rows), err)
	a.unsent = append(a.unsent, rows...)
	if over := len(a.unsent) - maxUnsent; over > 0 {
		a.warnf("audit: %d rows dropped, the oldest: more than %d waited to be sent", over, maxUnsent)
		a.unsent = a.unsent[over:]
	}
}

// refused reports whether the server answered a post and said no: sending the same
// again will not help (an outage, a failing server or a rate limit may).
func refused(err error) bool {
	switch joule.ErrorCode(err) {
	case joule.EINVALID, joule.EUNAUTHORIZED, joule.EFORBIDDEN, joule.ENOTFOUND, joule.EMEDIATYPE:
		return true
	}
	return false
}

// keyRows gives a step's rows, from its n-th on, their keys, and cuts their fields to
// what the server takes.
func (a *Agent) keyRows(step int64, n int, rows []*joule.Audit) {
	if a.Instance == "" {
		a.Instance = rand.Text()
	}
	for i, r := range rows {
		r.Key = fmt.Sprintf("%s/%d/%d", a.Instance, step, n+i)
		r.Detail = clip(r.Detail, joule.MaxAuditDetailBytes)
		r.Reason = clip(r.Reason, joule.MaxAuditFieldBytes)
	}
}

// clip cuts s to at most n bytes, on a character boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
