package joule_test

import (
	"math"
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
