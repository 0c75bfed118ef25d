package leasing

import (
	"context"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/exchange"
)

// Book is a product's order book as anyone signed in may see it: its capacity, the
// depth of every hour slot, and recent fills without who made them.
type Book struct {
	Product joule.Product `json:"product"`
	// CapacityGPUs is the product's total GPUs now: listed servers × GPUs per server.
	CapacityGPUs int       `json:"capacity_gpus"`
	From         time.Time `json:"from"`
	To           time.Time `json:"to"`
	Slots        []Slot    `json:"slots"`
	RecentFills  []Trade   `json:"recent_fills"`
}

// Slot is the depth of one hour slot, with the price it last cleared at: the price of
// the newest recent fill that covers it (0 when none does).
type Slot struct {
	exchange.Slot
	ClearingPriceMicroUSDPerGPUHour joule.MicroUSD `json:"clearing_price_micro_usd_per_gpu_hour,omitempty"`
}

// Trade is a fill as the market sees it: when, how many GPUs for which hours, at what
// price per GPU-hour.
type Trade struct {
	At                      time.Time      `json:"at"`
	GPUs                    int            `json:"gpus"`
	Start                   time.Time      `json:"start"`
	End                     time.Time      `json:"end"`
	PriceMicroUSDPerGPUHour joule.MicroUSD `json:"price_micro_usd_per_gpu_hour"`
}

// DefaultBookHours is how many hour slots a book shows unless asked: a week.
const DefaultBookHours = 7 * 24

// bookFills is how many recent fills a book reads for its clearing prices.
const bookFills = 200

// Book returns a product's book for hours slots from the hour that contains from (the
// current hour when zero) and its most recent fills (at most 20 listed).
func (s *Service) Book(ctx context.Context, who *joule.Account, product string, from time.Time, hours int) (*Book, error) {
	if who == nil {
		return nil, joule.Errorf(joule.EUNAUTHORIZED, "sign in to see the book")
	}
	if from.IsZero() {
		from = s.cfg.Now()
	}
	from = from.UTC().Truncate(time.Hour)
	if hours <= 0 {
		hours = DefaultBookHours
	}
	to := from.Add(time.Duration(hours) * time.Hour)
	s.mu.RLock()
	var p *joule.Product
	for _, x := range s.engine.Products() {
		if x.ID == product {
			p = &x
		}
	}
	if p == nil {
		s.mu.RUnlock()
		return nil, joule.Errorf(joule.ENOTFOUND, "no product %q", product)
	}
	b := &Book{Product: *p, CapacityGPUs: s.capacityGPUs(*p), From: from, To: to, Slots: []Slot{}, RecentFills: []Trade{}}
	depth, err := s.engine.Depth(product, from, to)
	s.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	fills, err := s.store.RecentFills(ctx, product, bookFills)
	if err != nil {
		return nil, err
	}
	for _, d := range depth {
		sl := Slot{Slot: d}
		for _, f := range fills { // newest first
			if !d.Start.Before(f.Start) && d.Start.Before(f.End) {
				sl.ClearingPriceMicroUSDPerGPUHour = f.PriceMicroUSDPerGPUHour
				break
			}
		}
		b.Slots = append(b.Slots, sl)
	}
	for i, f := range fills {
		if i == 20 {
			break
		}
		b.RecentFills = append(b.RecentFills, Trade{At: f.At, GPUs: f.GPUs, Start: f.Start, End: f.End, PriceMicroUSDPerGPUHour: f.PriceMicroUSDPerGPUHour})
	}
	return b, nil
}
