package render

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// usd formats whole dollars with thousands separators: "$1,234,567", "-$1,234".
func usd(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	s := number(math.Abs(v), 0)
	if math.Round(v) < 0 {
		return "-$" + s
	}
	return "$" + s
}

// number formats v with the given decimals and thousands separators: "12,345.6".
// A value that rounds to zero never prints a minus sign.
func number(v float64, decimals int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	s := strconv.FormatFloat(math.Abs(v), 'f', decimals, 64)
	whole, frac, hasFrac := strings.Cut(s, ".")
	var b strings.Builder
	if v < 0 && strings.Trim(s, "0.") != "" {
		b.WriteByte('-')
	}
	for i, d := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	if hasFrac {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}

// mw formats watts as megawatts with one decimal.
func mw(watts float64) string { return number(watts/1e6, 1) + " MW" }

// percent formats a fraction (0.25) as a percentage ("25.0%").
func percent(fraction float64) string { return number(fraction*100, 1) + "%" }

// pctOfOptimum formats a percentage that may be missing.
func pctOfOptimum(p *float64) string {
	if p == nil {
		return "n/a"
	}
	return number(*p, 1) + "%"
}

// months formats a payback period; paths that never pay back are +Inf.
func months(v float64) string {
	if math.IsInf(v, 1) {
		return "never"
	}
	return number(v, 1)
}

// duration formats a length in seconds the way people say it: "5m", "1h", "4h25m", "1d".
func duration(sec int64) string {
	if sec <= 0 {
		return "?"
	}
	var b strings.Builder
	for _, u := range []struct {
		sec  int64
		name string
	}{{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}} {
		if n := sec / u.sec; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			sec -= n * u.sec
		}
	}
	return b.String()
}

// csvFloat formats a value for the CSV: at most four decimals, no trailing zeros, and
// an empty cell for a missing or non-finite value.
func csvFloat(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	r := math.Round(v*1e4) / 1e4
	if r == 0 {
		r = 0 // drop the sign of -0
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}
