package meter_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simonvetter/modbus"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/meter"
	"github.com/joule-site/joule/sim"
)

// open opens the meter a URL names and closes it when the test ends.
func open(t *testing.T, url string) *meter.Meter {
	t.Helper()
	cfg, err := meter.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	m, err := meter.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// The meter reads the simulator's meter as its power changes: float32 carries whole
// watts exactly up to 16.7 MW, and fractions round to the nearest watt.
func TestPowerFromSimMeter(t *testing.T) {
	var power atomic.Int64 // in tenths of a watt
	sm, err := sim.StartMeter("127.0.0.1:0", func() joule.Watts { return joule.Watts(power.Load() / 10) })
	if err != nil {
		t.Fatal(err)
	}
	defer sm.Close()
	m := open(t, sm.URL())
	if m.String() != sm.URL() {
		t.Errorf("String() = %q, want %q", m, sm.URL())
	}
	ctx := context.Background()
	for _, w := range []joule.Watts{3_500_000, 0, 70_000, 16_777_216} {
		power.Store(int64(w) * 10)
		if got, err := m.PowerW(ctx); err != nil || got != w {
			t.Errorf("power %v: read %v, %v", w, got, err)
		}
	}

	// The simulator serves whole watts; a meter that reports fractions is the
	// in-test server's to serve.
	bits := math.Float32bits(1234.6)
	frac := startServer(t, func(unit uint8, addr uint16) (uint16, bool) {
		return map[uint16]uint16{0: uint16(bits >> 16), 1: uint16(bits)}[addr], addr < 2
	})
	if got, err := open(t, frac).PowerW(ctx); err != nil || got != 1235 {
		t.Errorf("1234.6 W: read %v, %v; want 1235", got, err)
	}

	// Readings from many goroutines take turns on the one connection.
	power.Store(2_000_000 * 10)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if got, err := m.PowerW(ctx); err != nil || got != 2_000_000 {
				t.Errorf("concurrent read: %v, %v", got, err)
			}
		})
	}
	wg.Wait()
}

// A meter that went away is an error that names it, and the next reading after it
// comes back reconnects.
func TestMeterGoneAndBack(t *testing.T) {
	sm, err := sim.StartMeter("127.0.0.1:0", func() joule.Watts { return 42_000 })
	if err != nil {
		t.Fatal(err)
	}
	addr := sm.Addr()
	m := open(t, sm.URL())
	ctx := context.Background()
	if w, err := m.PowerW(ctx); err != nil || w != 42_000 {
		t.Fatalf("read %v, %v", w, err)
	}
	sm.Close()
	// The first reading fails on the connection it had, the second at connecting.
	for i := range 2 {
		if _, err := m.PowerW(ctx); err == nil || !strings.Contains(err.Error(), addr) {
			t.Errorf("reading %d with the meter gone: %v; want an error naming %s", i, err, addr)
		}
	}
	sm, err = sim.StartMeter(addr, func() joule.Watts { return 43_000 })
	if err != nil {
		t.Fatal(err)
	}
	defer sm.Close()
	if w, err := m.PowerW(ctx); err != nil || w != 43_000 {
		t.Errorf("after the meter came back: %v, %v", w, err)
	}
	m.Close()
	if _, err := m.PowerW(ctx); err == nil {
		t.Error("read after Close")
	}
}

// registers answers a read of one register on a unit: its value, or false where there
// is no such register.
type registers func(unit uint8, addr uint16) (uint16, bool)

func (r registers) HandleCoils(*modbus.CoilsRequest) ([]bool, error) {
	return nil, modbus.ErrIllegalFunction
}

func (r registers) HandleDiscreteInputs(*modbus.DiscreteInputsRequest) ([]bool, error) {
	return nil, modbus.ErrIllegalFunction
}

// Holding registers are the input registers moved up by 1000, so that a meter that
// reads the wrong table reads nothing.
func (r registers) HandleHoldingRegisters(req *modbus.HoldingRegistersRequest) ([]uint16, error) {
	if req.Addr < 1000 {
		return nil, modbus.ErrIllegalDataAddress
	}
	return r.read(req.UnitId, req.Addr-1000, req.Quantity)
}

func (r registers) HandleInputRegisters(req *modbus.InputRegistersRequest) ([]uint16, error) {
	return r.read(req.UnitId, req.Addr, req.Quantity)
}

func (r registers) read(unit uint8, addr, n uint16) ([]uint16, error) {
	regs := make([]uint16, n)
	for i := range regs {
		v, ok := r(unit, addr+uint16(i))
		if !ok {
			return nil, modbus.ErrIllegalDataAddress
		}
		regs[i] = v
	}
	return regs, nil
}

// startServer serves r with the Modbus library on a free loopback port, until the test
// ends, and returns its modbus:// URL with no query.
func startServer(t *testing.T, r registers) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	srv, err := modbus.NewServer(&modbus.ServerConfiguration{URL: "tcp://" + addr, Logger: log.New(io.Discard, "", 0)}, r)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	return "modbus://" + addr
}

// Meters keep their reading in different tables, types, scales and word orders.
func TestDecoding(t *testing.T) {
	f32 := func(f float32) (hi, lo uint16) {
		b := math.Float32bits(f)
		return uint16(b >> 16), uint16(b)
	}
	regs := map[uint16]uint16{
		10: 0x0001, 11: 0x86A0, // int32 100000, high word first
		20: 0x86A0, 21: 0x0001, // the same, low word first
		30: 0xFFFF, 31: 0xFFFF, // int32 -1 (uint32 4294967295)
		40: 0xFF38, // int16 -200
		41: 500,
		50: 0x0000, 51: 0x8000, // uint32 2147483648 low word first
	}
	regs[60], regs[61] = f32(3500.5)
	regs[71], regs[70] = f32(3_500_000) // low word first
	regs[80], regs[81] = f32(float32(math.NaN()))
	regs[90], regs[91] = f32(float32(math.Inf(1)))
	url := startServer(t, func(unit uint8, addr uint16) (uint16, bool) {
		v, ok := regs[addr]
		return v, ok && unit == 3
	})
	tests := []struct {
		query string
		want  joule.Watts
		err   string // in the error, when there is one
	}{
		{"register=10&type=int32", 100_000, ""},
		{"register=20&type=int32&words=low-first", 100_000, ""},
		{"register=20&type=uint32", 0x86A0_0001, ""},
		{"register=1020&table=holding&type=int32&words=low-first", 100_000, ""},
		{"register=30&type=int32", 0, "negative"},
		{"register=30&type=uint32", 4_294_967_295, ""},
		{"register=50&type=uint32&words=low-first", 2_147_483_648, ""},
		{"register=40&type=int16", 0, "negative"},
		{"register=40&type=uint16", 0xFF38, ""},
		{"register=41&type=int16&scale=100", 50_000, ""},
		{"register=1041&table=holding&type=uint16&scale=1000", 500_000, ""},
		{"register=60&scale=1000", 3_500_500, ""},
		{"register=70&words=low-first", 3_500_000, ""},
		{"register=80", 0, "not a power"},
		{"register=90", 0, "not a power"},
		{"register=41&type=uint16&scale=0.5", 250, ""},
		{"register=41&type=uint16&scale=0.1", 50, ""},
		{"register=41", 0, "illegal data address"}, // a float32 needs 42 too
		{"register=41&table=holding", 0, "illegal data address"},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			m := open(t, url+"?unit=3&"+tc.query)
			got, err := m.PowerW(context.Background())
			switch {
			case tc.err == "" && (err != nil || got != tc.want):
				t.Errorf("read %v, %v; want %v", got, err, tc.want)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("read %v, %v; want an error with %q", got, err, tc.err)
			}
		})
	}
	// Another unit id is another device behind the gateway.
	if _, err := open(t, url+"?unit=4&register=10&type=int32").PowerW(context.Background()); err == nil {
		t.Error("unit 4 answered")
	}
}

// silent accepts connections and reads them until the test ends, answering nothing:
// a meter that hangs. It returns its address and a channel told of each connection.
func silent(t *testing.T) (string, <-chan struct{}) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	accepted := make(chan struct{}, 16)
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			accepted <- struct{}{}
			go io.Copy(io.Discard, c)
		}
	}()
	return l.Addr().String(), accepted
}

// A meter that never answers costs a reading its Timeout, or less when the caller's
// context ends first, and a caller waiting its turn gives up with its own context.
func TestHangingMeter(t *testing.T) {
	addr, _ := silent(t)
	m, err := meter.Open(meter.Config{Addr: addr, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	start := time.Now()
	_, err = m.PowerW(context.Background())
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), addr) {
		t.Errorf("read: %v; want a deadline error naming %s", err, addr)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("a 300ms timeout took %v", d)
	}

	slowAddr, accepted := silent(t)
	slow, err := meter.Open(meter.Config{Addr: slowAddr, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	first, cancelFirst := context.WithCancel(context.Background())
	firstDone := make(chan error, 1)
	go func() {
		_, err := slow.PowerW(first)
		firstDone <- err
	}()
	<-accepted // the first reading holds the turn
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	if _, err := slow.PowerW(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting reading: %v; want its context's deadline", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("a 200ms context took %v", d)
	}
	cancelFirst()
	select {
	case err := <-firstDone:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("canceled reading: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Error("a canceled reading did not return")
	}
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		url  string
		want meter.Config
		err  string // in the error, when there is one
	}{
		{"modbus://10.0.0.5", meter.Config{Addr: "10.0.0.5:502", Unit: 1, Type: "float32", Scale: 1, Timeout: 3 * time.Second}, ""},
		{"modbus://meter.site:5020/?unit=7&register=3059&table=holding&type=int32&scale=1000&words=low-first",
			meter.Config{Addr: "meter.site:5020", Unit: 7, Register: 3059, Holding: true, Type: "int32", Scale: 1000, LowWordFirst: true, Timeout: 3 * time.Second}, ""},
		{"modbus://[fd00::5]?table=input&words=high-first&type=uint16&register=65535",
			meter.Config{Addr: "[fd00::5]:502", Unit: 1, Register: 65535, Type: "uint16", Scale: 1, Timeout: 3 * time.Second}, ""},
		{"tcp://10.0.0.5:502", meter.Config{}, "scheme"},
		{"10.0.0.5:502", meter.Config{}, "want modbus://"},
		{"modbus://", meter.Config{}, "no host"},
		{"modbus://:502", meter.Config{}, "no host"},
		{"modbus:10.0.0.5", meter.Config{}, "no host"},
		{"modbus://::1", meter.Config{}, "brackets"},
		{"modbus://10.0.0.5:0", meter.Config{}, "port"},
		{"modbus://10.0.0.5:70000", meter.Config{}, "port"},
		{"modbus://admin@10.0.0.5", meter.Config{}, "user"},
		{"modbus://10.0.0.5/power", meter.Config{}, "path"},
		{"modbus://10.0.0.5?unit=0", meter.Config{}, "unit="},
		{"modbus://10.0.0.5?unit=256", meter.Config{}, "unit="},
		{"modbus://10.0.0.5?unit=1&unit=2", meter.Config{}, "unit is given 2 times"},
		{"modbus://10.0.0.5?register=-1", meter.Config{}, "register="},
		{"modbus://10.0.0.5?register=65536", meter.Config{}, "register="},
		{"modbus://10.0.0.5?register=65535", meter.Config{}, "two registers"},
		{"modbus://10.0.0.5?table=coil", meter.Config{}, "table="},
		{"modbus://10.0.0.5?type=float64", meter.Config{}, "type="},
		{"modbus://10.0.0.5?scale=0", meter.Config{}, "scale="},
		{"modbus://10.0.0.5?scale=-1000", meter.Config{}, "scale="},
		{"modbus://10.0.0.5?scale=NaN", meter.Config{}, "scale="},
		{"modbus://10.0.0.5?scale=kW", meter.Config{}, "scale="},
		{"modbus://10.0.0.5?words=little", meter.Config{}, "words="},
		{"modbus://10.0.0.5?timeout=1s", meter.Config{}, `unknown key "timeout"`},
		{"modbus://10.0.0.5?unit=%zz", meter.Config{}, "query"},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			got, err := meter.ParseURL(tc.url)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || joule.ErrorCode(err) != joule.EINVALID {
					t.Errorf("got %+v, %v; want an EINVALID error with %q", got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
			if back, err := meter.ParseURL(got.String()); err != nil || back != got {
				t.Errorf("%s reads back as %+v, %v", got, back, err)
			}
		})
	}
}

// Open checks what ParseURL checks, for a Config built in code.
func TestOpenChecksConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg meter.Config
		err string
	}{
		{meter.Config{}, "address"},
		{meter.Config{Addr: ":502"}, "address"},
		{meter.Config{Addr: "10.0.0.5", Type: "float64"}, "type"},
		{meter.Config{Addr: "10.0.0.5", Scale: -1}, "scale"},
		{meter.Config{Addr: "10.0.0.5", Register: 65535, Type: "int32"}, "two registers"},
		{meter.Config{Addr: "10.0.0.5", Timeout: -time.Second}, "timeout"},
		{meter.Config{Addr: "10.0.0.5", Register: 65535, Type: "int16"}, ""},
	} {
		t.Run(fmt.Sprintf("%+v", tc.cfg), func(t *testing.T) {
			m, err := meter.Open(tc.cfg)
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("Open: %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || joule.ErrorCode(err) != joule.EINVALID):
				t.Errorf("Open: %v; want an EINVALID error with %q", err, tc.err)
			}
			if m != nil {
				m.Close()
			}
		})
	}
	m, err := meter.Open(meter.Config{Addr: "10.0.0.5", Scale: 1000, Holding: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := "modbus://10.0.0.5:502?register=0&scale=1000&table=holding"; m.String() != want {
		t.Errorf("String() = %q, want %q", m, want)
	}
}

// FuzzParseURL: no URL panics the parser, and what it accepts it writes back as a URL
// that reads back the same.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"modbus://10.0.0.5", "modbus://meter:5020?unit=7&register=3059&table=holding&type=int32&scale=1000&words=low-first",
		"modbus://[::1]:502?scale=0.001", "tcp://x", "modbus://x?unit=1&unit=2", "modBus://::",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cfg, err := meter.ParseURL(s)
		if err != nil {
			return
		}
		if back, err := meter.ParseURL(cfg.String()); err != nil || back != cfg {
			t.Errorf("%q → %+v → %q → %+v, %v", s, cfg, cfg.String(), back, err)
		}
	})
}
