package http

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// A client of several replicas. NewClient takes a comma-separated list of base URLs
// (joule --server http://a:8080,http://b:8080, or --server repeated): requests go to
// the one that answered last, and move on to the next, in a single call, when it cannot
// take them — it is not reached (nothing was sent), or it answers 503 (nothing was
// done: a follower with no leader, a deposed leader, a store that cannot write now),
// or, for a read, it does not answer in time. When no replica of the list takes it, the
// client tries them all again a few times over about two and a half seconds
// (electionRounds), the time an election takes. A follower's 503 that names the leader
// (X-Joule-Leader) sends the request there next when the leader is one of the list.
// A write whose answer was lost after it was sent is not sent again: the caller sees
// the error, and an idempotency key, where the route takes one, makes its own retry
// harmless. Followers send writes on to the leader themselves, so any replica that
// answers will do.

// servers is the list a client was made with and the one that answered last.
type servers struct {
	mu      sync.Mutex
	urls    []string
	current int
}

// splitServers splits a comma-separated list of base URLs, trimming each.
func splitServers(list string) []string {
	var urls []string
	for u := range strings.SplitSeq(list, ",") {
		if u = strings.TrimRight(strings.TrimSpace(u), "/"); u != "" {
			urls = append(urls, u)
		}
	}
	return urls
}

// Servers returns the base URLs the client sends to, the one that answered last first.
func (c *Client) Servers() []string {
	c.servers.mu.Lock()
	defer c.servers.mu.Unlock()
	urls := c.servers.list(c.URL)
	return append(urls[c.servers.current:len(urls):len(urls)], urls[:c.servers.current]...)
}

// list returns the URLs, parsed from url once. Call it with mu held.
func (s *servers) list(url string) []string {
	if s.urls == nil {
		s.urls = splitServers(url)
		if len(s.urls) == 0 {
			s.urls = []string{url}
		}
	}
	return s.urls
}

// unanswered is a request that got no reply; sent is false when it was never sent
// (the server could not be reached), so that sending it elsewhere is safe.
type unanswered struct {
	err     error
	notSent bool
}

func (e *unanswered) Error() string { return e.err.Error() }
func (e *unanswered) Unwrap() error { return e.err }

// refused is a 503: the server did nothing, and says where the leader is when it knows.
type refused struct {
	err    error
	leader string
}

func (e *refused) Error() string { return e.err.Error() }
func (e *refused) Unwrap() error { return e.err }

// notSent reports whether a transport error came before the request left: dialling
// failed.
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// electionRounds are the pauses before a client of several replicas tries them all
// again, when in one round none could take a request and none had failed it after it
// was sent: an election among the replicas takes about a second after a crash.
var electionRounds = []time.Duration{300 * time.Millisecond, 700 * time.Millisecond, 1500 * time.Millisecond}

// failover sends with send to each server at most once a round, starting with the one
// that answered last, until one takes the request; with several servers it tries
// again after each of electionRounds. It returns the last error when none does.
func (c *Client) failover(ctx context.Context, method string, send func(ctx context.Context, base string) ([]byte, error)) ([]byte, error) {
	c.servers.mu.Lock()
	urls := c.servers.list(c.URL)
	first := c.servers.current
	c.servers.mu.Unlock()
	data, again, err := c.round(ctx, urls, first, method, send)
	for _, pause := range electionRounds {
		if !again || len(urls) < 2 {
			break
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
		data, again, err = c.round(ctx, urls, first, method, send)
	}
	return data, err
}

// round tries each server once, as failover says; again reports that none took the
// request and that it may be sent again.
func (c *Client) round(ctx context.Context, urls []string, first int, method string, send func(ctx context.Context, base string) ([]byte, error)) (data []byte, again bool, err error) {
	read := method == http.MethodGet || method == http.MethodHead
	tried := make([]bool, len(urls))
	next := first
	for range urls {
		tried[next] = true
		data, err = send(ctx, urls[next])
		if err == nil {
			c.servers.mu.Lock()
			c.servers.current = next
			c.servers.mu.Unlock()
			return data, false, nil
		}
		if ctx.Err() != nil {
			return nil, false, err
		}
		var leader string
		if u, ok := errors.AsType[*unanswered](err); ok {
			if !u.notSent && !read {
				c.moveOn(next)
				return nil, false, err
			}
		} else if r, ok := errors.AsType[*refused](err); ok {
			leader = strings.TrimRight(r.leader, "/")
		} else {
			return nil, false, err // an answer: the server's, wherever it was sent
		}
		next = c.nextServer(urls, tried, next, leader)
		if next < 0 {
			break
		}
	}
	c.moveOn(first)
	return nil, true, err
}

// nextServer is the index of the server to try after i: the leader when it is one of
// urls and not tried yet, else the next not tried; -1 when all were.
func (c *Client) nextServer(urls []string, tried []bool, i int, leader string) int {
	for j, u := range urls {
		if u == leader && !tried[j] {
			return j
		}
	}
	for k := 1; k < len(urls); k++ {
		if j := (i + k) % len(urls); !tried[j] {
			return j
		}
	}
	return -1
}

// moveOn makes the server after i the first the next request tries, when i is still
// the current one.
func (c *Client) moveOn(i int) {
	c.servers.mu.Lock()
	defer c.servers.mu.Unlock()
	if n := len(c.servers.urls); n > 1 && c.servers.current == i {
		c.servers.current = (i + 1) % n
	}
}
