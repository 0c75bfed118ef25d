package http

import (
	"container/list"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxConns is how many connections a server holds open at once when it sets no
// MaxConns. Each costs a file descriptor and some tens of KB; the default stays well
// under the usual open-file limit of a server process (ulimit -n; Go raises the soft
// limit to the hard one at start), with room for the store's files.
const DefaultMaxConns = 4096

// shedLogInterval is how often, at most, the server logs that it sheds connections:
// under a flood of them a line per connection would be a flood of its own.
const shedLogInterval = time.Minute

// ConnStats counts a server's connections, for its operator and its tests.
type ConnStats struct {
	Max  int // the cap: MaxConns or DefaultMaxConns
	Open int // open now
	// Waiting are those of Open that send no request now: being read from before their
	// first, or idle between two. They are the ones that may be shed.
	Waiting int
	Peak    int   // the most ever open at once: never above Max
	Shed    int64 // closed, having sent no complete request for the longest, to make room for a new one
	// Refused were closed as soon as they were accepted: every open connection was busy
	// with a request, so none could make room.
	Refused int64
}

// connLimit is a listener that holds at most max connections open. At the cap, a new
// connection takes the place of the one that has waited longest without sending a
// complete request — one the server is still reading headers from, or that idles
// between requests (http.StateNew or http.StateIdle, told by track) — so that
// connections that send nothing, or trickle their headers, cannot keep a fresh request
// out. When every connection is busy with a request, the new one is closed at once.
type connLimit struct {
	net.Listener
	max int
	log *slog.Logger
	now func() time.Time

	mu      sync.Mutex
	open    int
	peak    int
	waiting list.List // *limitedConn that send no request now, longest waiting first

	shed, refused atomic.Int64
	lastLog       atomic.Int64 // unix nanoseconds of the last log line about shedding
}

func newConnLimit(ln net.Listener, limit int, log *slog.Logger) *connLimit {
	if limit <= 0 {
		limit = DefaultMaxConns
	}
	return &connLimit{Listener: ln, max: limit, log: log, now: time.Now}
}

// limitedConn is a connection a connLimit counts. Its fields are the limit's, under
// its lock.
type limitedConn struct {
	net.Conn
	l      *connLimit
	elem   *list.Element // in l.waiting; nil while it serves a request, or once closed
	closed bool
}

// Accept returns the next connection within the cap, shedding or refusing as the type
// says; refused connections never reach the server.
func (l *connLimit) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if lc := l.admit(c); lc != nil {
			return lc, nil
		}
	}
}

// admit counts c in, making room for it if the cap is reached, or closes it and
// returns nil when there is none to make.
func (l *connLimit) admit(c net.Conn) *limitedConn {
	l.mu.Lock()
	var victim *limitedConn
	if l.open >= l.max {
		front := l.waiting.Front()
		if front == nil {
			l.mu.Unlock()
			c.Close()
			l.refused.Add(1)
			l.noteShedding()
			return nil
		}
		victim = front.Value.(*limitedConn)
		l.release(victim)
	}
	lc := &limitedConn{Conn: c, l: l}
	l.open++
	l.peak = max(l.peak, l.open)
	lc.elem = l.waiting.PushBack(lc) // it has sent no request yet
	l.mu.Unlock()
	if victim != nil {
		victim.Conn.Close() // its server goroutine sees the read fail and goes
		l.shed.Add(1)
		l.noteShedding()
	}
	return lc
}

// release forgets c: it no longer counts against the cap. Call it under l.mu.
func (l *connLimit) release(c *limitedConn) {
	if c.closed {
		return
	}
	c.closed = true
	l.open--
	if c.elem != nil {
		l.waiting.Remove(c.elem)
		c.elem = nil
	}
}

// Close releases the connection's place and closes it.
func (c *limitedConn) Close() error {
	c.l.mu.Lock()
	c.l.release(c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

// track is the server's ConnState hook: a connection that waits for a request (again)
// joins the back of the queue of those that may be shed; one that serves a request, or
// that a handler took over, leaves it.
func (l *connLimit) track(nc net.Conn, state http.ConnState) {
	c := unwrapLimited(nc)
	if c == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.closed {
		return
	}
	switch state {
	case http.StateActive, http.StateHijacked:
		if c.elem != nil {
			l.waiting.Remove(c.elem)
			c.elem = nil
		}
	case http.StateIdle:
		if c.elem != nil {
			l.waiting.Remove(c.elem)
		}
		c.elem = l.waiting.PushBack(c)
	}
	// StateNew: queued since Accept. StateClosed: Close has released it.
}

// unwrapLimited returns the limitedConn under c: c itself, or the connection a TLS
// connection runs on.
func unwrapLimited(c net.Conn) *limitedConn {
	for {
		switch v := c.(type) {
		case *limitedConn:
			return v
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return nil
		}
	}
}

// noteShedding logs, at most once a shedLogInterval, that the server is at its cap.
func (l *connLimit) noteShedding() {
	now, last := l.now().UnixNano(), l.lastLog.Load()
	if last != 0 && now-last < int64(shedLogInterval) || !l.lastLog.CompareAndSwap(last, now) {
		return
	}
	l.log.Warn("connections at the cap: shedding those that send no request, refusing when all are busy",
		"max_conns", l.max, "shed", l.shed.Load(), "refused", l.refused.Load())
}

// stats returns the limit's counts.
func (l *connLimit) stats() ConnStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return ConnStats{Max: l.max, Open: l.open, Waiting: l.waiting.Len(), Peak: l.peak, Shed: l.shed.Load(), Refused: l.refused.Load()}
}
