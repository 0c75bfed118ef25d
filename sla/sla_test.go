package sla_test

import (
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/sla"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

// polls returns a sample of server every 15 s over [from, to) seconds, serving or not.
func polls(server string, from, to int, serving, capped bool) []sla.Sample {
	var ss []sla.Sample
	for s := from; s < to; s += 15 {
		ss = append(ss, sla.Sample{Server: server, At: at(s), Serving: serving, Capped: capped})
	}
	return ss
}

func lease(class joule.LeaseClass, servers ...string) *sla.Lease {
	l := &sla.Lease{ID: "L1", Tenant: "acme", Class: class, GPUsPerServer: 8, PriceMicroUSDPerGPUHour: 2_000_000}
	for _, s := range servers {
		l.Holds = append(l.Holds, sla.Hold{Server: s, Start: at(0), End: at(3600)})
	}
	return l
}

// A firm lease of two servers for an hour, one of them off for the middle 15 minutes:
// 900 server-seconds unserved, 8 GPUs each: 2 GPU-hours at $2 refunded, and the same
// again as a penalty under the default terms.
func TestFirmUnservedIsRefundedWithPenalty(t *testing.T) {
	var ss []sla.Sample
	ss = append(ss, polls("n1", 0, 3600, true, false)...)
	ss = append(ss, polls("n2", 0, 1350, true, false)...)
	ss = append(ss, polls("n2", 1350, 2250, false, false)...)
	ss = append(ss, polls("n2", 2250, 3600, true, false)...)
	r := sla.Assess(lease(joule.LeaseFirm, "n1", "n2"), ss, sla.DefaultTerms)
	if r.UnservedSec != 900 || r.ServedSec != 7200-900 || r.UnknownSec != 0 || r.ExcusedSec != 0 {
		t.Errorf("%+v", r)
	}
	if r.RefundMicroUSD != 4_000_000 || r.PenaltyMicroUSD != 4_000_000 || r.Owed() != 8_000_000 {
		t.Errorf("refund %v penalty %v", r.RefundMicroUSD, r.PenaltyMicroUSD)
	}
}

// A curtailable lease curtailed inside its excused window is refunded for that time
// without penalty; curtailed outside it, it is owed as a firm lease is.
func TestCurtailableExcusedWindow(t *testing.T) {
	var ss []sla.Sample
	ss = append(ss, polls("n1", 0, 1800, true, false)...)
	ss = append(ss, polls("n1", 1800, 3600, false, false)...)
	l := lease(joule.LeaseCurtailable, "n1")
	l.Excused = []sla.Window{{Start: at(1800), End: at(2700)}, {Start: at(2000), End: at(2400)}} // overlapping windows count once
	r := sla.Assess(l, ss, sla.DefaultTerms)
	if r.ExcusedSec != 900 || r.UnservedSec != 900 || r.ServedSec != 1800 {
		t.Errorf("%+v", r)
	}
	// 1,800 s × 8 GPUs = 4 GPU-hours refunded at $2; a penalty on the 2 outside the window.
	if r.RefundMicroUSD != 8_000_000 || r.PenaltyMicroUSD != 4_000_000 {
		t.Errorf("refund %v penalty %v", r.RefundMicroUSD, r.PenaltyMicroUSD)
	}
	// The same windows on a firm lease excuse nothing.
	l.Class = joule.LeaseFirm
	if r := sla.Assess(l, ss, sla.DefaultTerms); r.ExcusedSec != 0 || r.UnservedSec != 1800 {
		t.Errorf("firm: %+v", r)
	}
}

// An interruptible lease off for half an hour pays nothing for it and gets no penalty;
// capped for the other half, it pays the capped price for that time.
func TestInterruptibleRefundAndCap(t *testing.T) {
	var ss []sla.Sample
	ss = append(ss, polls("n1", 0, 1800, true, true)...)
	ss = append(ss, polls("n1", 1800, 3600, false, false)...)
	l := lease(joule.LeaseInterruptible, "n1")
	l.CappedMicroUSDPerGPUHour = 1_500_000
	r := sla.Assess(l, ss, sla.DefaultTerms)
	if r.CappedSec != 1800 || r.UnservedSec != 1800 {
		t.Errorf("%+v", r)
	}
	// Off: 4 GPU-hours × $2 = $8; capped: 4 GPU-hours × $0.50 = $2.
	if r.RefundMicroUSD != 10_000_000 || r.PenaltyMicroUSD != 0 {
		t.Errorf("refund %v penalty %v", r.RefundMicroUSD, r.PenaltyMicroUSD)
	}
}

// Time with no evidence is unknown and never credited: before a server's first sample,
// and past MaxGap after its last.
func TestNoEvidenceNoCredit(t *testing.T) {
	ss := []sla.Sample{{Server: "n1", At: at(600), Serving: false}, {Server: "n1", At: at(3000), Serving: true}}
	r := sla.Assess(lease(joule.LeaseFirm, "n1"), ss, sla.DefaultTerms)
	// 600 s unknown before; 90 s unserved after the first sample, then unknown to 3000;
	// 90 s served after the second, unknown to the end.
	if r.UnservedSec != 90 || r.ServedSec != 90 || r.UnknownSec != 3600-180 {
		t.Errorf("%+v", r)
	}
	if r := sla.Assess(lease(joule.LeaseFirm, "n1"), nil, sla.DefaultTerms); r.UnknownSec != 3600 || r.Owed() != 0 {
		t.Errorf("no samples: %+v", r)
	}
	// Samples of servers the lease does not hold, or outside its holds, count for nothing.
	other := append(polls("n9", 0, 3600, false, false), polls("n1", 3600, 7200, false, false)...)
	if r := sla.Assess(lease(joule.LeaseFirm, "n1"), other, sla.DefaultTerms); r.UnservedSec != 0 || r.Owed() != 0 {
		t.Errorf("samples of others: %+v", r)
	}
}

// Holds that move (resale, preemption) are read each against its own server, and
// samples arrive in any order.
func TestMovedHoldsAndUnsortedSamples(t *testing.T) {
	l := &sla.Lease{ID: "L1", Class: joule.LeaseFirm, GPUsPerServer: 8, PriceMicroUSDPerGPUHour: 3_600_000,
		Holds: []sla.Hold{{Server: "n1", Start: at(0), End: at(1800)}, {Server: "n2", Start: at(1800), End: at(3600)}}}
	ss := append(polls("n2", 0, 3600, false, false), polls("n1", 0, 3600, true, false)...)
	for i, j := 0, len(ss)-1; i < j; i, j = i+1, j-1 {
		ss[i], ss[j] = ss[j], ss[i]
	}
	r := sla.Assess(l, ss, sla.Terms{MaxGap: 90 * time.Second})
	if r.ServedSec != 1800 || r.UnservedSec != 1800 || r.PenaltyMicroUSD != 0 {
		t.Errorf("%+v", r)
	}
	// 1,800 s × 8 GPUs at $3.60 per GPU-hour: $14.40.
	if r.RefundMicroUSD != 14_400_000 {
		t.Errorf("refund %v", r.RefundMicroUSD)
	}
}
