package cgminer

import (
	"bytes"
	"context"
	"errors"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/joule-site/joule"
)

// rawPeer runs serve on every connection to a listener on 127.0.0.1:0.
func rawPeer(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer conn.Close()
				go func() { <-done; conn.Close() }()
				serve(conn)
			})
		}
	})
	return ln.Addr().String()
}

// TestFaults: a peer that misbehaves gives an error, never a panic or a hang past the
// deadline.
func TestFaults(t *testing.T) {
	big := bytes.Repeat([]byte("{\"a\":"), 2<<20) // 10 MB, no NUL
	tests := []struct {
		name  string
		serve func(net.Conn)
		check func(t *testing.T, err error)
	}{
		{"garbage", func(c net.Conn) {
			readRequest(c)
			c.Write([]byte("\x01\x02\xffthis is not json at all\x00"))
		}, nil},
		{"hangs", func(c net.Conn) {
			readRequest(c)
			c.Read(make([]byte, 1)) // until the client gives up
		}, func(t *testing.T, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error %v is not DeadlineExceeded", err)
			}
		}},
		{"closes before replying", func(c net.Conn) { readRequest(c) }, nil},
		{"closes in the middle of the reply", func(c net.Conn) {
			readRequest(c)
			c.Write([]byte(`{"STATUS":[{"STATUS":"S","Code":11}],"SUMMARY":[{"Elapsed":1,`))
		}, nil},
		{"10 MB without NUL", func(c net.Conn) {
			readRequest(c)
			c.Write(big)
		}, func(t *testing.T, err error) {
			if !errors.Is(err, ErrReplyTooLarge) {
				t.Errorf("error %v is not ErrReplyTooLarge", err)
			}
		}},
		{"error status", func(c net.Conn) {
			readRequest(c)
			c.Write(fixture(t, "luxminer/error-invalid-command.json"))
		}, func(t *testing.T, err error) {
			e, ok := errorsAs[*APIError](err)
			if !ok || e.Code != CodeInvalidCommand || joule.ErrorCode(err) != joule.EINVALID {
				t.Errorf("error %v (%T), want an APIError with code 14", err, err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := rawPeer(t, tc.serve)
			// Only the hanging peer needs the deadline; the others fail on their own.
			wait := 10 * time.Second
			if tc.name == "hangs" {
				wait = 300 * time.Millisecond
			}
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			c := Dial(addr, WithTimeout(time.Minute))
			_, err := c.Summary(ctx)
			if err == nil {
				t.Fatal("Summary gave no error")
			}
			if tc.check != nil {
				tc.check(t, err)
			}
			if _, err := c.Status(ctx); err == nil {
				t.Error("Status gave no error")
			}
		})
	}
}

// TestReplySizeBounded: reading a 10 MB stream keeps memory near the 1 MiB limit.
func TestReplySizeBounded(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 10<<20)
	addr := rawPeer(t, func(c net.Conn) { readRequest(c); c.Write(big) })
	c := Dial(addr, WithTimeout(5*time.Second))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := c.Raw(context.Background(), "summary", "")
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrReplyTooLarge) {
		t.Fatalf("error %v, want ErrReplyTooLarge", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 4<<20 {
		t.Errorf("allocated %d bytes for a reply bounded at %d", grew, DefaultMaxReply)
	}
}

// TestCancel: cancelling the context ends a request that waits on a silent peer.
func TestCancel(t *testing.T) {
	addr := rawPeer(t, func(c net.Conn) { readRequest(c); c.Read(make([]byte, 1)) })
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := Dial(addr, WithTimeout(time.Minute)).Raw(ctx, "summary", ""); errc <- err }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

// TestRefused: nothing listening is a transport error.
func TestRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = Dial(addr).Status(context.Background())
	if err == nil || !isTransport(err) {
		t.Errorf("error %v, want a transport error", err)
	}
}
