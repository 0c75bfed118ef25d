package demo

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/joule-site/joule"
)

// exchange answers a tenant's orders: on-demand and spot orders fill at once with an
// open-ended lease, until credit runs out.
type exchange struct {
	n        int
	credit   int
	filled   []string // leases it handed out
	stopped  []string
	topUps   int
	unfilled int
}

func (x *exchange) SubmitOrder(_ context.Context, o joule.Order) ([]joule.Lease, error) {
	if x.credit == 0 {
		return nil, joule.Errorf(joule.ECREDIT, "not enough credit")
	}
	x.credit--
	if o.Kind == joule.OrderReserved {
		x.unfilled++
		return nil, nil
	}
	x.n++
	id := fmt.Sprintf("lease-%d", x.n)
	x.filled = append(x.filled, id)
	return []joule.Lease{{ID: id, OpenEnded: true, Status: joule.LeaseActive}}, nil
}

func (x *exchange) StopLease(_ context.Context, id string) error {
	x.stopped = append(x.stopped, id)
	return nil
}

// A tenant stops only leases its own trading started (a visitor's lease, started as
// the same tenant, is never among them), and a refusal for want of credit tops it up.
func TestTradersStopOnlyTheirOwnLeasesAndTopUp(t *testing.T) {
	x := &exchange{credit: 40}
	tr := &Traders{
		Tenants: []Tenant{{ID: "acme", Exchange: x}}, Product: "h100-sxm/w",
		Now: func() time.Time { return time.Date(2024, 8, 20, 17, 0, 0, 0, time.UTC) }, Log: slog.New(slog.DiscardHandler),
	}
	tr.TopUp = func(context.Context, string) { x.topUps++; x.credit = 40 }
	tr.started = map[string][]string{}
	rng := rand.New(rand.NewPCG(1, 7))
	for n := range 400 {
		if n == 200 {
			x.credit = 0 // the next order is refused
		}
		tr.step(context.Background(), rng, n)
	}
	if len(x.stopped) == 0 || x.topUps == 0 || x.unfilled == 0 {
		t.Fatalf("400 steps: %d stops, %d top-ups, %d reserved orders", len(x.stopped), x.topUps, x.unfilled)
	}
	for _, id := range x.stopped {
		if !slices.Contains(x.filled, id) {
			t.Errorf("stopped %s, which the traders did not start", id)
		}
	}
	if len(x.stopped) != len(slices.Compact(slices.Clone(x.stopped))) {
		t.Errorf("a lease was stopped twice: %v", x.stopped)
	}
}
