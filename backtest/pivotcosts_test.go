package backtest

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/joule-site/joule/econ"
)

// Capex of 20 MW of the example site worked by hand: 1508 h100-sxm servers (the
// 20,000,400 W of facility power freed, at 10,200 W × PUE 1.3 each) at $269,000,
// 10% for network and storage, $4M per MW converted, less 30% of the 4000 s19j-pro
// ($1,378) and 1936 s21 ($2,699) retired.
func TestPlanCapexByHand(t *testing.T) {
	cfg := planExampleConfig(t, 1, 1)
	cfg.Costs = econ.Costs{NetworkStorageFraction: 0.10, ConversionUSDPerMW: 4_000_000, ASICResaleFraction: 0.30}
	p, err := newPlanner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	servers := 1508 * 269_000.0
	resale := 0.30 * (4000*1378.0 + 1936*2699.0)
	want := servers + 0.10*servers + 20*4_000_000.0 - resale
	c := p.conv
	if c.servers != 1508 || math.Abs(c.resaleUSD-resale) > 1e-6 || math.Abs(c.capexUSD-want) > 1e-6 {
		t.Errorf("servers %d, resale %.2f, capex %.2f; want 1508, %.2f, %.2f", c.servers, c.resaleUSD, c.capexUSD, resale, want)
	}
	// A per-miner resale price given wins over the fraction.
	cfg.ASICResaleUSD = 100
	if p, err = newPlanner(cfg); err != nil {
		t.Fatal(err)
	}
	if got := p.conv.resaleUSD; got != 5936*100 {
		t.Errorf("resale at $100 a miner: %v", got)
	}
}

// GPU opex is a cost per installed server-hour, the same on every path: with the same
// seed, each path's NPV falls by exactly its discounted sum from the end of the install
// lag.
func TestPlanOpexAndLagByHand(t *testing.T) {
	cfg := planExampleConfig(t, 4, 1)
	cfg.Costs.InstallLagMonths = 2
	base := runPlan(t, cfg)
	cfg.Costs.GPUOpexUSDPerServerHour = 1.5
	withOpex := runPlan(t, cfg)
	p, err := newPlanner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	lag := int(math.Round(2 * 365.25 / 12)) // 61 days
	if p.lagDays != lag {
		t.Fatalf("lag %d days, want %d", p.lagDays, lag)
	}
	var want float64
	for d := lag; d < p.cal.days; d++ {
		want += 1508 * 1.5 * 24 * p.discount[p.cal.month[d]]
	}
	for i := range base.NPVs {
		if got := base.NPVs[i] - withOpex.NPVs[i]; math.Abs(got-want) > 1e-3 {
			t.Errorf("path %d: opex took %.2f off the NPV, want %.2f", i, got, want)
		}
	}
	// During the lag the servers earn nothing and the miners are gone: a longer lag
	// costs every path.
	cfg.Costs.InstallLagMonths = 6
	later := runPlan(t, cfg)
	for i := range later.NPVs {
		if later.NPVs[i] >= withOpex.NPVs[i] {
			t.Errorf("path %d: a 6-month lag gave %.0f, not less than the 2-month lag's %.0f", i, later.NPVs[i], withOpex.NPVs[i])
		}
	}
}

// The demand curve by hand: u0 × (market/asked)^ε, clamped to [0, 1].
func TestPlanDemandCurve(t *testing.T) {
	for _, c := range []struct {
		asked, market, eps, u0, want float64
	}{
		{2.69, 2.69, 1, 0.85, 0.85},
		{4.69, 2.69, 1, 0.85, 0.85 * 2.69 / 4.69}, // the list price against the market: 48.8%
		{4.69, 2.69, 2, 0.85, 0.85 * (2.69 / 4.69) * (2.69 / 4.69)},
		{4.69, 2.69, 0, 0.85, 0.85}, // no elasticity: the old, independent utilization
		{1.00, 2.69, 1, 0.85, 1},    // far below the market sells out
		{2.69, 2.69, 1, 1.2, 1},     // a draw above 1 is clamped
	} {
		p := &planner{cfg: PivotConfig{GPUUSDPerHour: c.asked, MarketUSDPerHour: c.market, DemandElasticity: c.eps}}
		if got := p.utilization(c.u0); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("asked %v, market %v, ε %v, u0 %v: %v, want %v", c.asked, c.market, c.eps, c.u0, got, c.want)
		}
	}
}

// Asking the list price while the market is lower sells less: the plan is worse than
// at the market price, not better.
func TestPlanListPriceAboveTheMarketSellsLess(t *testing.T) {
	cfg := planExampleConfig(t, 6, 1)
	cfg.GPUUSDPerHour, cfg.MarketUSDPerHour = 2.69, 2.69
	atMarket := runPlan(t, cfg)
	cfg.GPUUSDPerHour = 4.69
	above := runPlan(t, cfg)
	if above.UtilizationAtPrice >= atMarket.UtilizationAtPrice {
		t.Errorf("utilization %v at $4.69, %v at the market's $2.69", above.UtilizationAtPrice, atMarket.UtilizationAtPrice)
	}
	// Unit elastic: the revenue is the market price's (less capacity sold at more), and
	// only the idle servers' lower draw differs.
	if d := above.NPVUSD.P50 - atMarket.NPVUSD.P50; math.Abs(d) > 0.05*math.Abs(atMarket.NPVUSD.P50) {
		t.Errorf("P50 NPV %.0f above the market, %.0f at it: want within 5%%", above.NPVUSD.P50, atMarket.NPVUSD.P50)
	}
	// Without the demand curve the list price would sell as much as the market's.
	cfg.DemandElasticity = 0
	inelastic := runPlan(t, cfg)
	if !(inelastic.NPVUSD.P50 > above.NPVUSD.P50+100e6) {
		t.Errorf("P50 NPV %.0f at $4.69 with no demand curve, %.0f with it", inelastic.NPVUSD.P50, above.NPVUSD.P50)
	}
}

// The BTC models: the default bootstrap has no drift, bootstrap-drift history's, gbm
// the one given. Over a year of 300 paths the mean log return is near each.
func TestPlanBTCModelsDrift(t *testing.T) {
	cfg := planExampleConfig(t, 1, 1)
	p, err := newPlanner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ch := p.chain
	hist := ch.mu * daysPerYear // +0.49 a year before 2024-06-01
	if hist < 0.3 {
		t.Fatalf("history's drift %v; the test expects a bull market before 2024-06-01", hist)
	}
	n := p.cal.days
	price, hp, lhp := make([]float64, n), make([]float64, n), make([]float64, len(ch.preLogHP)+n)
	for _, c := range []struct {
		draw btcDraw
		want float64
	}{
		{btcDraw{model: BTCBootstrap}, 0},
		{btcDraw{model: BTCBootstrapDrift}, hist * float64(n-1) / daysPerYear},
		{btcDraw{model: BTCGBM, driftPerDay: -0.3 / daysPerYear}, -0.3 * float64(n-1) / daysPerYear},
	} {
		var sum float64
		const paths = 300
		for i := range paths {
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			ch.fill(rng, 0, c.draw, price, hp, lhp)
			sum += math.Log(price[n-1] / price[0])
		}
		if got := sum / paths; math.Abs(got-c.want) > 0.12 {
			t.Errorf("%s: mean log return over a year %.3f, want %.3f ± 0.12", c.draw.model, got, c.want)
		}
	}
}

// Difficulty answers the price: two paths with the same draws, one with BTC rising 200%
// a year in log and one falling as fast, end with hashprices closer together than their
// prices, because the rising path's difficulty grew faster.
func TestPlanDifficultyAnswersThePrice(t *testing.T) {
	cfg := planExampleConfig(t, 1, 1)
	p, err := newPlanner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ch := p.chain
	n := p.cal.days
	lhp := make([]float64, len(ch.preLogHP)+n)
	end := func(drift float64) (price, hashprice float64) {
		pr, hp := make([]float64, n), make([]float64, n)
		ch.fill(rand.New(rand.NewPCG(3, 7)), 0, btcDraw{model: BTCGBM, driftPerDay: drift / daysPerYear}, pr, hp, lhp)
		return pr[n-1], hp[n-1]
	}
	upP, upHP := end(2)
	downP, downHP := end(-2)
	priceRatio, hpRatio := upP/downP, upHP/downHP
	if math.Abs(math.Log(priceRatio)-4*float64(n-1)/daysPerYear) > 1e-9 {
		t.Fatalf("price ratio %v: the two paths do not share their draws", priceRatio)
	}
	if !(hpRatio < priceRatio*0.95) {
		t.Errorf("hashprice ratio %.2f, price ratio %.2f: difficulty did not answer the price", hpRatio, priceRatio)
	}
	t.Logf("a year apart at ±200%%/yr: prices ×%.1f, hashprices ×%.1f", priceRatio, hpRatio)
}
