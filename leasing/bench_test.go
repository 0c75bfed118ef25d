package leasing_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// BenchmarkSubmitOrder measures one reserved order through the service, one at a time,
// on a SQLite file: hold, match, capture, release and the store transaction that saves
// them. It reports the latency's p50, p99 and p99.9.
func BenchmarkSubmitOrder(b *testing.B) {
	e := newEnv(b)
	acme := e.tenant("acme", usd(1e9))
	rng := rand.New(rand.NewPCG(1, 2))
	latencies := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := day1.Add(time.Duration(rng.IntN(300*24)) * time.Hour)
		o := reserved(fmt.Sprint("k", i), 8, start, start.Add(time.Duration(1+rng.IntN(4))*time.Hour), usd(3))
		t0 := time.Now()
		if _, err := e.svc.SubmitOrder(e.ctx, acme, o); err != nil {
			b.Fatal(err)
		}
		latencies[i] = time.Since(t0)
	}
	b.StopTimer()
	slices.Sort(latencies)
	at := func(p float64) float64 {
		return float64(latencies[min(b.N-1, int(p*float64(b.N)))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.5), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
	b.ReportMetric(at(0.999), "p99.9-ms")
	e.check()
}
