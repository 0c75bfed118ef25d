package joule

// FillPriority says, in one product, whose listing fills first when listings ask the
// same price: the operator's own servers or the owners' the site hosts. A lower ask
// always fills first, whatever the priority.
type FillPriority string

// Fill priorities.
const (
	// FillByTime fills, at one ask, the listing that has held that ask longest first
	// (price-time priority, as an order book does): the default.
	FillByTime FillPriority = "time"
	// FillOwnersFirst fills the owners' listings before the operator's at one ask, so
	// that hosted servers earn before the site's own (among owners, by time).
	FillOwnersFirst FillPriority = "owners-first"
	// FillOperatorFirst fills the operator's listing before any owner's at one ask.
	FillOperatorFirst FillPriority = "operator-first"
)

// FillPriorities are the fill priorities a product may have.
var FillPriorities = []FillPriority{FillByTime, FillOwnersFirst, FillOperatorFirst}

// Valid reports whether p is one of FillPriorities.
func (p FillPriority) Valid() bool {
	for _, x := range FillPriorities {
		if p == x {
			return true
		}
	}
	return false
}

// ProductFillPriority is a product's fill priority, as the exchange stores it.
type ProductFillPriority struct {
	Product  string       `json:"product"`
	Priority FillPriority `json:"fill_priority"`
}
