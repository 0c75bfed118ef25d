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
	// every other class (firm, curtailable, or empty) is powered whatever the price and
	// only the cap may shed it, as a breach.
	Class         joule.LeaseClass
	USDPerGPUHour float64
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
