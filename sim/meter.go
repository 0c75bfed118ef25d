package sim

import (
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"strconv"

	"github.com/simonvetter/modbus"

	"github.com/joule-site/joule"
)

// The simulated site meter speaks Modbus TCP (github.com/simonvetter/modbus serves it)
// with the simplest register map a real meter has: the total active power in watts as
// an IEEE 754 float32, high word first, in registers 0 and 1 of both the input and the
// holding tables, for any unit id. Other registers answer "illegal data address";
// writes, coils and discrete inputs answer "illegal function".

// Meter is a simulated site power meter: it reports what a power function says, such
// as a Fleet's true power, whatever the devices report of themselves.
type Meter struct {
	addr   string
	server *modbus.ModbusServer
}

// quiet discards the Modbus library's log lines, which it otherwise prints on standard
// output.
var quiet = log.New(io.Discard, "", 0)

// StartMeter serves power, read at each request, on addr (host:port; port 0 picks a
// free one; default 127.0.0.1:0).
func StartMeter(addr string, power func() joule.Watts) (*Meter, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("meter address %q: %w", addr, err)
	}
	// The library listens by itself, on an address given in full, so a free port is
	// found here first; another process can take it before the server binds it, hence
	// a few tries.
	pick := port == "0"
	for try := 0; ; try++ {
		if pick {
			if port, err = freePort(host); err != nil {
				return nil, fmt.Errorf("meter address %q: %w", addr, err)
			}
		}
		a := net.JoinHostPort(host, port)
		srv, err := modbus.NewServer(&modbus.ServerConfiguration{URL: "tcp://" + a, MaxClients: 64, Logger: quiet},
			meterRegisters{power})
		if err != nil {
			return nil, fmt.Errorf("meter %s: %w", a, err)
		}
		if err = srv.Start(); err == nil {
			return &Meter{addr: a, server: srv}, nil
		}
		if !pick || try == 4 {
			return nil, fmt.Errorf("meter %s: %w", a, err)
		}
	}
}

// freePort returns a TCP port that is free on host now.
func freePort(host string) (string, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", err
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port), nil
}

// Addr is the host:port the meter listens on.
func (m *Meter) Addr() string { return m.addr }

// URL is the meter as a modbus:// URL, as the meter package reads it.
func (m *Meter) URL() string { return "modbus://" + m.addr + "?register=0" }

// Close stops the meter and closes its connections.
func (m *Meter) Close() error { return m.server.Stop() }

// meterRegisters answers the simulated meter's register map.
type meterRegisters struct {
	power func() joule.Watts
}

// HandleCoils answers that a meter has no coils.
func (meterRegisters) HandleCoils(*modbus.CoilsRequest) ([]bool, error) {
	return nil, modbus.ErrIllegalFunction
}

// HandleDiscreteInputs answers that a meter has no discrete inputs.
func (meterRegisters) HandleDiscreteInputs(*modbus.DiscreteInputsRequest) ([]bool, error) {
	return nil, modbus.ErrIllegalFunction
}

// HandleHoldingRegisters serves the power; the meter takes no writes.
func (r meterRegisters) HandleHoldingRegisters(req *modbus.HoldingRegistersRequest) ([]uint16, error) {
	if req.IsWrite {
		return nil, modbus.ErrIllegalFunction
	}
	return r.read(req.Addr, req.Quantity)
}

// HandleInputRegisters serves the power.
func (r meterRegisters) HandleInputRegisters(req *modbus.InputRegistersRequest) ([]uint16, error) {
	return r.read(req.Addr, req.Quantity)
}

// read returns registers addr … addr+n-1 of the two that hold the power, both from
// one reading.
func (r meterRegisters) read(addr, n uint16) ([]uint16, error) {
	if uint32(addr)+uint32(n) > 2 {
		return nil, modbus.ErrIllegalDataAddress
	}
	bits := math.Float32bits(float32(r.power()))
	regs := []uint16{uint16(bits >> 16), uint16(bits)}
	return regs[addr : addr+n], nil
}
