package feeds

import (
	"bytes"
	"math"
	"testing"
)

// FuzzParseEnergyCSV: whatever an energy endpoint answers, the parser returns an error
// or a sorted schedule of finite prices that prices each of its own points.
func FuzzParseEnergyCSV(f *testing.F) {
	for _, seed := range []string{
		"time,usd_per_mwh\n2024-07-10T14:00:00-05:00,42.5\n2024-07-10T15:00:00-05:00,180\n",
		"2024-07-10T20:00:00Z,1\n2024-07-10T19:00:00.5Z, -2\n",
		"# comment\n2024-07-10T19:00:00Z,\"3\"\r\n",
		"time,usd_per_mwh\n",
		"2024-07-10T19:00:00Z,1e308\n2024-07-10T19:00:00Z,1\n",
		"\"unterminated,1\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseEnergyCSV(bytes.NewReader(data))
		if err != nil {
			return
		}
		if len(s.Points()) == 0 {
			t.Fatal("no error and no points")
		}
		points := s.Points()
		for i, p := range points {
			if math.IsNaN(p.USDPerMWh) || math.IsInf(p.USDPerMWh, 0) {
				t.Fatalf("point %d: price %v", i, p.USDPerMWh)
			}
			if i > 0 && !points[i-1].Start.Before(p.Start) {
				t.Fatalf("points %d and %d out of order: %v, %v", i-1, i, points[i-1].Start, p.Start)
			}
			if got, ok := s.PriceAt(p.Start); !ok || got != p.USDPerMWh {
				t.Fatalf("PriceAt(point %d's start) = %v, %v; want %v", i, got, ok, p.USDPerMWh)
			}
		}
	})
}

// FuzzLookupNumber: whatever a price endpoint answers and whatever path is configured,
// the extractor returns an error or a finite number, and never panics.
func FuzzLookupNumber(f *testing.F) {
	for _, seed := range []struct{ body, path string }{
		{`{"bitcoin":{"usd":67012.5}}`, ".bitcoin.usd"},
		{`{"data":{"amount":"67000.12"}}`, "data.amount"},
		{`{"prices":[[1720620000000,57000]]}`, "prices.0.1"},
		{`67000`, ""},
		{`{"a":{"":1}}`, "a."},
		{`[1,2]`, "-1"},
		{`{"a":"NaN"}`, "a"},
		{`{"a":1e400}`, "a"},
	} {
		f.Add([]byte(seed.body), seed.path)
	}
	f.Fuzz(func(t *testing.T, body []byte, path string) {
		v, err := lookupNumber(body, path)
		if err == nil && (math.IsNaN(v) || math.IsInf(v, 0)) {
			t.Fatalf("lookupNumber(%q, %q) = %v", body, path, v)
		}
	})
}

// FuzzParseChain: whatever a chain endpoint answers, the parser returns an error or a
// chain hashprice can use: a whole height, a positive difficulty, fees that are an
// amount of bitcoin, a tip time.
func FuzzParseChain(f *testing.F) {
	for _, seed := range []string{
		`{"height": 850000, "difficulty": 83e12, "fees_per_block_sats": 10000000, "tip_time": "2024-07-10T20:26:00Z"}`,
		`{"height": "850000", "difficulty": "8.3e13", "fees_per_block_sats": 0, "tip_time": 1720643160}`,
		`{"height": -1, "difficulty": 1, "fees_per_block_sats": 1, "tip_time": 1}`,
		`{"height": 1e400}`,
		`[]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseChain(data, DefaultChainPaths)
		if err != nil {
			return
		}
		if c.Height < 0 || !(c.Difficulty > 0) || math.IsInf(c.Difficulty, 0) || c.FeesPerBlock < 0 || c.TipTime.IsZero() {
			t.Fatalf("accepted %+v from %q", c, data)
		}
	})
}
