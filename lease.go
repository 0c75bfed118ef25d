package joule

import (
	"math/bits"
	"slices"
	"time"
)

// LeaseClass says how a lease may be interrupted. Dispatch powers firm leases whatever
// the price; it may curtail the others.
type LeaseClass string

// Lease classes.
const (
	// LeaseFirm holds its GPUs for every hour it covers; nothing takes them back.
	LeaseFirm LeaseClass = "firm"
	// LeaseInterruptible (spot) may be preempted by a higher-priority order: the tenant
	// gets NoticeSec of notice, and the GPUs go at the next hour boundary after it.
	LeaseInterruptible LeaseClass = "interruptible"
	// LeaseCurtailable keeps its GPUs, but the site may power them down for a grid event
	// after NoticeSec of notice; it is priced below firm. Demand response will honour
	// it once leases deliver compute (joule node on each GPU server); until then the
	// site's commitments (leasing.Service.Commitments) dispatch it as firm.
	LeaseCurtailable LeaseClass = "curtailable"
)

// LeaseStatus is where a lease is in its life.
type LeaseStatus string

// Lease statuses.
const (
	LeaseActive    LeaseStatus = "active"    // holds its GPUs, now or from its Start
	LeaseEnded     LeaseStatus = "ended"     // reached End, or was stopped
	LeasePreempted LeaseStatus = "preempted" // notice given at NoticeAt; the GPUs go at End
)

// LeaseEnd says why a lease ends: set when it ends or stops renewing, so that an
// on-demand lease running out its last hour already says why, and kept after.
type LeaseEnd string

// Why leases end.
const (
	LeaseEndTerm      LeaseEnd = "term"      // reached the end its order asked for
	LeaseEndStopped   LeaseEnd = "stopped"   // stopped by its tenant or the operator (EndedBy)
	LeaseEndCredit    LeaseEnd = "credit"    // its tenant's credit ran out
	LeaseEndPreempted LeaseEnd = "preempted" // a bid of higher priority took its GPUs after notice
	LeaseEndRenewal   LeaseEnd = "renewal"   // the next hour was not to be had at its limit
)

// Describe says in words why a lease ended (or will end).
func (r LeaseEnd) Describe(by string) string {
	switch r {
	case LeaseEndTerm:
		return "reached the end its order asked for"
	case LeaseEndStopped:
		if by != "" {
			return "stopped by " + by
		}
		return "stopped"
	case LeaseEndCredit:
		return "stopped: the tenant's credit ran out"
	case LeaseEndPreempted:
		return "preempted after notice by a bid of higher priority"
	case LeaseEndRenewal:
		return "not renewed: no GPUs for the next hour at its limit"
	}
	return ""
}

// LeaseShare is the part of a lease one seller's capacity covers: GPUs for the hour
// slots [Start, End), both hour-aligned, at the seller's ask.
type LeaseShare struct {
	Seller string `json:"seller"` // account that owns the capacity
	// ResaleOrder is the resale order the share bought from; empty when the GPUs come
	// from the seller's own servers.
	ResaleOrder             string    `json:"resale_order,omitempty"`
	GPUs                    int       `json:"gpus"`
	Start                   time.Time `json:"start"`
	End                     time.Time `json:"end"`
	PriceMicroUSDPerGPUHour MicroUSD  `json:"price_micro_usd_per_gpu_hour"`
	// Servers are the servers the share's GPUs are on for all its hours, sorted: whole
	// servers, GPUs / GPUsPerNode of them (a lease is whole servers: see Product). For a
	// share bought from a resale they are servers of the lease resold.
	Servers []string `json:"servers,omitempty"`
}

// LeaseRelease is servers a lease resold for hours [Start, End): during them they are
// bound to the buyer's lease, not to this one.
type LeaseRelease struct {
	ResaleOrder string    `json:"resale_order"`
	Lease       string    `json:"lease"` // the buyer's lease
	Servers     []string  `json:"servers"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
}

// Binding is the servers a lease holds over [Start, End), the same in every hour of it.
type Binding struct {
	Servers []string  `json:"servers"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
}

// Fill is one share of a lease as a match created it: what the buyer pays whom.
type Fill struct {
	Order string `json:"order"`
	Lease string `json:"lease"`
	LeaseShare
}

// Lease is GPUs of a product committed to a tenant for [Start, End). It has the same
// number of GPUs in every hour it covers; Sellers say whose capacity covers each hour
// and at what price, and together they cover exactly GPUs in every hour slot the lease
// touches.
//
// A reserved lease is hour-aligned. An on-demand or spot lease starts when it fills; it
// is OpenEnded while it runs, its End then being the end of the hours it holds so far
// (it renews hour by hour), and when stopped End is the moment it stopped; the hour
// slot that contains End stays held to its end.
type Lease struct {
	ID        string     `json:"id"`
	Order     string     `json:"order"`
	Tenant    string     `json:"tenant"`
	Product   string     `json:"product"`
	Class     LeaseClass `json:"class"`
	NoticeSec int64      `json:"notice_sec,omitempty"` // notice before preemption or curtailment
	GPUs      int        `json:"gpus"`
	Start     time.Time  `json:"start"`
	End       time.Time  `json:"end"`
	OpenEnded bool       `json:"open_ended,omitempty"`
	// PriceMicroUSDPerGPUHour is the GPU-hour-weighted mean of the shares' prices, rounded
	// half up, for display and dispatch; Cost bills exactly from the shares.
	PriceMicroUSDPerGPUHour MicroUSD     `json:"price_micro_usd_per_gpu_hour"`
	Sellers                 []LeaseShare `json:"sellers"`
	// Resold is the servers this lease sold hours of (a resale order of its own): they
	// are the buyer's in those hours. ServersAt leaves them out.
	Resold   []LeaseRelease `json:"resold,omitempty"`
	Status   LeaseStatus    `json:"status"`
	NoticeAt time.Time      `json:"notice_at,omitzero"` // when preemption notice was given
	// EndReason is why the lease ends, once that is certain; EndedBy the account that
	// stopped it, when one did.
	EndReason LeaseEnd `json:"end_reason,omitempty"`
	EndedBy   string   `json:"ended_by,omitempty"`
}

// Clone returns a copy that shares no memory with l.
func (l *Lease) Clone() Lease {
	c := *l
	c.Sellers = append([]LeaseShare(nil), l.Sellers...)
	c.Resold = append([]LeaseRelease(nil), l.Resold...)
	if len(l.Resold) == 0 {
		c.Resold = l.Resold
	}
	return c
}

// ServersAt returns the servers the lease holds at time t, sorted: those of the shares
// whose hours contain t, less those resold for that hour. It is the binding dispatch,
// the agent, metering and the workload engine act on; empty when t is outside the
// lease's hours.
func (l *Lease) ServersAt(t time.Time) []string {
	var out []string
	for _, s := range l.Sellers {
		if !t.Before(s.Start) && t.Before(s.End) {
			out = append(out, s.Servers...)
		}
	}
	for _, r := range l.Resold {
		if !t.Before(r.Start) && t.Before(r.End) {
			out = slices.DeleteFunc(out, func(n string) bool { return slices.Contains(r.Servers, n) })
		}
	}
	slices.Sort(out)
	return out
}

// Bindings returns the lease's servers over time: one Binding per run of hour slots
// that hold the same servers, in time order, leaving out hours that hold none (all
// resold). A lease that keeps its servers has one.
func (l *Lease) Bindings() []Binding {
	var cuts []time.Time
	for _, s := range l.Sellers {
		cuts = append(cuts, s.Start, s.End)
	}
	for _, r := range l.Resold {
		cuts = append(cuts, r.Start, r.End)
	}
	slices.SortFunc(cuts, func(a, b time.Time) int { return a.Compare(b) })
	cuts = slices.CompactFunc(cuts, func(a, b time.Time) bool { return a.Equal(b) })
	var out []Binding
	for i := 0; i+1 < len(cuts); i++ {
		servers := l.ServersAt(cuts[i])
		if len(servers) == 0 {
			continue
		}
		if n := len(out); n > 0 && out[n-1].End.Equal(cuts[i]) && slices.Equal(out[n-1].Servers, servers) {
			out[n-1].End = cuts[i+1]
			continue
		}
		out = append(out, Binding{Servers: servers, Start: cuts[i], End: cuts[i+1]})
	}
	return out
}

// Cost is what the lease costs over [from, to), clipped to [Start, End): for every share,
// GPUs × price × seconds / 3600, summed exactly and rounded half up once. Metering that
// charges Cost(Start, t) minus what it has already charged never accumulates rounding.
func (l *Lease) Cost(from, to time.Time) MicroUSD {
	if from.Before(l.Start) {
		from = l.Start
	}
	if to.After(l.End) {
		to = l.End
	}
	var hi, lo uint64 // 128-bit sum of GPU-µUSD-seconds: no overflow for any real lease
	for _, s := range l.Sellers {
		a, b := Later(from, s.Start), Earlier(to, s.End)
		if !b.After(a) || s.PriceMicroUSDPerGPUHour <= 0 {
			continue
		}
		secs := uint64(b.Sub(a) / time.Second)
		h1, l1 := bits.Mul64(uint64(s.GPUs)*secs, uint64(s.PriceMicroUSDPerGPUHour))
		var c uint64
		lo, c = bits.Add64(lo, l1, 0)
		hi += h1 + c
	}
	lo, c := bits.Add64(lo, 1800, 0) // half up
	hi += c
	if hi >= 3600 { // beyond int64 MicroUSD; cannot happen for a real lease
		return MicroUSD(1<<63 - 1)
	}
	q, _ := bits.Div64(hi, lo, 3600)
	return MicroUSD(min(q, 1<<63-1))
}

// GPUHours returns the lease's GPU-hours over its hour slots, the weights of its mean price.
func (l *Lease) GPUHours() int64 {
	var n int64
	for _, s := range l.Sellers {
		n += int64(s.GPUs) * int64(s.End.Sub(s.Start)/time.Hour)
	}
	return n
}

// Later returns the later of two times.
func Later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Earlier returns the earlier of two times.
func Earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
