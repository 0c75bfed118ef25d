package ledger

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
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
	amount := func() joule.MicroUSD {
		if rng.IntN(20) == 0 { // now and then an amount at or beyond the bound, or one that overflows
			return extremeAmounts[rng.IntN(len(extremeAmounts))]
		}
		return joule.MicroUSD(rng.Int64N(50_000_000)) - 1_000 // sometimes ≤ 0
	}
	var in, out joule.MicroUSD // deposited, paid out
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
				if p.Amount > joule.MaxMicroUSD || p.Amount < -joule.MaxMicroUSD {
					return fmt.Errorf("step %d: a posting of %d, beyond the bound", step, p.Amount)
				}
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

// extremeAmounts are amounts at the edges of what the ledger takes and of int64: the
// largest amount, one more, the largest and smallest int64, and their neighbours.
var extremeAmounts = []joule.MicroUSD{
	joule.MaxMicroUSD, joule.MaxMicroUSD - 1, joule.MaxMicroUSD + 1, -joule.MaxMicroUSD,
	math.MaxInt64, math.MaxInt64 - 1, math.MinInt64, math.MinInt64 + 1, math.MaxInt64 / 2, 1 << 62,
}

// TestAmountsBeyondTheBoundAreRefused asks every operation, on a ledger with money in
// it, for an amount above joule.MaxMicroUSD (math.MaxInt64 among them): each is refused
// as invalid, writes nothing, and leaves the trial balance at zero; the largest amount
// itself is taken.
func TestAmountsBeyondTheBoundAreRefused(t *testing.T) {
	ops := map[string]func(l *Ledger, a joule.MicroUSD) (joule.LedgerTransaction, error){
		"deposit": func(l *Ledger, a joule.MicroUSD) (joule.LedgerTransaction, error) { return l.Deposit("", "t1", a) },
		"hold":    func(l *Ledger, a joule.MicroUSD) (joule.LedgerTransaction, error) { return l.Hold("", "t1", "o1", a) },
		"capture": func(l *Ledger, a joule.MicroUSD) (joule.LedgerTransaction, error) {
			return l.Capture(Charge{Tenant: "t1", Order: "o1", Seller: OwnerRevenue("fund-a"), Amount: a, FeeBPS: 1000})
		},
		"charge": func(l *Ledger, a joule.MicroUSD) (joule.LedgerTransaction, error) {
			return l.Charge(Charge{Tenant: "t1", Seller: OperatorRevenue("op"), Amount: a, FeeBPS: 1000})
		},
		"hosting rate": func(l *Ledger, a joule.MicroUSD) (joule.LedgerTransaction, error) {
			return l.HostingFee("", "fund-a", "west-texas", 1000, a) // a per kW-month, on 1 kW
		},
		"hosting fee": func(l *Ledger, a joule.MicroUSD) (joule.LedgerTransaction, error) {
			return l.HostingFee("", "fund-a", "west-texas", joule.Watts(a), 1000) // a W at 1000 µUSD per kW-month: a µUSD
		},
		"energy price": func(l *Ledger, a joule.MicroUSD) (joule.LedgerTransaction, error) {
			return l.PassThroughEnergy("", "fund-b", "west-texas", 1_000_000, a) // 1 MWh at a per MWh
		},
		"energy charge": func(l *Ledger, a joule.MicroUSD) (joule.LedgerTransaction, error) {
			return l.PassThroughEnergy("", "fund-b", "west-texas", int64(a), 1_000_000) // a Wh at $1 per MWh: a µUSD
		},
		"payout": func(l *Ledger, a joule.MicroUSD) (joule.LedgerTransaction, error) {
			return l.Payout("", TenantCredit("t1"), a)
		},
	}
	for name, op := range ops {
		for _, a := range []joule.MicroUSD{joule.MaxMicroUSD + 1, 2 * joule.MaxMicroUSD, math.MaxInt64, math.MaxInt64 - 1, 1 << 62} {
			t.Run(fmt.Sprintf("%s of %d", name, a), func(t *testing.T) {
				l, j := newLedger(t)
				funded(t, l)
				before, n := l.Balances(), len(j.Txs)
				_, err := op(l, a)
				wantCode(t, err, joule.EINVALID)
				if !reflect.DeepEqual(before, l.Balances()) || len(j.Txs) != n {
					t.Errorf("refused (%v), but wrote", err)
				}
				mustCheck(t, l)
			})
		}
	}
	l, _ := newLedger(t)
	if _, err := l.Deposit("", "t1", joule.MaxMicroUSD); err != nil {
		t.Errorf("a deposit of the largest amount: %v", err)
	}
	if _, err := l.Hold("", "t1", "o1", joule.MaxMicroUSD); err != nil {
		t.Errorf("a hold of the largest amount: %v", err)
	}
	if _, err := l.Capture(Charge{Tenant: "t1", Order: "o1", Seller: OwnerRevenue("fund-a"), Amount: joule.MaxMicroUSD, FeeBPS: 1500}); err != nil {
		t.Errorf("a capture of the largest amount: %v", err)
	}
	mustCheck(t, l)
}

// funded puts money in every account an operation above takes from.
func funded(t *testing.T, l *Ledger) {
	t.Helper()
	for _, err := range []error{
		second(l.Deposit("", "t1", joule.MaxMicroUSD)),
		second(l.Deposit("", "t1", joule.MaxMicroUSD)),
		second(l.Hold("", "t1", "o1", joule.MaxMicroUSD)),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

// TestBalancesNeverOverflow deposits the largest amount until a balance would pass
// what an int64 holds: that deposit is refused, not wrapped, and the ledger still
// balances to the micro-dollar; so is a journal that would overflow when replayed.
func TestBalancesNeverOverflow(t *testing.T) {
	l, j := newLedger(t)
	fits := int(math.MaxInt64 / joule.MaxMicroUSD) // 9223 deposits fit in external:cash and the credit
	for i := range fits {
		if _, err := l.Deposit("", "t1", joule.MaxMicroUSD); err != nil {
			t.Fatalf("deposit %d of %d: %v", i+1, fits, err)
		}
	}
	before := l.Balances()
	_, err := l.Deposit("", "t1", joule.MaxMicroUSD)
	wantCode(t, err, joule.EINVALID)
	if !reflect.DeepEqual(before, l.Balances()) || len(j.Txs) != fits {
		t.Errorf("the deposit that would overflow wrote: %d transactions", len(j.Txs))
	}
	if got, want := l.Balance(TenantCredit("t1")), joule.MicroUSD(fits)*joule.MaxMicroUSD; got != want {
		t.Errorf("credit %d, want %d", got, want)
	}
	mustCheck(t, l)
	if _, err := Replay(Config{}, j.Txs); err != nil {
		t.Errorf("the journal does not replay: %v", err)
	}

	// A journal that was written before the bound, or by hand: a posting beyond it, or
	// one that would wrap a balance, stops the replay.
	big := []joule.LedgerTransaction{{ID: 1, Kind: KindDeposit, Tenant: "t1",
		Postings: []joule.LedgerPosting{{Account: ExternalCash, Amount: -math.MaxInt64}, {Account: TenantCredit("t1"), Amount: math.MaxInt64}}}}
	if _, err := Replay(Config{}, big); err == nil {
		t.Error("a journal with a posting of math.MaxInt64 replays")
	}
	wrap := append(slices.Clone(j.Txs), joule.LedgerTransaction{ID: int64(fits + 1), Kind: KindDeposit, Tenant: "t1",
		Postings: []joule.LedgerPosting{{Account: ExternalCash, Amount: -joule.MaxMicroUSD}, {Account: TenantCredit("t1"), Amount: joule.MaxMicroUSD}}})
	if _, err := Replay(Config{}, wrap); err == nil {
		t.Error("a journal that overflows a balance replays")
	}
}

func TestAdd(t *testing.T) {
	for _, tt := range []struct {
		a, b joule.MicroUSD
		ok   bool
	}{
		{1, 2, true}, {math.MaxInt64, 0, true}, {math.MaxInt64, 1, false}, {math.MinInt64, -1, false},
		{math.MinInt64, 0, true}, {math.MaxInt64, math.MinInt64, true}, {-1, math.MinInt64, false},
		{math.MaxInt64 / 2, math.MaxInt64/2 + 1, true}, {math.MaxInt64 / 2, math.MaxInt64/2 + 2, false},
	} {
		sum, ok := add(tt.a, tt.b)
		if ok != tt.ok || ok && sum != tt.a+tt.b {
			t.Errorf("add(%d, %d) = %d, %v; want ok %v", tt.a, tt.b, sum, ok, tt.ok)
		}
	}
}
