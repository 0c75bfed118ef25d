package exchange

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/joule-site/joule"
)

func TestBindingKeepsServers(t *testing.T) {
	c := newClock(t0.Add(10 * time.Minute))
	e := newEngine(t, c.config(), listing("owner-a", 3, usd(2)))
	blk := mustSubmit(t, e, reserved("blk", "acme", 16, 2, 6, usd(3))).Leases[0]
	if b := blk.Bindings(); len(b) != 1 || len(b[0].Servers) != 2 || !b[0].Start.Equal(hour(2)) || !b[0].End.Equal(hour(6)) {
		t.Fatalf("a reserved block's bindings %+v: want its two servers for its hours", b)
	}
	od := mustSubmit(t, e, running(joule.OrderOnDemand, "od", "beta", 8, usd(3))).Leases[0]
	first := od.ServersAt(c.Now())
	if len(first) != 1 || slices.Contains(blk.ServersAt(hour(2)), first[0]) {
		t.Fatalf("on-demand holds %v beside the block's %v", first, blk.ServersAt(hour(2)))
	}
	for range 8 { // renewed hour by hour, it stays on its server
		c.add(time.Hour)
		e.Advance()
		mustCheck(t, e)
	}
	od, _ = e.Lease(od.ID)
	if b := od.Bindings(); len(b) != 1 || !slices.Equal(b[0].Servers, first) || !b[0].End.Equal(od.End) {
		t.Fatalf("a renewed lease's bindings %+v: want %v throughout", b, first)
	}
}

func TestBindingSplitsWhenServersAreTaken(t *testing.T) {
	// Two servers. a holds server 1 at hour 1, f server 1 at hour 3, so g at hour 2
	// takes server 2 (free longest). Then a block over hours 1..2 finds server 2 free
	// at hour 1 and only server 1 at hour 2: it holds one, then the other.
	c := newClock(t0)
	e := newEngine(t, c.config(), listing("owner-a", 2, usd(2)))
	one, two := servers("owner-a", 1), servers("owner-a", 2)
	for _, o := range []joule.Order{reserved("a", "acme", 8, 1, 2, usd(3)), reserved("f", "acme", 8, 3, 4, usd(3))} {
		if got := mustSubmit(t, e, o).Leases[0].Bindings(); len(got) != 1 || !slices.Equal(got[0].Servers, one) {
			t.Fatalf("%s: bindings %+v, want server 1", o.IdempotencyKey, got)
		}
	}
	if got := mustSubmit(t, e, reserved("g", "beta", 8, 2, 3, usd(3))).Leases[0].Bindings(); len(got) != 1 || !slices.Equal(got[0].Servers, two) {
		t.Fatalf("g: bindings %+v, want server 2", got)
	}
	x := mustSubmit(t, e, reserved("x", "gamma", 8, 1, 3, usd(3))).Leases[0]
	want := []joule.Binding{{Servers: two, Start: hour(1), End: hour(2)}, {Servers: one, Start: hour(2), End: hour(3)}}
	if got := x.Bindings(); !reflect.DeepEqual(got, want) {
		t.Fatalf("bindings\n got %+v\nwant %+v", got, want)
	}
}

func TestListingKeepsLeasedServers(t *testing.T) {
	c := newClock(t0)
	e := newEngine(t, c.config(), joule.Listing{Seller: "owner-a", Servers: 2, AskMicroUSDPerGPUHour: usd(2), Nodes: []string{"gpu-a", "gpu-b"}})
	l := mustSubmit(t, e, reserved("a", "acme", 8, 1, 3, usd(3))).Leases[0]
	if got := l.ServersAt(hour(1)); !slices.Equal(got, []string{"gpu-a"}) {
		t.Fatalf("holds %v, want the listing's first server", got)
	}
	_, err := e.SetListing(joule.Listing{Product: product, Seller: "owner-a", Start: t0, Servers: 1, AskMicroUSDPerGPUHour: usd(2), Nodes: []string{"gpu-b"}})
	wantCode(t, err, joule.ECAPACITY)
	if _, err := e.SetListing(joule.Listing{Product: product, Seller: "owner-a", Start: t0, Servers: 1, AskMicroUSDPerGPUHour: usd(2), Nodes: []string{"gpu-a"}}); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, e)
}
