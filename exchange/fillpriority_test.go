package exchange

import (
	"maps"
	"testing"
	"time"

	"github.com/joule-site/joule"
)

// At one ask, the product's fill priority says whose servers a bid takes first; a
// lower ask fills first whatever it says; it survives State and Restore.
func TestFillPriority(t *testing.T) {
	cases := []struct {
		name     string
		priority joule.FillPriority
		// listings in the order they are set: the first has held its ask longest
		listings []joule.Listing
		want     map[string]int // GPUs per seller after a 16-GPU bid
	}{
		{"time: the operator listed first", joule.FillByTime,
			[]joule.Listing{listing("operator", 2, usd(2)), listing("owner-a", 2, usd(2))}, map[string]int{"operator": 16}},
		{"time: the owner listed first", joule.FillByTime,
			[]joule.Listing{listing("owner-a", 2, usd(2)), listing("operator", 2, usd(2))}, map[string]int{"owner-a": 16}},
		{"owners first, though the operator listed first", joule.FillOwnersFirst,
			[]joule.Listing{listing("operator", 2, usd(2)), listing("owner-a", 1, usd(2)), listing("owner-b", 1, usd(2))},
			map[string]int{"owner-a": 8, "owner-b": 8}},
		{"operator first, though the owner listed first", joule.FillOperatorFirst,
			[]joule.Listing{listing("owner-a", 2, usd(2)), listing("operator", 1, usd(2))}, map[string]int{"operator": 8, "owner-a": 8}},
		{"operator first never beats a lower ask", joule.FillOperatorFirst,
			[]joule.Listing{listing("operator", 2, usd(2)), listing("owner-a", 2, usd(1.9))}, map[string]int{"owner-a": 16}},
		{"owners first among opportunity-cost asks", joule.FillOwnersFirst,
			[]joule.Listing{{Seller: "operator", Servers: 2, AskMicroUSDPerGPUHour: usd(1), OpportunityCost: true},
				{Seller: "owner-a", Servers: 2, AskMicroUSDPerGPUHour: usd(1), OpportunityCost: true}}, map[string]int{"owner-a": 16}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock(t0)
			cfg := c.configWith(Config{Operator: "operator", Pricing: func(string, time.Time) joule.MicroUSD { return usd(1.5) }})
			e := newEngine(t, cfg, tc.listings...)
			if err := e.SetFillPriority(product, tc.priority); err != nil {
				t.Fatal(err)
			}
			mustCheck(t, e)
			// Restored from its state, the engine fills the same way.
			r, err := Restore(cfg, e.State())
			if err != nil {
				t.Fatal(err)
			}
			if got := r.FillPriority(product); got != tc.priority {
				t.Fatalf("restored priority %q, want %q", got, tc.priority)
			}
			for name, eng := range map[string]*Engine{"live": e, "restored": r} {
				res := mustSubmit(t, eng, reserved("k", "acme", 16, 1, 3, usd(3)))
				if len(res.Leases) != 1 {
					t.Fatalf("%s: leases %+v", name, res.Leases)
				}
				got := map[string]int{}
				for _, s := range res.Leases[0].Sellers {
					got[s.Seller] += s.GPUs
				}
				if !maps.Equal(got, tc.want) {
					t.Errorf("%s: GPUs by seller %v, want %v", name, got, tc.want)
				}
			}
		})
	}
}

func TestFillPriorityRefusesUnknown(t *testing.T) {
	e := newEngine(t, newClock(t0).config(), listing("operator", 1, usd(2)))
	if err := e.SetFillPriority(product, "pro-rata"); joule.ErrorCode(err) != joule.EINVALID {
		t.Errorf("pro-rata: %v, want EINVALID", err)
	}
	if err := e.SetFillPriority("a100/nowhere", joule.FillOwnersFirst); joule.ErrorCode(err) != joule.ENOTFOUND {
		t.Errorf("unknown product: %v, want ENOTFOUND", err)
	}
	if got := e.FillPriority(product); got != joule.FillByTime {
		t.Errorf("priority %q after refusals, want time", got)
	}
}
