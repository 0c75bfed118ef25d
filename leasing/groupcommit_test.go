package leasing_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/leasing"
)

// heldStore is the real store whose next SaveLeasing, while hold is set, waits for
// release (saying so on entered), and whose saves of several changes fail while
// failBatches is set. It records how many changes each save carried.
type heldStore struct {
	joule.LeasingStore
	mu          sync.Mutex
	hold        bool
	failBatches bool
	entered     chan struct{}
	release     chan struct{}
	sizes       []int
}

func (s *heldStore) SaveLeasing(ctx context.Context, chs ...*joule.LeasingChange) (int64, error) {
	s.mu.Lock()
	hold, fail := s.hold, s.failBatches && len(chs) > 1
	s.hold = false
	s.sizes = append(s.sizes, len(chs))
	s.mu.Unlock()
	if hold {
		close(s.entered)
		<-s.release
	}
	if fail {
		return 0, errors.New("disk full")
	}
	return s.LeasingStore.SaveLeasing(ctx, chs...)
}

// Operations that run while a save is in flight queue behind it and are saved
// together in the next store transaction, each with its own result; when that save
// fails, every operation in it fails, the one saved before stays, and memory is what
// the store holds.
func TestGroupCommit(t *testing.T) {
	for _, fail := range []bool{false, true} {
		t.Run(fmt.Sprintf("batch fails %v", fail), func(t *testing.T) {
			e := newEnv(t)
			var tenants []*joule.Account
			for i := range 4 {
				tenants = append(tenants, e.tenant(fmt.Sprintf("t%d", i), usd(10_000)))
			}
			hs := &heldStore{LeasingStore: e.store, failBatches: fail, entered: make(chan struct{}), release: make(chan struct{})}
			svc, err := leasing.Open(e.ctx, hs, e.cfg)
			if err != nil {
				t.Fatal(err)
			}
			hs.mu.Lock()
			hs.sizes, hs.hold = nil, true
			hs.mu.Unlock()
			errs := make([]error, len(tenants))
			var wg sync.WaitGroup
			submit := func(i int) {
				wg.Go(func() {
					start := day1.Add(hours(3 * i))
					_, errs[i] = svc.SubmitOrder(e.ctx, tenants[i], reserved(fmt.Sprint("k", i), 8, start, start.Add(hours(2)), usd(2.10)))
				})
			}
			submit(0)
			<-hs.entered // the first order's save is in flight, held
			for i := 1; i < len(tenants); i++ {
				submit(i)
			}
			deadline := time.Now().Add(time.Minute)
			for leasing.QueuedSaves(svc) < len(tenants)-1 {
				if time.Now().After(deadline) {
					t.Fatalf("%d operations queued behind the save in flight, want %d", leasing.QueuedSaves(svc), len(tenants)-1)
				}
				time.Sleep(time.Millisecond) // polling a condition
			}
			close(hs.release)
			wg.Wait()
			hs.mu.Lock()
			sizes := hs.sizes
			hs.mu.Unlock()
			if !reflect.DeepEqual(sizes, []int{1, 3}) {
				t.Errorf("saves carried %v changes, want [1 3]", sizes)
			}
			if errs[0] != nil {
				t.Errorf("the first order: %v", errs[0])
			}
			for i, err := range errs[1:] {
				if fail && err == nil || !fail && err != nil {
					t.Errorf("order %d of the batch: %v (the batch fails: %v)", i+1, err, fail)
				}
			}
			if err := svc.Check(); err != nil {
				t.Fatal(err)
			}
			engine, balances := svc.State()
			reopened := e.open()
			engine2, balances2 := reopened.State()
			if !reflect.DeepEqual(balances, balances2) || len(engine.Leases) != len(engine2.Leases) || len(engine.Orders) != len(engine2.Orders) {
				t.Errorf("memory is not what the store holds: %d leases, %d orders, balances %v; the store: %d, %d, %v",
					len(engine.Leases), len(engine.Orders), balances, len(engine2.Leases), len(engine2.Orders), balances2)
			}
			wantLeases := len(tenants)
			if fail {
				wantLeases = 1
			}
			if leases, _ := e.store.FindLeases(e.ctx, joule.LeaseFilter{}); len(leases) != wantLeases {
				t.Errorf("%d stored leases, want %d", len(leases), wantLeases)
			}
		})
	}
}
