package joule_test

import (
	"math"
	"strings"
	"testing"

	"github.com/joule-site/joule"
)

func TestMoneyFormatsWithSeparators(t *testing.T) {
	for _, tt := range []struct {
		m    joule.MicroUSD
		want string
	}{
		{0, "$0.00"},
		{4_999, "$0.00"},
		{5_000, "$0.01"}, // half a cent rounds away from zero
		{-5_000, "-$0.01"},
		{-4_999, "$0.00"},
		{999_995_000, "$1,000.00"},
		{1_234_567_890_000, "$1,234,567.89"},
		{-100_000_000_000, "-$100,000.00"},
		{math.MaxInt64, "$9,223,372,036,854.78"},
		{math.MinInt64, "-$9,223,372,036,854.78"},
	} {
		if got := tt.m.String(); got != tt.want {
			t.Errorf("MicroUSD(%d) = %s, want %s", int64(tt.m), got, tt.want)
		}
	}
	for _, tt := range []struct {
		usd  float64
		dec  int
		want string
	}{
		{96492.339, 2, "$96,492.34"},
		{-1234567, 0, "-$1,234,567"},
		{-0.001, 2, "$0.00"},
		{999.999, 2, "$1,000.00"},
		{12, 0, "$12"},
	} {
		if got := joule.FormatUSD(tt.usd, tt.dec); got != tt.want {
			t.Errorf("FormatUSD(%v, %d) = %s, want %s", tt.usd, tt.dec, got, tt.want)
		}
	}
}

// Dollars beyond what MicroUSD holds saturate rather than wrap to a sign they did not
// have, so that a bound check refuses them.
func TestMicroUSDFromUSD(t *testing.T) {
	for _, tt := range []struct {
		usd  float64
		want joule.MicroUSD
	}{
		{2.10, 2_100_000},
		{-0.0000005, -1}, // half away from zero
		{1e9, joule.MaxMicroUSD},
		{1e300, math.MaxInt64},
		{math.Inf(1), math.MaxInt64},
		{9_223_372_036_854.775807, math.MaxInt64}, // rounds to 2^63, one beyond
		{-1e300, math.MinInt64},
		{math.Inf(-1), math.MinInt64},
		{math.NaN(), 0},
	} {
		if got := joule.MicroUSDFromUSD(tt.usd); got != tt.want {
			t.Errorf("MicroUSDFromUSD(%v) = %d, want %d", tt.usd, got, tt.want)
		}
	}
}

func TestMoneyBounds(t *testing.T) {
	for _, m := range []joule.MicroUSD{0, 1, joule.MaxMicroUSD} {
		if err := joule.CheckMicroUSD("amount_micro_usd", m); err != nil {
			t.Errorf("CheckMicroUSD(%d): %v", m, err)
		}
	}
	for _, m := range []joule.MicroUSD{-1, joule.MaxMicroUSD + 1, math.MaxInt64, math.MinInt64} {
		err := joule.CheckMicroUSD("amount_micro_usd", m)
		if joule.ErrorCode(err) != joule.EINVALID || !strings.Contains(err.Error(), "amount_micro_usd") {
			t.Errorf("CheckMicroUSD(%d) = %v, want invalid naming the field", m, err)
		}
	}
	if m, err := joule.CheckUSD("--hosting-usd-kw-month", 1e9); err != nil || m != joule.MaxMicroUSD {
		t.Errorf("CheckUSD($1 billion) = %d, %v", m, err)
	}
	for _, usd := range []float64{-0.01, 1e9 + 0.01, 1e300, math.Inf(1), math.NaN()} {
		_, err := joule.CheckUSD("--hosting-usd-kw-month", usd)
		if joule.ErrorCode(err) != joule.EINVALID || !strings.Contains(err.Error(), "--hosting-usd-kw-month") {
			t.Errorf("CheckUSD(%v) = %v, want invalid naming the flag", usd, err)
		}
	}
}
