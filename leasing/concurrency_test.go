package leasing_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/leasing"
)

// TestConcurrentClients runs many tenants placing random orders at once through the
// service on a real SQLite file, while the clock moves and the service ticks. Then:
// the matcher's and the ledger's invariants hold, no GPU is leased twice for an hour
// (recomputed from the stored leases), every reserved lease was paid exactly, the
// stored journal balances, and a service reopened from the store is the same.
func TestConcurrentClients(t *testing.T) {
	clients, orders := 16, 200
	if testing.Short() {
		clients, orders = 4, 50
	}
	e := newEnv(t)
	tenants := make([]*joule.Account, clients)
	for i := range tenants {
		tenants[i] = e.tenant(fmt.Sprintf("t%02d", i), usd(60_000))
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, clients+1)
	wg.Go(func() { // the clock: a minute per tick, with an ask change now and then
		rng := rand.New(rand.NewPCG(99, 1))
		for {
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
			e.clock.add(time.Minute)
			if err := e.svc.Tick(e.ctx); err != nil {
				errs <- fmt.Errorf("tick: %w", err)
				return
			}
			if rng.IntN(20) == 0 {
				seller := []string{"operator", "northwind-capital"}[rng.IntN(2)]
				if _, err := e.svc.SetAsk(e.ctx, e.op, product, seller, usd(1.5+rng.Float64()), false); err != nil {
					errs <- fmt.Errorf("set ask: %w", err)
					return
				}
			}
		}
	})
	var clientsWG sync.WaitGroup
	for i, who := range tenants {
		clientsWG.Go(func() {
			if err := randomClient(e, who, uint64(i), orders); err != nil {
				errs <- err
			}
		})
	}
	clientsWG.Wait()
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	e.check()
	checkStoredLeases(t, e)
	checkStoredBinding(t, e)
	checkStoredJournal(t, e)
	sameState(t, e.svc, e.open())
}

// randomClient places n random orders for one tenant: reserved blocks, on-demand and
// spot, cancels, resales and stops of its own. Errors with a user code are expected
// (no capacity, no credit, a block that has started); an internal error is not.
func randomClient(e *env, who *joule.Account, seed uint64, n int) error {
	rng := rand.New(rand.NewPCG(seed, 7))
	var mine []string              // order IDs
	var blocks, runs []joule.Lease // reserved and on-demand or spot leases
	for i := range n {
		key := fmt.Sprintf("%s-%d", who.ID, i)
		now := e.clock.Now().Truncate(time.Hour)
		start := now.Add(time.Duration(1+rng.IntN(24*10)) * time.Hour)
		limit := usd(1.6 + rng.Float64())
		var err error
		var r *leasing.OrderResult
		switch op := rng.IntN(20); {
		case op < 11:
			o := reserved(key, 8*(1+rng.IntN(4)), start, start.Add(time.Duration(1+rng.IntN(48))*time.Hour), limit)
			o.AllOrNone = rng.IntN(3) > 0
			r, err = e.svc.SubmitOrder(e.ctx, who, o)
		case op < 13:
			r, err = e.svc.SubmitOrder(e.ctx, who, running(joule.OrderOnDemand, key, 8, limit))
		case op < 15:
			r, err = e.svc.SubmitOrder(e.ctx, who, running(joule.OrderSpot, key, 8, limit))
		case op < 17 && len(mine) > 0:
			_, err = e.svc.Cancel(e.ctx, who, mine[rng.IntN(len(mine))])
		case op < 19 && len(blocks) > 0:
			l := blocks[rng.IntN(len(blocks))]
			from := l.Start.Add(time.Duration(rng.IntN(int(l.End.Sub(l.Start)/time.Hour))) * time.Hour)
			r, err = e.svc.Resell(e.ctx, who, l.ID, leasing.ResellRequest{IdempotencyKey: key, From: from, GPUs: 8 * (1 + rng.IntN(l.GPUs/8)), LimitMicroUSDPerGPUHour: limit})
		case len(runs) > 0:
			_, err = e.svc.Stop(e.ctx, who, runs[rng.IntN(len(runs))].ID)
		}
		if joule.ErrorCode(err) == joule.EINTERNAL {
			return fmt.Errorf("%s: %w", key, err)
		}
		if r != nil {
			mine = append(mine, r.Order.ID)
			for _, l := range r.Leases {
				if l.Tenant != who.ID {
					return fmt.Errorf("%s: got another tenant's lease %+v", key, l)
				}
				if l.OpenEnded {
					runs = append(runs, l)
				} else {
					blocks = append(blocks, l)
				}
			}
		}
	}
	return nil
}

// checkStoredLeases recomputes from the stored leases that no seller's servers are
// leased beyond their GPUs in any hour, that resold hours stay within what each resale
// order offered, and that every lease holds exactly its GPUs in each hour it covers.
func checkStoredLeases(t *testing.T, e *env) {
	t.Helper()
	leases, err := e.store.FindLeases(e.ctx, joule.LeaseFilter{})
	if err != nil {
		t.Fatal(err)
	}
	capacity := map[string]int{"operator": 128, "northwind-capital": 128}
	type slot struct {
		source string
		hour   int64
	}
	used := map[slot]int{}
	resale := map[string]int{} // resale order → GPUs offered
	orders, err := e.store.FindOrders(e.ctx, joule.OrderFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range orders {
		if o.Kind == joule.OrderResale {
			resale[o.ID] = o.GPUs
		}
	}
	for _, l := range leases {
		cover := map[int64]int{}
		for _, sh := range l.Sellers {
			for h := sh.Start; h.Before(sh.End); h = h.Add(time.Hour) {
				cover[h.Unix()/3600] += sh.GPUs
				src := sh.Seller
				if sh.ResaleOrder != "" {
					src = "resale " + sh.ResaleOrder
				}
				used[slot{src, h.Unix() / 3600}] += sh.GPUs
			}
		}
		for h := l.Start.Truncate(time.Hour); h.Before(l.End); h = h.Add(time.Hour) {
			if cover[h.Unix()/3600] != l.GPUs {
				t.Errorf("lease %s holds %d GPUs at %s, not %d", l.ID, cover[h.Unix()/3600], h, l.GPUs)
			}
		}
	}
	for s, n := range used {
		limit, ok := capacity[s.source]
		if !ok {
			limit = resale[s.source[len("resale "):]]
		}
		if n > limit {
			t.Errorf("%s is leased %d GPUs at hour %d, more than its %d: leased twice", s.source, n, s.hour, limit)
		}
	}
	if len(leases) < 50 {
		t.Errorf("only %d leases: the random orders should fill more", len(leases))
	}
}

// checkStoredBinding recomputes from the stored leases that no server is bound to two
// leases in the same hour, and that each lease holds whole servers for all its GPUs in
// every hour (the servers it resold counted as held by their buyer).
func checkStoredBinding(t *testing.T, e *env) {
	t.Helper()
	st, err := e.store.LoadLeasing(e.ctx, joule.LeasingLoad{})
	if err != nil {
		t.Fatal(err)
	}
	type slot struct {
		server string
		hour   int64
	}
	holder := map[slot]string{}
	resales := 0
	for _, l := range st.Leases {
		resales += len(l.Resold)
		for h := l.Start.Truncate(time.Hour); h.Before(l.End); h = h.Add(time.Hour) {
			held := l.ServersAt(h)
			resold := 0
			for _, r := range l.Resold {
				if !h.Before(r.Start) && h.Before(r.End) {
					resold += len(r.Servers)
				}
			}
			if len(held)+resold != l.GPUs/8 {
				t.Errorf("lease %s of %d GPUs holds %v and resold %d servers at %s", l.ID, l.GPUs, held, resold, h)
			}
			for _, n := range held {
				k := slot{n, h.Unix() / 3600}
				if other, ok := holder[k]; ok {
					t.Errorf("server %s is bound to leases %s and %s at %s", n, other, l.ID, h)
				}
				holder[k] = l.ID
			}
		}
	}
	t.Logf("%d leases bound %d server-hours; %d resales moved servers", len(st.Leases), len(holder), resales)
}

// checkStoredJournal checks the journal as stored: every transaction balances, the
// balances it sums to are the service's, and every reserved lease's captures sum to
// exactly what its shares cost.
func checkStoredJournal(t *testing.T, e *env) {
	t.Helper()
	st, err := e.store.LoadLeasing(e.ctx, joule.LeasingLoad{})
	if err != nil {
		t.Fatal(err)
	}
	sums := map[joule.LedgerAccount]joule.MicroUSD{}
	captured := map[string]joule.MicroUSD{}
	for _, tx := range st.Journal {
		var total joule.MicroUSD
		for _, p := range tx.Postings {
			total += p.Amount
			sums[p.Account] += p.Amount
		}
		if total != 0 {
			t.Errorf("stored transaction %d is off by %d", tx.ID, total)
		}
		if tx.Kind == "capture" && tx.Lease != "" {
			captured[tx.Lease] += -tx.Postings[0].Amount
		}
	}
	_, balances := e.svc.State()
	for a, b := range balances {
		if sums[a] != b {
			t.Errorf("%s: the stored journal sums to %d, the ledger says %d", a, sums[a], b)
		}
	}
	kinds := map[string]joule.OrderKind{}
	for _, o := range st.Orders {
		kinds[o.ID] = o.Kind
	}
	for _, l := range st.Leases {
		if kinds[l.Order] != joule.OrderReserved {
			continue
		}
		var want joule.MicroUSD
		for _, sh := range l.Sellers {
			want += joule.MicroUSD(sh.GPUs) * joule.MicroUSD(sh.End.Sub(sh.Start)/time.Hour) * sh.PriceMicroUSDPerGPUHour
		}
		if captured[l.ID] != want {
			t.Errorf("reserved lease %s was paid %d, its shares cost %d", l.ID, captured[l.ID], want)
		}
	}
}
