package leasing_test

import (
	"math"
	"testing"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/catalog"
	"github.com/joule-site/joule/sqlite"
)

// Cap terms are the operator's to set, survive a restart, and reach the commitments of
// spot leases only: a firm lease of the same product is never capped.
func TestCapTermsReachSpotCommitments(t *testing.T) {
	e := newEnv(t)
	acme := e.tenant("acme", usd(10_000))
	terms := joule.CapTerms{Product: product, CapFrac: 0.65, CappedPriceBPS: 8000}
	_, err := e.svc.SetCapTerms(e.ctx, acme, terms)
	wantCode(t, "a tenant setting them", err, joule.EFORBIDDEN)
	_, err = e.svc.SetCapTerms(e.ctx, e.op, joule.CapTerms{Product: product, CapFrac: 1.2, CappedPriceBPS: 8000})
	wantCode(t, "a cap above nameplate", err, joule.EINVALID)
	_, err = e.svc.SetCapTerms(e.ctx, e.op, joule.CapTerms{Product: "nope", CapFrac: 0.65, CappedPriceBPS: 8000})
	wantCode(t, "an unknown product", err, joule.ENOTFOUND)
	if got, err := e.svc.CapTerms(e.ctx, acme); err != nil || len(got) != 1 || got[0].Capped() {
		t.Fatalf("cap terms by default: %+v, %v; want one product, never capped", got, err)
	}
	if _, err := e.svc.SetCapTerms(e.ctx, e.op, terms); err != nil {
		t.Fatal(err)
	}
	e.svc = e.open()
	if got, err := e.svc.CapTerms(e.ctx, acme); err != nil || len(got) != 1 || got[0] != terms {
		t.Fatalf("cap terms after a restart: %+v, %v; want %+v", got, err, terms)
	}

	e.submit(acme, running(joule.OrderOnDemand, "od", 16, usd(3)))
	e.submit(acme, running(joule.OrderSpot, "spot", 8, usd(2.50)))
	site, err := joule.SiteLoader{Sites: sqlite.NewSiteService(e.db), Fleets: sqlite.NewFleetService(e.db), Models: catalog.Models{User: sqlite.NewHardwareService(e.db)}}.Load(e.ctx, "west-texas")
	if err != nil {
		t.Fatal(err)
	}
	ls, err := e.svc.DispatchLeases(e.ctx, site, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 2 {
		t.Fatalf("dispatch leases: %+v; want a firm and a spot one", ls)
	}
	if firm := ls[0]; firm.Class != joule.LeaseFirm || firm.CapFrac != 0 || firm.CappedUSDPerGPUHour != 0 {
		t.Errorf("firm lease %+v: want it never capped", firm)
	}
	spot := ls[1]
	if spot.Class != joule.LeaseInterruptible || spot.CapFrac != 0.65 || math.Abs(spot.CappedUSDPerGPUHour-0.8*spot.USDPerGPUHour) > 1e-9 || len(spot.Nodes) != 1 {
		t.Errorf("spot lease %+v: want capped to 65%% at 80%% of its price", spot)
	}
}

// A curtailable lease stays curtailable in the commitments, with its notice and its
// product's cap terms, apart from the firm lease of the same fleet.
func TestCurtailableCommitments(t *testing.T) {
	e := newEnv(t)
	acme := e.tenant("acme", usd(50_000))
	if _, err := e.svc.SetCapTerms(e.ctx, e.op, joule.CapTerms{Product: product, CapFrac: 0.65, CappedPriceBPS: 8000}); err != nil {
		t.Fatal(err)
	}
	o := reserved("curt", 8, day1, day1.Add(hours(4)), usd(2.10))
	o.Class, o.NoticeSec = joule.LeaseCurtailable, 1800
	e.submit(acme, o)
	e.submit(acme, reserved("firm", 8, day1, day1.Add(hours(4)), usd(2.10)))
	site, err := joule.SiteLoader{Sites: sqlite.NewSiteService(e.db), Fleets: sqlite.NewFleetService(e.db), Models: catalog.Models{User: sqlite.NewHardwareService(e.db)}}.Load(e.ctx, "west-texas")
	if err != nil {
		t.Fatal(err)
	}
	ls, err := e.svc.DispatchLeases(e.ctx, site, day1.Add(hours(1)))
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 2 || ls[0].Class != joule.LeaseFirm || ls[0].CapFrac != 0 || ls[1].Class != joule.LeaseCurtailable ||
		ls[1].NoticeSec != 1800 || ls[1].CapFrac != 0.65 || ls[1].Servers != 1 {
		t.Errorf("dispatch leases %+v: want the firm lease uncapped, then the curtailable one with its notice and cap", ls)
	}
}
