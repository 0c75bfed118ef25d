package sim

import (
	"context"
	"net"
	"sync"
	"time"
)

// Echo is a bare request/reply peer on loopback: it answers every connection by
// writing back what it read and closing, as the simulated miners answer one request
// per connection but with no work in between. Benchmarks measure round trips to it as
// the floor the same machine puts under any exchange with a simulated device.
type Echo struct {
	ln net.Listener
	wg sync.WaitGroup
}

// StartEcho listens on addr (host:port; port 0 picks a free one) and serves until
// Close.
func StartEcho(addr string) (*Echo, error) {
	ln, err := (&net.ListenConfig{KeepAlive: -1}).Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, err
	}
	e := &Echo{ln: ln}
	e.wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			e.wg.Go(func() { echoOnce(conn) })
		}
	})
	return e, nil
}

func echoOnce(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	var buf [256]byte
	n, err := conn.Read(buf[:])
	if err != nil && n == 0 {
		return
	}
	_, _ = conn.Write(buf[:n])
}

// Addr returns the address the echo answers at.
func (e *Echo) Addr() string { return e.ln.Addr().String() }

// Close stops the echo and waits for its connections to end.
func (e *Echo) Close() error {
	err := e.ln.Close()
	e.wg.Wait()
	return err
}
