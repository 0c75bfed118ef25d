package http_test

import (
	"context"
	"testing"
	"time"

	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/sqlite"
)

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
