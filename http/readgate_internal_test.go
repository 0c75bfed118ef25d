package http

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// enterAsync starts a read at the gate and returns a flag that is set once it is in.
func enterAsync(t *testing.T, g *readGate, ctx context.Context) (*atomic.Bool, chan error) {
	t.Helper()
	in := &atomic.Bool{}
	done := make(chan error, 1)
	go func() {
		err := g.enterRead(ctx)
		in.Store(err == nil)
		done <- err
	}()
	return in, done
}

// waitIn waits until in is set, failing t after a minute.
func waitIn(t *testing.T, in *atomic.Bool, what string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !in.Load() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not let in within a minute", what)
		}
		time.Sleep(time.Millisecond) // polling a condition
	}
}

// gateState returns how many reads run and wait.
func gateState(g *readGate) (reads, waiting int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.reads, len(g.waiting)
}

// waitWaiting waits until n reads wait at g.
func waitWaiting(t *testing.T, g *readGate, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		if _, w := gateState(g); w == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not %d reads waiting within a minute", n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestReadGate(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{t: time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)}
	g := newReadGate(2, 0.1)
	g.now = clock.now

	// No write: two reads at once; a third waits for one of them.
	startA, startB := clock.now(), clock.now()
	if err := g.enterRead(ctx); err != nil {
		t.Fatal(err)
	}
	if err := g.enterRead(ctx); err != nil {
		t.Fatal(err)
	}
	inC, _ := enterAsync(t, g, ctx)
	waitWaiting(t, g, 1)
	if inC.Load() {
		t.Fatal("a third read ran beside two, with two slots")
	}
	g.exitRead(startA)
	waitIn(t, inC, "the third read, once the first left")
	startC := clock.now()

	// A write runs: reads narrow to one; the two running finish, and the one read
	// that waits goes in once they have and its pause is over.
	g.enterWrite()
	inD, _ := enterAsync(t, g, ctx)
	waitWaiting(t, g, 1)
	g.exitRead(startB)
	clock.add(10 * time.Millisecond)
	g.exitRead(startC) // took 10 ms while a write ran: no read for 90 ms
	if reads, waiting := gateState(g); reads != 0 || waiting != 1 || inD.Load() {
		t.Fatalf("during the pause: %d reads, %d waiting, the next let in %v; want 0, 1, false", reads, waiting, inD.Load())
	}
	clock.add(90 * time.Millisecond)
	waitIn(t, inD, "the read after the pause") // the gate's timer lets it in
	startD := clock.now()

	// One read at a time while the write runs.
	inE, _ := enterAsync(t, g, ctx)
	waitWaiting(t, g, 1)
	if inE.Load() {
		t.Fatal("two reads ran while a write did")
	}
	// The write ends: after the quiet, the waiting read takes the second slot.
	g.exitWrite()
	clock.add(writeQuiet)
	waitIn(t, inE, "the read once the writes were quiet")
	g.exitRead(startD)

	// A read whose caller goes away while it waits leaves the queue and holds no slot.
	cancelled, cancel := context.WithCancel(ctx)
	if err := g.enterRead(ctx); err != nil { // the second slot was free: now both are taken
		t.Fatal(err)
	}
	_, done := enterAsync(t, g, cancelled)
	waitWaiting(t, g, 1)
	cancel()
	if err := <-done; err == nil {
		t.Fatal("a read whose caller went away was let in")
	}
	if reads, waiting := gateState(g); reads != 2 || waiting != 0 {
		t.Fatalf("after the cancelled read: %d reads, %d waiting; want 2, 0", reads, waiting)
	}
}
