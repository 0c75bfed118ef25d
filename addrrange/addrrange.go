// Package addrrange parses the IPv4 address ranges a site's devices are addressed by
// ("10.0.1.2-10.0.1.254", "10.0.2.0/24"): the agent scans them for miners and GPU
// servers, and the simulator listens on them.
package addrrange

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
)

// Range is an inclusive range of IPv4 addresses, such as 127.0.0.2-127.0.9.254.
// It counts every address between its ends, .0 and .255 of inner /24s included, which
// loopback accepts.
type Range struct {
	first, last uint32
}

// Parse parses "A-B" (both ends included), "A/N" (a CIDR prefix) or a single
// address, all IPv4.
func Parse(s string) (Range, error) {
	s = strings.TrimSpace(s)
	parse := func(a string) (uint32, error) {
		ip, err := netip.ParseAddr(strings.TrimSpace(a))
		if err != nil || !ip.Is4() {
			return 0, fmt.Errorf("address range %q: %q is not an IPv4 address", s, a)
		}
		b := ip.As4()
		return binary.BigEndian.Uint32(b[:]), nil
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil || !p.Addr().Is4() {
			return Range{}, fmt.Errorf("address range %q is not an IPv4 prefix", s)
		}
		first, _ := parse(p.Masked().Addr().String())
		return Range{first, first + uint32(1<<(32-p.Bits())-1)}, nil
	}
	lo, hi, isRange := strings.Cut(s, "-")
	first, err := parse(lo)
	if err != nil {
		return Range{}, err
	}
	last := first
	if isRange {
		if last, err = parse(hi); err != nil {
			return Range{}, err
		}
	}
	if last < first {
		return Range{}, fmt.Errorf("address range %q ends before it starts", s)
	}
	return Range{first, last}, nil
}

// Len returns the number of addresses in the range.
func (r Range) Len() int { return int(r.last-r.first) + 1 }

// At returns the i-th address of the range, 0 ≤ i < Len.
func (r Range) At(i int) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], r.first+uint32(i))
	return netip.AddrFrom4(b)
}

// String writes the range as "A-B".
func (r Range) String() string { return r.At(0).String() + "-" + r.At(r.Len()-1).String() }

// Sub returns n addresses of the range from its i-th, 0 ≤ i, n ≥ 1, i+n ≤ Len: a share of
// the range for one of several simulator processes.
func (r Range) Sub(i, n int) Range {
	return Range{r.first + uint32(i), r.first + uint32(i+n-1)}
}
