package exchange

import (
	"testing"
	"time"

	"github.com/joule-site/joule"
)

func TestOnDemandRenewsHourByHour(t *testing.T) {
	c := newClock(t0.Add(20 * time.Minute))
	e := newEngine(t, c.config(), listing("owner-a", 1, usd(2)), listing("owner-b", 1, usd(2.5)))
	r := mustSubmit(t, e, running(joule.OrderOnDemand, "od", "acme", 8, usd(3)))
	l := r.Leases[0]
	if !l.OpenEnded || !l.Start.Equal(c.Now()) || !l.End.Equal(hour(2)) || l.Class != joule.LeaseFirm {
		t.Fatalf("lease %+v: want open-ended, from now, holding this hour and the next", l)
	}
	// a block that wants owner-a for hours 3..5 takes it; the on-demand lease moves on
	mustSubmit(t, e, reserved("blk", "beta", 8, 3, 5, usd(2)))
	c.set(hour(1).Add(time.Minute))
	adv := e.Advance()
	mustCheck(t, e)
	got := leaseIn(t, adv, l.ID)
	if !got.End.Equal(hour(3)) || !got.OpenEnded {
		t.Fatalf("after an hour: %+v, want held to hour 3", got)
	}
	c.set(hour(2).Add(time.Minute))
	got = leaseIn(t, e.Advance(), l.ID)
	mustCheck(t, e)
	last := got.Sellers[len(got.Sellers)-1]
	if last.Seller != "owner-b" || !last.End.Equal(hour(4)) {
		t.Fatalf("renewal at hour 3 should come from owner-b: %+v", got.Sellers)
	}
	// stopping frees the GPUs from the next hour boundary; the current hour stays held
	c.set(hour(2).Add(30 * time.Minute))
	if got.EndReason != "" {
		t.Fatalf("a running lease says why it ends: %q", got.EndReason)
	}
	st, err := e.Stop(l.ID, joule.LeaseEndStopped, "acme")
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, e)
	got = leaseIn(t, st, l.ID)
	if got.OpenEnded || !got.End.Equal(c.Now()) || got.Status != joule.LeaseEnded {
		t.Fatalf("stopped: %+v", got)
	}
	if got.EndReason != joule.LeaseEndStopped || got.EndedBy != "acme" || got.EndReason.Describe(got.EndedBy) != "stopped by acme" {
		t.Fatalf("stopped lease says %q by %q", got.EndReason, got.EndedBy)
	}
	// billed per second: 00:20 to 02:30 is 130 minutes × 8 GPUs × $2/GPU-hour, on owner-a;
	// owner-b's hour 3 came free before it began
	if got.Cost(got.Start, got.End) != 34_666_667 || len(got.Sellers) != 1 {
		t.Fatalf("cost %d of %+v", got.Cost(got.Start, got.End), got.Sellers)
	}
	if _, err := e.Stop(l.ID, joule.LeaseEndStopped, ""); joule.ErrorCode(err) != joule.ECONFLICT {
		t.Fatalf("stopping twice: %v", err)
	}
}

func leaseIn(t *testing.T, r *Result, id string) joule.Lease {
	t.Helper()
	for _, l := range r.Leases {
		if l.ID == id {
			return l
		}
	}
	t.Fatalf("lease %s not in result %+v", id, r.Leases)
	return joule.Lease{}
}

func TestSpotPreemptionGivesNotice(t *testing.T) {
	c := newClock(t0.Add(30 * time.Minute))
	// spot leases hold the current hour and 3 more: hours 0 to 3
	e := newEngine(t, c.configWith(Config{SpotNoticeSec: 600, HoldAheadHours: 3}), listing("owner-a", 1, usd(1)))
	spot := mustSubmit(t, e, running(joule.OrderSpot, "s", "cheap", 8, usd(1.5))).Leases[0]
	if spot.Class != joule.LeaseInterruptible || spot.NoticeSec != 600 || !spot.End.Equal(hour(4)) {
		t.Fatalf("spot lease %+v", spot)
	}
	// 10 minutes before the hour, a block starting at the hour cannot take the spot
	// GPUs: their notice would be too short. It rests.
	c.set(hour(1).Add(-5 * time.Minute))
	r := mustSubmit(t, e, reserved("late", "acme", 8, 1, 2, usd(3)))
	if r.Order.Status != joule.OrderOpen || len(r.Leases) != 0 {
		t.Fatalf("a block inside the notice period took spot GPUs: %+v", r)
	}
	// a block starting at the next boundary after the notice preempts it
	r = mustSubmit(t, e, reserved("ok", "acme", 8, 2, 4, usd(3)))
	if r.Order.Status != joule.OrderFilled {
		t.Fatalf("status %s", r.Order.Status)
	}
	got := leaseIn(t, &Result{Leases: r.Leases}, spot.ID)
	if got.Status != joule.LeasePreempted || !got.NoticeAt.Equal(c.Now()) || !got.End.Equal(hour(2)) || got.OpenEnded {
		t.Fatalf("preempted spot lease %+v", got)
	}
	if got.EndReason != joule.LeaseEndPreempted {
		t.Fatalf("preempted lease says it ends for %q", got.EndReason)
	}
	if got.End.Sub(got.NoticeAt) < 600*time.Second {
		t.Fatalf("notice %s, want at least 10 minutes", got.End.Sub(got.NoticeAt))
	}
	// on-demand is refused in the current hour rather than take spot GPUs without notice
	_, err := e.Submit(running(joule.OrderOnDemand, "od", "beta", 8, usd(9)))
	wantCode(t, err, joule.ECAPACITY)
}

// TestLeasesSayWhyTheyEnd follows a block to its term and an on-demand lease whose
// next hour is taken by a block it cannot outbid: each says why it ended.
func TestLeasesSayWhyTheyEnd(t *testing.T) {
	c := newClock(t0.Add(-30 * time.Minute))
	e := newEngine(t, c.config(), listing("owner-a", 1, usd(2)))
	block := mustSubmit(t, e, reserved("blk", "beta", 8, 0, 1, usd(3))).Leases[0]
	c.set(hour(1).Add(time.Minute))
	got := leaseIn(t, e.Advance(), block.ID)
	mustCheck(t, e)
	if got.Status != joule.LeaseEnded || got.EndReason != joule.LeaseEndTerm {
		t.Fatalf("a block past its end: status %s, reason %q", got.Status, got.EndReason)
	}

	od := mustSubmit(t, e, running(joule.OrderOnDemand, "od", "acme", 8, usd(3))).Leases[0]
	mustSubmit(t, e, reserved("next", "beta", 8, 3, 4, usd(3))) // hour 3 is taken
	l := od
	for h := 2; h <= 4; h++ { // the last state of the lease the engine reported
		c.set(hour(h).Add(time.Minute))
		for _, x := range e.Advance().Leases {
			if x.ID == od.ID {
				l = x
			}
		}
		mustCheck(t, e)
	}
	if l.OpenEnded || l.EndReason != joule.LeaseEndRenewal || l.Status != joule.LeaseEnded {
		t.Fatalf("on-demand lease without a next hour: %+v", l)
	}
}
