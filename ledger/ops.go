package ledger

import (
	"github.com/joule-site/joule"
)

// Deposit adds prepaid credit to a tenant, from outside.
func (l *Ledger) Deposit(key, tenant string, amount joule.MicroUSD) (joule.LedgerTransaction, error) {
	if err := checkAmount("deposit", amount); err != nil {
		return joule.LedgerTransaction{}, err
	}
	return l.postLocked(joule.LedgerTransaction{Key: key, Kind: KindDeposit, Tenant: tenant,
		Postings: transfer(ExternalCash, TenantCredit(tenant), amount)})
}

// Hold sets amount of a tenant's credit aside for an order: the most a reserved order
// can cost (Order.MaxCost), or an on-demand lease's next hours. A tenant without enough
// credit gets ECREDIT saying how much it has and needs, and nothing is held. Holding
// again for the same order adds to its hold.
func (l *Ledger) Hold(key, tenant, order string, amount joule.MicroUSD) (joule.LedgerTransaction, error) {
	if err := checkAmount("hold", amount); err != nil {
		return joule.LedgerTransaction{}, err
	}
	if order == "" {
		return joule.LedgerTransaction{}, joule.Errorf(joule.EINVALID, "ledger: a hold names its order")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, seen := l.keys[key]; !seen || key == "" {
		if have := l.balances[TenantCredit(tenant)]; have < amount {
			return joule.LedgerTransaction{}, insufficient(tenant, have, amount)
		}
	}
	return l.post(joule.LedgerTransaction{Key: key, Kind: KindHold, Tenant: tenant, Order: order,
		Postings: transfer(TenantCredit(tenant), TenantHold(tenant), amount)})
}

// Release returns what is left of an order's hold to its tenant's credit: when the order
// is cancelled, expires, or has been billed in full. Releasing a hold with nothing left
// writes nothing and returns a zero Transaction.
func (l *Ledger) Release(key, order string) (joule.LedgerTransaction, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if i, seen := l.keys[key]; seen && key != "" {
		if prev := l.txs[i]; prev.Kind == KindRelease && prev.Order == order {
			return clone(&prev), nil
		}
		return joule.LedgerTransaction{}, joule.Errorf(joule.ECONFLICT, "ledger: key %q was used for another transaction", key)
	}
	h := l.holds[order]
	if h == nil {
		return joule.LedgerTransaction{}, joule.Errorf(joule.ENOTFOUND, "ledger: nothing was held for order %s", order)
	}
	if h.amount == 0 {
		return joule.LedgerTransaction{}, nil
	}
	return l.post(joule.LedgerTransaction{Key: key, Kind: KindRelease, Tenant: h.tenant, Order: order,
		Postings: transfer(TenantHold(h.tenant), TenantCredit(h.tenant), h.amount)})
}

// Charge bills usage of a lease.
type Charge struct {
	Key    string // idempotency key
	Tenant string // who pays
	// Order, for Capture, is the order whose hold pays; Charge pays from credit.
	Order string
	Lease string // the lease billed, for statements
	// Seller is the revenue account of whoever's capacity was used: OwnerRevenue,
	// OperatorRevenue, or TenantCredit of a tenant that resold hours of its lease.
	Seller joule.LedgerAccount
	// Amount is what the tenant pays: a block's hours or the on-demand or spot seconds
	// metering measured (joule.Lease.Cost).
	Amount joule.MicroUSD
	// FeeBPS is the platform's fee in basis points of Amount (0 to 10,000), rounded half
	// up; the seller gets the rest.
	FeeBPS int
	Memo   string // shown on statements
}

// Charge bills usage from the tenant's credit: on-demand and spot seconds. Credit too
// short for it is ECREDIT and nothing is written; the caller stops the lease.
func (l *Ledger) Charge(c Charge) (joule.LedgerTransaction, error) {
	if c.Order != "" {
		return joule.LedgerTransaction{}, joule.Errorf(joule.EINVALID, "ledger: a charge from credit names no order; capture from its hold instead")
	}
	return l.bill(KindCharge, TenantCredit(c.Tenant), c)
}

// Capture bills usage from an order's hold: a reserved block's hours as they are used
// (or all at once), an on-demand lease's held hours. More than is held is EFORBIDDEN.
func (l *Ledger) Capture(c Charge) (joule.LedgerTransaction, error) {
	if c.Order == "" {
		return joule.LedgerTransaction{}, joule.Errorf(joule.EINVALID, "ledger: a capture names the order whose hold pays")
	}
	return l.bill(KindCapture, TenantHold(c.Tenant), c)
}

func (l *Ledger) bill(kind joule.LedgerKind, from joule.LedgerAccount, c Charge) (joule.LedgerTransaction, error) {
	if err := checkAmount(string(kind), c.Amount); err != nil {
		return joule.LedgerTransaction{}, err
	}
	if c.FeeBPS < 0 || c.FeeBPS > 10_000 {
		return joule.LedgerTransaction{}, joule.Errorf(joule.EINVALID, "ledger: fee must be 0 to 10,000 basis points, not %d", c.FeeBPS)
	}
	if c.Seller == from || c.Seller == ExternalCash || c.Seller == PlatformFees {
		return joule.LedgerTransaction{}, joule.Errorf(joule.EINVALID, "ledger: %s cannot be paid as a seller", c.Seller)
	}
	fee, net := Split(c.Amount, c.FeeBPS)
	ps := []joule.LedgerPosting{{Account: from, Amount: -c.Amount}}
	if net != 0 {
		ps = append(ps, joule.LedgerPosting{Account: c.Seller, Amount: net})
	}
	if fee != 0 {
		ps = append(ps, joule.LedgerPosting{Account: PlatformFees, Amount: fee})
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, seen := l.keys[c.Key]; (!seen || c.Key == "") && kind == KindCharge {
		if have := l.balances[from]; have < c.Amount {
			return joule.LedgerTransaction{}, insufficient(c.Tenant, have, c.Amount)
		}
	}
	return l.post(joule.LedgerTransaction{Key: c.Key, Kind: kind, Tenant: c.Tenant, Order: c.Order, Lease: c.Lease, Memo: c.Memo, Postings: ps})
}

// HostingFee bills an owner one month of hosting at a site: its contracted power (the
// month's average, for servers added or removed mid-month) at a rate per kW-month. The
// owner's revenue may go negative: it then owes the site.
func (l *Ledger) HostingFee(key, owner, site string, contracted joule.Watts, ratePerKWMonth joule.MicroUSD) (joule.LedgerTransaction, error) {
	if err := joule.CheckMicroUSD("ledger: hosting rate per kW-month", ratePerKWMonth); err != nil {
		return joule.LedgerTransaction{}, err
	}
	amount, ok := mulDivHalfUp(int64(contracted), int64(ratePerKWMonth), 1000)
	if !ok || contracted < 0 {
		return joule.LedgerTransaction{}, joule.Errorf(joule.EINVALID, "ledger: hosting fee: %d W at %d micro-USD per kW-month is out of range", int64(contracted), int64(ratePerKWMonth))
	}
	if err := checkAmount("hosting fee", amount); err != nil {
		return joule.LedgerTransaction{}, err
	}
	return l.postLocked(joule.LedgerTransaction{Key: key, Kind: KindHosting, Memo: owner + " at " + site,
		Postings: transfer(OwnerRevenue(owner), SiteHosting(site), amount)})
}

// PassThroughEnergy bills an owner for the energy its servers drew at a site: watt-hours
// at a price per MWh. Like hosting, it may take the owner's revenue below zero.
func (l *Ledger) PassThroughEnergy(key, owner, site string, wattHours int64, pricePerMWh joule.MicroUSD) (joule.LedgerTransaction, error) {
	if err := joule.CheckMicroUSD("ledger: energy price per MWh", pricePerMWh); err != nil {
		return joule.LedgerTransaction{}, err
	}
	amount, ok := mulDivHalfUp(wattHours, int64(pricePerMWh), 1_000_000)
	if !ok || wattHours < 0 {
		return joule.LedgerTransaction{}, joule.Errorf(joule.EINVALID, "ledger: energy charge: %d Wh at %d micro-USD per MWh is out of range", wattHours, int64(pricePerMWh))
	}
	if err := checkAmount("energy charge", amount); err != nil {
		return joule.LedgerTransaction{}, err
	}
	return l.postLocked(joule.LedgerTransaction{Key: key, Kind: KindEnergy, Memo: owner + " at " + site,
		Postings: transfer(OwnerRevenue(owner), SiteEnergy(site), amount)})
}

// Payout pays amount of an account's balance out of the system: an owner's revenue to
// its bank, a tenant's unused credit back. More than the balance is EFORBIDDEN.
// leasing.Service.Payout pays owners out through it (joule payout).
func (l *Ledger) Payout(key string, from joule.LedgerAccount, amount joule.MicroUSD) (joule.LedgerTransaction, error) {
	if err := checkAmount("payout", amount); err != nil {
		return joule.LedgerTransaction{}, err
	}
	if from == ExternalCash || isHold(from) {
		return joule.LedgerTransaction{}, joule.Errorf(joule.EINVALID, "ledger: cannot pay out of %s", from)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, seen := l.keys[key]; !seen || key == "" {
		if have := l.balances[from]; have < amount {
			return joule.LedgerTransaction{}, joule.Errorf(joule.EFORBIDDEN, "ledger: %s holds %s, less than the %s to pay out", from, have, amount)
		}
	}
	return l.post(joule.LedgerTransaction{Key: key, Kind: KindPayout, Postings: transfer(from, ExternalCash, amount)})
}

func (l *Ledger) postLocked(tx joule.LedgerTransaction) (joule.LedgerTransaction, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.post(tx)
}

func transfer(from, to joule.LedgerAccount, amount joule.MicroUSD) []joule.LedgerPosting {
	return []joule.LedgerPosting{{Account: from, Amount: -amount}, {Account: to, Amount: amount}}
}

// checkAmount refuses an operation's amount that is not positive or is above
// joule.MaxMicroUSD, naming what the amount is for.
func checkAmount(what string, amount joule.MicroUSD) error {
	if amount <= 0 {
		return joule.Errorf(joule.EINVALID, "ledger: %s amount must be positive, not %d", what, int64(amount))
	}
	return joule.CheckMicroUSD("ledger: "+what+" amount", amount)
}

func insufficient(tenant string, have, need joule.MicroUSD) error {
	return joule.Errorf(joule.ECREDIT, "insufficient credit: tenant %s has %s available and needs %s; add credit and try again", tenant, have, need)
}
