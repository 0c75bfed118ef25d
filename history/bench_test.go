package history_test

import (
	"testing"
	"time"

	"github.com/joule-site/joule/data"
	"github.com/joule-site/joule/history"
)

// BenchmarkLoad measures parsing every embedded series, which each process does once.
func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := history.Load(data.FS); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDay(b *testing.B) {
	h := load(b)
	t := time.Date(2024, 12, 23, 0, 0, 0, 0, time.UTC)
	for b.Loop() {
		if d := h.Day(t); d.Err() != nil {
			b.Fatal(d.Err())
		}
	}
}

// BenchmarkEnergyPriceAt looks up a year of five-minute prices, as a backtest's
// markets do once per interval.
func BenchmarkEnergyPriceAt(b *testing.B) {
	s, err := load(b).Energy("ERCOT:HB_WEST")
	if err != nil {
		b.Fatal(err)
	}
	from := time.Date(2024, 1, 1, 6, 0, 0, 0, time.UTC)
	const n = 366 * 24 * 12
	var sum float64
	for b.Loop() {
		for i := range n {
			p, _ := s.PriceAt(from.Add(time.Duration(i) * 5 * time.Minute))
			sum += p
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "lookups/s")
}
