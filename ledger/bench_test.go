package ledger

import (
	"strconv"
	"testing"

	"github.com/joule-site/joule"
)

// BenchmarkCharge measures per-second usage billing: a charge from a tenant's credit
// split between an owner and the platform, with an idempotency key, journaled in memory.
func BenchmarkCharge(b *testing.B) {
	l := New(Config{Journal: &MemJournal{}})
	if _, err := l.Deposit("d", "acme", joule.MaxMicroUSD); err != nil { // $1 billion: 7 million charges
		b.Fatal(err)
	}
	keys := make([]string, b.N)
	for i := range keys {
		keys[i] = "c" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		c := Charge{Key: keys[i], Tenant: "acme", Lease: "l1", Seller: OwnerRevenue("fund-a"), Amount: 140_000 /* a minute of 8 GPUs at $2.10 per GPU-hour */, FeeBPS: 1000}
		if _, err := l.Charge(c); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "charges/s")
}
