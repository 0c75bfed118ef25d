package sim

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/cgminer"
)

// TestFleetPorts: more devices than addresses share addresses on consecutive ports.
func TestFleetPorts(t *testing.T) {
	f, err := StartFleet(FleetConfig{Miners: 10, GPUServers: 2, Range: "127.77.3.1-127.77.3.3"})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := f.Addresses()
	want := []string{
		"127.77.3.1:4028", "127.77.3.1:4029", "127.77.3.1:4030", "127.77.3.1:4031",
		"127.77.3.2:4028", "127.77.3.2:4029", "127.77.3.2:4030", "127.77.3.2:4031",
		"127.77.3.3:4028", "127.77.3.3:4029", "127.77.3.3:8082", "127.77.3.3:8083",
	}
	if len(got) != len(want) {
		t.Fatalf("addresses %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("device %d at %s, want %s", i, got[i], want[i])
		}
	}
	if p := f.PowerW(); p != 10*3500+2*9350 {
		t.Errorf("fleet power %d W", p)
	}
}

// TestFleet2000 starts 2000 miners on their own loopback addresses, each on a socket
// of its own and all on one socket, curtails a tenth of them through the client, and
// checks the fleet's true power.
func TestFleet2000(t *testing.T) {
	if testing.Short() {
		t.Skip("2000 listeners")
	}
	t.Run("socket each", func(t *testing.T) { testFleet2000(t, false) })
	t.Run("one socket", func(t *testing.T) { testFleet2000(t, true) })
}

func testFleet2000(t *testing.T, oneSocket bool) {
	clock := NewFakeClock(t0)
	// On one socket the port is a free one: the wildcard address would clash with
	// other tests' miners on 4028.
	f, err := StartFleet(FleetConfig{Miners: 2000, Range: "127.1.0.2-127.1.9.254", Miner: MinerConfig{Clock: clock},
		OneSocket: oneSocket, RandomPorts: oneSocket})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	}()
	addrs := f.Addresses()
	seen := make(map[string]bool, len(addrs))
	for _, a := range addrs {
		seen[a] = true
	}
	host := func(a string) string { h, _, _ := net.SplitHostPort(a); return h }
	if len(addrs) != 2000 || len(seen) != 2000 || host(addrs[0]) != "127.1.0.2" || host(addrs[1999]) != "127.1.7.209" ||
		(!oneSocket && addrs[0] != "127.1.0.2:4028") {
		t.Fatalf("%d addresses (%d distinct), %s … %s", len(addrs), len(seen), addrs[0], addrs[len(addrs)-1])
	}
	if p := f.PowerW(); p != 2000*3500 {
		t.Fatalf("fleet power %d W", p)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 200)
	sem := make(chan struct{}, 32)
	for _, a := range addrs[:200] {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			errs <- cgminer.Dial(a, cgminer.WithTimeout(10*time.Second)).Sleep(context.Background())
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(2 * time.Second)
	if p, want := f.PowerW(), joule.Watts(1800*3500+200*20); p != want {
		t.Errorf("after curtailing 200: %d W, want %d", p, want)
	}
	for _, a := range []string{addrs[0], addrs[199], addrs[200], addrs[1999]} {
		tel, err := cgminer.Dial(a).Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		want := joule.StateRunning
		if a == addrs[0] || a == addrs[199] {
			want = joule.StateSleeping
		}
		if tel.State != want {
			t.Errorf("%s: %s, want %s", a, tel.State, want)
		}
	}
}

// TestOneSocketFaults: on one socket a miner that never answers holds only its own
// connections, and an address without a miner closes the connection unanswered.
func TestOneSocketFaults(t *testing.T) {
	f, err := StartFleet(FleetConfig{Miners: 3, Range: "127.1.10.1-127.1.10.3", OneSocket: true, RandomPorts: true})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Miners()[0].SetFault(FaultNoAnswer)
	addrs := f.Addresses()
	hung := make(chan error, 1)
	go func() {
		_, err := cgminer.Dial(addrs[0], cgminer.WithTimeout(time.Second)).Status(context.Background())
		hung <- err
	}()
	for _, a := range addrs[1:] {
		if tel, err := cgminer.Dial(a, cgminer.WithTimeout(5*time.Second)).Status(context.Background()); err != nil || tel.State != joule.StateRunning {
			t.Errorf("%s beside a hung miner: %+v, %v", a, tel, err)
		}
	}
	if err := <-hung; err == nil {
		t.Error("a miner that never answers gave a reading")
	}
	_, port, _ := net.SplitHostPort(addrs[0])
	if _, err := cgminer.Dial(net.JoinHostPort("127.1.10.9", port), cgminer.WithTimeout(5*time.Second)).Status(context.Background()); err == nil {
		t.Error("an address without a miner answered")
	}
	if _, err := net.DialTimeout("tcp", "127.1.10.1:"+port, time.Second); err != nil {
		t.Errorf("the socket does not take the loopback address: %v", err)
	}
}

func BenchmarkFleetStartStop(b *testing.B) {
	for b.Loop() {
		f, err := StartFleet(FleetConfig{Miners: 500, GPUServers: 10, Range: "127.2.0.1-127.2.3.254", RandomPorts: true})
		if err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFleetPower(b *testing.B) {
	f, err := StartFleet(FleetConfig{Miners: 1000, Range: "127.3.0.1-127.3.3.254", RandomPorts: true})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	for b.Loop() {
		f.PowerW()
	}
}

// The echo answers each connection with what it was sent.
func TestEcho(t *testing.T) {
	e, err := StartEcho("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for _, msg := range []string{"ping", "a longer request of the size of a cgminer command"} {
		conn, err := net.Dial("tcp", e.Addr())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(conn)
		conn.Close()
		if err != nil || string(got) != msg {
			t.Errorf("echo of %q: %q, %v", msg, got, err)
		}
	}
}
