// Package billing turns the exchange's ledger into what its accounts are sent: a
// tenant's monthly invoice and an owner's or the operator's monthly statement. It reads
// one month of the stored journal, by time, and the bill's accounts' balances before
// it, summed by the store, instead of replaying the whole journal. It moves no money:
// the ledger and the exchange's metering do.
package billing

import (
	"context"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/ledger"
)

// Store is where billing reads the journal: the exchange's store.
type Store interface {
	// Account returns an account by ID, or ENOTFOUND.
	Account(ctx context.Context, id string) (*joule.Account, error)
	// LedgerSpan reads, as of one moment, the transactions in [from, to) and the
	// accounts' balances at from.
	LedgerSpan(ctx context.Context, from, to time.Time, accounts ...joule.LedgerAccount) (*joule.LedgerSpan, error)
}

// Service answers for invoices and statements over a store.
type Service struct {
	Store Store
}

// Invoice is what a tenant's month came to, built from the ledger: GPU time bought
// (reserved blocks when they filled, on-demand and spot by the second as metered),
// hours it resold, credit deposited and paid out, and its credit before and after.
// Amounts are integer micro-dollars.
type Invoice struct {
	Tenant string    `json:"tenant"`
	Name   string    `json:"name"`
	Month  string    `json:"month"` // YYYY-MM, UTC
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Lines  []Line    `json:"lines"`
	// UsageMicroUSD is what the tenant paid for GPU time; ResaleMicroUSD what it earned
	// reselling hours, net of the platform fee.
	UsageMicroUSD    joule.MicroUSD `json:"usage_micro_usd"`
	ResaleMicroUSD   joule.MicroUSD `json:"resale_micro_usd"`
	DepositsMicroUSD joule.MicroUSD `json:"deposits_micro_usd"`
	PayoutsMicroUSD  joule.MicroUSD `json:"payouts_micro_usd"`
	// ServiceCreditsMicroUSD is what the site paid back for hours its leases did not get
	// as sold (capped, curtailed or not served), with any penalty on top.
	ServiceCreditsMicroUSD joule.MicroUSD `json:"service_credits_micro_usd"`
	// Credit is spendable credit at From and at To (or now, for the current month);
	// ClosingHeld is what open orders held at To.
	OpeningCreditMicroUSD joule.MicroUSD `json:"opening_credit_micro_usd"`
	ClosingCreditMicroUSD joule.MicroUSD `json:"closing_credit_micro_usd"`
	ClosingHeldMicroUSD   joule.MicroUSD `json:"closing_held_micro_usd"`
}

// Line is one ledger transaction on an invoice or a statement. Amount is what the
// line adds to (positive) or takes from (negative) the account the page is about.
type Line struct {
	At     time.Time      `json:"at"`
	Kind   string         `json:"kind"` // usage, resale, deposit, payout, service credit; on statements sale, hosting, energy
	TxID   int64          `json:"tx_id"`
	Order  string         `json:"order,omitempty"`
	Lease  string         `json:"lease,omitempty"`
	Memo   string         `json:"memo"`
	Amount joule.MicroUSD `json:"amount_micro_usd"`
	// Gross and Fee are a sale's price and the platform's cut of it (statements).
	Gross joule.MicroUSD `json:"gross_micro_usd,omitempty"`
	Fee   joule.MicroUSD `json:"fee_micro_usd,omitempty"`
}

// Statement is what an owner's (or the operator's) month came to: sales of its
// servers' hours, gross and net of the platform fee, hosting and energy it owes the
// site, payouts, and its revenue balance before and after.
type Statement struct {
	Account string            `json:"account"`
	Name    string            `json:"name"`
	Role    joule.AccountRole `json:"role"`
	Month   string            `json:"month"`
	From    time.Time         `json:"from"`
	To      time.Time         `json:"to"`
	Lines   []Line            `json:"lines"`
	// Gross is what tenants paid for the account's GPU-hours, Fees the platform's cut,
	// Net the rest: the account's revenue.
	GrossMicroUSD   joule.MicroUSD `json:"gross_micro_usd"`
	FeesMicroUSD    joule.MicroUSD `json:"fees_micro_usd"`
	NetMicroUSD     joule.MicroUSD `json:"net_micro_usd"`
	HostingMicroUSD joule.MicroUSD `json:"hosting_micro_usd"`
	EnergyMicroUSD  joule.MicroUSD `json:"energy_micro_usd"`
	PayoutsMicroUSD joule.MicroUSD `json:"payouts_micro_usd"`
	// ServiceCreditsMicroUSD is what the account gave back to tenants as service
	// credits: its share of refunds for hours not served as sold, and penalties it paid.
	ServiceCreditsMicroUSD joule.MicroUSD `json:"service_credits_micro_usd"`
	// PlatformFeesMicroUSD is every fee the platform took that month (operator only).
	PlatformFeesMicroUSD   joule.MicroUSD `json:"platform_fees_micro_usd,omitempty"`
	OpeningBalanceMicroUSD joule.MicroUSD `json:"opening_balance_micro_usd"`
	ClosingBalanceMicroUSD joule.MicroUSD `json:"closing_balance_micro_usd"`
}

// ParseMonth returns the UTC month "YYYY-MM" as [from, to).
func ParseMonth(month string) (time.Time, time.Time, error) {
	from, err := time.Parse("2006-01", month)
	if err != nil {
		return time.Time{}, time.Time{}, joule.Errorf(joule.EINVALID, "month %q: use YYYY-MM", month)
	}
	return from, from.AddDate(0, 1, 0), nil
}

// Invoice returns a tenant's invoice for a month: to the tenant itself or the operator.
// Another tenant's invoice is EFORBIDDEN.
func (s *Service) Invoice(ctx context.Context, who *joule.Account, tenant, month string) (*Invoice, error) {
	if !who.Sees(tenant) {
		return nil, joule.Errorf(joule.EFORBIDDEN, "an invoice is shown only to its tenant and the operator")
	}
	from, to, err := ParseMonth(month)
	if err != nil {
		return nil, err
	}
	a, err := s.Store.Account(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if a.Role != joule.RoleTenant {
		return nil, joule.Errorf(joule.EINVALID, "%s is a %s; owners and operators get statements", tenant, a.Role)
	}
	credit, hold := ledger.TenantCredit(tenant), ledger.TenantHold(tenant)
	span, err := s.Store.LedgerSpan(ctx, from, to, credit, hold)
	if err != nil {
		return nil, err
	}
	opening, txs := span.Opening, span.Transactions
	inv := &Invoice{Tenant: a.ID, Name: a.Name, Month: month, From: from, To: to, Lines: []Line{},
		OpeningCreditMicroUSD: opening[credit], ClosingCreditMicroUSD: opening[credit], ClosingHeldMicroUSD: opening[hold]}
	for _, tx := range txs {
		dc, dh := posted(tx, credit), posted(tx, hold)
		inv.ClosingCreditMicroUSD += dc
		inv.ClosingHeldMicroUSD += dh
		line := Line{At: tx.At, TxID: tx.ID, Order: tx.Order, Lease: tx.Lease, Memo: tx.Memo}
		switch {
		case (tx.Kind == ledger.KindCapture || tx.Kind == ledger.KindCharge) && tx.Tenant == tenant:
			// What the tenant paid: its postings, from its hold (a capture) or its credit
			// (a charge), wherever they stand in the transaction.
			line.Kind, line.Amount = "usage", dc+dh
			inv.UsageMicroUSD -= line.Amount
		case tx.Kind == ledger.KindCapture && dc > 0: // another tenant bought hours this one resold
			line.Kind, line.Amount, line.Order, line.Lease = "resale", dc, "", ""
			line.Memo = "resold hours: " + tx.Memo
			inv.ResaleMicroUSD += dc
		case tx.Kind == ledger.KindDeposit && dc > 0:
			line.Kind, line.Amount = "deposit", dc
			line.Memo = "credit added"
			inv.DepositsMicroUSD += dc
		case tx.Kind == ledger.KindPayout && dc < 0:
			line.Kind, line.Amount = "payout", dc
			line.Memo = "credit paid out"
			inv.PayoutsMicroUSD -= dc
		case tx.Kind == ledger.KindCredit && dc > 0:
			line.Kind, line.Amount = "service credit", dc
			inv.ServiceCreditsMicroUSD += dc
		default:
			continue // holds and releases move credit aside and back: not money spent
		}
		inv.Lines = addLine(inv.Lines, line)
	}
	return inv, nil
}

// posted is what a transaction adds to one account.
func posted(tx joule.LedgerTransaction, a joule.LedgerAccount) joule.MicroUSD {
	var d joule.MicroUSD
	for _, p := range tx.Postings {
		if p.Account == a {
			d += p.Amount
		}
	}
	return d
}

// addLine appends a line, or adds a metered lease's usage to the line of the same
// lease and kind already there: one line per lease and month, whose memo (which
// names the span billed) is the latest.
func addLine(lines []Line, l Line) []Line {
	if l.Lease != "" && (l.Kind == "usage" || l.Kind == "sale") {
		for i := range lines {
			if x := &lines[i]; x.Lease == l.Lease && x.Kind == l.Kind && x.Order == l.Order {
				x.Amount += l.Amount
				x.Gross += l.Gross
				x.Fee += l.Fee
				x.At, x.TxID, x.Memo = l.At, l.TxID, l.Memo
				return lines
			}
		}
	}
	return append(lines, l)
}

// Statement returns an owner's or the operator's statement for a month: to the account
// itself or the operator.
func (s *Service) Statement(ctx context.Context, who *joule.Account, account, month string) (*Statement, error) {
	if !who.Sees(account) {
		return nil, joule.Errorf(joule.EFORBIDDEN, "a statement is shown only to its account and the operator")
	}
	from, to, err := ParseMonth(month)
	if err != nil {
		return nil, err
	}
	a, err := s.Store.Account(ctx, account)
	if err != nil {
		return nil, err
	}
	var rev joule.LedgerAccount
	switch a.Role {
	case joule.RoleOwner:
		rev = ledger.OwnerRevenue(a.ID)
	case joule.RoleOperator:
		rev = ledger.OperatorRevenue(a.ID)
	default:
		return nil, joule.Errorf(joule.EINVALID, "%s is a tenant; tenants get invoices", account)
	}
	span, err := s.Store.LedgerSpan(ctx, from, to, rev)
	if err != nil {
		return nil, err
	}
	opening, txs := span.Opening, span.Transactions
	st := &Statement{Account: a.ID, Name: a.Name, Role: a.Role, Month: month, From: from, To: to, Lines: []Line{},
		OpeningBalanceMicroUSD: opening[rev], ClosingBalanceMicroUSD: opening[rev]}
	for _, tx := range txs {
		d, fee := posted(tx, rev), posted(tx, ledger.PlatformFees)
		st.ClosingBalanceMicroUSD += d
		if a.Role == joule.RoleOperator {
			st.PlatformFeesMicroUSD += fee
		}
		if d == 0 {
			continue
		}
		line := Line{At: tx.At, TxID: tx.ID, Lease: tx.Lease, Memo: tx.Memo, Amount: d}
		switch tx.Kind {
		case ledger.KindCapture, ledger.KindCharge:
			// A sale's gross is what the buyer paid: the account's net and the platform's
			// fee, whatever order the postings stand in.
			line.Kind, line.Gross, line.Fee = "sale", d+fee, fee
			st.GrossMicroUSD += line.Gross
			st.FeesMicroUSD += fee
			st.NetMicroUSD += d
		case ledger.KindHosting:
			line.Kind = "hosting"
			st.HostingMicroUSD -= d
		case ledger.KindEnergy:
			line.Kind = "energy"
			st.EnergyMicroUSD -= d
		case ledger.KindPayout:
			line.Kind = "payout"
			if line.Memo == "" {
				line.Memo = "paid out of the balance"
			}
			st.PayoutsMicroUSD -= d
		case ledger.KindCredit:
			line.Kind = "service credit"
			st.ServiceCreditsMicroUSD -= d
		default:
			line.Kind = string(tx.Kind)
		}
		st.Lines = addLine(st.Lines, line)
	}
	return st, nil
}
