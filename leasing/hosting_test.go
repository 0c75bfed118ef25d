package leasing_test

import (
	"testing"

	"github.com/joule-site/joule/ledger"
)

// Owners pay the site for the power of the servers it hosts, once a month.
func TestHostingFee(t *testing.T) {
	e := newEnv(t)
	e.cfg.HostingPerKWMonth = usd(100) // per kW of nameplate power a month
	e.svc = e.open()
	for range 3 { // every tick of the month after charges it once
		if err := e.svc.Tick(e.ctx); err != nil {
			t.Fatal(err)
		}
	}
	// northwind-capital's 16 h100-sxm at 10.2 kW: 163.2 kW × $100.
	want := usd(-16_320)
	if got := e.balance(ledger.OwnerRevenue("northwind-capital")); got != want {
		t.Errorf("owner balance %v, want %v", got, want)
	}
	if got := e.balance(ledger.SiteHosting("west-texas")); got != -want {
		t.Errorf("site hosting %v, want %v", got, -want)
	}
	e.check()
}
