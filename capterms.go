package joule

// CapTerms say how a product's leases that may be interrupted — spot (interruptible)
// and curtailable ones — may be capped: dispatch may hold their servers to CapFrac of
// their nameplate power before it stops any of them, and a capped GPU-hour is billed at
// CappedPriceBPS of the lease's price (the difference comes back as a service credit).
// Firm leases are never capped. The zero value never caps.
type CapTerms struct {
	Product string `json:"product"`
	// CapFrac is the power limit of a capped server as a fraction of its nameplate
	// wall power, 0 (never capped) or in (0, 1), e.g. 0.65.
	CapFrac float64 `json:"cap_frac"`
	// CappedPriceBPS is what a capped GPU-hour costs, in basis points of the lease's
	// price, e.g. 8000 for 80%.
	CappedPriceBPS int `json:"capped_price_bps"`
}

// Capped reports whether the terms allow capping.
func (c *CapTerms) Capped() bool { return c.CapFrac > 0 }

// Validate checks the terms: both zero, or a cap in (0, 1) with a capped price of 1 to
// 10,000 basis points.
func (c *CapTerms) Validate() error {
	switch {
	case c.Product == "":
		return Errorf(EINVALID, "cap terms: product is required")
	case c.CapFrac == 0 && c.CappedPriceBPS == 0:
		return nil
	case !(c.CapFrac > 0 && c.CapFrac < 1):
		return Errorf(EINVALID, "cap terms %s: cap_frac must be above 0 and below 1 (a share of the servers' nameplate power), not %v", c.Product, c.CapFrac)
	case c.CappedPriceBPS <= 0 || c.CappedPriceBPS > 10_000:
		return Errorf(EINVALID, "cap terms %s: capped_price_bps must be 1 to 10,000 (basis points of the lease's price), not %d", c.Product, c.CappedPriceBPS)
	}
	return nil
}

// CappedPrice is what a capped GPU-hour of a lease at price costs, rounded half up.
func (c *CapTerms) CappedPrice(price MicroUSD) MicroUSD {
	if !c.Capped() || price <= 0 {
		return price
	}
	q, r, bps := int64(price)/10_000, int64(price)%10_000, int64(c.CappedPriceBPS)
	return MicroUSD(q*bps + (r*bps+5_000)/10_000) // price × bps / 10,000 without overflow
}
