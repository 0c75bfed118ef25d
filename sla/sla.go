// Package sla works out what a lease is owed for service it did not get, from what the
// site promised it and what its servers' telemetry shows they did: no claim form.
//
// A lease holds servers over spans of time (its binding). Every span is read against
// the servers' telemetry samples: a sample's state counts from its time until the next
// sample of that server, or for at most MaxGap when none follows (a server that stops
// reporting is unknown after that, and unknown time is reported, never credited: a
// credit needs evidence). A server not serving while a lease held it is unserved time;
// a server held to a power cap below its nameplate is capped time.
//
// What each class is owed (Terms):
//   - firm: unserved time is refunded at the lease's price, and a penalty of
//     Terms.FirmPenaltyMultiple times that is paid on top;
//   - curtailable: time curtailed inside an excused window (a demand-response event
//     after the lease's notice) is refunded, without penalty; unserved time outside
//     one is owed as for firm;
//   - interruptible: unserved time is refunded (spot capacity is not billed while the
//     site has it off), without penalty;
//   - capped time of a lease that may be capped is refunded at the difference between
//     its price and its capped price.
package sla

import (
	"math/big"
	"slices"
	"time"

	"github.com/joule-site/joule"
)

// Terms are a site's service terms.
type Terms struct {
	// FirmPenaltyMultiple is the penalty on a firm lease's unserved GPU-hours, as a
	// multiple of what they cost (on top of refunding them).
	FirmPenaltyMultiple float64
	// MaxGap is how long a server's last sample speaks for it when no other follows.
	MaxGap time.Duration
}

// DefaultTerms refund a firm lease's unserved hours and pay their price again on top
// (an assumption, shaped on public GPU clouds' service-level credits, which pay back a
// share of the bill by how far availability fell; set the site's own), and let a
// sample speak for 90 seconds: six 15-second polls.
var DefaultTerms = Terms{FirmPenaltyMultiple: 1, MaxGap: 90 * time.Second}

// Hold is one server a lease holds over [Start, End).
type Hold struct {
	Server     string
	Start, End time.Time
}

// Sample is one telemetry reading of a server: whether it was serving (powered and
// offering its GPUs) and whether it was held to a power cap.
type Sample struct {
	Server  string
	At      time.Time
	Serving bool
	Capped  bool
}

// Lease is what was promised one lease over the period credited.
type Lease struct {
	ID     string
	Tenant string
	Class  joule.LeaseClass
	// GPUsPerServer are the GPUs one held server offers; the prices are per GPU-hour.
	GPUsPerServer           int
	PriceMicroUSDPerGPUHour joule.MicroUSD
	// CappedMicroUSDPerGPUHour is the price of a capped GPU-hour; 0 when the lease is
	// never capped.
	CappedMicroUSDPerGPUHour joule.MicroUSD
	Holds                    []Hold
	// Excused are the windows in which a curtailable lease may be curtailed without
	// penalty: demand-response events, from when its notice ran out to their end.
	Excused []Window
}

// Window is a span of time [Start, End).
type Window struct{ Start, End time.Time }

// Result is what a lease is owed for a period, in server-seconds of each kind and in
// money.
type Result struct {
	Lease string
	// ServedSec, UnservedSec, ExcusedSec and UnknownSec split the held
	// server-seconds: serving, not serving (owed), not serving inside an excused window,
	// and without evidence. CappedSec is the part of ServedSec held to a cap.
	ServedSec, UnservedSec, ExcusedSec, UnknownSec, CappedSec int64
	// RefundMicroUSD is what the tenant paid for what it did not get; PenaltyMicroUSD
	// what it is owed on top.
	RefundMicroUSD, PenaltyMicroUSD joule.MicroUSD
}

// Owed is the whole credit.
func (r *Result) Owed() joule.MicroUSD { return r.RefundMicroUSD + r.PenaltyMicroUSD }

// Assess works out what l is owed from samples (of any servers, in any order).
func Assess(l *Lease, samples []Sample, terms Terms) Result {
	byServer := map[string][]Sample{}
	for _, s := range samples {
		byServer[s.Server] = append(byServer[s.Server], s)
	}
	for _, ss := range byServer {
		slices.SortFunc(ss, func(a, b Sample) int { return a.At.Compare(b.At) })
	}
	var excused []Window // only a curtailable lease may be curtailed as agreed
	if l.Class == joule.LeaseCurtailable {
		excused = l.Excused
	}
	var t tally
	for _, h := range l.Holds {
		t.hold(h, byServer[h.Server], excused, terms.MaxGap)
	}
	r := Result{Lease: l.ID, ServedSec: secs(t.served), UnservedSec: secs(t.unserved), ExcusedSec: secs(t.excused),
		UnknownSec: secs(t.unknown), CappedSec: secs(t.capped)}
	gpuSec := func(sec int64) int64 { return sec * int64(l.GPUsPerServer) }
	unserved := gpuSec(r.UnservedSec)
	// Time curtailed as agreed is not paid for, and earns no penalty.
	r.RefundMicroUSD = perGPUSecond(unserved+gpuSec(r.ExcusedSec), l.PriceMicroUSDPerGPUHour, 1)
	if l.CappedMicroUSDPerGPUHour > 0 && l.CappedMicroUSDPerGPUHour < l.PriceMicroUSDPerGPUHour {
		r.RefundMicroUSD += perGPUSecond(gpuSec(r.CappedSec), l.PriceMicroUSDPerGPUHour-l.CappedMicroUSDPerGPUHour, 1)
	}
	if l.Class != joule.LeaseInterruptible && terms.FirmPenaltyMultiple > 0 {
		r.PenaltyMicroUSD = perGPUSecond(unserved, l.PriceMicroUSDPerGPUHour, terms.FirmPenaltyMultiple)
	}
	return r
}

// tally sums a lease's held time by kind, exactly; Assess converts once, so that
// samples a fraction of a second apart lose nothing to rounding.
type tally struct{ served, unserved, excused, unknown, capped time.Duration }

func secs(d time.Duration) int64 { return int64(d / time.Second) }

// hold adds one hold's time.
func (r *tally) hold(h Hold, ss []Sample, excused []Window, maxGap time.Duration) {
	if !h.End.After(h.Start) {
		return
	}
	// Each sample speaks from its time to the next one's, or for maxGap at most.
	cur := h.Start
	add := func(from, to time.Time, s *Sample) {
		from, to = joule.Later(from, h.Start), joule.Earlier(to, h.End)
		if !to.After(from) {
			return
		}
		d := to.Sub(from)
		switch {
		case s == nil:
			r.unknown += d
		case s.Serving:
			r.served += d
			if s.Capped {
				r.capped += d
			}
		default:
			in := overlap(from, to, excused)
			r.excused += in
			r.unserved += d - in
		}
	}
	var last *Sample
	for i := range ss {
		s := &ss[i]
		if !s.At.Before(h.End) {
			break
		}
		if last != nil {
			until := joule.Earlier(s.At, last.At.Add(maxGap))
			add(cur, until, last)
			cur = joule.Later(cur, until)
		}
		add(cur, s.At, nil) // before the first sample, or a gap past maxGap
		cur = joule.Later(cur, s.At)
		last = s
	}
	if last != nil {
		until := last.At.Add(maxGap)
		add(cur, until, last)
		cur = joule.Later(cur, until)
	}
	add(cur, h.End, nil)
}

// overlap is how much of [from, to) falls in the windows (which may overlap one
// another: each instant counts once).
func overlap(from, to time.Time, ws []Window) time.Duration {
	var cuts []Window
	for _, w := range ws {
		a, b := joule.Later(from, w.Start), joule.Earlier(to, w.End)
		if b.After(a) {
			cuts = append(cuts, Window{a, b})
		}
	}
	slices.SortFunc(cuts, func(x, y Window) int { return x.Start.Compare(y.Start) })
	var n time.Duration
	cur := from
	for _, c := range cuts {
		a := joule.Later(c.Start, cur)
		if c.End.After(a) {
			n += c.End.Sub(a)
			cur = c.End
		}
	}
	return n
}

// perGPUSecond is gpuSec GPU-seconds at price per GPU-hour, times multiple, rounded half
// up once.
func perGPUSecond(gpuSec int64, price joule.MicroUSD, multiple float64) joule.MicroUSD {
	if gpuSec <= 0 || price <= 0 || !(multiple > 0) {
		return 0
	}
	v := new(big.Rat).SetInt64(gpuSec)
	v.Mul(v, new(big.Rat).SetInt64(int64(price)))
	m := new(big.Rat)
	m.SetFloat64(multiple)
	v.Mul(v, m)
	v.Quo(v, big.NewRat(3600, 1))
	v.Add(v, big.NewRat(1, 2))
	q := new(big.Int).Quo(v.Num(), v.Denom())
	if !q.IsInt64() || q.Int64() > int64(joule.MaxMicroUSD) {
		return joule.MaxMicroUSD
	}
	return joule.MicroUSD(q.Int64())
}
