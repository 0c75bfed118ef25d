package http_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/joule-site/joule"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/storetest"
)

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTelemetryServerCPU posts an agent's batches of a 100,000-miner fleet over
// loopback to a server on SQLite, and reports the CPU time (getrusage: the process,
// which is the server and a client that only sends bytes encoded before the clock
// starts) per sample, and as CPU seconds per second of wall time at the rate of
// 100,000 miners polled every 15 s (6,667 samples/s): the share of one core the
// history costs the server.
func BenchmarkTelemetryServerCPU(b *testing.B) {
	const fleet, size = 100_000, 5_000
	s, _ := authServer(b)
	tok := token(b, s, joule.RoleAgent, "west-texas")
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	body := func(k int) []byte {
		batch := storetest.BenchBatch(fleet, size, k, base)
		for i := range batch {
			batch[i].Site = "west-texas"
		}
		data, err := json.Marshal(jhttp.TelemetryBatch{Samples: batch})
		if err != nil {
			b.Fatal(err)
		}
		return data
	}
	post := func(data []byte) {
		req, _ := http.NewRequest("POST", s.URL()+"/api/v1/sites/west-texas/telemetry", bytes.NewReader(data))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("%d %s", resp.StatusCode, msg)
		}
	}
	k := 0
	for ; k*size < fleet; k++ { // every device known before the clock starts
		post(body(k))
	}
	bodies := make([][]byte, b.N)
	for i := range bodies {
		bodies[i] = body(k + i)
	}
	b.ResetTimer()
	cpu0, wall0 := cpuTime(b), time.Now()
	for i := 0; i < b.N; i++ {
		post(bodies[i])
	}
	cpu, wall := cpuTime(b)-cpu0, time.Since(wall0)
	perSample := cpu.Seconds() / float64(b.N*size)
	b.ReportMetric(perSample*1e6, "cpu-µs/sample")
	b.ReportMetric(perSample*fleet/15, "cpu-s/s@100k-miners")
	b.ReportMetric(float64(b.N*size)/wall.Seconds(), "samples/s")
	b.ReportMetric(0, "ns/op")
}
