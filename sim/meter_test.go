package sim

import (
	"errors"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/simonvetter/modbus"

	"github.com/joule-site/joule"
)

// dialMeter opens a Modbus client on the simulated meter, for the test's length.
func dialMeter(t *testing.T, m *Meter, unit uint8) *modbus.ModbusClient {
	t.Helper()
	c, err := modbus.NewClient(&modbus.ClientConfiguration{URL: "tcp://" + m.Addr(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetUnitId(unit); err != nil {
		t.Fatal(err)
	}
	if err := c.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// The simulated meter serves the power it is given, as a float32 in registers 0–1 of
// both tables, to any unit id, and nothing else.
func TestMeterRegisters(t *testing.T) {
	var power atomic.Int64
	power.Store(3_500_000)
	m, err := StartMeter("127.0.0.1:0", func() joule.Watts { return joule.Watts(power.Load()) })
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if !strings.HasPrefix(m.Addr(), "127.0.0.1:") || strings.HasSuffix(m.Addr(), ":0") {
		t.Errorf("Addr() = %q, want a port picked on 127.0.0.1", m.Addr())
	}
	if want := "modbus://" + m.Addr() + "?register=0"; m.URL() != want {
		t.Errorf("URL() = %q, want %q", m.URL(), want)
	}

	for _, unit := range []uint8{1, 17, 255} {
		c := dialMeter(t, m, unit)
		for _, table := range []modbus.RegType{modbus.INPUT_REGISTER, modbus.HOLDING_REGISTER} {
			if f, err := c.ReadFloat32(0, table); err != nil || f != 3_500_000 {
				t.Errorf("unit %d, table %d: %v, %v", unit, table, f, err)
			}
		}
	}

	c := dialMeter(t, m, 1)
	power.Store(1234)
	bits := math.Float32bits(1234)
	for _, tc := range []struct {
		addr, n uint16
		want    []uint16
		err     error
	}{
		{0, 2, []uint16{uint16(bits >> 16), uint16(bits)}, nil},
		{0, 1, []uint16{uint16(bits >> 16)}, nil},
		{1, 1, []uint16{uint16(bits)}, nil},
		{1, 2, nil, modbus.ErrIllegalDataAddress},
		{2, 1, nil, modbus.ErrIllegalDataAddress},
		{100, 2, nil, modbus.ErrIllegalDataAddress},
	} {
		regs, err := c.ReadRegisters(tc.addr, tc.n, modbus.INPUT_REGISTER)
		if !errors.Is(err, tc.err) || !slices.Equal(regs, tc.want) {
			t.Errorf("registers %d+%d: %04x, %v; want %04x, %v", tc.addr, tc.n, regs, err, tc.want, tc.err)
		}
	}
	if err := c.WriteRegister(0, 1); !errors.Is(err, modbus.ErrIllegalFunction) {
		t.Errorf("write: %v; want illegal function", err)
	}
	if _, err := c.ReadCoils(0, 1); !errors.Is(err, modbus.ErrIllegalFunction) {
		t.Errorf("coils: %v; want illegal function", err)
	}
}

// Two meters on port 0 get a port each; a meter can start again on a port it left;
// a port in use is an error.
func TestMeterPorts(t *testing.T) {
	power := func() joule.Watts { return 1 }
	a, err := StartMeter("", power)
	if err != nil {
		t.Fatal(err)
	}
	b, err := StartMeter("127.0.0.1:0", power)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if a.Addr() == b.Addr() {
		t.Errorf("two meters on %s", a.Addr())
	}
	if _, err := StartMeter(b.Addr(), power); err == nil || !strings.Contains(err.Error(), b.Addr()) {
		t.Errorf("a second meter on %s: %v", b.Addr(), err)
	}
	addr := a.Addr()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := StartMeter(addr, power)
	if err != nil {
		t.Fatalf("again on %s: %v", addr, err)
	}
	again.Close()
}
