package agent_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/agent"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/syncbuf"
)

// The API client keeps the telemetry history.
var _ agent.TelemetrySender = (*jhttp.Client)(nil)

// batchCounter passes the agent's requests to the real API client, counting the
// batches of samples it sends, and refuses the next batch when told to.
type batchCounter struct {
	*jhttp.Client
	mu      sync.Mutex
	batches []int // samples in each batch the server took
	refuse  int   // batches to refuse
}

func (b *batchCounter) AppendTelemetry(ctx context.Context, site string, samples []joule.TelemetrySample) error {
	b.mu.Lock()
	if b.refuse > 0 {
		b.refuse--
		b.mu.Unlock()
		return errors.New("made-up outage")
	}
	b.mu.Unlock()
	err := b.Client.AppendTelemetry(ctx, site, samples)
	if err == nil {
		b.mu.Lock()
		b.batches = append(b.batches, len(samples))
		b.mu.Unlock()
	}
	return err
}

func (b *batchCounter) taken() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]int(nil), b.batches...)
}

// waitFor polls cond until it holds, failing the test after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(30 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// Each step sends the samples it read in one batch, which the server keeps as the
// device table and the devices' history; a batch the server refuses is dropped with
// a log line and not sent again, and the next step's batch holds that step's
// samples only.
func TestTelemetrySentInBatches(t *testing.T) {
	const n = 8
	ctx := context.Background()
	s, _, fleet, _ := site(t, n)
	a := newAgent(s)
	var logged syncbuf.Buffer
	srv := &batchCounter{Client: agentClient(s)}
	a.Server, a.RefreshSteps, a.Log = srv, 2, slog.New(slog.NewTextHandler(&logged, nil))
	if found := a.Discover(ctx, fleet.MinerAddresses(), []joule.FleetTarget{{Fleet: "s21s", Kind: joule.KindASIC, Machines: n}}); len(found) != n {
		t.Fatalf("discovered %d of %d miners", len(found), n)
	}
	a.Step(ctx)
	waitFor(t, "the first batch", func() bool { return len(srv.taken()) == 1 })
	a.Step(ctx)
	waitFor(t, "the second batch", func() bool { return len(srv.taken()) == 2 })
	if got := srv.taken(); got[0] != n/2 || got[1] != n/2 {
		t.Errorf("batches of %v samples, want two of %d (half the fleet a step)", got, n/2)
	}
	viewer := operatorClient(s)
	page, err := viewer.DeviceTable(ctx, "test-site", joule.DeviceQuery{Sort: joule.DeviceSortAddress, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != n {
		t.Fatalf("the device table holds %d devices, want %d", page.Total, n)
	}
	d := page.Devices[0]
	if d.State != joule.StateRunning || d.PowerW <= 0 || d.HashrateTHs <= 0 || d.Fleet != "s21s" {
		t.Errorf("a device's latest sample: %+v, want a running miner's figures", d)
	}
	h, err := viewer.DeviceHistory(ctx, "test-site", d.Address, time.Now().Add(-time.Hour), time.Now().Add(time.Hour), joule.ResolutionRaw)
	if err != nil || len(h.Points) != 1 {
		t.Fatalf("history of %s: %+v, %v; want its one sample", d.Address, h, err)
	}

	srv.mu.Lock()
	srv.refuse = 1
	srv.mu.Unlock()
	a.Step(ctx)
	waitFor(t, "the refused batch's log line", func() bool { return strings.Contains(logged.String(), "samples dropped: made-up outage") })
	a.Step(ctx)
	waitFor(t, "the batch after the refused one", func() bool { return len(srv.taken()) == 3 })
	if got := srv.taken(); got[2] != n/2 {
		t.Errorf("after a refused batch the next holds %d samples, want that step's %d", got[2], n/2)
	}
}
