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
