package agent_test

import (
	"context"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/ledger"
	"github.com/joule-site/joule/live"
	"github.com/joule-site/joule/sla"
)

// A demand-response event declared with leave to shed firm load, below what a firm
// lease draws, idles that lease's servers on the simulator; their telemetry, as the
// agent sends it, reaches the server's recorder, and the hour's assessment credits the
// lease for the time they did not serve: refund and penalty in the ledger, nothing
// without evidence, the trial balance zero.
func TestFirmLeaseShedGetsServiceCredit(t *testing.T) {
	c := newCapSite(t, 1, 0)
	rec := &sla.Recorder{}
	c.s.ServiceRecorder = rec
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	firm := c.order(t, joule.Order{IdempotencyKey: "firm", Kind: joule.OrderOnDemand})
	go func() { _ = c.loop.Run(ctx) }()
	agentCtx, stopAgent := context.WithCancel(ctx)
	defer stopAgent()
	go c.a.Run(agentCtx, 100*time.Millisecond)
	c.waitFor(ctx, t, "the firm lease's servers at nameplate", func() bool { return c.at(firm, 0) })

	// 12 kW from 1 s on: the four servers' idle draw (4 × 1.7 kW) leaves room for
	// neither firm server at nameplate, so the firm lease is shed.
	if _, err := operatorClient(c.s).DeclareDemandResponse(ctx, "test-site", live.DemandResponseRequest{ReduceToW: 12_000, Within: time.Second, For: time.Hour, ShedFirm: true}); err != nil {
		t.Fatal(err)
	}
	idle := func() bool { // a firm server is no longer on
		n := 0
		for _, name := range firm {
			if c.byName[name].Telemetry().State != "on" {
				n++
			}
		}
		return n > 0
	}
	c.waitFor(ctx, t, "a firm server shed", idle)
	// Three readings of a shed firm server recorded; then the agent stops, so that the
	// hour's samples stay as they are for the assessment.
	shed := func() int {
		n := 0
		for _, x := range rec.Samples("test-site", time.Now().Add(-time.Hour), time.Now().Add(time.Hour)) {
			if !x.Serving && (x.Server == firm[0] || x.Server == firm[1]) {
				n++
			}
		}
		return n
	}
	c.waitFor(ctx, t, "a shed firm server's readings recorded", func() bool { return shed() >= 3 })
	stopAgent()
	hour := time.Now().Truncate(time.Hour)
	site, err := joule.SiteLoader{Sites: c.s.Sites, Fleets: c.s.Fleets, Models: c.s.Models}.Load(ctx, "test-site")
	if err != nil {
		t.Fatal(err)
	}
	before := c.svc.Balance(ledger.TenantCredit("acme"))
	// A sample speaks for a second here (the agent reads every 100 ms): the hour is
	// assessed before its end, and what follows the last sample is unknown.
	terms := sla.Terms{FirmPenaltyMultiple: 1, MaxGap: time.Second}
	res, err := c.svc.CreditHour(ctx, c.op, site, hour, rec.Samples("test-site", hour.Add(-terms.MaxGap), hour.Add(time.Hour)), nil, terms)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].UnservedSec < 1 {
		t.Fatalf("assessment %+v", res)
	}
	r := res[0]
	if r.RefundMicroUSD <= 0 || r.PenaltyMicroUSD != r.RefundMicroUSD {
		t.Errorf("a shed firm lease: %+v; want a refund and an equal penalty", r)
	}
	if got := c.svc.Balance(ledger.TenantCredit("acme")) - before; got != r.Owed() {
		t.Errorf("the tenant's credit rose by %v, want %v", got, r.Owed())
	}
	t.Logf("served %d s, shed %d s, unknown %d s: refund %d µUSD, penalty %d µUSD", r.ServedSec, r.UnservedSec, r.UnknownSec, int64(r.RefundMicroUSD), int64(r.PenaltyMicroUSD))
	if err := c.svc.Check(); err != nil {
		t.Fatal(err)
	}
}
