package meter

import (
	"fmt"
	"maps"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/joule-site/joule"
)

// ParseURL reads a meter's Config from a URL of the form
//
//	modbus://host[:port]?unit=1&register=0&table=input&type=float32&scale=1&words=high-first
//
// Every query key is optional and takes Config's default: the port 502, unit 1,
// register 0, table input (or holding), type float32 (int32, uint32, int16, uint16),
// scale 1 watt per unit read (1000 for a meter that reports kW), words high-first (or
// low-first, for 32-bit values with the low word first). An unknown key, a key given
// twice or a bad value is an EINVALID error that names the key.
func ParseURL(s string) (Config, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Config{}, joule.Errorf(joule.EINVALID, "meter URL %q: %v; want modbus://host[:port]", s, err)
	}
	switch {
	case u.Scheme != "modbus":
		return Config{}, joule.Errorf(joule.EINVALID, "meter URL %q: scheme %q, want modbus://host[:port]", s, u.Scheme)
	case u.Opaque != "" || u.Hostname() == "":
		return Config{}, joule.Errorf(joule.EINVALID, "meter URL %q: no host, want modbus://host[:port]", s)
	case strings.Contains(u.Hostname(), ":") && !strings.HasPrefix(u.Host, "["):
		return Config{}, joule.Errorf(joule.EINVALID, "meter URL %q: an IPv6 host goes in brackets: modbus://[host]:port", s)
	case u.User != nil:
		return Config{}, joule.Errorf(joule.EINVALID, "meter URL %q: Modbus takes no user name", s)
	case u.Path != "" && u.Path != "/":
		return Config{}, joule.Errorf(joule.EINVALID, "meter URL %q: unexpected path %q", s, u.Path)
	case u.Fragment != "":
		return Config{}, joule.Errorf(joule.EINVALID, "meter URL %q: unexpected fragment %q", s, u.Fragment)
	}
	port := strconv.Itoa(DefaultPort)
	if p := u.Port(); p != "" {
		if n, err := strconv.ParseUint(p, 10, 16); err != nil || n == 0 {
			return Config{}, joule.Errorf(joule.EINVALID, "meter URL %q: port %q must be 1 to 65535", s, p)
		}
		port = p
	}
	cfg := Config{Addr: net.JoinHostPort(u.Hostname(), port)}

	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Config{}, joule.Errorf(joule.EINVALID, "meter URL %q: query: %v", s, err)
	}
	for _, key := range slices.Sorted(maps.Keys(q)) {
		if len(q[key]) > 1 {
			return Config{}, joule.Errorf(joule.EINVALID, "meter URL %q: %s is given %d times", s, key, len(q[key]))
		}
		if err := cfg.set(key, q[key][0]); err != nil {
			return Config{}, joule.Errorf(joule.EINVALID, "meter URL %q: %v", s, err)
		}
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// set sets the field that the URL query key names.
func (c *Config) set(key, v string) error {
	switch key {
	case "unit":
		n, err := strconv.ParseUint(v, 10, 8)
		if err != nil || n == 0 {
			return fmt.Errorf("unit=%q: want a unit id from 1 to 255", v)
		}
		c.Unit = uint8(n)
	case "register":
		n, err := strconv.ParseUint(v, 10, 16)
		if err != nil {
			return fmt.Errorf("register=%q: want a register address from 0 to 65535", v)
		}
		c.Register = uint16(n)
	case "table":
		switch v {
		case "input", "holding":
			c.Holding = v == "holding"
		default:
			return fmt.Errorf("table=%q: want input or holding", v)
		}
	case "type":
		switch v {
		case Float32, Int32, Uint32, Int16, Uint16:
			c.Type = v
		default:
			return fmt.Errorf("type=%q: want float32, int32, uint32, int16 or uint16", v)
		}
	case "scale":
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 {
			return fmt.Errorf("scale=%q: want a positive number of watts per unit read", v)
		}
		c.Scale = f
	case "words":
		switch v {
		case "high-first", "low-first":
			c.LowWordFirst = v == "low-first"
		default:
			return fmt.Errorf("words=%q: want high-first or low-first", v)
		}
	default:
		return fmt.Errorf("unknown key %q (want unit, register, table, type, scale or words)", key)
	}
	return nil
}

// String is the Config as a modbus:// URL that ParseURL reads back: the address and
// register always, other keys where they differ from the defaults.
func (c Config) String() string {
	c = c.withDefaults()
	q := url.Values{"register": {strconv.Itoa(int(c.Register))}}
	if c.Unit != DefaultUnit {
		q.Set("unit", strconv.Itoa(int(c.Unit)))
	}
	if c.Holding {
		q.Set("table", "holding")
	}
	if c.Type != Float32 {
		q.Set("type", c.Type)
	}
	if c.Scale != 1 {
		q.Set("scale", strconv.FormatFloat(c.Scale, 'g', -1, 64))
	}
	if c.LowWordFirst {
		q.Set("words", "low-first")
	}
	return (&url.URL{Scheme: "modbus", Host: c.Addr, RawQuery: q.Encode()}).String()
}
