package ledger

import (
	"github.com/joule-site/joule"
)

// KindCredit is a service credit: a tenant paid back for hours its lease did not get
// as sold (capped, curtailed, or not served at all).
const KindCredit joule.LedgerKind = "credit"

// Credit is a service credit to a tenant for one lease.
type Credit struct {
	Key    string // idempotency key: one per lease and period credited
	Tenant string
	Lease  string
	// Refund is what the tenant paid for what it did not get. It is taken back as the
	// sale split it: the platform's fee at FeeBPS (rounded half up, as on the sale) and
	// the rest from Seller, the revenue account the hours were sold from.
	Refund joule.MicroUSD
	Seller joule.LedgerAccount
	FeeBPS int
	// Penalty is paid to the tenant on top of the refund, by Payer: the site
	// operator's revenue account, since it is the site that did not serve.
	Penalty joule.MicroUSD
	Payer   joule.LedgerAccount
	Memo    string
}

// Credit posts a service credit: the tenant's credit rises by Refund + Penalty; the
// seller and the platform give back their shares of the refund, and the payer pays the
// penalty. An owner's or the operator's revenue may go negative by it (they then owe
// it); the platform's fees may not.
func (l *Ledger) Credit(c Credit) (joule.LedgerTransaction, error) {
	if c.Refund < 0 || c.Penalty < 0 || c.Refund+c.Penalty <= 0 {
		return joule.LedgerTransaction{}, joule.Errorf(joule.EINVALID, "ledger: a credit needs a positive refund or penalty, and neither negative")
	}
	if err := joule.CheckMicroUSD("ledger: credit amount", c.Refund+c.Penalty); err != nil {
		return joule.LedgerTransaction{}, err
	}
	if c.FeeBPS < 0 || c.FeeBPS > 10_000 {
		return joule.LedgerTransaction{}, joule.Errorf(joule.EINVALID, "ledger: fee must be 0 to 10,000 basis points, not %d", c.FeeBPS)
	}
	if c.Tenant == "" || c.Lease == "" {
		return joule.LedgerTransaction{}, joule.Errorf(joule.EINVALID, "ledger: a credit names its tenant and lease")
	}
	to := TenantCredit(c.Tenant)
	postings := map[joule.LedgerAccount]joule.MicroUSD{to: c.Refund + c.Penalty}
	order := []joule.LedgerAccount{to}
	take := func(a joule.LedgerAccount, amount joule.MicroUSD) error {
		if amount == 0 {
			return nil
		}
		if a == to || a == ExternalCash || isHold(a) || !valid(a) {
			return joule.Errorf(joule.EINVALID, "ledger: %s cannot pay a credit", a)
		}
		if _, ok := postings[a]; !ok {
			order = append(order, a)
		}
		postings[a] -= amount
		return nil
	}
	fee, net := Split(c.Refund, c.FeeBPS)
	for _, p := range []struct {
		from   joule.LedgerAccount
		amount joule.MicroUSD
	}{{c.Seller, net}, {PlatformFees, fee}, {c.Payer, c.Penalty}} {
		if err := take(p.from, p.amount); err != nil {
			return joule.LedgerTransaction{}, err
		}
	}
	ps := make([]joule.LedgerPosting, 0, len(order))
	for _, a := range order {
		if postings[a] != 0 {
			ps = append(ps, joule.LedgerPosting{Account: a, Amount: postings[a]})
		}
	}
	return l.postLocked(joule.LedgerTransaction{Key: c.Key, Kind: KindCredit, Tenant: c.Tenant, Lease: c.Lease, Memo: c.Memo, Postings: ps})
}
