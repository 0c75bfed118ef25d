package exchange

import (
	"slices"
	"time"

	"github.com/joule-site/joule"
)

// window is the hour slots an on-demand or spot lease starting at now holds: the
// current one and HoldAheadHours after it, never past stopAt (when ≥ 0).
func (e *Engine) window(b *book, now time.Time, stopAt int) (int, int) {
	a := b.slot(unixHour(now))
	z := a + 1 + e.cfg.HoldAheadHours
	if stopAt >= 0 {
		z = min(z, stopAt)
	}
	return a, z
}

// fillRunning leases an on-demand or spot order's GPUs from now, all or none. On-demand
// may preempt spot leases whose notice ends in time; spot only takes free capacity.
func (e *Engine) fillRunning(o *orderState, now time.Time) bool {
	b := o.b
	stopAt := -1
	if !o.End.IsZero() {
		stopAt = b.slot(unixHour(o.End))
	}
	a, z := e.window(b, now, stopAt)
	if a < 0 || z <= a {
		return false
	}
	by := &buyer{account: o.Account, limit: o.LimitMicroUSDPerGPUHour, class: o.leaseClass(), now: now, preempt: o.Kind == joule.OrderOnDemand}
	need := int32(o.GPUs)
	for i := a; i < z; i++ {
		if e.avail(b, by, i, need) < need {
			return false
		}
	}
	sp := e.save()
	picks := e.picks[:0]
	for i := a; i < z; i++ {
		if !e.take(b, by, i, need, nil, &picks) {
			e.rollback(sp)
			return false
		}
	}
	e.picks = picks
	e.newLease(o, by, picks, o.GPUs, now, b.slotTime(z), stopAt < 0 || z < stopAt)
	o.FilledGPUs = o.GPUs
	return true
}

// renewAll renews every open-ended lease up to the window of now: on-demand first, then
// spot by bid, so a renewal never loses capacity to a lower priority.
func (e *Engine) renewAll(now time.Time) {
	var open []*leaseState
	for _, l := range e.leases {
		if l.OpenEnded {
			open = append(open, l)
		}
	}
	slices.SortFunc(open, func(a, b *leaseState) int {
		if ai, bi := a.Class == joule.LeaseInterruptible, b.Class == joule.LeaseInterruptible; ai != bi {
			if ai {
				return 1
			}
			return -1
		}
		if a.limit != b.limit {
			if a.limit > b.limit {
				return -1
			}
			return 1
		}
		if a.seq < b.seq {
			return -1
		}
		return 1
	})
	for _, l := range open {
		e.renew(l, now)
	}
}

// renew extends an open-ended lease hour by hour to the window of now, preferring the
// sources it already uses. If an hour cannot be had at or below the order's limit, the
// lease stops renewing and ends with the hours it holds: its tenant still has those.
func (e *Engine) renew(l *leaseState, now time.Time) {
	b := l.b
	_, z := e.window(b, now, l.stopAt)
	from := l.to()
	if from >= z {
		if l.stopAt >= 0 && from >= l.stopAt {
			l.OpenEnded, l.EndReason = false, joule.LeaseEndTerm
			e.touchLease(l)
		}
		return
	}
	b.ensure(z)
	by := &buyer{account: l.Tenant, limit: l.limit, class: l.Class, now: now, preempt: l.Class != joule.LeaseInterruptible}
	var prefer []*source
	for _, s := range l.shares {
		if s.z == from && !slices.Contains(prefer, s.src) {
			prefer = append(prefer, s.src)
		}
	}
	picks := e.picks[:0]
	end := from
	for i := from; i < z; i++ {
		sp, n := e.save(), len(picks)
		if !e.take(b, by, i, int32(l.GPUs), prefer, &picks) {
			e.rollback(sp)
			picks = picks[:n]
			l.OpenEnded, l.EndReason = false, joule.LeaseEndRenewal
			break
		}
		end = i + 1
	}
	e.picks = picks
	e.touchLease(l)
	if end > from {
		fresh := e.bindAll(l, addPicks(nil, picks))
		l.shares = mergeShares(l.shares, fresh)
		hold(l)
		l.End = b.slotTime(end)
		l.sync()
		e.recordFills(l, fresh)
	}
	if l.stopAt >= 0 && end >= l.stopAt && l.OpenEnded {
		l.OpenEnded, l.EndReason = false, joule.LeaseEndTerm
	}
}

// mergeShares appends fresh shares to a lease's, joining each to the one it continues.
func mergeShares(shares, fresh []share) []share {
	shares = slices.Clone(shares)
	for _, f := range fresh {
		joined := false
		for j := range shares {
			if s := &shares[j]; s.src == f.src && s.z == f.a && s.gpus == f.gpus && s.price == f.price && slices.Equal(s.servers, f.servers) {
				s.z = f.z
				joined = true
				break
			}
		}
		if !joined {
			shares = append(shares, f)
		}
	}
	return shares
}

// Stop ends an on-demand or spot lease now, for reason, as account by (empty: none
// named). Its GPUs come free at the next hour boundary (the hour slot it is in stays
// held), and resting bids get another try. A reserved block cannot be stopped: resell
// its hours instead.
func (e *Engine) Stop(leaseID string, reason joule.LeaseEnd, by string) (*Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	l, ok := e.leases[leaseID]
	if !ok {
		return nil, joule.Errorf(joule.ENOTFOUND, "lease %s not found", leaseID)
	}
	now := e.cfg.Now()
	if !l.OpenEnded && !l.End.After(now) {
		return nil, joule.Errorf(joule.ECONFLICT, "lease %s has already ended", leaseID)
	}
	if l.kind == joule.OrderReserved {
		return nil, joule.Errorf(joule.ECONFLICT, "lease %s is a reserved block: resell its hours instead of stopping it", leaseID)
	}
	e.begin()
	e.cut(l, l.b.slot(ceilHour(now)))
	l.End = now
	l.OpenEnded = false
	l.Status = joule.LeaseEnded
	l.EndReason, l.EndedBy = reason, by
	l.sync()
	e.rematch(now)
	return e.result(nil), nil
}
