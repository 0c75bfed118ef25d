package leasing_test

import (
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/catalog"
	"github.com/joule-site/joule/ledger"
	"github.com/joule-site/joule/sla"
	"github.com/joule-site/joule/sqlite"
)

// A firm block on one server whose telemetry shows it off for 15 minutes of an hour
// gets its service credit in the ledger: the 2 GPU-hours not served refunded at its
// price (from the seller and the platform, as the sale split it) and the same again as
// a penalty from the operator. Assessing the hour again posts nothing twice; a
// tenant cannot assess; the trial balance stays zero.
func TestCreditHourPostsServiceCredits(t *testing.T) {
	e := newEnv(t)
	acme := e.tenant("acme", usd(1000))
	r := e.submit(acme, reserved("b1", 8, day1, day1.Add(hours(2)), usd(3)))
	if len(r.Leases) != 1 {
		t.Fatalf("leases %+v", r.Leases)
	}
	l := r.Leases[0]
	servers := l.ServersAt(day1)
	if len(servers) != 1 {
		t.Fatalf("the lease holds %v", servers)
	}
	site, err := joule.SiteLoader{Sites: sqlite.NewSiteService(e.db), Fleets: sqlite.NewFleetService(e.db), Models: catalog.Models{User: sqlite.NewHardwareService(e.db)}}.Load(e.ctx, "west-texas")
	if err != nil {
		t.Fatal(err)
	}
	var samples []sla.Sample
	for s := 0; s < 3600; s += 15 {
		serving := s < 1800 || s >= 2700
		samples = append(samples, sla.Sample{Server: servers[0], At: day1.Add(time.Duration(s) * time.Second), Serving: serving})
	}
	before := e.balance(ledger.TenantCredit("acme"))
	if _, err := e.svc.CreditHour(e.ctx, acme, site, day1, samples, nil, sla.DefaultTerms); joule.ErrorCode(err) != joule.EFORBIDDEN {
		t.Fatalf("a tenant assessed: %v", err)
	}
	res, err := e.svc.CreditHour(e.ctx, e.op, site, day1, samples, nil, sla.DefaultTerms)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].UnservedSec != 900 {
		t.Fatalf("results %+v", res)
	}
	price := l.Sellers[0].PriceMicroUSDPerGPUHour
	refund := price * 2 // 900 s × 8 GPUs = 2 GPU-hours
	if res[0].RefundMicroUSD != refund || res[0].PenaltyMicroUSD != refund {
		t.Errorf("refund %v penalty %v, want %v each", res[0].RefundMicroUSD, res[0].PenaltyMicroUSD, refund)
	}
	if got := e.balance(ledger.TenantCredit("acme")) - before; got != 2*refund {
		t.Errorf("the tenant's credit rose by %v, want %v", got, 2*refund)
	}
	// Again: the same keys, nothing new.
	if _, err := e.svc.CreditHour(e.ctx, e.op, site, day1, samples, nil, sla.DefaultTerms); err != nil {
		t.Fatal(err)
	}
	if got := e.balance(ledger.TenantCredit("acme")) - before; got != 2*refund {
		t.Errorf("assessed twice: the tenant's credit rose by %v", got)
	}
	// An hour with every sample serving owes nothing.
	var fine []sla.Sample
	for s := 0; s < 3600; s += 15 {
		fine = append(fine, sla.Sample{Server: servers[0], At: day1.Add(time.Hour + time.Duration(s)*time.Second), Serving: true})
	}
	if res, err := e.svc.CreditHour(e.ctx, e.op, site, day1.Add(time.Hour), fine, nil, sla.DefaultTerms); err != nil || len(res) != 1 || res[0].Owed() != 0 {
		t.Errorf("a served hour: %+v, %v", res, err)
	}
	if _, err := e.svc.CreditHour(e.ctx, e.op, site, day1.Add(time.Minute), fine, nil, sla.DefaultTerms); joule.ErrorCode(err) != joule.EINVALID {
		t.Errorf("an hour not on the hour: %v", err)
	}
	e.check() // the matcher's invariants, the ledger's, and a trial balance of zero
	// A service reopened from the store holds the same credits.
	if got := e.open().Balance(ledger.TenantCredit("acme")) - before; got != 2*refund {
		t.Errorf("reopened: the tenant's credit rose by %v", got)
	}
}
