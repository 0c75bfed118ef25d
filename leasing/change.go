package leasing

import (
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/exchange"
)

// change collects what one operation changed, for one store transaction. An order or
// lease the operation touched several times is saved once, as it ended up.
type change struct {
	joule.LeasingChange
	orders map[string]int // index in Orders
	leases map[string]int
}

func newChange(at time.Time) *change {
	return &change{LeasingChange: joule.LeasingChange{At: at}, orders: map[string]int{}, leases: map[string]int{}}
}

// empty reports whether the operation changed nothing; its audit rows alone, which
// would record a change that did not happen, do not count.
func (c *change) empty() bool {
	return len(c.Accounts) == 0 && len(c.Products) == 0 && len(c.Listings) == 0 && len(c.Orders) == 0 &&
		len(c.Leases) == 0 && len(c.Fills) == 0 && len(c.Journal) == 0 && len(c.FillPriorities) == 0 &&
		len(c.CapTerms) == 0
}

// changeAudit is the audit row of a change who made at the server's time at: in the
// exchange's own log for site "", else in the site's.
func changeAudit(who *joule.Account, at time.Time, site, reason, detail string) joule.Audit {
	return joule.Audit{Site: site, At: at, Kind: joule.AuditChange, Outcome: joule.OutcomeOK,
		Reason: reason, Actor: who.ID, Detail: detail}
}

// addResult adds what an engine operation did.
func (c *change) addResult(r *exchange.Result) {
	if r.Order != nil {
		c.addOrder(*r.Order)
	}
	for _, o := range r.Orders {
		c.addOrder(o)
	}
	for _, l := range r.Leases {
		if i, ok := c.leases[l.ID]; ok {
			c.Leases[i] = l
			continue
		}
		c.leases[l.ID] = len(c.Leases)
		c.Leases = append(c.Leases, l)
	}
	c.Fills = append(c.Fills, r.Fills...)
}

func (c *change) addOrder(o joule.Order) {
	if i, ok := c.orders[o.ID]; ok {
		c.Orders[i] = o
		return
	}
	c.orders[o.ID] = len(c.Orders)
	c.Orders = append(c.Orders, o)
}

// heldOrders returns the orders whose holds are not used up, in journal order.
func heldOrders(txs []joule.LedgerTransaction) []string {
	held := map[string]joule.MicroUSD{}
	var order []string
	for _, tx := range txs {
		for _, p := range tx.Postings {
			if isHold(p.Account) && tx.Order != "" {
				if _, seen := held[tx.Order]; !seen {
					order = append(order, tx.Order)
				}
				held[tx.Order] += p.Amount
			}
		}
	}
	var out []string
	for _, id := range order {
		if held[id] != 0 {
			out = append(out, id)
		}
	}
	return out
}

// missingOrders returns the IDs in want that orders lacks.
func missingOrders(want []string, orders []joule.Order) []string {
	have := make(map[string]bool, len(orders))
	for _, o := range orders {
		have[o.ID] = true
	}
	var out []string
	for _, id := range want {
		if !have[id] {
			out = append(out, id)
		}
	}
	return out
}

// isHold reports whether a is a tenant's hold account ("tenant:<id>:hold").
func isHold(a joule.LedgerAccount) bool {
	s := string(a)
	return len(s) > len("tenant::hold") && s[:7] == "tenant:" && s[len(s)-5:] == ":hold"
}
