// Package ledger keeps the exchange's money: a double-entry journal in integer
// micro-dollars. Every operation writes one balanced transaction (its postings sum to
// zero) or, when it fails, nothing at all, so the trial balance is zero after every
// operation and no tenant's credit or hold ever goes negative.
//
// Accounts are named by who owns them and what for:
//
//	tenant:<id>:credit     prepaid credit a tenant can spend
//	tenant:<id>:hold       credit set aside for its orders (per order, tracked by the ledger)
//	owner:<id>:revenue     what a GPU owner earned, less fees; may go negative when it owes the site
//	operator:<id>:revenue  what the operator's own servers earned; may go negative when it owes tenants service credits
//	platform:fees          the platform's cut of every sale
//	site:<id>:hosting      hosting fees owners pay a site, per kW-month
//	site:<id>:energy       energy passed through to owners
//	external:cash          the world outside: deposits come from it, payouts go to it
//
// A posting's amount adds to its account's balance: a deposit posts −x to external:cash
// and +x to the tenant's credit. Balances are therefore "what the account holds"; the
// sum over all accounts is zero.
//
// Every operation takes an idempotency key: a retry with the same key and the same
// content returns the transaction the first call wrote and writes nothing again; the
// same key with other content is ECONFLICT. An empty key turns this off.
//
// Rounding: every amount derived from a rate (a fee in basis points, a kW-month rate, an
// energy price, a per-second price) is computed exactly in 128 bits and rounded half up
// once; a fee is taken from the amount it is a fee on and the remainder goes to the
// seller, so fee + net is the amount exactly.
//
// Bounds: no operation moves more than joule.MaxMicroUSD ($1 billion) in one amount,
// and a posting that would take a balance beyond what an int64 holds is refused (EINVALID)
// rather than wrapped, so that a balance is always the exact sum of its postings.
//
// The ledger is in memory and does no I/O of its own: it hands every transaction to a
// Journal before applying it (write-ahead), and Replay rebuilds it from the journal.
package ledger

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/joule-site/joule"
)

// Well-known accounts.
const (
	PlatformFees joule.LedgerAccount = "platform:fees"
	ExternalCash joule.LedgerAccount = "external:cash"
)

// TenantCredit is a tenant's spendable prepaid credit.
func TenantCredit(tenant string) joule.LedgerAccount {
	return joule.LedgerAccount("tenant:" + tenant + ":credit")
}

// TenantHold is the credit a tenant has set aside for its orders.
func TenantHold(tenant string) joule.LedgerAccount {
	return joule.LedgerAccount("tenant:" + tenant + ":hold")
}

// OwnerRevenue is what a GPU owner has earned, net of platform fees, less what it owes.
func OwnerRevenue(owner string) joule.LedgerAccount {
	return joule.LedgerAccount("owner:" + owner + ":revenue")
}

// OperatorRevenue is what the operator's own servers have earned.
func OperatorRevenue(operator string) joule.LedgerAccount {
	return joule.LedgerAccount("operator:" + operator + ":revenue")
}

// SiteHosting collects hosting fees at a site.
func SiteHosting(site string) joule.LedgerAccount {
	return joule.LedgerAccount("site:" + site + ":hosting")
}

// SiteEnergy collects energy passed through to owners at a site.
func SiteEnergy(site string) joule.LedgerAccount {
	return joule.LedgerAccount("site:" + site + ":energy")
}

// valid reports whether a is one of the account forms above, with a slug for its id.
func valid(a joule.LedgerAccount) bool {
	switch a {
	case PlatformFees, ExternalCash:
		return true
	}
	parts := strings.Split(string(a), ":")
	if len(parts) != 3 || !joule.ValidSlug(parts[1]) {
		return false
	}
	switch parts[0] + ":" + parts[2] {
	case "tenant:credit", "tenant:hold", "owner:revenue", "operator:revenue", "site:hosting", "site:energy":
		return true
	}
	return false
}

// mayGoNegative reports whether a balance may fall below zero: only the outside world's
// (which funds everything), an owner's (which may owe the site more than it earned) and
// the operator's (which may owe tenants service credits beyond what it earned).
func mayGoNegative(a joule.LedgerAccount) bool {
	return a == ExternalCash || strings.HasPrefix(string(a), "owner:") || strings.HasPrefix(string(a), "operator:")
}

// isHold reports whether a is a tenant's hold account.
func isHold(a joule.LedgerAccount) bool {
	return strings.HasPrefix(string(a), "tenant:") && strings.HasSuffix(string(a), ":hold")
}

// Transaction kinds.
const (
	KindDeposit joule.LedgerKind = "deposit" // credit from outside
	KindHold    joule.LedgerKind = "hold"    // credit set aside for an order
	KindRelease joule.LedgerKind = "release" // what is left of a hold, back to credit
	KindCapture joule.LedgerKind = "capture" // usage paid from a hold, to the seller and the platform
	KindCharge  joule.LedgerKind = "charge"  // usage paid from credit, to the seller and the platform
	KindHosting joule.LedgerKind = "hosting" // an owner's hosting fee to the site
	KindEnergy  joule.LedgerKind = "energy"  // energy an owner's servers drew, passed through to it
	KindPayout  joule.LedgerKind = "payout"  // a balance paid out of the system
)

// Journal is where the ledger writes each transaction before applying it. If Append
// fails, the operation fails and the ledger is unchanged. Implementations persist
// transactions in order; Replay reads them back.
type Journal interface {
	Append(tx joule.LedgerTransaction) error
}

// Config sets up a Ledger.
type Config struct {
	// Now stamps transactions; time.Now when nil.
	Now func() time.Time
	// Journal persists transactions; none when nil (the ledger still keeps them in memory).
	Journal Journal
}

// hold is what is set aside for one order.
type hold struct {
	tenant string
	amount joule.MicroUSD
}

// Ledger is the double-entry book. It is safe for concurrent use.
type Ledger struct {
	mu       sync.Mutex
	cfg      Config
	balances map[joule.LedgerAccount]joule.MicroUSD
	holds    map[string]*hold // by order
	keys     map[string]int   // idempotency key → index in txs
	txs      []joule.LedgerTransaction
}

// New returns an empty ledger.
func New(cfg Config) *Ledger {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Ledger{cfg: cfg, balances: map[joule.LedgerAccount]joule.MicroUSD{}, holds: map[string]*hold{}, keys: map[string]int{}}
}

// Balance returns what an account holds.
func (l *Ledger) Balance(a joule.LedgerAccount) joule.MicroUSD {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.balances[a]
}

// Held returns what is still set aside for an order.
func (l *Ledger) Held(order string) joule.MicroUSD {
	l.mu.Lock()
	defer l.mu.Unlock()
	if h := l.holds[order]; h != nil {
		return h.amount
	}
	return 0
}

// TrialBalance returns the sum of every account's balance: zero in a sound ledger.
func (l *Ledger) TrialBalance() joule.MicroUSD {
	l.mu.Lock()
	defer l.mu.Unlock()
	var sum joule.MicroUSD
	for _, b := range l.balances {
		sum += b
	}
	return sum
}

// Balances returns a copy of every account's balance.
func (l *Ledger) Balances() map[joule.LedgerAccount]joule.MicroUSD {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[joule.LedgerAccount]joule.MicroUSD, len(l.balances))
	for a, b := range l.balances {
		out[a] = b
	}
	return out
}

// Transactions returns copies of the transactions in journal order.
func (l *Ledger) Transactions() []joule.LedgerTransaction {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]joule.LedgerTransaction, len(l.txs))
	for i, tx := range l.txs {
		out[i] = clone(&tx)
	}
	return out
}

func clone(tx *joule.LedgerTransaction) joule.LedgerTransaction {
	c := *tx
	c.Postings = append([]joule.LedgerPosting(nil), tx.Postings...)
	return c
}

// Check verifies the ledger from scratch: every transaction balances, the balances are
// what the journal sums to, the trial balance is zero, no tenant's credit or hold is
// negative, and each tenant's hold account equals the sum of its orders' holds.
func (l *Ledger) Check() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	sums := map[joule.LedgerAccount]joule.MicroUSD{}
	for _, tx := range l.txs {
		var total joule.MicroUSD
		for _, p := range tx.Postings {
			total += p.Amount
			sums[p.Account] += p.Amount
		}
		if total != 0 {
			return fmt.Errorf("ledger: transaction %d does not balance: off by %d", tx.ID, total)
		}
	}
	var trial joule.MicroUSD
	for a, b := range l.balances {
		trial += b
		if sums[a] != b {
			return fmt.Errorf("ledger: %s is %d, its postings sum to %d", a, b, sums[a])
		}
		if b < 0 && !mayGoNegative(a) {
			return fmt.Errorf("ledger: %s is negative: %d", a, b)
		}
	}
	if trial != 0 {
		return fmt.Errorf("ledger: trial balance is %d, not zero", trial)
	}
	perTenant := map[string]joule.MicroUSD{}
	for order, h := range l.holds {
		if h.amount < 0 {
			return fmt.Errorf("ledger: hold of order %s is negative", order)
		}
		perTenant[h.tenant] += h.amount
	}
	for a, b := range l.balances {
		if isHold(a) && perTenant[strings.Split(string(a), ":")[1]] != b {
			return fmt.Errorf("ledger: %s is %d, its orders' holds sum to %d", a, b, perTenant[strings.Split(string(a), ":")[1]])
		}
	}
	return nil
}
