package slurm

import (
	"fmt"
	"strconv"
	"strings"
)

// maxHosts bounds how many names one host list may expand to, so that a malformed
// range cannot exhaust memory.
const maxHosts = 65536

// expandHostlist expands a Slurm host list such as "n[1-3,7],gpu-a,x[08-10]" into
// node names, keeping zero padding ("x08", "x09", "x10"). "" and "(null)" are empty.
func expandHostlist(s string) ([]string, error) {
	if s == "" || s == "(null)" {
		return nil, nil
	}
	var names []string
	for len(s) > 0 {
		// One item runs to the next comma outside brackets.
		depth, end := 0, len(s)
		for i, r := range s {
			switch r {
			case '[':
				depth++
			case ']':
				depth--
			}
			if r == ',' && depth == 0 {
				end = i
				break
			}
		}
		item := s[:end]
		if end < len(s) {
			s = s[end+1:]
		} else {
			s = ""
		}
		expanded, err := expandItem(item)
		if err != nil {
			return nil, err
		}
		names = append(names, expanded...)
		if len(names) > maxHosts {
			return nil, fmt.Errorf("slurm host list expands to more than %d names", maxHosts)
		}
	}
	return names, nil
}

// expandItem expands one host list item: a name with at most one bracketed range set.
func expandItem(item string) ([]string, error) {
	open := strings.IndexByte(item, '[')
	if open < 0 {
		if item == "" || strings.ContainsAny(item, "]") {
			return nil, fmt.Errorf("slurm host list: bad name %q", item)
		}
		return []string{item}, nil
	}
	close := strings.IndexByte(item, ']')
	if close < open || strings.ContainsAny(item[close+1:], "[]") {
		return nil, fmt.Errorf("slurm host list: bad range in %q", item)
	}
	prefix, suffix := item[:open], item[close+1:]
	var names []string
	for _, part := range strings.Split(item[open+1:close], ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			hi = lo
		}
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || a < 0 || b < a || b-a >= maxHosts {
			return nil, fmt.Errorf("slurm host list: bad range %q in %q", part, item)
		}
		width := len(lo)
		for n := a; n <= b; n++ {
			names = append(names, fmt.Sprintf("%s%0*d%s", prefix, width, n, suffix))
		}
	}
	return names, nil
}
