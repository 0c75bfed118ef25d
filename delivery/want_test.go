package delivery_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/delivery"
	"github.com/joule-site/joule/exchange"
)

// TestWantFollowsTheBinding needs no engine: what the leases call for, from the
// exchange's bindings, on Joule's clock and on an engine's shifted one.
func TestWantFollowsTheBinding(t *testing.T) {
	now := t0.Add(-20 * time.Second)
	clock := func() time.Time { return now }
	ex := exchange.New(exchange.Config{Now: clock, SpotNoticeSec: 60})
	if err := ex.AddProduct(joule.Product{ID: product, Model: "h100-sxm", Site: "test", GPUsPerNode: 8}); err != nil {
		t.Fatal(err)
	}
	if _, err := ex.SetListing(joule.Listing{Product: product, Seller: "operator", Servers: 2, Nodes: []string{"gpu-a", "gpu-b"},
		Start: t0.Add(-time.Hour), AskMicroUSDPerGPUHour: 2_000_000}); err != nil {
		t.Fatal(err)
	}
	submit := func(o joule.Order) joule.Lease {
		t.Helper()
		r, err := ex.Submit(o)
		if err != nil || len(r.Leases) == 0 {
			t.Fatalf("submit %s: %v %+v", o.IdempotencyKey, err, r)
		}
		return r.Leases[len(r.Leases)-1]
	}
	blk := submit(joule.Order{IdempotencyKey: "b", Account: "acme", Product: product, Kind: joule.OrderReserved, GPUs: 8,
		Start: t0.Add(time.Hour), End: t0.Add(3 * time.Hour), LimitMicroUSDPerGPUHour: 3_000_000, AllOrNone: true})
	spot := submit(joule.Order{IdempotencyKey: "s", Account: "cheap", Product: product, Kind: joule.OrderSpot, GPUs: 8, LimitMicroUSDPerGPUHour: 2_500_000})
	const offset = 1000 * time.Hour
	r := delivery.New(delivery.Config{Leases: ex, Now: clock, EngineClockOffset: offset})
	want, tenants := r.Want(now)
	wantRes := []joule.EngineReservation{
		{Name: "lease-l1", Account: "lease-l1", Nodes: blk.ServersAt(t0.Add(time.Hour)), Start: t0.Add(time.Hour + offset), End: t0.Add(3*time.Hour + offset)},
		{Name: "lease-l2", Account: "lease-l2", Nodes: spot.ServersAt(now), Start: now.Add(offset), End: t0.Add(time.Hour + offset)},
	}
	if !reflect.DeepEqual(want, wantRes) {
		t.Fatalf("want\n got %+v\nwant %+v", want, wantRes)
	}
	if len(tenants) != 2 || tenants[0].Preemptible || !tenants[1].Preemptible || tenants[1].NoticeSec != 60 || tenants[1].Users[0] != "cheap" {
		t.Errorf("tenants %+v", tenants)
	}
	// A stop ends the spot reservation at the stop, though the hour stays the lease's.
	now = now.Add(5 * time.Second)
	if _, err := ex.Stop(spot.ID, joule.LeaseEndStopped, "cheap"); err != nil {
		t.Fatal(err)
	}
	if want, _ = r.Want(now); len(want) != 1 || want[0].Name != "lease-l1" {
		t.Errorf("after the stop: %+v", want)
	}
	a := r.Access(blk)
	if a.Account != "lease-l1" || len(a.Reservations) != 1 || a.LoginHost != "" ||
		a.Submit != "sbatch --account=lease-l1 --reservation=lease-l1 --nodes=1 --gres=gpu:8 job.sh" {
		t.Errorf("access %+v", a)
	}
	if !strings.HasPrefix(delivery.ReservationName("L9", 1), "lease-l9-2") {
		t.Errorf("second reservation name %s", delivery.ReservationName("L9", 1))
	}
}
