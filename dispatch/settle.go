package dispatch

import "github.com/joule-site/joule"

// UnknownEnergyUSDPerMWh is the price to plan on when no energy price is known (a
// stale feed, or nothing published yet): high enough that no flexible load runs.
const UnknownEnergyUSDPerMWh = 1e9

// Settle reprices pl, planned on the prices of decided, at the prices the interval
// turned out to have (actual): the same machines run at the same settings, mining
// earns the actual hashprice and every watt drawn costs the actual energy price. GPU
// capacity and leases keep what they were priced at: their prices are set before the
// interval. A plan settled at the prices it was made on is unchanged.
//
// A backtest that decides causally plans each interval on what was known then and
// settles it here; the live site is settled by its meters and the pool.
func (p *Policy) Settle(pl *Allocation, decided, actual *Interval) {
	hours := float64(actual.IntervalSec) / 3600
	if decided.EnergyUSDPerMWh != actual.EnergyUSDPerMWh {
		if decided.EnergyUSDPerMWh != 0 {
			pl.EnergyUSD *= actual.EnergyUSDPerMWh / decided.EnergyUSDPerMWh
		} else {
			pl.EnergyUSD = float64(pl.DrawW) / 1e6 * hours * actual.EnergyUSDPerMWh
		}
	}
	if decided.HashpriceUSDPerPHDay == actual.HashpriceUSDPerPHDay {
		return
	}
	var revenue, startLoss float64
	scale := 0.0
	if decided.HashpriceUSDPerPHDay != 0 {
		scale = actual.HashpriceUSDPerPHDay / decided.HashpriceUSDPerPHDay
	}
	for i := range pl.Units {
		u := &pl.Units[i]
		if p.site.Units[i].Kind == joule.KindASIC {
			if scale != 0 {
				u.RevenueUSD *= scale
			} else {
				// Planned at no hashprice: what ran earns the actual one, warm-up aside.
				u.RevenueUSD = u.HashTHs * actual.HashpriceUSDPerPHDay / 1000 / 24 * hours
			}
		}
		revenue += u.RevenueUSD
	}
	startLoss = pl.StartLossUSD * scale
	pl.RevenueUSD, pl.StartLossUSD = revenue, startLoss
}
