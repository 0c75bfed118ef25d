package leasing_test

import (
	"math"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/ledger"
)

// Owners pay the energy their hosted servers drew: leased servers at nameplate, the
// rest idle, times PUE, at the site's price, hour by hour.
func TestEnergyPassThrough(t *testing.T) {
	e := newEnv(t)
	e.cfg.EnergyPrice = func(*joule.Site, time.Time) (float64, bool) { return 45, true }
	e.svc = e.open()
	// The operator asks more, so northwind-capital's servers sell first.
	if _, err := e.svc.SetAsk(e.ctx, e.op, "h100-sxm/west-texas", "operator", usd(3), false); err != nil {
		t.Fatal(err)
	}
	acme := e.tenant("acme", usd(100_000))
	start := e.clock.Now().Truncate(time.Hour).Add(time.Hour)
	res := e.submit(acme, reserved("block", 16, start, start.Add(time.Hour), usd(2.5)))
	if len(res.Leases) != 1 || res.Leases[0].Sellers[0].Seller != "northwind-capital" {
		t.Fatalf("lease %+v", res.Leases)
	}
	before := e.balance(ledger.OwnerRevenue("northwind-capital"))
	siteBefore := e.balance(ledger.SiteEnergy("west-texas"))
	e.clock.add(2 * time.Hour) // the leased hour is now complete
	for range 2 {
		if err := e.svc.Tick(e.ctx); err != nil {
			t.Fatal(err)
		}
	}
	// 2 of its 16 servers leased at 10.2 kW, 14 idle at 1.7 kW, PUE 1.05, $45/MWh.
	wh := math.Round((2*10200 + 14*1700) * 1.05)
	want := joule.MicroUSD(math.Round(wh * 45))
	if got := before - e.balance(ledger.OwnerRevenue("northwind-capital")); got != want {
		t.Errorf("energy charged %v, want %v", got, want)
	}
	if got := e.balance(ledger.SiteEnergy("west-texas")) - siteBefore; got != want {
		t.Errorf("site energy account %v, want %v", got, want)
	}
	e.check()
}
