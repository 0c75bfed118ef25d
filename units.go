package joule

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Watts is electrical power in integer watts. A 50 MW site cap is 50_000_000 W.
type Watts int64

// KW returns the power in kilowatts.
func (w Watts) KW() float64 { return float64(w) / 1e3 }

// MW returns the power in megawatts.
func (w Watts) MW() float64 { return float64(w) / 1e6 }

// WattsFromMW converts megawatts to watts, rounding to the nearest watt.
func WattsFromMW(mw float64) Watts { return Watts(math.Round(mw * 1e6)) }

// String formats the power with a unit a person reads at a glance.
func (w Watts) String() string {
	switch a := math.Abs(float64(w)); {
	case a >= 1e6:
		return fmt.Sprintf("%.2f MW", w.MW())
	case a >= 1e3:
		return fmt.Sprintf("%.2f kW", w.KW())
	default:
		return fmt.Sprintf("%d W", int64(w))
	}
}

// MicroUSD is money in integer millionths of a US dollar. Ledger amounts are always
// MicroUSD; floats are for analytics only.
type MicroUSD int64

// MicroUSDPerUSD is the number of MicroUSD in one dollar.
const MicroUSDPerUSD = 1_000_000

// MaxMicroUSD is the most one amount of money may be: one billion dollars, 10^15
// micro-USD. It is an assumption about the business, not a property of the type: no
// deposit, hold, charge, fee, ask or limit comes near it (a year of a 100 MW site's
// whole output is worth tens of millions of dollars), and it keeps sums of amounts far
// from int64's limit of about $9.2 trillion, which a balance would reach only after
// more than 9,000 maximal amounts. Every ledger operation refuses an amount above it,
// and so does every request field and flag that takes money.
const MaxMicroUSD MicroUSD = 1_000_000_000 * MicroUSDPerUSD

// CheckMicroUSD refuses an amount of money given as field (a request's field, a flag)
// that is negative or above MaxMicroUSD, with EINVALID naming the field.
func CheckMicroUSD(field string, m MicroUSD) error {
	if m < 0 || m > MaxMicroUSD {
		return Errorf(EINVALID, "%s: %d micro-USD is out of range: an amount is from 0 to %d micro-USD (%s)", field, int64(m), int64(MaxMicroUSD), MaxMicroUSD)
	}
	return nil
}

// CheckUSD converts an amount in dollars given as field to MicroUSD, refusing one that
// is not a number, is negative or is above MaxMicroUSD with EINVALID naming the field.
func CheckUSD(field string, usd float64) (MicroUSD, error) {
	m := MicroUSDFromUSD(usd)
	if math.IsNaN(usd) || m < 0 || m > MaxMicroUSD {
		return 0, Errorf(EINVALID, "%s: %v USD is out of range: an amount is from 0 to %s", field, usd, MaxMicroUSD)
	}
	return m, nil
}

// USD returns the amount in dollars, for display and analytics.
func (m MicroUSD) USD() float64 { return float64(m) / MicroUSDPerUSD }

// MicroUSDFromUSD converts dollars to MicroUSD, rounding half away from zero. Dollars
// beyond what MicroUSD holds saturate at its largest or smallest value rather than
// wrap (a conversion of such a float to an integer is not defined); NaN is 0.
func MicroUSDFromUSD(usd float64) MicroUSD {
	switch m := math.Round(usd * MicroUSDPerUSD); {
	case math.IsNaN(m):
		return 0
	case m >= math.MaxInt64: // 2^63: the float nearest the largest int64 is beyond it
		return math.MaxInt64
	case m <= math.MinInt64:
		return math.MinInt64
	default:
		return MicroUSD(m)
	}
}

// String formats the amount as dollars with cents and thousands separators
// ("$1,234,567.89", "-$0.05"), the cents rounded half away from zero in integers.
func (m MicroUSD) String() string {
	neg := m < 0
	u := uint64(m)
	if neg {
		u = -u // also right for math.MinInt64
	}
	cents := u/10_000 + (u%10_000)/5_000 // half a cent and more rounds up
	s := "$" + groupThousands(strconv.FormatUint(cents/100, 10)) + fmt.Sprintf(".%02d", cents%100)
	if neg && cents > 0 {
		return "-" + s
	}
	return s
}

// FormatUSD formats dollars for people, with thousands separators and decimals
// digits after the point: FormatUSD(96492.339, 2) is "$96,492.34".
func FormatUSD(usd float64, decimals int) string {
	if math.IsNaN(usd) || math.IsInf(usd, 0) {
		return fmt.Sprint(usd)
	}
	s := strconv.FormatFloat(math.Abs(usd), 'f', decimals, 64)
	whole, frac, _ := strings.Cut(s, ".")
	out := "$" + groupThousands(whole)
	if frac != "" {
		out += "." + frac
	}
	if usd < 0 && strings.Trim(s, "0.") != "" {
		return "-" + out
	}
	return out
}

// groupThousands puts a comma between each group of three digits of a whole number.
func groupThousands(digits string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	head := len(digits) % 3
	if head > 0 {
		b.WriteString(digits[:head])
	}
	for i := head; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

// Sats is an amount of bitcoin in satoshis.
type Sats int64

// SatsPerBTC is the number of satoshis in one bitcoin.
const SatsPerBTC = 100_000_000

// BTC returns the amount in bitcoin, for display and analytics.
func (s Sats) BTC() float64 { return float64(s) / SatsPerBTC }
