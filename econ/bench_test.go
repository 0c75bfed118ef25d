package econ_test

import (
	"testing"

	"github.com/joule-site/joule/econ"
)

func BenchmarkHashprice(b *testing.B) {
	m := econ.MarketDay{Height: 875_960, Difficulty: 108_522_647_629_298, FeesPerBlockBTC: 0.078, PriceUSD: 94_686}
	var sink float64
	for b.Loop() {
		sink += econ.ComputeHashprice(m).USDPerPHDay
	}
	_ = sink
}

func BenchmarkCompare(b *testing.B) {
	in := baseInput()
	for b.Loop() {
		if _, err := econ.Compare(in); err != nil {
			b.Fatal(err)
		}
	}
}
