package joule

import "testing"

func TestCapTerms(t *testing.T) {
	ok := []CapTerms{{Product: "p"}, {Product: "p", CapFrac: 0.65, CappedPriceBPS: 8000}, {Product: "p", CapFrac: 0.01, CappedPriceBPS: 10_000}}
	for _, c := range ok {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
	bad := []CapTerms{{}, {Product: "p", CapFrac: 1, CappedPriceBPS: 8000}, {Product: "p", CapFrac: -0.1, CappedPriceBPS: 8000},
		{Product: "p", CapFrac: 0.65}, {Product: "p", CappedPriceBPS: 8000}, {Product: "p", CapFrac: 0.65, CappedPriceBPS: 10_001}}
	for _, c := range bad {
		if err := c.Validate(); ErrorCode(err) != EINVALID {
			t.Errorf("%+v: %v", c, err)
		}
	}
	c := CapTerms{Product: "p", CapFrac: 0.65, CappedPriceBPS: 8000}
	for _, tt := range []struct{ price, want MicroUSD }{{2_000_000, 1_600_000}, {1, 1}, {3, 2}, {MaxMicroUSD, MaxMicroUSD / 10 * 8}} {
		if got := c.CappedPrice(tt.price); got != tt.want {
			t.Errorf("capped price of %d: %d, want %d", tt.price, got, tt.want)
		}
	}
	if never := (CapTerms{Product: "p"}); never.CappedPrice(2_000_000) != 2_000_000 || never.Capped() {
		t.Error("terms that never cap changed a price")
	}
}
