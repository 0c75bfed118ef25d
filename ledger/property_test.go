package ledger

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"testing/quick"

	"github.com/joule-site/joule"
)

// TestRandomOperations runs random streams of every operation, many of them refused,
// and checks after each: the trial balance is zero to the micro-dollar, Check passes
// (no negative credit or hold, holds match their orders), a refused operation wrote
// nothing, money in the system is exactly what came in less what went out, and the
// journal replays to the same balances.
func TestRandomOperations(t *testing.T) {
	prop := func(seed uint64) bool {
		if err := randomOperations(seed, 400); err != nil {
			t.Logf("seed %d: %v", seed, err)
			return false
		}
		return true
	}
	if err := quick.Check(prop, &quick.Config{MaxCount: 50}); err != nil {
		t.Fatal(err)
	}
}

func randomOperations(seed uint64, steps int) error {
	rng := rand.New(rand.NewPCG(seed, 11))
	j := &MemJournal{}
	l := New(Config{Journal: j})
	tenants := []string{"t1", "t2", "t3"}
	sellers := []joule.LedgerAccount{OwnerRevenue("fund-a"), OwnerRevenue("fund-b"), OperatorRevenue("op"), TenantCredit("t1")}
	amount := func() joule.MicroUSD { return joule.MicroUSD(rng.Int64N(50_000_000)) - 1_000 } // sometimes ≤ 0
	var in, out joule.MicroUSD                                                                // deposited, paid out
	for step := range steps {
		before, n := l.Balances(), len(j.Txs)
		tenant := tenants[rng.IntN(len(tenants))]
		order := fmt.Sprintf("o%d", rng.IntN(8))
		key := fmt.Sprintf("k%d", rng.IntN(steps)) // keys repeat: idempotent replays and conflicts
		var (
			tx  joule.LedgerTransaction
			err error
		)
		switch k := rng.IntN(9); k {
		case 0:
			tx, err = l.Deposit(key, tenant, amount())
		case 1:
			a := amount()
			if c := l.Balance(TenantCredit(tenant)); c > 0 && rng.IntN(2) == 0 {
				a = 1 + joule.MicroUSD(rng.Int64N(int64(c)))
			}
			tx, err = l.Hold(key, tenant, order, a)
		case 2:
			tx, err = l.Release(key, order)
		case 3:
			a := amount()
			if h := l.holds[order]; h != nil && rng.IntN(4) > 0 { // mostly a capture that fits
				tenant, a = h.tenant, 1+joule.MicroUSD(rng.Int64N(int64(h.amount)+1))
			}
			tx, err = l.Capture(Charge{Key: key, Tenant: tenant, Order: order, Seller: sellers[rng.IntN(4)], Amount: a, FeeBPS: rng.IntN(3000)})
		case 4:
			tx, err = l.Charge(Charge{Key: key, Tenant: tenant, Seller: sellers[rng.IntN(4)], Amount: amount(), FeeBPS: rng.IntN(3000)})
		case 5:
			tx, err = l.HostingFee(key, "fund-a", "west-texas", joule.Watts(rng.IntN(20_000)), amount()/1000)
		case 6:
			tx, err = l.PassThroughEnergy(key, "fund-b", "west-texas", rng.Int64N(10_000_000), amount())
		case 7:
			tx, err = l.Payout(key, sellers[rng.IntN(4)], amount())
		default:
			tx, err = l.Payout(key, TenantCredit(tenant), amount())
		}
		switch {
		case err != nil:
			if code := joule.ErrorCode(err); code == joule.EINTERNAL {
				return fmt.Errorf("step %d: %v", step, err)
			}
			if !reflect.DeepEqual(before, l.Balances()) || len(j.Txs) != n {
				return fmt.Errorf("step %d: refused (%v) but wrote", step, err)
			}
		case tx.ID == int64(n+1): // a new transaction (not a replayed key, not an empty release)
			if len(j.Txs) != n+1 {
				return fmt.Errorf("step %d: transaction %d not journaled", step, tx.ID)
			}
			for _, p := range tx.Postings {
				if p.Account == ExternalCash {
					if p.Amount < 0 {
						in -= p.Amount
					} else {
						out += p.Amount
					}
				}
			}
		default:
			if len(j.Txs) != n {
				return fmt.Errorf("step %d: a replayed or empty operation wrote", step)
			}
		}
		if tb := l.TrialBalance(); tb != 0 {
			return fmt.Errorf("step %d: trial balance %d", step, tb)
		}
		if err := l.Check(); err != nil {
			return fmt.Errorf("step %d: %v", step, err)
		}
		var inside joule.MicroUSD
		for a, b := range l.Balances() {
			if a != ExternalCash {
				inside += b
			}
		}
		if inside != in-out {
			return fmt.Errorf("step %d: %d inside, but %d came in and %d went out", step, inside, in, out)
		}
	}
	r, err := Replay(Config{}, j.Txs)
	if err != nil {
		return err
	}
	if !reflect.DeepEqual(r.Balances(), l.Balances()) {
		return fmt.Errorf("replay differs")
	}
	return nil
}
