package leasing

import (
	"strings"
	"time"

	"github.com/joule-site/joule"
)

// Stats is a summary of the exchange now, for metrics: read from the matcher's memory
// and the ledger, never from the store, so that a scrape costs no query.
type Stats struct {
	// RestingOrders counts the orders in the book by status (open, partially filled).
	RestingOrders map[joule.OrderStatus]int
	// Leases counts the leases that hold GPUs this hour or later, by status.
	Leases map[joule.LeaseStatus]int
	// GPUsLeased is how many GPUs leases hold at the time asked.
	GPUsLeased int
	// CreditHeld is the credit tenants have set aside for their orders; CreditAvailable
	// what they may still spend.
	CreditHeld, CreditAvailable joule.MicroUSD
}

// Stats summarizes the exchange at now.
func (s *Service) Stats(now time.Time) Stats {
	state, balances := s.State()
	st := Stats{RestingOrders: map[joule.OrderStatus]int{}, Leases: map[joule.LeaseStatus]int{}}
	for _, o := range state.Orders {
		if !o.Status.Terminal() {
			st.RestingOrders[o.Status]++
		}
	}
	for _, l := range state.Leases {
		st.Leases[l.Status]++
		if l.Status != joule.LeaseEnded && !now.Before(l.Start) && (l.OpenEnded || now.Before(l.End)) {
			st.GPUsLeased += l.GPUs
		}
	}
	for a, b := range balances {
		switch {
		case isHold(a):
			st.CreditHeld += b
		case strings.HasPrefix(string(a), "tenant:") && strings.HasSuffix(string(a), ":credit"):
			st.CreditAvailable += b
		}
	}
	return st
}
