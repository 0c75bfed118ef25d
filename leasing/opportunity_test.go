package leasing_test

import (
	"testing"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/catalog"
	"github.com/joule-site/joule/leasing"
	"github.com/joule-site/joule/sqlite"
)

// The example site's H100 GPU-hours are priced at what its S21s would earn on their
// power; a listing that asks its opportunity cost sells at no less, and not at all to
// a bid below it.
func TestOpportunityCostAsk(t *testing.T) {
	e := newEnv(t)
	sites, err := joule.SiteLoader{Sites: sqlite.NewSiteService(e.db), Fleets: sqlite.NewFleetService(e.db), Models: catalog.Models{User: sqlite.NewHardwareService(e.db)}}.LoadAll(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A hashprice of $5,000/PH/day makes mining worth far more than the $2 default ask.
	// By hand: an S21 (17.5 J/TH) earns $5/TH/day over 0.42 kWh/TH/day = $11,904.76 per
	// MWh it draws; a leased 8×H100 server draws 10.2 kW (× PUE 1.05 at the facility,
	// as the S21s it displaces would), so it gives up 10.2 × $11.90476 = $121.43 of
	// mining an hour, $15.1786 per GPU-hour, × 1.2 margin = $18.2143.
	asks := leasing.OpportunityAsks(sites, 5000, 0.2)
	const want = 18.2143
	got := asks["h100-sxm/west-texas"]
	if d := got.USD() - want; d > 0.0001 || d < -0.0001 {
		t.Fatalf("opportunity ask %v, want $%.4f", got, want)
	}

	pricer := &leasing.OpportunityPricer{}
	e.cfg.Pricing = pricer.Price
	e.svc = e.open()
	pricer.Set(asks)
	const product = "h100-sxm/west-texas"
	for _, seller := range []string{"operator", "northwind-capital"} {
		if _, err := e.svc.SetAsk(e.ctx, e.op, product, seller, usd(2), true); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.svc.Reprice(e.ctx); err != nil {
		t.Fatal(err)
	}
	acme := e.tenant("acme", usd(1_000_000))
	start := t0.Add(hours(48)).Truncate(hours(1))
	// A bid between the floor and the opportunity cost rests: nothing leased.
	low := e.submit(acme, reserved("low", 8, start, start.Add(hours(2)), usd(2.5)))
	if len(low.Leases) != 0 {
		t.Fatalf("a bid of $2.50 leased GPUs whose power earns $%.2f mining", want)
	}
	// A bid above it fills at the opportunity-cost ask.
	high := e.submit(acme, reserved("high", 8, start, start.Add(hours(2)), joule.MicroUSDFromUSD(want+1)))
	if len(high.Leases) != 1 {
		t.Fatalf("a bid above the opportunity cost did not fill: %+v", high)
	}
	if p := high.Leases[0].PriceMicroUSDPerGPUHour; p != got {
		t.Errorf("filled at %v, want the opportunity ask %v", p, got)
	}
	e.check()
}
