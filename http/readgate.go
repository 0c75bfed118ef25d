package http

import (
	"context"
	"net/http"
	"runtime"
	"sync"
	"time"
)

// readGate keeps reads from starving writes. Every write of the exchange (an order,
// a cancel) passes through one lock, in the leasing service and in the store; with
// dozens of reads running beside it, the writer holding that lock gets a sliver of
// the CPU each, and every writer waits on it: with 64 readers and 4 writers, order
// placement fell from 1,304 to 31 a second (BenchmarkOrdersWithReaders on SQLite;
// on PostgreSQL from 472 to 13).
// So reads queue here, in arrival order, for a few slots: maxReads at once when no
// write is in flight; while one is, one at a time and for at most busyShare of the
// time: a read that took d while writes ran is followed by a pause of
// d × (1 − busyShare) / busyShare before the next such read starts. Readers then
// still read (slower) under a steady stream of orders, and writers keep nearly all
// of the CPU. Writes never wait at the gate.
type readGate struct {
	maxReads  int
	busyShare float64
	now       func() time.Time

	mu        sync.Mutex
	reads     int             // reads running
	writes    int             // writes running
	waiting   []chan struct{} // reads waiting, oldest first
	notBefore time.Time       // while writes run, no read starts before then
	lastWrite time.Time       // when the last write ended
	timer     *time.Timer     // admits the waiting reads when the gate opens; nil: none set
}

// writeQuiet is how long after the last write ended the gate still counts writes as
// running: writers that place orders one after another are between two requests now
// and then, and reads that start in such a gap at full width take the CPU the next
// write needs.
const writeQuiet = 20 * time.Millisecond

// busyReadShare is the share of the time reads may take while writes run: a tenth of
// one slot. (A fifth kept 66–74% of the order rate with 64 readers on a 2-core machine,
// a tenth 82–85%: BenchmarkOrdersWithReaders.)
const busyReadShare = 0.1

// newReadGate returns a gate of maxReads slots (zero or less: GOMAXPROCS) that gives
// reads busyShare of the time while writes run.
func newReadGate(maxReads int, busyShare float64) *readGate {
	if maxReads <= 0 {
		maxReads = runtime.GOMAXPROCS(0)
	}
	return &readGate{maxReads: maxReads, busyShare: busyShare, now: time.Now}
}

// isRead reports whether r only reads: GET and HEAD.
func isRead(r *http.Request) bool { return r.Method == http.MethodGet || r.Method == http.MethodHead }

// busy reports whether writes run, or ran within writeQuiet. The caller holds g.mu.
func (g *readGate) busy(now time.Time) bool {
	return g.writes > 0 || now.Sub(g.lastWrite) < writeQuiet
}

// open is how many reads may run now. The caller holds g.mu.
func (g *readGate) open() int {
	now := g.now()
	switch {
	case !g.busy(now):
		return g.maxReads
	case now.Before(g.notBefore):
		return 0
	default:
		return 1
	}
}

// enterRead waits for a read slot, or for ctx to end (then it returns its error and
// holds no slot). A read that enters calls exitRead with when it entered.
func (g *readGate) enterRead(ctx context.Context) error {
	g.mu.Lock()
	if len(g.waiting) == 0 && g.reads < g.open() {
		g.reads++
		g.mu.Unlock()
		return nil
	}
	ready := make(chan struct{})
	g.waiting = append(g.waiting, ready)
	g.admit() // sets the timer that lets it in when no read or write will
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

// exitRead gives back the slot of a read that entered at start. If writes ran as it
// ended, the next read waits its share of time out.
func (g *readGate) exitRead(start time.Time) {
	g.mu.Lock()
	if now := g.now(); g.busy(now) && g.busyShare > 0 && g.busyShare < 1 {
		took := now.Sub(start)
		g.notBefore = now.Add(time.Duration(float64(took) * (1 - g.busyShare) / g.busyShare))
	}
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

// exitWrite counts a write out.
func (g *readGate) exitWrite() {
	g.mu.Lock()
	g.writes--
	g.lastWrite = g.now()
	g.admit()
	g.mu.Unlock()
}

// admit lets the oldest waiting reads in while there are slots, and when reads are
// left waiting, sets a timer for when the gate opens wider: the end of the pause, or
// of the quiet after the last write. The caller holds g.mu.
func (g *readGate) admit() {
	for len(g.waiting) > 0 && g.reads < g.open() {
		close(g.waiting[0])
		g.waiting = g.waiting[1:]
		g.reads++
	}
	if len(g.waiting) == 0 || g.timer != nil {
		return
	}
	now := g.now()
	var at time.Time // zero: a running read or write will admit them as it ends
	if g.reads == 0 && g.notBefore.After(now) {
		at = g.notBefore // a read may start then
	}
	if quiet := g.lastWrite.Add(writeQuiet); g.writes == 0 && quiet.After(now) && (at.IsZero() || quiet.Before(at)) {
		at = quiet // more reads may start then
	}
	if !at.IsZero() {
		g.timer = time.AfterFunc(max(at.Sub(now), 0), func() {
			g.mu.Lock()
			g.timer = nil
			g.admit()
			g.mu.Unlock()
		})
	}
}
