package http

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/joule-site/joule/reports"
)

// waiters is how many requests wait for key's run.
func (c *reportCache) waiters(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[key]; e != nil {
		return e.waiters
	}
	return 0
}

func waitWaiters(t *testing.T, c *reportCache, key string, n int) {
	t.Helper()
	for c.waiters(key) != n {
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

// A report runs while anyone waits for it: one waiter leaving does not stop the run
// another waits for, and the last one leaving does, and is not kept.
func TestReportRunCancelledWhenLastWaiterGoes(t *testing.T) {
	var c reportCache
	started := make(chan context.Context, 2)
	var mu sync.Mutex
	finish := make(chan struct{})
	run := func(ctx context.Context) (*reports.Report, error) {
		mu.Lock()
		f := finish
		mu.Unlock()
		started <- ctx
		select {
		case <-f:
			return &reports.Report{Data: "done"}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	type result struct {
		r   *reports.Report
		err error
	}
	wait := func(ctx context.Context) chan result {
		out := make(chan result, 1)
		go func() {
			r, err := c.get(ctx, "k", run)
			out <- result{r, err}
		}()
		return out
	}

	// Two wait for one run; the first goes, and the second still gets the report.
	aCtx, aLeave := context.WithCancel(t.Context())
	a := wait(aCtx)
	runCtx := <-started
	b := wait(t.Context())
	waitWaiters(t, &c, "k", 2)
	aLeave()
	if res := <-a; !errors.Is(res.err, context.Canceled) {
		t.Errorf("the waiter that went: %v", res.err)
	}
	if runCtx.Err() != nil {
		t.Fatal("the run was cancelled while a waiter remained")
	}
	close(finish)
	if res := <-b; res.err != nil || res.r.Data != "done" {
		t.Errorf("the waiter that stayed: %+v", res)
	}

	// Kept: asking again runs nothing.
	if r, err := c.get(t.Context(), "k", run); err != nil || r.Data != "done" || len(started) != 0 {
		t.Errorf("the kept report: %+v, %v", r, err)
	}

	// Alone, the waiter going cancels the run, which is not kept: the next request
	// for it starts a run of its own.
	mu.Lock()
	finish = make(chan struct{}) // the first run's is closed
	mu.Unlock()
	lone, leave := context.WithCancel(t.Context())
	var err error
	done := make(chan struct{})
	go func() {
		_, err = c.get(lone, "other", run)
		close(done)
	}()
	runCtx = <-started
	waitWaiters(t, &c, "other", 1)
	leave()
	<-done
	if !errors.Is(err, context.Canceled) {
		t.Errorf("the waiter that went: %v", err)
	}
	<-runCtx.Done() // the run was cancelled, or this waits until the test times out
	again := make(chan error, 1)
	go func() {
		_, err := c.get(t.Context(), "other", run)
		again <- err
	}()
	if next := <-started; next == runCtx || next.Err() != nil {
		t.Error("the next request joined the cancelled run")
	}
	close(finish)
	if err := <-again; err != nil {
		t.Errorf("the run after the cancelled one: %v", err)
	}
}
