package ledger

import (
	"math"
	"math/bits"

	"github.com/joule-site/joule"
)

// Split divides a non-negative amount into the platform fee at bps basis points, rounded
// half up, and the seller's net, which is the rest: fee + net == amount exactly.
func Split(amount joule.MicroUSD, bps int) (fee, net joule.MicroUSD) {
	f, ok := mulDivHalfUp(int64(amount), int64(bps), 10_000)
	if !ok {
		return 0, amount
	}
	return f, amount - f
}

// add returns a + b, and false when the sum does not fit in an int64: a balance or a
// total that would wrap around is refused, never wrapped.
func add(a, b joule.MicroUSD) (joule.MicroUSD, bool) {
	sum := a + b
	return sum, (b >= 0) == (sum >= a)
}

// mulDivHalfUp returns a × b / d rounded half up, for non-negative a and b and positive
// d, computed in 128 bits; ok is false when an operand is negative or the result does
// not fit in an int64.
func mulDivHalfUp(a, b, d int64) (joule.MicroUSD, bool) {
	if a < 0 || b < 0 || d <= 0 {
		return 0, false
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	lo, c := bits.Add64(lo, uint64(d)/2, 0)
	hi += c
	if hi >= uint64(d) {
		return 0, false
	}
	q, _ := bits.Div64(hi, lo, uint64(d))
	if q > math.MaxInt64 {
		return 0, false
	}
	return joule.MicroUSD(q), true
}
