package http_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/joule-site/joule"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/sqlite"
)

// BenchmarkOrderToLeaseHTTP measures order-to-lease latency through the HTTP API on
// loopback: an open-loop load generator sends reserved orders at a fixed rate (1,000
// a second) from 16 tenants, each order a request that comes back with its lease; the
// server runs the exchange on a SQLite file. It reports p50 and p99 latency and the
// rate achieved. Latency counts from when a request was due, so a server that falls
// behind shows it.
func BenchmarkOrderToLeaseHTTP(b *testing.B) {
	const rate = 1000 // orders per second
	x := openExchange(b, 1e6)
	ctx := context.Background()
	clients := make([]*jhttp.Client, 16)
	transport := &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}
	for i := range clients {
		clients[i] = x.tenant(b, fmt.Sprintf("t%02d", i), joule.MicroUSDFromUSD(1e9))
		clients[i].HTTPClient = &http.Client{Transport: transport}
	}
	day := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	orders := make([]jhttp.OrderRequest, b.N)
	for i := range orders { // small blocks spread over 300 days of 256 GPUs: nearly all fill
		start := day.Add(time.Duration(rng.IntN(300*24)) * time.Hour)
		orders[i] = jhttp.OrderRequest{IdempotencyKey: fmt.Sprintf("bench-%d", i), Product: "h100-sxm/west-texas", Kind: joule.OrderReserved,
			GPUs: 1 + rng.IntN(8), Start: start, End: start.Add(time.Duration(1+rng.IntN(4)) * time.Hour), LimitMicroUSDPerGPUHour: 3_000_000}
	}
	latencies := make([]time.Duration, b.N)
	var leased, failed int
	var mu sync.Mutex
	var wg sync.WaitGroup
	b.ResetTimer()
	begin := time.Now()
	for i := range b.N {
		due := begin.Add(time.Duration(i) * time.Second / rate)
		time.Sleep(time.Until(due))
		wg.Go(func() {
			r, err := clients[i%len(clients)].SubmitOrder(ctx, orders[i])
			latencies[i] = time.Since(due)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				failed++
			case len(r.Leases) > 0:
				leased++
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(begin)
	b.StopTimer()
	if failed > 0 {
		b.Fatalf("%d of %d orders failed", failed, b.N)
	}
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		return float64(latencies[min(len(latencies)-1, int(p*float64(len(latencies))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(latencies[len(latencies)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "orders/s")
	b.ReportMetric(float64(leased)/float64(b.N), "leased-frac")
	if err := x.svc.Check(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkHealthzWithSlowConns measures /healthz, each on a fresh connection, while
// 1,000 slowloris connections (headers a byte a second, never finished, dialed again
// when dropped) fill a server capped at 500, so that every health check sheds one; it
// reports the mean latency against that of a server without them (x-bare).
func BenchmarkHealthzWithSlowConns(b *testing.B) {
	const slow, maxConns = 1000, 500
	s := openServer(b, func(s *jhttp.Server, _ *sqlite.DB) { s.MaxConns = maxConns })
	c := freshClient()
	mean := func() time.Duration {
		start := time.Now()
		for range b.N {
			healthy(b, c, s)
		}
		return time.Since(start) / time.Duration(b.N)
	}
	bare := mean()
	b.StopTimer()
	ctx, cancel := context.WithCancel(context.Background())
	attack := &slowClients{addr: hostPort(s), n: slow, every: time.Second, redial: time.Second}
	done := make(chan struct{})
	go func() {
		attack.run(ctx)
		close(done)
	}()
	defer func() {
		cancel()
		<-done
	}()
	waitUntil(b, time.Minute, "the slow connections fill the server", func() bool {
		st := s.Conns()
		return attack.connected.Load() == slow && st.Open == maxConns && st.Waiting == maxConns
	})
	b.StartTimer()
	held := mean()
	b.ReportMetric(float64(bare.Microseconds())/1000, "bare-ms")
	b.ReportMetric(float64(held.Microseconds())/1000, "held-ms")
	b.ReportMetric(float64(held)/float64(bare), "x-bare")
}
