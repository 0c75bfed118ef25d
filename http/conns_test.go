package http_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/sqlite"
	"github.com/joule-site/joule/syncbuf"
)

// waitUntil polls cond until it holds, and fails the test if it has not within bound:
// a bound on a broken server, generous enough for a busy machine, not a timing.
func waitUntil(t testing.TB, bound time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", bound, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// hostPort is the host:port of a server's URL.
func hostPort(s *jhttp.Server) string {
	return strings.TrimPrefix(strings.TrimPrefix(s.URL(), "http://"), "https://")
}

// freshClient makes every request on a connection of its own, as a health checker
// does, with a bound on a server that never answers.
func freshClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
}

// healthy fails the test unless /healthz answers 200, and returns how long it took.
func healthy(t testing.TB, c *http.Client, s *jhttp.Server) time.Duration {
	t.Helper()
	start := time.Now()
	resp, err := c.Get(s.URL() + "/healthz")
	if err != nil {
		t.Fatalf("/healthz: %v (connections: %+v)", err, s.Conns())
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %s", resp.Status)
	}
	return time.Since(start)
}

// dialRaw opens a connection to s that sends nothing, and waits until the server
// counts it, so that connections are accepted in the order they are dialed.
func dialRaw(t *testing.T, s *jhttp.Server) net.Conn {
	t.Helper()
	open := s.Conns().Open
	c, err := net.Dial("tcp", hostPort(s))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	waitUntil(t, 10*time.Second, "the server counts a new connection", func() bool { return s.Conns().Open > open })
	return c
}

// closedByServer reports whether the server closed c, waiting for it up to a bound.
func closedByServer(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// At the cap, a new connection takes the place of the one that has waited longest
// without a complete request: connections that send nothing, or half a request, do not
// keep a health check out.
func TestConnCapShedsTheLongestWaiting(t *testing.T) {
	s := openServer(t, func(s *jhttp.Server, _ *sqlite.DB) { s.MaxConns = 3 })
	first := dialRaw(t, s)
	second := dialRaw(t, s)
	if _, err := second.Write([]byte("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")); err != nil { // half a request
		t.Fatal(err)
	}
	dialRaw(t, s)
	if st := s.Conns(); st.Open != 3 || st.Waiting != 3 || st.Shed != 0 {
		t.Fatalf("three silent connections: %+v", st)
	}
	healthy(t, freshClient(), s)
	if !closedByServer(first) {
		t.Error("the connection that waited longest is still open")
	}
	st := s.Conns()
	if st.Shed != 1 || st.Refused != 0 || st.Peak != 3 || st.Max != 3 {
		t.Errorf("after one health check at the cap: %+v; want one shed, a peak of 3", st)
	}
	// Once the health check's connection has closed, fill the cap again: the next health
	// check sheds the half request, the oldest now.
	waitUntil(t, 10*time.Second, "the health check's connection closes", func() bool { return s.Conns().Open == 2 })
	dialRaw(t, s)
	healthy(t, freshClient(), s)
	if !closedByServer(second) {
		t.Error("the connection with half a request was not shed second")
	}
	if st := s.Conns(); st.Shed != 2 || st.Peak != 3 {
		t.Errorf("after two health checks at the cap: %+v", st)
	}
}

// When every connection is busy with a request, none can make room: a new one is
// closed at once, and served again once a slot is free.
func TestConnCapRefusesWhenAllAreBusy(t *testing.T) {
	s := openServer(t, func(s *jhttp.Server, _ *sqlite.DB) { s.MaxConns = 1 })
	busy := dialRaw(t, s)
	// A manifest whose body has not all come: the request is being served.
	body := "models:\n  - {id: mine-1, kind: asic, name: Mine, hashrate_ths: 1, power_w: 10}\n"
	head := fmt.Sprintf("POST /api/v1/apply HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\nContent-Type: application/yaml\r\nContent-Length: %d\r\n\r\n", opToken(s), len(body))
	if _, err := busy.Write([]byte(head + body[:10])); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "the server reads the request", func() bool { return s.Conns().Waiting == 0 })
	if _, err := freshClient().Get(s.URL() + "/healthz"); err == nil {
		t.Fatal("a health check was served beside a busy connection at a cap of one")
	}
	if st := s.Conns(); st.Refused != 1 || st.Shed != 0 || st.Open != 1 {
		t.Errorf("after a refusal: %+v; want one refused, none shed", st)
	}
	if _, err := busy.Write([]byte(body[10:])); err != nil { // the rest of the body
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(busy), nil)
	if err != nil {
		t.Fatalf("the busy request: %v", err)
	}
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the busy request: %s %s", resp.Status, msg)
	}
	// Its connection idles now: a health check takes its place.
	waitUntil(t, 10*time.Second, "the answered connection idles", func() bool { return s.Conns().Waiting == 1 })
	healthy(t, freshClient(), s)
	if st := s.Conns(); st.Shed != 1 {
		t.Errorf("after a health check beside an idle connection at a cap of one: %+v; want it shed", st)
	}
}

// Attackers' settings: the variables a helper process reads.
const (
	slowAddrEnv  = "JOULE_SLOW_CLIENTS_ADDR"
	slowCountEnv = "JOULE_SLOW_CLIENTS"
	slowFromEnv  = "JOULE_SLOW_CLIENTS_FROM"
)

// TestSlowConnectionsLeaveRoomForHealthChecks points 20,100 slowloris connections —
// each sends a request's headers a byte every two seconds and never finishes them, and
// is dialed again 10 to 20 s after the server drops it — from three attacker processes (the
// open-file limit is per process) at a server with the default cap, and checks that
// /healthz on fresh connections keeps answering, by shedding the connections that have
// waited longest.
func TestSlowConnectionsLeaveRoomForHealthChecks(t *testing.T) {
	if testing.Short() {
		t.Skip("holds 20,000 connections")
	}
	const attackers, each = 3, 6700
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < each+256 {
		t.Skipf("an attacker process needs %d open files; the limit is %d", each+256, lim.Cur)
	}
	logs := &syncbuf.Buffer{}
	s := openServer(t, func(s *jhttp.Server, _ *sqlite.DB) {
		s.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	start := time.Now()
	held := make([]atomic.Int64, attackers)
	for i := range attackers {
		startSlowClients(t, hostPort(s), fmt.Sprintf("127.0.0.%d", 2+i), each, &held[i])
	}
	waitUntil(t, 3*time.Minute, "every attacker holds its connections", func() bool {
		for i := range held {
			if held[i].Load() < each {
				return false
			}
		}
		return true
	})
	connected := time.Since(start)
	waitUntil(t, time.Minute, "the slow connections fill the server", func() bool {
		st := s.Conns()
		return st.Open == st.Max && st.Shed > 0
	})
	t.Logf("the attackers connected %d times in %s", attackers*each, connected.Round(time.Millisecond))
	c := freshClient()
	var slowest time.Duration
	for range 20 {
		slowest = max(slowest, healthy(t, c, s))
	}
	st := s.Conns()
	t.Logf("%d slow connections at a cap of %d: the slowest of 20 health checks took %s; %+v", attackers*each, st.Max, slowest, st)
	if st.Peak > st.Max || st.Shed == 0 {
		t.Errorf("connections %+v: want a peak within the cap, and some shed", st)
	}
	// One line about shedding per shedLogInterval (a minute), not one per connection.
	lines := strings.Count(logs.String(), "connections at the cap")
	if most := 1 + int(time.Since(start)/time.Minute); lines == 0 || lines > most {
		t.Errorf("%d log lines about shedding; want 1 to %d:\n%s", lines, most, logs)
	}
}

// startSlowClients starts an attacker process that holds n slow connections to addr
// from the address from, and keeps in held how many of them it has connected. The
// process ends with the test.
func startSlowClients(t *testing.T, addr, from string, n int, held *atomic.Int64) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperSlowClients$")
	cmd.Env = append(os.Environ(), slowAddrEnv+"="+addr, slowCountEnv+"="+strconv.Itoa(n), slowFromEnv+"="+from)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe() // closing it tells the attacker to stop
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "holding "); ok {
				if k, err := strconv.ParseInt(v, 10, 64); err == nil {
					held.Store(k)
				}
			}
		}
	}()
}

// TestHelperSlowClients is not a test: it is the attacker process that
// TestSlowConnectionsLeaveRoomForHealthChecks starts. It prints "holding N" as its
// connections connect, and stops when its standard input closes.
func TestHelperSlowClients(t *testing.T) {
	addr := os.Getenv(slowAddrEnv)
	if addr == "" {
		t.Skip("the attacker process of TestSlowConnectionsLeaveRoomForHealthChecks")
	}
	n, _ := strconv.Atoi(os.Getenv(slowCountEnv))
	a := &slowClients{addr: addr, from: net.ParseIP(os.Getenv(slowFromEnv)), n: n, every: 2 * time.Second, redial: 10 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		cancel()
	}()
	done := make(chan struct{})
	go func() {
		a.run(ctx)
		close(done)
	}()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last := int64(-1)
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		if k := a.connected.Load(); k != last {
			fmt.Printf("holding %d\n", k)
			last = k
		}
	}
}

// slowClients is a slowloris attacker: n connections to addr that each send a
// request's headers a byte every `every` and never finish them. A connection the server
// closes is dialed again after one to two `redial`s: the attacker holds connections,
// it does not flood the server with new ones.
type slowClients struct {
	addr          string
	from          net.IP // the source address; nil: any
	n             int
	every, redial time.Duration
	// connected counts the connections that have connected at least once.
	connected atomic.Int64
}

// run holds the connections until ctx ends.
func (a *slowClients) run(ctx context.Context) {
	dialing := make(chan struct{}, 64) // dials in flight at once: a burst is not a SYN flood
	var wg sync.WaitGroup
	for i := range a.n {
		wg.Go(func() { a.hold(ctx, uint64(i), dialing) })
	}
	wg.Wait()
}

// hold keeps one connection open, dialing it again whenever the server drops it.
func (a *slowClients) hold(ctx context.Context, seed uint64, dialing chan struct{}) {
	d := net.Dialer{Timeout: 30 * time.Second}
	if a.from != nil {
		d.LocalAddr = &net.TCPAddr{IP: a.from}
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	counted := false
	for {
		select {
		case dialing <- struct{}{}:
		case <-ctx.Done():
			return
		}
		c, err := d.DialContext(ctx, "tcp", a.addr)
		<-dialing
		if err == nil {
			if !counted {
				a.connected.Add(1)
				counted = true
			}
			a.trickle(ctx, c)
			c.Close()
		}
		select {
		case <-time.After(a.redial + time.Duration(rng.Int64N(int64(a.redial)))):
		case <-ctx.Done():
			return
		}
	}
}

// trickle sends the start of a request and then a byte of a header every `every`,
// until the server closes the connection, answers, or ctx ends.
func (a *slowClients) trickle(ctx context.Context, c net.Conn) {
	defer context.AfterFunc(ctx, func() { c.Close() })()
	if _, err := c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")); err != nil {
		return
	}
	var b [1]byte
	for {
		c.SetReadDeadline(time.Now().Add(a.every))
		_, err := c.Read(b[:])
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			return // closed, or an answer: either way the server has let go
		}
		if _, err := c.Write([]byte("x")); err != nil {
			return
		}
	}
}
