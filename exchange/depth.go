package exchange

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/joule-site/joule"
)

// Level is GPUs at one price per GPU-hour.
type Level struct {
	PriceMicroUSDPerGPUHour joule.MicroUSD `json:"price_micro_usd_per_gpu_hour"`
	GPUs                    int            `json:"gpus"`
}

// Slot is the book of one product in one hour slot.
type Slot struct {
	Start time.Time `json:"start"`
	// CapacityGPUs is what sellers' servers offer; ResaleGPUs what lease holders offer
	// back (open resale orders).
	CapacityGPUs int `json:"capacity_gpus"`
	ResaleGPUs   int `json:"resale_gpus"`
	// LeasedGPUs is leased from sellers' servers, InterruptibleGPUs the part of it spot
	// leases hold; ResoldGPUs is leased from resale orders.
	LeasedGPUs        int `json:"leased_gpus"`
	InterruptibleGPUs int `json:"interruptible_gpus"`
	ResoldGPUs        int `json:"resold_gpus"`
	// FreeGPUs can still be leased, from servers or open resale orders.
	FreeGPUs int `json:"free_gpus"`
	// Asks are the free GPUs by ask, cheapest first; BestAsk is the first, 0 when none.
	Asks                      []Level        `json:"asks,omitempty"`
	BestAskMicroUSDPerGPUHour joule.MicroUSD `json:"best_ask_micro_usd_per_gpu_hour,omitempty"`
	// Bids are the GPUs resting bids still want, highest limit first.
	Bids                      []Level        `json:"bids,omitempty"`
	BestBidMicroUSDPerGPUHour joule.MicroUSD `json:"best_bid_micro_usd_per_gpu_hour,omitempty"`
}

// Depth returns the book of a product for every hour slot that overlaps [from, to):
// capacity, leased, free, the asks and the resting bids (reserved bids in the hours
// they want, spot bids in the current hour and those a new spot lease would hold).
func (e *Engine) Depth(product string, from, to time.Time) ([]Slot, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	b, ok := e.books[product]
	if !ok {
		return nil, joule.Errorf(joule.ENOTFOUND, "no product %q", product)
	}
	a, z := b.slot(unixHour(from)), b.slot(ceilHour(to))
	if z-a > e.cfg.HorizonHours {
		return nil, joule.Errorf(joule.EINVALID, "depth: at most %d hours at a time", e.cfg.HorizonHours)
	}
	now := e.cfg.Now()
	cur := b.slot(unixHour(now))
	// Materialize listed capacity of the hours asked for, up to the horizon: slots that
	// no order has reached yet still have their listings' GPUs.
	b.ensure(min(z, cur+e.cfg.HorizonHours+1))
	all := &buyer{limit: math.MaxInt64, now: now, resale: true}
	out := make([]Slot, 0, max(z-a, 0))
	for i := a; i < z; i++ {
		sl := Slot{Start: b.slotTime(i)}
		if i >= 0 && i < b.n {
			for _, s := range b.sources {
				switch {
				case s.resale == nil:
					sl.CapacityGPUs += int(s.cap[i])
					sl.LeasedGPUs += int(s.used[i])
					sl.InterruptibleGPUs += int(s.spot[i])
				default:
					if !s.closed {
						sl.ResaleGPUs += int(s.cap[i])
					}
					sl.ResoldGPUs += int(s.used[i])
				}
			}
			for _, ref := range e.asks(b, all, i) {
				if f := int(ref.s.free(i)); f > 0 {
					sl.FreeGPUs += f
					sl.Asks = addLevel(sl.Asks, ref.ask, f)
				}
			}
		}
		for _, o := range b.bids {
			if live(o, now) && e.overlaps(o, cur, i, i+1) {
				sl.Bids = append(sl.Bids, Level{o.LimitMicroUSDPerGPUHour, o.GPUs - o.FilledGPUs})
			}
		}
		sl.Bids = mergeLevels(sl.Bids)
		if len(sl.Asks) > 0 {
			sl.BestAskMicroUSDPerGPUHour = sl.Asks[0].PriceMicroUSDPerGPUHour
		}
		if len(sl.Bids) > 0 {
			sl.BestBidMicroUSDPerGPUHour = sl.Bids[0].PriceMicroUSDPerGPUHour
		}
		out = append(out, sl)
	}
	return out, nil
}

// mergeLevels sorts bid levels highest price first and sums equal prices.
func mergeLevels(levels []Level) []Level {
	slices.SortStableFunc(levels, func(x, y Level) int { return cmp.Compare(y.PriceMicroUSDPerGPUHour, x.PriceMicroUSDPerGPUHour) })
	var out []Level
	for _, l := range levels {
		out = addLevel(out, l.PriceMicroUSDPerGPUHour, l.GPUs)
	}
	return out
}

// addLevel adds GPUs at a price to levels already in price order.
func addLevel(levels []Level, price joule.MicroUSD, gpus int) []Level {
	if n := len(levels); n > 0 && levels[n-1].PriceMicroUSDPerGPUHour == price {
		levels[n-1].GPUs += gpus
		return levels
	}
	return append(levels, Level{price, gpus})
}
