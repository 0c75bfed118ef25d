package ledger

import (
	"fmt"
	"slices"
	"strings"

	"github.com/joule-site/joule"
)

// post checks tx, writes it to the journal and applies it. On any error nothing is
// written or changed. A key seen before returns the transaction it wrote if tx asks for
// the same thing, and ECONFLICT if it asks for something else.
func (l *Ledger) post(tx joule.LedgerTransaction) (joule.LedgerTransaction, error) {
	if tx.Key != "" {
		if i, ok := l.keys[tx.Key]; ok {
			prev := &l.txs[i]
			if !sameEntry(prev, &tx) {
				return joule.LedgerTransaction{}, joule.Errorf(joule.ECONFLICT, "ledger: key %q was used for another %s transaction", tx.Key, prev.Kind)
			}
			return clone(prev), nil
		}
	}
	if err := l.validate(&tx); err != nil {
		return joule.LedgerTransaction{}, err
	}
	tx.ID = int64(len(l.txs) + 1)
	if tx.At.IsZero() {
		tx.At = l.cfg.Now()
	}
	if l.cfg.Journal != nil {
		if err := l.cfg.Journal.Append(clone(&tx)); err != nil {
			return joule.LedgerTransaction{}, fmt.Errorf("ledger: journal: %w", err)
		}
	}
	l.apply(&tx)
	return clone(&tx), nil
}

// sameEntry reports whether two transactions move the same money for the same reason.
func sameEntry(a, b *joule.LedgerTransaction) bool {
	return a.Kind == b.Kind && a.Tenant == b.Tenant && a.Order == b.Order && a.Lease == b.Lease &&
		slices.Equal(a.Postings, b.Postings)
}

// validate checks that tx balances, names real accounts, moves no more than
// joule.MaxMicroUSD in any posting, leaves no balance beyond what an int64 holds (a
// posting that would overflow one is refused, not wrapped), and leaves no tenant's
// credit, hold or order hold negative.
func (l *Ledger) validate(tx *joule.LedgerTransaction) error {
	if len(tx.Postings) < 2 {
		return joule.Errorf(joule.EINVALID, "ledger: a transaction needs at least two postings")
	}
	var total, held joule.MicroUSD
	after := map[joule.LedgerAccount]joule.MicroUSD{}
	for _, p := range tx.Postings {
		if !valid(p.Account) {
			return joule.Errorf(joule.EINVALID, "ledger: no such account %q", p.Account)
		}
		if p.Amount == 0 {
			return joule.Errorf(joule.EINVALID, "ledger: a posting of zero to %s", p.Account)
		}
		if p.Amount > joule.MaxMicroUSD || p.Amount < -joule.MaxMicroUSD {
			return joule.Errorf(joule.EINVALID, "ledger: a posting of %d micro-USD to %s is beyond the most one amount may be (%d)", int64(p.Amount), p.Account, int64(joule.MaxMicroUSD))
		}
		if _, ok := after[p.Account]; !ok {
			after[p.Account] = l.balances[p.Account]
		}
		balance, ok := add(after[p.Account], p.Amount)
		if !ok {
			return joule.Errorf(joule.EINVALID, "ledger: a posting of %d micro-USD would overflow %s, which holds %d", int64(p.Amount), p.Account, int64(after[p.Account]))
		}
		after[p.Account] = balance
		if total, ok = add(total, p.Amount); !ok {
			return joule.Errorf(joule.EINVALID, "ledger: the postings' sum overflows")
		}
		if isHold(p.Account) {
			if tx.Order == "" {
				return joule.Errorf(joule.EINVALID, "ledger: a hold posting must name its order")
			}
			tenant := strings.Split(string(p.Account), ":")[1]
			if h := l.holds[tx.Order]; h != nil && h.tenant != tenant {
				return joule.Errorf(joule.ECONFLICT, "ledger: order %s is held for %s, not %s", tx.Order, h.tenant, tenant)
			}
			if held, ok = add(held, p.Amount); !ok {
				return joule.Errorf(joule.EINVALID, "ledger: the hold postings' sum overflows")
			}
		}
	}
	if total != 0 {
		return joule.Errorf(joule.EINVALID, "ledger: postings sum to %d, not zero", total)
	}
	for a, b := range after {
		if b < 0 && !mayGoNegative(a) {
			return joule.Errorf(joule.EFORBIDDEN, "ledger: %s would go negative (%s)", a, b)
		}
	}
	if held != 0 || tx.Order != "" {
		var cur joule.MicroUSD
		if h := l.holds[tx.Order]; h != nil {
			cur = h.amount
		}
		if sum, ok := add(cur, held); !ok || sum < 0 {
			return joule.Errorf(joule.EFORBIDDEN, "ledger: order %s has %s held, not %s", tx.Order, cur, -held)
		}
	}
	return nil
}

// apply changes balances and holds by a checked transaction.
func (l *Ledger) apply(tx *joule.LedgerTransaction) {
	for _, p := range tx.Postings {
		l.balances[p.Account] += p.Amount
		if isHold(p.Account) {
			h := l.holds[tx.Order]
			if h == nil {
				h = &hold{tenant: strings.Split(string(p.Account), ":")[1]}
				l.holds[tx.Order] = h
			}
			h.amount += p.Amount
		}
	}
	if tx.Key != "" {
		l.keys[tx.Key] = len(l.txs)
	}
	l.txs = append(l.txs, clone(tx))
}

// Replay rebuilds a ledger from its journal, checking every transaction as it goes: in
// order, numbered 1, 2, …, balanced, and never driving a tenant's credit or hold below
// zero. The ledger it returns appends to cfg.Journal.
func Replay(cfg Config, txs []joule.LedgerTransaction) (*Ledger, error) {
	l := New(cfg)
	for i := range txs {
		tx := clone(&txs[i])
		if tx.ID != int64(i+1) {
			return nil, fmt.Errorf("ledger: replay: transaction %d is numbered %d", i+1, tx.ID)
		}
		if err := l.validate(&tx); err != nil {
			return nil, fmt.Errorf("ledger: replay: transaction %d: %w", tx.ID, err)
		}
		if _, dup := l.keys[tx.Key]; dup && tx.Key != "" {
			return nil, fmt.Errorf("ledger: replay: key %q appears twice", tx.Key)
		}
		l.apply(&tx)
	}
	return l, nil
}

// MemJournal is a Journal in memory, for tests and for a ledger that need not outlive
// the process.
type MemJournal struct {
	Txs []joule.LedgerTransaction
	// Fail, when set, makes Append fail: a journal that cannot write.
	Fail error
}

// Append implements Journal.
func (j *MemJournal) Append(tx joule.LedgerTransaction) error {
	if j.Fail != nil {
		return j.Fail
	}
	j.Txs = append(j.Txs, tx)
	return nil
}
