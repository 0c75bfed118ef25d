package feeds

import (
	"time"

	"github.com/joule-site/joule"
)

// The methods below let Prices serve the live dispatch loop, which asks per reading
// whether it is fresh and applies the safe-state rule itself.

// Hashprice returns the hashprice at now, net of the pool fee, in USD per PH/s per
// day, and whether it is known (chain and price fresh). Unknown is 0, false.
func (m *Prices) Hashprice(now time.Time) (usdPerPHDay float64, fresh bool) {
	st, _ := m.Snapshot(now)
	return st.HashpriceNetUSDPerPHDay, st.HashpriceKnown
}

// Energy returns what site pays per MWh at now. A fixed or time-of-use tariff is its
// own source and always fresh. A wholesale price is the schedule of the site's node
// (Energy.Node, else MarketNode) from EnergyByNode, else the Energy feed, plus the
// model's adder; it is fresh when the schedule is fresh and covers now. Unknown is
// 0, false.
func (m *Prices) Energy(site *joule.Site, now time.Time) (usdPerMWh float64, fresh bool) {
	if price, ok := site.Energy.TariffAt(now); ok {
		return price, true
	}
	node := site.Energy.Node
	if node == "" {
		node = site.MarketNode
	}
	f := m.EnergyFeed
	if byNode, ok := m.EnergyFeedByNode[node]; ok {
		f = byNode
	}
	r, stale := check(FeedEnergy, f, now, m.MaxAge.withDefaults().Energy)
	if stale != nil {
		return 0, false
	}
	price, ok := r.Value.PriceAt(now)
	if !ok {
		return 0, false
	}
	return price + site.Energy.AdderUSDPerMWh, true
}

// GPU returns the GPU-hour price and expected utilization, as set on the Prices.
func (m *Prices) GPU(time.Time) (usdPerHour, utilization float64) {
	return m.GPUUSDPerHour, m.GPUUtilization
}

// BTCUSD returns the BTC price at now and whether it is fresh; the last good price
// (0 before the first) when it is not.
func (m *Prices) BTCUSD(now time.Time) (usd float64, fresh bool) {
	st, stale := m.Snapshot(now)
	for _, s := range stale {
		if s.Feed == FeedBTCPrice {
			return st.BTCUSD, false
		}
	}
	return st.BTCUSD, true
}
