package joule

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// Product is what the GPU exchange trades: hours of one GPU model at one site, in
// servers of a fixed shape. It is leased in whole servers: an order's GPUs are a
// multiple of GPUsPerNode, since the workload engine reserves whole nodes. Its ID is "<model>/<site>", e.g. "h100-sxm/west-texas".
type Product struct {
	ID          string `json:"id"`
	Model       string `json:"model"` // hardware model of the servers, e.g. "h100-sxm"
	Site        string `json:"site"`
	GPUsPerNode int    `json:"gpus_per_node"` // GPUs in one server, e.g. 8
}

// ProductID returns the ID of the product of a model at a site.
func ProductID(model, site string) string { return model + "/" + site }

// Validate checks the product's own fields.
func (p *Product) Validate() error {
	switch {
	case !ValidSlug(p.Model) || !ValidSlug(p.Site):
		return Errorf(EINVALID, "product %q: model and site must be slugs", p.ID)
	case p.ID != ProductID(p.Model, p.Site):
		return Errorf(EINVALID, "product %q: id must be %q", p.ID, ProductID(p.Model, p.Site))
	case p.GPUsPerNode <= 0:
		return Errorf(EINVALID, "product %s: gpus_per_node must be positive", p.ID)
	}
	return nil
}

// Listing is a seller's standing offer of its servers' hours in a product: Servers ×
// GPUsPerNode GPUs in every hour of [Start, End). There is one listing per product and
// seller; setting it again replaces it, and it may never drop below the GPUs already
// leased from it.
type Listing struct {
	Product string `json:"product"`
	Seller  string `json:"seller"` // account ID of an owner or the operator
	Servers int    `json:"servers"`
	// Start and End are hour-aligned; End is exclusive, and zero for an open-ended listing.
	Start time.Time `json:"start"`
	End   time.Time `json:"end,omitzero"`
	// AskMicroUSDPerGPUHour is the fixed ask, or, with OpportunityCost, the floor under
	// an ask the exchange derives hour by hour from what the power would earn otherwise.
	AskMicroUSDPerGPUHour MicroUSD `json:"ask_micro_usd_per_gpu_hour"`
	OpportunityCost       bool     `json:"opportunity_cost,omitempty"`
	// Nodes names the listing's servers, one name per server in fill order: the names
	// leases bind to, which are also the servers' node names in the workload engine.
	// Empty: the exchange names them DefaultNodeNames.
	Nodes []string `json:"nodes,omitempty"`
}

// NodeNames returns the listing's server names: Nodes, or DefaultNodeNames when empty.
func (l *Listing) NodeNames() []string {
	if len(l.Nodes) > 0 {
		return l.Nodes
	}
	return DefaultNodeNames(l.Seller+"-"+strings.ReplaceAll(l.Product, "/", "-"), l.Servers)
}

// DefaultNodeNames names n servers prefix-01, prefix-02, ...: two digits at least, more
// when n needs them, so that the names sort in server order.
func DefaultNodeNames(prefix string, n int) []string {
	width := max(2, len(strconv.Itoa(n)))
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%0*d", prefix, width, i+1)
	}
	return out
}

// Validate checks the listing's own fields.
func (l *Listing) Validate() error {
	switch {
	case l.Product == "" || l.Seller == "":
		return Errorf(EINVALID, "listing: product and seller are required")
	case l.Servers < 0:
		return Errorf(EINVALID, "listing %s/%s: servers must not be negative", l.Product, l.Seller)
	case !HourAligned(l.Start) || (!l.End.IsZero() && !HourAligned(l.End)):
		return Errorf(EINVALID, "listing %s/%s: start and end must be on the hour", l.Product, l.Seller)
	case !l.End.IsZero() && !l.End.After(l.Start):
		return Errorf(EINVALID, "listing %s/%s: end must be after start", l.Product, l.Seller)
	case l.AskMicroUSDPerGPUHour < 0:
		return Errorf(EINVALID, "listing %s/%s: ask must not be negative", l.Product, l.Seller)
	case len(l.Nodes) > 0 && len(l.Nodes) != l.Servers:
		return Errorf(EINVALID, "listing %s/%s: %d node names for %d servers", l.Product, l.Seller, len(l.Nodes), l.Servers)
	}
	seen := make(map[string]bool, len(l.Nodes))
	for _, n := range l.Nodes {
		if n == "" || seen[n] || strings.ContainsAny(n, ", \t\n") {
			return Errorf(EINVALID, "listing %s/%s: node names must be distinct, without commas or spaces (%q)", l.Product, l.Seller, n)
		}
		seen[n] = true
	}
	return nil
}

// OrderKind says what an order buys or sells.
type OrderKind string

// Order kinds.
const (
	// OrderReserved buys a block: GPUs for every hour of [Start, End), at most the limit
	// per GPU-hour, all or none unless AllOrNone is false.
	OrderReserved OrderKind = "reserved"
	// OrderOnDemand buys firm GPUs from now until stopped; it fills at once or is rejected.
	OrderOnDemand OrderKind = "on_demand"
	// OrderSpot bids for leftover GPUs from when it fills until stopped; a reserved or
	// on-demand order may take them back after a notice period.
	OrderSpot OrderKind = "spot"
	// OrderResale offers the unused future hours of a lease the account holds, at no
	// less than the limit per GPU-hour.
	OrderResale OrderKind = "resale"
)

// OrderStatus is where an order is in its life.
type OrderStatus string

// Order statuses.
const (
	OrderOpen            OrderStatus = "open"             // resting in the book
	OrderFilled          OrderStatus = "filled"           // fully leased (or, for resale, fully sold)
	OrderPartiallyFilled OrderStatus = "partially_filled" // some filled, the rest resting
	OrderCancelled       OrderStatus = "cancelled"
	OrderExpired         OrderStatus = "expired"
	OrderRejected        OrderStatus = "rejected" // could not fill and may not rest (on-demand)
)

// Terminal reports whether the order can no longer fill.
func (s OrderStatus) Terminal() bool { return s != OrderOpen && s != OrderPartiallyFilled }

// Order is a bid for GPU hours, or a resale offer of a lease's hours. Prices are
// MicroUSD per GPU-hour; times are hour-aligned where they name hour slots.
type Order struct {
	ID string `json:"id"`
	// IdempotencyKey is chosen by the client and unique per account: submitting the same
	// key again returns the first result; the same key with other content is a conflict.
	IdempotencyKey string    `json:"idempotency_key"`
	Account        string    `json:"account"`
	Product        string    `json:"product"`
	Kind           OrderKind `json:"kind"`
	GPUs           int       `json:"gpus"`
	// Start and End bound a reserved block or a resale offer: hour-aligned, End exclusive.
	// On-demand and spot orders leave Start zero (they start when they fill) and may set
	// an hour-aligned End to stop by; zero runs until stopped.
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
	// LimitMicroUSDPerGPUHour is the most a bid pays, or the least a resale accepts.
	LimitMicroUSDPerGPUHour MicroUSD `json:"limit_micro_usd_per_gpu_hour"`
	// AllOrNone applies to reserved orders: fill every GPU for the whole block or
	// nothing. When false, a fill may lease fewer GPUs (for the whole block) and the rest
	// keeps resting. On-demand and spot orders are always all or none.
	AllOrNone bool `json:"all_or_none"`
	// Class is the class of the leases a bid creates: firm (default for reserved and
	// on-demand), curtailable (reserved only, with NoticeSec), interruptible (spot).
	Class     LeaseClass `json:"class,omitempty"`
	NoticeSec int64      `json:"notice_sec,omitempty"`
	// ResaleOf is the lease whose hours a resale order offers.
	ResaleOf string      `json:"resale_of,omitempty"`
	Status   OrderStatus `json:"status"`
	// FilledGPUs is how many of GPUs are leased (bids); SoldGPUHours what a resale sold.
	FilledGPUs   int   `json:"filled_gpus,omitempty"`
	SoldGPUHours int64 `json:"sold_gpu_hours,omitempty"`
	// CreatedAt orders bids of one price (time priority); ExpiresAt, when set, is when a
	// resting order stops resting.
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// HourAligned reports whether t is exactly on an hour (in UTC, so on every whole-hour zone).
func HourAligned(t time.Time) bool { return !t.IsZero() && t.Unix()%3600 == 0 && t.Nanosecond() == 0 }

// Validate checks the order's own fields; the exchange checks them against the book
// and the clock.
func (o *Order) Validate() error {
	switch {
	case o.IdempotencyKey == "":
		return Errorf(EINVALID, "order: an idempotency key is required")
	case o.Account == "":
		return Errorf(EINVALID, "order: account is required")
	case o.GPUs <= 0:
		return Errorf(EINVALID, "order: gpus must be positive")
	case o.LimitMicroUSDPerGPUHour < 0:
		return Errorf(EINVALID, "order: limit must not be negative")
	case o.NoticeSec < 0:
		return Errorf(EINVALID, "order: notice_sec must not be negative")
	case strings.TrimSpace(o.IdempotencyKey) != o.IdempotencyKey || len(o.IdempotencyKey) > 255:
		return Errorf(EINVALID, "order: idempotency key must be at most 255 characters without surrounding spaces")
	}
	switch o.Kind {
	case OrderReserved, OrderResale:
		if !HourAligned(o.Start) || !HourAligned(o.End) || !o.End.After(o.Start) {
			return Errorf(EINVALID, "order: a %s order needs hour-aligned start < end", o.Kind)
		}
		if o.Kind == OrderResale && o.ResaleOf == "" {
			return Errorf(EINVALID, "order: a resale order names the lease it resells")
		}
	case OrderOnDemand, OrderSpot:
		if !o.Start.IsZero() {
			return Errorf(EINVALID, "order: a %s order starts when it fills; leave start empty", o.Kind)
		}
		if !o.End.IsZero() && !HourAligned(o.End) {
			return Errorf(EINVALID, "order: end must be on the hour")
		}
	default:
		return Errorf(EINVALID, "order: kind must be reserved, on_demand, spot or resale, not %q", o.Kind)
	}
	if o.Kind != OrderResale && o.ResaleOf != "" {
		return Errorf(EINVALID, "order: only a resale order names a lease")
	}
	if o.Kind != OrderReserved && o.Kind != OrderResale && o.LimitMicroUSDPerGPUHour == 0 {
		return Errorf(EINVALID, "order: a bid needs a positive limit")
	}
	switch want := o.DefaultClass(); {
	case o.Class == "" || o.Class == want:
	case o.Kind == OrderReserved && o.Class == LeaseCurtailable:
		if o.NoticeSec <= 0 {
			return Errorf(EINVALID, "order: a curtailable lease needs a notice period")
		}
	default:
		return Errorf(EINVALID, "order: a %s order cannot create a %s lease", o.Kind, o.Class)
	}
	return nil
}

// DefaultClass is the class of the leases an order of this kind creates unless it asks
// for another: spot leases are interruptible, the rest firm.
func (o *Order) DefaultClass() LeaseClass {
	if o.Kind == OrderSpot {
		return LeaseInterruptible
	}
	return LeaseFirm
}

// SameRequest reports whether two submissions under one idempotency key ask for the
// same order, on every field a client sets; what the exchange sets (ID, status, fill
// counts, created_at) is ignored, so a stored order compares with its resubmission. A
// class left empty is the kind's default, and a resale may leave the product to its
// lease. The matcher and the store's replay both decide with it: a key replayed with any
// other field is another order, ECONFLICT.
func (o *Order) SameRequest(b *Order) bool {
	oc, bc := o.Class, b.Class
	if oc == "" {
		oc = o.DefaultClass()
	}
	if bc == "" {
		bc = b.DefaultClass()
	}
	sameProduct := o.Product == b.Product || (o.Kind == OrderResale && (o.Product == "" || b.Product == ""))
	return o.IdempotencyKey == b.IdempotencyKey && o.Account == b.Account && sameProduct && oc == bc &&
		o.Kind == b.Kind && o.GPUs == b.GPUs && o.Start.Equal(b.Start) && o.End.Equal(b.End) &&
		o.ExpiresAt.Equal(b.ExpiresAt) && o.LimitMicroUSDPerGPUHour == b.LimitMicroUSDPerGPUHour &&
		o.AllOrNone == b.AllOrNone && o.NoticeSec == b.NoticeSec && o.ResaleOf == b.ResaleOf
}

// Hours returns the number of hour slots of a reserved or resale order's block.
func (o *Order) Hours() int64 {
	if o.Start.IsZero() || o.End.IsZero() {
		return 0
	}
	return int64(o.End.Sub(o.Start) / time.Hour)
}

// MaxCost is the most a reserved order can cost: GPUs × hours × limit, the amount to
// hold from the tenant's credit while it rests. It saturates at the largest MicroUSD
// rather than overflow.
func (o *Order) MaxCost() MicroUSD {
	if o.GPUs <= 0 || o.Hours() <= 0 || o.LimitMicroUSDPerGPUHour <= 0 {
		return 0
	}
	h1, gpuHours := bits.Mul64(uint64(o.GPUs), uint64(o.Hours()))
	hi, lo := bits.Mul64(gpuHours, uint64(o.LimitMicroUSDPerGPUHour))
	hi |= h1
	if hi != 0 || lo > math.MaxInt64 {
		return math.MaxInt64
	}
	return MicroUSD(lo)
}
