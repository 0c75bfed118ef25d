package leasing_test

import (
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/catalog"
	"github.com/joule-site/joule/leasing"
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

// The hourly pass assesses each closed hour the recorder saw whole, once: the first
// hour, seen only from its middle, is passed over; the next, with the lease's server
// off for a quarter of it, is credited; passing again posts nothing more.
func TestCreditPass(t *testing.T) {
	e := newEnv(t)
	acme := e.tenant("acme", usd(1000))
	r := e.submit(acme, reserved("b1", 8, day1, day1.Add(hours(3)), usd(3)))
	server := r.Leases[0].ServersAt(day1)[0]
	rec := &sla.Recorder{}
	observe := func(from, to time.Duration, state joule.DeviceState) {
		var batch []joule.TelemetrySample
		for d := from; d < to; d += 15 * time.Second {
			batch = append(batch, joule.TelemetrySample{Site: "west-texas", Address: "127.0.0.1:9000", Node: server, At: day1.Add(d), State: state})
		}
		rec.Observe("west-texas", batch)
	}
	observe(30*time.Minute, 75*time.Minute, joule.StateRunning)  // the first hour from its middle only
	observe(75*time.Minute, 90*time.Minute, joule.StateSleeping) // off 15 minutes of the second
	observe(90*time.Minute, 3*time.Hour, joule.StateRunning)
	pass := &leasing.CreditPass{Exchange: e.svc, Recorder: rec}
	before := e.balance(ledger.TenantCredit("acme"))
	e.clock.add(day1.Add(2*time.Hour + leasing.CreditGrace + time.Second).Sub(e.clock.Now()))
	rs, err := pass.Pass(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].UnservedSec != 900 {
		t.Fatalf("results %+v", rs)
	}
	owed := rs[0].Owed()
	if got := e.balance(ledger.TenantCredit("acme")) - before; got != owed || owed == 0 {
		t.Errorf("the tenant's credit rose by %v, want %v", got, owed)
	}
	if rs, err := pass.Pass(e.ctx); err != nil || len(rs) != 0 {
		t.Errorf("again: %+v, %v", rs, err)
	}
	e.clock.add(time.Hour)
	if rs, err := pass.Pass(e.ctx); err != nil || len(rs) != 1 || rs[0].Owed() != 0 {
		t.Errorf("the third hour, served whole: %+v, %v", rs, err)
	}
	if got := e.balance(ledger.TenantCredit("acme")) - before; got != owed {
		t.Errorf("after three passes the tenant's credit rose by %v, want %v", got, owed)
	}
	e.check()
}

// A spot lease whose product may be capped pays the capped rate for the time its server
// ran capped: the difference comes back as a credit, with no penalty.
func TestCreditHourCappedAtCappedRate(t *testing.T) {
	e := newEnv(t)
	if _, err := e.svc.SetCapTerms(e.ctx, e.op, joule.CapTerms{Product: product, CapFrac: 0.65, CappedPriceBPS: 8000}); err != nil {
		t.Fatal(err)
	}
	acme := e.tenant("acme", usd(1000))
	r := e.submit(acme, running(joule.OrderSpot, "s1", 8, usd(3)))
	if len(r.Leases) != 1 {
		t.Fatalf("leases %+v", r.Leases)
	}
	l := r.Leases[0]
	hour := t0 // the spot lease fills at noon
	server := l.ServersAt(hour)[0]
	var samples []sla.Sample
	for s := 0; s < 3600; s += 15 {
		samples = append(samples, sla.Sample{Server: server, At: hour.Add(time.Duration(s) * time.Second), Serving: true, Capped: s < 1800})
	}
	site, err := joule.SiteLoader{Sites: sqlite.NewSiteService(e.db), Fleets: sqlite.NewFleetService(e.db), Models: catalog.Models{User: sqlite.NewHardwareService(e.db)}}.Load(e.ctx, "west-texas")
	if err != nil {
		t.Fatal(err)
	}
	e.clock.add(time.Hour + leasing.CreditGrace) // the hour is over, and billed
	if err := e.svc.Meter(e.ctx, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	res, err := e.svc.CreditHour(e.ctx, e.op, site, hour, samples, nil, sla.DefaultTerms)
	if err != nil || len(res) != 1 {
		t.Fatalf("%+v, %v", res, err)
	}
	price := l.Sellers[0].PriceMicroUSDPerGPUHour
	terms := joule.CapTerms{Product: product, CapFrac: 0.65, CappedPriceBPS: 8000}
	capped := terms.CappedPrice(price)
	want := 4 * (price - capped) // half an hour of 8 GPUs at the difference
	if res[0].CappedSec != 1800 || res[0].RefundMicroUSD != want || res[0].PenaltyMicroUSD != 0 {
		t.Errorf("%+v, want a refund of %v", res[0], want)
	}
	e.check()
}
