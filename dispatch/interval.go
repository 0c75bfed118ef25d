package dispatch

import "github.com/joule-site/joule"

// Interval is one dispatch interval: when it starts, how long it lasts, and what power
// is worth during it.
type Interval struct {
	Now         int64 // start of the interval, Unix seconds
	IntervalSec int64
	// HashpriceUSDPerPHDay is net of pool fee: what a PH/s earns the site per day.
	HashpriceUSDPerPHDay float64
	EnergyUSDPerMWh      float64
	// GPUUSDPerHour is the open-market price of a GPU-hour for capacity not under a
	// lease, and GPUUtilization the fraction of that capacity expected to sell.
	GPUUSDPerHour  float64
	GPUUtilization float64
}

// Lease commits some servers of a GPU unit to a tenant for the interval.
type Lease struct {
	Unit    int // index into Site.Units
	Servers int
	// Class is the lease's: interruptible runs while its price beats the energy price;
	// curtailable is powered whatever the price except during a demand-response event,
	// once NoticeSec has passed since the event was announced, when it runs as
	// interruptible does; every other class (firm, or empty) is powered whatever the
	// price and only the cap may shed it, as a breach.
	Class         joule.LeaseClass
	USDPerGPUHour float64
	// NoticeSec is the notice a curtailable lease is owed before it may be curtailed.
	NoticeSec int64
	// CapFrac, when above 0, is the power limit the lease's servers may be held to
	// while it may be interrupted, as a fraction of their nameplate wall power (e.g.
	// 0.65), and CappedUSDPerGPUHour what a GPU-hour earns while capped: dispatch caps
	// such a lease's servers before it stops them. Firm leases are never capped.
	CapFrac             float64
	CappedUSDPerGPUHour float64
	// Nodes names the servers the leases are bound to (Servers of them), for the plan
	// to tell the agent which to keep serving; the policy counts, it does not read them.
	Nodes []string
}

// Event is a demand-response event: from Deadline until End the site draws at most
// ReduceToW. The interval that contains the deadline is already held to it, so power
// is down by the deadline.
type Event struct {
	ReduceToW joule.Watts
	Deadline  int64 // Unix seconds
	End       int64 // Unix seconds; 0 means open-ended
	// Announced is when the site learnt of the event, Unix seconds: a curtailable
	// lease's notice runs from it. 0 counts the notice from Deadline.
	Announced int64
}

// Commitments are what the site owes this interval.
type Commitments struct {
	Leases []Lease
	Events []Event
}

// capAt is the site cap during the interval, lowered by active events.
func capAt(capW joule.Watts, m *Interval, c *Commitments) joule.Watts {
	end := m.Now + m.IntervalSec
	for _, e := range c.Events {
		if end > e.Deadline && (e.End == 0 || m.Now < e.End) && e.ReduceToW < capW {
			capW = max(e.ReduceToW, 0)
		}
	}
	return capW
}

// curtailing says whether a curtailable lease owed noticeSec of notice may be
// curtailed in the interval: an event holds the site's power in it and its notice has
// run out by the interval's start.
func curtailing(m *Interval, c *Commitments, noticeSec int64) bool {
	end := m.Now + m.IntervalSec
	for _, e := range c.Events {
		if end <= e.Deadline || (e.End != 0 && m.Now >= e.End) {
			continue
		}
		from := e.Announced
		if from == 0 {
			from = e.Deadline
		}
		if m.Now >= from+noticeSec {
			return true
		}
	}
	return false
}
