// Package meter reads a site's power meter over Modbus TCP: the total active power at
// the feed, where the utility measures the site.
//
// Devices report their own power, and a device can be wrong about itself: a miner
// whose firmware says it sleeps while it hashes at full power, a PDU reading that
// lags, loads nobody reports (cooling, transformers, the office). A meter at the feed
// measures what the site actually draws, so a command that shed 100 kW by the devices'
// account but not at the meter shows up as a gap between the two, and a miner that lies
// about being asleep is caught.
//
// Meters differ in where they keep the reading and how they encode it: Config (or a
// modbus:// URL, see ParseURL) names the register, the table (input or holding), the
// number type, the scale to watts and the word order. The Modbus protocol itself is
// github.com/simonvetter/modbus.
package meter

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"strconv"
	"time"

	"github.com/simonvetter/modbus"

	"github.com/joule-site/joule"
)

// Number types a meter keeps its power reading in, as Config.Type takes them.
const (
	Float32 = "float32" // IEEE 754 single precision in two registers (the default)
	Int32   = "int32"   // two's complement in two registers
	Uint32  = "uint32"  // unsigned in two registers
	Int16   = "int16"   // two's complement in one register
	Uint16  = "uint16"  // unsigned in one register
)

// Defaults for the fields of a Config left zero.
const (
	DefaultPort    = 502 // the Modbus TCP port
	DefaultUnit    = 1
	DefaultTimeout = 3 * time.Second
)

// Config says where a meter is and how it encodes its total active power. Zero fields
// take the defaults named.
type Config struct {
	Addr         string        // host:port; the port defaults to 502
	Unit         uint8         // Modbus unit (slave) id; 0 means the default, 1
	Register     uint16        // first register of the total active power
	Holding      bool          // the reading is in holding registers instead of input registers
	Type         string        // Float32 (default), Int32, Uint32, Int16 or Uint16
	Scale        float64       // watts per unit read; default 1 (1000 for a meter that reports kW)
	LowWordFirst bool          // 32-bit values come with the low word first
	Timeout      time.Duration // the longest one reading takes, connecting included; default 3 s
}

// withDefaults returns c with its zero fields set to the defaults and the default port
// added to an address without one.
func (c Config) withDefaults() Config {
	if host, port, err := net.SplitHostPort(c.Addr); err == nil && port == "" {
		c.Addr = net.JoinHostPort(host, strconv.Itoa(DefaultPort))
	} else if err != nil && c.Addr != "" {
		c.Addr = net.JoinHostPort(trimBrackets(c.Addr), strconv.Itoa(DefaultPort))
	}
	if c.Unit == 0 {
		c.Unit = DefaultUnit
	}
	if c.Type == "" {
		c.Type = Float32
	}
	if c.Scale == 0 {
		c.Scale = 1
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	return c
}

func trimBrackets(host string) string {
	if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
		return host[1 : len(host)-1]
	}
	return host
}

// validate checks a Config that has its defaults.
func (c Config) validate() error {
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil || host == "" {
		return joule.Errorf(joule.EINVALID, "meter address %q: want host:port", c.Addr)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return joule.Errorf(joule.EINVALID, "meter address %q: port must be 1 to 65535", c.Addr)
	}
	switch c.Type {
	case Int16, Uint16:
	case Float32, Int32, Uint32:
		if c.Register == math.MaxUint16 {
			return joule.Errorf(joule.EINVALID, "meter register %d: a %s takes two registers", c.Register, c.Type)
		}
	default:
		return joule.Errorf(joule.EINVALID, "meter type %q: want float32, int32, uint32, int16 or uint16", c.Type)
	}
	if math.IsNaN(c.Scale) || math.IsInf(c.Scale, 0) || c.Scale <= 0 {
		return joule.Errorf(joule.EINVALID, "meter scale %v: want a positive number of watts per unit read", c.Scale)
	}
	if c.Timeout < 0 {
		return joule.Errorf(joule.EINVALID, "meter timeout %v: want a positive duration", c.Timeout)
	}
	return nil
}

// Meter reads one site meter. It keeps its Modbus TCP connection between readings,
// opens it on the first, and opens a new one after any failure. It is safe for
// concurrent use; readings take turns on the one connection.
type Meter struct {
	cfg Config
	// turn is held by the one call that uses client; a channel rather than a mutex, so
	// that a caller waiting for its turn gives up when its context ends.
	turn   chan struct{}
	client *modbus.ModbusClient // nil until connected, and after a failure
	closed bool
}

// Open checks cfg and returns its Meter. It does not connect: the first PowerW does.
func Open(cfg Config) (*Meter, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Meter{cfg: cfg, turn: make(chan struct{}, 1)}, nil
}

// reading is what one exchange with the meter gave: the number read before scaling,
// and the client it went over, to keep for the next reading.
type reading struct {
	client *modbus.ModbusClient
	value  float64
	err    error
}

// PowerW reads the site's total active power, rounded to the watt. It returns within
// the Config's Timeout, or sooner when ctx ends; a reading that is not a number, is
// infinite, or rounds below zero is an error. Every error names the meter.
func (m *Meter) PowerW(ctx context.Context) (joule.Watts, error) {
	noReading := fmt.Errorf("no reading within %v: %w", m.cfg.Timeout, context.DeadlineExceeded)
	ctx, cancel := context.WithTimeoutCause(ctx, m.cfg.Timeout, noReading)
	defer cancel()
	select {
	case m.turn <- struct{}{}:
	case <-ctx.Done():
		return 0, fmt.Errorf("meter %s: %w", m, context.Cause(ctx))
	}
	defer func() { <-m.turn }()
	if m.closed {
		return 0, fmt.Errorf("meter %s: closed", m)
	}

	// The Modbus library takes no context, so the exchange runs on its own goroutine
	// and is left behind when ctx ends first; it finishes within the library's own
	// timeouts and closes its connection then.
	done := make(chan reading, 1)
	client := m.client
	m.client = nil
	go func() { done <- m.read(client) }()
	var r reading
	select {
	case r = <-done:
	case <-ctx.Done():
		go func() {
			if r := <-done; r.client != nil {
				_ = r.client.Close()
			}
		}()
		return 0, fmt.Errorf("meter %s: %w", m, context.Cause(ctx))
	}
	if r.err != nil {
		if r.client != nil {
			_ = r.client.Close()
		}
		if errors.Is(r.err, modbus.ErrRequestTimedOut) {
			// The library's request timeout is the same Timeout, and can end first.
			r.err = noReading
		}
		return 0, fmt.Errorf("meter %s: %w", m, r.err)
	}
	m.client = r.client
	w := math.Round(r.value * m.cfg.Scale)
	switch {
	case math.IsNaN(w) || math.IsInf(w, 0):
		return 0, fmt.Errorf("meter %s: reading %v is not a power", m, r.value)
	case w < 0:
		return 0, fmt.Errorf("meter %s: reading %v W is negative", m, w)
	case w >= math.MaxInt64:
		return 0, fmt.Errorf("meter %s: reading %v W is out of range", m, w)
	}
	return joule.Watts(w), nil
}

// read reads the power register over client, connecting first when client is nil.
func (m *Meter) read(client *modbus.ModbusClient) reading {
	if client == nil {
		c, err := m.connect()
		if err != nil {
			return reading{err: err}
		}
		client = c
	}
	table := modbus.INPUT_REGISTER
	if m.cfg.Holding {
		table = modbus.HOLDING_REGISTER
	}
	var v float64
	var err error
	switch m.cfg.Type {
	case Float32:
		var f float32
		f, err = client.ReadFloat32(m.cfg.Register, table)
		v = float64(f)
	case Int32, Uint32:
		var u uint32
		u, err = client.ReadUint32(m.cfg.Register, table)
		v = float64(u)
		if m.cfg.Type == Int32 {
			v = float64(int32(u))
		}
	case Int16, Uint16:
		var u uint16
		u, err = client.ReadRegister(m.cfg.Register, table)
		v = float64(u)
		if m.cfg.Type == Int16 {
			v = float64(int16(u))
		}
	}
	return reading{client: client, value: v, err: err}
}

// quiet discards the Modbus library's log lines, which it otherwise prints on standard
// output; its errors come back to the caller anyway.
var quiet = log.New(io.Discard, "", 0)

// connect opens a Modbus TCP connection to the meter.
func (m *Meter) connect() (*modbus.ModbusClient, error) {
	c, err := modbus.NewClient(&modbus.ClientConfiguration{
		URL:     "tcp://" + m.cfg.Addr,
		Timeout: m.cfg.Timeout,
		Logger:  quiet,
	})
	if err != nil {
		return nil, err
	}
	words := modbus.HIGH_WORD_FIRST
	if m.cfg.LowWordFirst {
		words = modbus.LOW_WORD_FIRST
	}
	if err := errors.Join(c.SetUnitId(m.cfg.Unit), c.SetEncoding(modbus.BIG_ENDIAN, words)); err != nil {
		return nil, err
	}
	if err := c.Open(); err != nil {
		return nil, err
	}
	return c, nil
}

// Close closes the meter's connection, waiting for a reading in progress. PowerW fails
// after Close.
func (m *Meter) Close() error {
	m.turn <- struct{}{}
	defer func() { <-m.turn }()
	m.closed = true
	if m.client == nil {
		return nil
	}
	err := m.client.Close()
	m.client = nil
	return err
}

// String is the meter's URL, as ParseURL takes it, for logs.
func (m *Meter) String() string { return m.cfg.String() }
