package exchange

import (
	"reflect"
	"testing"
	"time"

	"github.com/joule-site/joule"
)

func TestReservedMatching(t *testing.T) {
	// Two sellers: owner-a asks $2.00 for 2 servers (16 GPUs), owner-b $1.80 for 1 (8).
	sellers := []joule.Listing{listing("owner-a", 2, usd(2.00)), listing("owner-b", 1, usd(1.80))}
	tests := []struct {
		name       string
		order      joule.Order
		wantStatus joule.OrderStatus
		wantShares []joule.LeaseShare // of the one lease; none when nothing fills
		wantMean   joule.MicroUSD
	}{
		{
			name:       "cheapest ask first, then across sellers",
			order:      reserved("k", "acme", 24, 1, 5, usd(2.10)),
			wantStatus: joule.OrderFilled,
			wantShares: []joule.LeaseShare{
				{Seller: "owner-b", GPUs: 8, Start: hour(1), End: hour(5), PriceMicroUSDPerGPUHour: usd(1.80), Servers: servers("owner-b", 1)},
				{Seller: "owner-a", GPUs: 16, Start: hour(1), End: hour(5), PriceMicroUSDPerGPUHour: usd(2.00), Servers: servers("owner-a", 1, 2)},
			},
			wantMean: 1_933_333,
		},
		{
			name:       "limit below the dearer ask takes only the cheaper",
			order:      reserved("k", "acme", 8, 1, 3, usd(1.90)),
			wantStatus: joule.OrderFilled,
			wantShares: []joule.LeaseShare{{Seller: "owner-b", GPUs: 8, Start: hour(1), End: hour(3), PriceMicroUSDPerGPUHour: usd(1.80), Servers: servers("owner-b", 1)}},
			wantMean:   usd(1.80),
		},
		{
			name:       "all or none rests whole when short",
			order:      reserved("k", "acme", 32, 1, 3, usd(3)),
			wantStatus: joule.OrderOpen,
		},
		{
			name:       "limit below every ask rests",
			order:      reserved("k", "acme", 8, 1, 3, usd(1.79)),
			wantStatus: joule.OrderOpen,
		},
		{
			name: "not all or none leases what every hour has",
			order: func() joule.Order {
				o := reserved("k", "acme", 32, 1, 3, usd(3))
				o.AllOrNone = false
				return o
			}(),
			wantStatus: joule.OrderPartiallyFilled,
			wantShares: []joule.LeaseShare{
				{Seller: "owner-b", GPUs: 8, Start: hour(1), End: hour(3), PriceMicroUSDPerGPUHour: usd(1.80), Servers: servers("owner-b", 1)},
				{Seller: "owner-a", GPUs: 16, Start: hour(1), End: hour(3), PriceMicroUSDPerGPUHour: usd(2.00), Servers: servers("owner-a", 1, 2)},
			},
			wantMean: 1_933_333, // (8×1.80 + 16×2.00) / 24, rounded half up
		},
		{
			name:       "a seller does not buy its own capacity",
			order:      reserved("k", "owner-b", 8, 1, 3, usd(1.90)),
			wantStatus: joule.OrderOpen,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock(t0.Add(10 * time.Minute))
			e := newEngine(t, c.config(), sellers...)
			r := mustSubmit(t, e, tt.order)
			if r.Order.Status != tt.wantStatus {
				t.Fatalf("status %s, want %s", r.Order.Status, tt.wantStatus)
			}
			if len(tt.wantShares) == 0 {
				if len(r.Leases) != 0 || len(r.Fills) != 0 {
					t.Fatalf("a bid that did not fill made leases %v, fills %v", r.Leases, r.Fills)
				}
				return
			}
			if len(r.Leases) != 1 {
				t.Fatalf("%d leases, want 1", len(r.Leases))
			}
			l := r.Leases[0]
			if !reflect.DeepEqual(l.Sellers, tt.wantShares) {
				t.Errorf("shares\n got %+v\nwant %+v", l.Sellers, tt.wantShares)
			}
			if l.PriceMicroUSDPerGPUHour != tt.wantMean {
				t.Errorf("mean price %d, want %d", l.PriceMicroUSDPerGPUHour, tt.wantMean)
			}
			if len(r.Fills) != len(tt.wantShares) {
				t.Errorf("%d fills, want one per share", len(r.Fills))
			}
			if l.Class != joule.LeaseFirm || l.Status != joule.LeaseActive || l.OpenEnded {
				t.Errorf("lease %+v: want an active firm block", l)
			}
		})
	}
}

func TestRestingBidFillsWhenAskFalls(t *testing.T) {
	c := newClock(t0)
	e := newEngine(t, c.config(), listing("owner-a", 1, usd(2.50)))
	first := mustSubmit(t, e, reserved("k1", "acme", 8, 2, 4, usd(2.00)))
	if first.Order.Status != joule.OrderOpen {
		t.Fatalf("status %s", first.Order.Status)
	}
	higher := mustSubmit(t, e, reserved("k2", "beta", 8, 2, 4, usd(2.20)))
	r, err := e.SetListing(joule.Listing{Product: product, Seller: "owner-a", Servers: 1, Start: t0, AskMicroUSDPerGPUHour: usd(1.90)})
	if err != nil {
		t.Fatal(err)
	}
	mustCheck(t, e)
	// price priority: the higher bid fills; the other keeps resting
	if len(r.Orders) != 1 || r.Orders[0].ID != higher.Order.ID || r.Orders[0].Status != joule.OrderFilled {
		t.Fatalf("orders changed: %+v", r.Orders)
	}
	if len(r.Leases) != 1 || r.Leases[0].Tenant != "beta" || r.Leases[0].PriceMicroUSDPerGPUHour != usd(1.90) {
		t.Fatalf("leases: %+v", r.Leases)
	}
	if o, _ := e.Order(first.Order.ID); o.Status != joule.OrderOpen {
		t.Fatalf("first bid %s", o.Status)
	}
	// capacity may not drop below what is leased
	_, err = e.SetListing(joule.Listing{Product: product, Seller: "owner-a", Servers: 0, Start: t0})
	wantCode(t, err, joule.ECAPACITY)
}

func TestIdempotency(t *testing.T) {
	c := newClock(t0)
	e := newEngine(t, c.config(), listing("owner-a", 1, usd(2)))
	o := reserved("key-1", "acme", 8, 1, 3, usd(2))
	first := mustSubmit(t, e, o)
	again := mustSubmit(t, e, o)
	if !reflect.DeepEqual(first, again) {
		t.Fatalf("same key, same order: results differ\n%+v\n%+v", first, again)
	}
	if n := len(e.Leases(product, hour(1))); n != 1 {
		t.Fatalf("%d leases after a repeated submission, want 1", n)
	}
	other := o
	other.GPUs = 4
	_, err := e.Submit(other)
	wantCode(t, err, joule.ECONFLICT)
	// the key belongs to the account: another account may use it
	o2 := o
	o2.Account = "beta"
	if r := mustSubmit(t, e, o2); r.Order.ID == first.Order.ID {
		t.Fatal("another account's key answered with acme's order")
	}
	// a failed submission records nothing, so a retry tries again
	od := running(joule.OrderOnDemand, "od-1", "gamma", 8, usd(5))
	_, err = e.Submit(od)
	wantCode(t, err, joule.ECAPACITY)
	if _, err := e.SetListing(joule.Listing{Product: product, Seller: "owner-b", Servers: 1, Start: t0, AskMicroUSDPerGPUHour: usd(3)}); err != nil {
		t.Fatal(err)
	}
	if r := mustSubmit(t, e, od); r.Order.Status != joule.OrderFilled {
		t.Fatalf("retry: %s", r.Order.Status)
	}
}

func TestValidation(t *testing.T) {
	c := newClock(t0.Add(30 * time.Minute))
	e := newEngine(t, c.config(), listing("owner-a", 1, usd(2)))
	base := reserved("k", "acme", 8, 1, 3, usd(2))
	tests := []struct {
		name   string
		change func(*joule.Order)
		code   string
	}{
		{"no key", func(o *joule.Order) { o.IdempotencyKey = "" }, joule.EINVALID},
		{"zero gpus", func(o *joule.Order) { o.GPUs = 0 }, joule.EINVALID},
		{"unaligned start", func(o *joule.Order) { o.Start = o.Start.Add(time.Minute) }, joule.EINVALID},
		{"end before start", func(o *joule.Order) { o.End = o.Start }, joule.EINVALID},
		{"start in the past", func(o *joule.Order) { o.Start = t0 }, joule.EINVALID},
		{"beyond the horizon", func(o *joule.Order) { o.End = t0.AddDate(2, 0, 0) }, joule.EINVALID},
		{"unknown product", func(o *joule.Order) { o.Product = "b200/nowhere" }, joule.ENOTFOUND},
		{"client-set id", func(o *joule.Order) { o.ID = "mine" }, joule.EINVALID},
		{"bad kind", func(o *joule.Order) { o.Kind = "futures" }, joule.EINVALID},
		{"curtailable without notice", func(o *joule.Order) { o.Class = joule.LeaseCurtailable }, joule.EINVALID},
		{"firm spot", func(o *joule.Order) { *o = running(joule.OrderSpot, "k", "a", 1, 1); o.Class = joule.LeaseFirm }, joule.EINVALID},
		{"on-demand with a start", func(o *joule.Order) { *o = running(joule.OrderOnDemand, "k", "a", 1, 1); o.Start = hour(1) }, joule.EINVALID},
		{"expired already", func(o *joule.Order) { o.ExpiresAt = t0 }, joule.EINVALID},
		{"resale of no lease", func(o *joule.Order) { o.Kind = joule.OrderResale; o.ResaleOf = "l999" }, joule.ENOTFOUND},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			tt.change(&o)
			_, err := e.Submit(o)
			wantCode(t, err, tt.code)
		})
	}
	if n := len(e.State().Orders); n != 0 {
		t.Fatalf("failed submissions left %d orders", n)
	}
}

func TestOpportunityCostAsks(t *testing.T) {
	c := newClock(t0)
	pricing := func(_ string, h time.Time) joule.MicroUSD {
		if h.Hour() == 5 { // the hour ASICs earn most: GPUs are dear
			return usd(4)
		}
		return usd(1.5)
	}
	e := newEngine(t, c.configWith(Config{Pricing: pricing}),
		joule.Listing{Seller: "operator", Servers: 1, AskMicroUSDPerGPUHour: usd(1.6), OpportunityCost: true},
		listing("owner-a", 1, usd(2)))
	r := mustSubmit(t, e, reserved("k", "acme", 8, 3, 7, usd(2.5)))
	// hours 3, 4, 6 at the operator's floor $1.60; hour 5 from owner-a at $2.00
	want := []joule.LeaseShare{
		{Seller: "operator", GPUs: 8, Start: hour(3), End: hour(5), PriceMicroUSDPerGPUHour: usd(1.6), Servers: servers("operator", 1)},
		{Seller: "owner-a", GPUs: 8, Start: hour(5), End: hour(6), PriceMicroUSDPerGPUHour: usd(2), Servers: servers("owner-a", 1)},
		{Seller: "operator", GPUs: 8, Start: hour(6), End: hour(7), PriceMicroUSDPerGPUHour: usd(1.6), Servers: servers("operator", 1)},
	}
	if !reflect.DeepEqual(r.Leases[0].Sellers, want) {
		t.Fatalf("shares\n got %+v\nwant %+v", r.Leases[0].Sellers, want)
	}
	d, err := e.Depth(product, hour(5), hour(6))
	if err != nil {
		t.Fatal(err)
	}
	if len(d) != 1 || d[0].FreeGPUs != 8 || d[0].BestAskMicroUSDPerGPUHour != usd(4) {
		t.Fatalf("depth at hour 5: %+v", d)
	}
}

func TestDepth(t *testing.T) {
	c := newClock(t0)
	e := newEngine(t, c.config(), listing("owner-a", 2, usd(2)), listing("owner-b", 1, usd(1.5)))
	mustSubmit(t, e, reserved("k", "acme", 8, 1, 2, usd(3)))
	mustSubmit(t, e, reserved("r1", "beta", 24, 1, 3, usd(2.5)))
	mustSubmit(t, e, reserved("r2", "gamma", 32, 2, 3, usd(2.5)))
	d, err := e.Depth(product, hour(1), hour(3))
	if err != nil {
		t.Fatal(err)
	}
	want := []Slot{
		{Start: hour(1), CapacityGPUs: 24, LeasedGPUs: 8, FreeGPUs: 16,
			Asks:                      []Level{{usd(2), 16}},
			BestAskMicroUSDPerGPUHour: usd(2), Bids: []Level{{usd(2.5), 24}}, BestBidMicroUSDPerGPUHour: usd(2.5)},
		{Start: hour(2), CapacityGPUs: 24, FreeGPUs: 24,
			Asks:                      []Level{{usd(1.5), 8}, {usd(2), 16}},
			BestAskMicroUSDPerGPUHour: usd(1.5), Bids: []Level{{usd(2.5), 56}}, BestBidMicroUSDPerGPUHour: usd(2.5)},
	}
	if !reflect.DeepEqual(d, want) {
		t.Fatalf("depth\n got %+v\nwant %+v", d, want)
	}
}
