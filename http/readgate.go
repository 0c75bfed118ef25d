package http

import (
	"context"
	"net/http"
	"runtime"
	"sync"
)

// readGate keeps reads from starving writes. Every write of the exchange (an order,
// a cancel) passes through one lock, in the leasing service and in the store; with
// dozens of reads running beside it, the writer holding that lock gets a sliver of
// the CPU each, and every writer waits on it: with 64 readers and 4 writers, order
// placement fell from 1,304 to 31 a second (BenchmarkOrdersWithReaders on SQLite).
// So reads queue here, in arrival order, for a few slots: maxReads at once when no
// write is in flight, busyReads while one is. Writes never wait at the gate.
type readGate struct {
	maxReads, busyReads int

	mu      sync.Mutex
	reads   int             // reads running
	writes  int             // writes running
	waiting []chan struct{} // reads waiting, oldest first
}

// newReadGate returns a gate of maxReads slots, busyReads of them open while a write
// runs; zero or less: the defaults, GOMAXPROCS and 1.
func newReadGate(maxReads, busyReads int) *readGate {
	if maxReads <= 0 {
		maxReads = runtime.GOMAXPROCS(0)
	}
	if busyReads <= 0 {
		busyReads = 1
	}
	return &readGate{maxReads: maxReads, busyReads: min(busyReads, maxReads)}
}

// isRead reports whether r only reads: GET and HEAD.
func isRead(r *http.Request) bool { return r.Method == http.MethodGet || r.Method == http.MethodHead }

// open is how many reads may run now. The caller holds g.mu.
func (g *readGate) open() int {
	if g.writes > 0 {
		return g.busyReads
	}
	return g.maxReads
}

// enterRead waits for a read slot, or for ctx to end (then it returns its error and
// holds no slot).
func (g *readGate) enterRead(ctx context.Context) error {
	g.mu.Lock()
	if len(g.waiting) == 0 && g.reads < g.open() {
		g.reads++
		g.mu.Unlock()
		return nil
	}
	ready := make(chan struct{})
	g.waiting = append(g.waiting, ready)
	g.mu.Unlock()
	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		defer g.mu.Unlock()
		for i, c := range g.waiting {
			if c == ready {
				g.waiting = append(g.waiting[:i], g.waiting[i+1:]...)
				return ctx.Err()
			}
		}
		// Admitted as ctx ended: hand the slot on.
		g.reads--
		g.admit()
		return ctx.Err()
	}
}

// exitRead gives a read slot back.
func (g *readGate) exitRead() {
	g.mu.Lock()
	g.reads--
	g.admit()
	g.mu.Unlock()
}

// enterWrite counts a write in, which narrows the reads to busyReads.
func (g *readGate) enterWrite() {
	g.mu.Lock()
	g.writes++
	g.mu.Unlock()
}

// exitWrite counts a write out; with none left, waiting reads take the open slots.
func (g *readGate) exitWrite() {
	g.mu.Lock()
	g.writes--
	g.admit()
	g.mu.Unlock()
}

// admit lets the oldest waiting reads in while there are slots. The caller holds g.mu.
func (g *readGate) admit() {
	for len(g.waiting) > 0 && g.reads < g.open() {
		close(g.waiting[0])
		g.waiting = g.waiting[1:]
		g.reads++
	}
}
