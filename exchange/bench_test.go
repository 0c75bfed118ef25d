package exchange

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/joule-site/joule"
)

// benchBook is a realistic site: 1000 8-GPU servers, the operator's 200 at an
// opportunity-cost ask and 800 across 20 owners at fixed asks of $1.80 to $2.75, listed
// for two weeks of hourly slots.
func benchBook(b *testing.B, now time.Time) *Engine {
	b.Helper()
	pricing := func(_ string, h time.Time) joule.MicroUSD { return usd(1.9 + 0.05*float64(h.Hour()%8)) }
	e := New(Config{Now: func() time.Time { return now }, Pricing: pricing})
	if err := e.AddProduct(joule.Product{ID: product, Model: "h100-sxm", Site: "west-texas", GPUsPerNode: 8}); err != nil {
		b.Fatal(err)
	}
	end := t0.Add(14 * 24 * time.Hour)
	ls := []joule.Listing{{Product: product, Seller: "operator", Servers: 200, Start: t0, End: end, AskMicroUSDPerGPUHour: usd(1.7), OpportunityCost: true}}
	for i := range 20 {
		ls = append(ls, joule.Listing{Product: product, Seller: fmt.Sprintf("owner-%02d", i), Servers: 40, Start: t0, End: end,
			AskMicroUSDPerGPUHour: usd(1.8 + 0.05*float64(i%20))})
	}
	for _, l := range ls {
		if _, err := e.SetListing(l); err != nil {
			b.Fatal(err)
		}
	}
	return e
}

// benchOrders is a mixed stream: 70% reserved blocks of 1 to 8 nodes for 4 to 72 hours
// in the next two weeks (80% all or none), 20% spot and 5% on-demand bids of 1 or 2
// nodes, and 5% cancels of earlier orders.
func benchOrders(n int, now time.Time) []joule.Order {
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([]joule.Order, n)
	for i := range out {
		o := joule.Order{IdempotencyKey: fmt.Sprintf("k%d", i), Account: fmt.Sprintf("tenant-%d", rng.IntN(200)), Product: product,
			LimitMicroUSDPerGPUHour: usd(1.8 + float64(rng.IntN(13))/10)}
		switch k := rng.IntN(100); {
		case k < 70:
			start := unixHour(now) + 1 + int64(rng.IntN(14*24-72))
			o.Kind, o.GPUs, o.AllOrNone = joule.OrderReserved, 8*(1+rng.IntN(8)), rng.IntN(5) > 0
			o.Start, o.End = hourTime(start), hourTime(start+4+int64(rng.IntN(69)))
		case k < 90:
			o.Kind, o.GPUs = joule.OrderSpot, 8*(1+rng.IntN(2))
		case k < 95:
			o.Kind, o.GPUs = joule.OrderOnDemand, 8*(1+rng.IntN(2))
		default:
			o.Kind = "" // cancel an earlier order
			o.GPUs = rng.IntN(i + 1)
		}
		out[i] = o
	}
	return out
}

// BenchmarkMatch measures matching throughput on one core: orders submitted (or
// cancelled) per second against benchBook. The book is rebuilt, off the clock, every
// 2,000 orders, about when the two weeks are sold out, so the stream keeps matching
// rather than only resting.
func BenchmarkMatch(b *testing.B) {
	const cycle = 2000
	now := t0.Add(10 * time.Minute)
	orders := benchOrders(cycle, now)
	var e *Engine
	var ids []string
	filled := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		j := i % cycle
		if j == 0 {
			b.StopTimer()
			e, ids = benchBook(b, now), ids[:0]
			b.StartTimer()
		}
		o := orders[j]
		if o.Kind == "" {
			if len(ids) > 0 {
				_, _ = e.Cancel(ids[o.GPUs%len(ids)])
			}
			continue
		}
		r, err := e.Submit(o)
		if err != nil {
			if joule.ErrorCode(err) != joule.ECAPACITY {
				b.Fatal(err)
			}
			continue
		}
		ids = append(ids, r.Order.ID)
		if len(r.Leases) > 0 {
			filled++
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
	b.ReportMetric(float64(filled)/float64(b.N), "filled/order")
}
