package delivery_test

// These tests go through Joule's order path to a real private Slurm cluster
// (slurmtest): an order fills in the exchange, the lease is bound to servers that are
// the cluster's nodes (n1..n3), and the reconciler makes Slurm hold a reservation per
// binding. Joule's clock is injected: it starts 20 s before an hour boundary of a day
// in the past and runs on at the real pace; the reconciler's EngineClockOffset maps
// Joule's hours onto Slurm's real clock, so that the boundary is 20 s ahead in Slurm.

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/delivery"
	"github.com/joule-site/joule/exchange"
	"github.com/joule-site/joule/slurm"
	"github.com/joule-site/joule/slurmtest"
)

var cluster *slurmtest.Cluster

func TestMain(m *testing.M) { os.Exit(slurmtest.Main(m, &cluster)) }

const product = "h100-sxm/test"

// t0 is an hour boundary of Joule's clock; each test starts 20 s before t0.
var t0 = time.Date(2026, 1, 5, 1, 0, 0, 0, time.UTC)

var prefix atomic.Int32

// env is an exchange over the cluster's three nodes, a reconciler on the cluster, and
// Joule's clock.
type env struct {
	t     *testing.T
	ctx   context.Context
	start time.Time // Slurm's time when Joule's clock read t0 - 20 s
	ex    *exchange.Engine
	rec   *delivery.Reconciler
	eng   *slurm.Engine
	real  time.Time // Slurm's time at t0
}

func newEnv(t *testing.T) *env {
	t.Helper()
	slurmtest.Need(t, cluster)
	eng, err := slurm.New(slurm.Config{Conf: cluster.Conf})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	e := &env{t: t, ctx: ctx, start: time.Now().UTC().Truncate(time.Second), eng: eng}
	p := string(rune('a'+prefix.Add(1)-1)) + strconv.FormatInt(time.Now().Unix()%100000, 10)
	var n atomic.Int64
	e.ex = exchange.New(exchange.Config{Now: e.clock, SpotNoticeSec: 5,
		NewID: func(kind string) string { return fmt.Sprintf("%s%s%d", kind[:1], p, n.Add(1)) }})
	if err := e.ex.AddProduct(joule.Product{ID: product, Model: "h100-sxm", Site: "test", GPUsPerNode: slurmtest.GPUsPerNode}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ex.SetListing(joule.Listing{Product: product, Seller: "operator", Servers: len(slurmtest.Nodes), Nodes: slurmtest.Nodes,
		Start: t0.Add(-time.Hour), AskMicroUSDPerGPUHour: 2_000_000}); err != nil {
		t.Fatal(err)
	}
	offset := e.start.Sub(t0.Add(-20 * time.Second))
	e.real = t0.Add(offset)
	e.rec = delivery.New(delivery.Config{Engine: eng, Leases: e.ex, Now: e.clock, EngineClockOffset: offset,
		Users: func(string) []string { return []string{currentUser(t)} }, Partition: slurmtest.Partition, LoginHost: "login.example"})
	t.Cleanup(func() { // leave the cluster's nodes free for the next test
		ctx := context.Background()
		rs, _ := eng.Reservations(ctx)
		for _, r := range rs {
			if strings.HasPrefix(r.Name, "lease-") {
				cluster.Run(ctx, "scontrol", "delete", "reservation="+r.Name)
			}
		}
		for _, n := range slurmtest.Nodes {
			eng.Resume(ctx, n)
		}
	})
	return e
}

// clock is Joule's time: t0 - 20 s when the test began, and on at the real pace.
func (e *env) clock() time.Time { return t0.Add(-20 * time.Second).Add(time.Since(e.start)) }

// advance lets Joule's (and Slurm's) clock run on for d.
func (e *env) advance(d time.Duration) { time.Sleep(d) }

// engineTime is Slurm's time for a time of Joule's.
func (e *env) engineTime(t time.Time) time.Time { return e.real.Add(t.Sub(t0)) }

func (e *env) submit(o joule.Order) joule.Lease {
	e.t.Helper()
	o.IdempotencyKey = fmt.Sprintf("k%d", time.Now().UnixNano())
	r, err := e.ex.Submit(o)
	if err != nil {
		e.t.Fatalf("submit: %v", err)
	}
	for _, l := range r.Leases {
		if l.Order == r.Order.ID {
			return l
		}
	}
	e.t.Fatalf("order %s filled no lease: %+v", r.Order.ID, r.Order)
	return joule.Lease{}
}

func (e *env) reconcile() {
	e.t.Helper()
	if err := e.rec.Reconcile(e.ctx); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) lease(id string) joule.Lease {
	e.t.Helper()
	l, err := e.ex.Lease(id)
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

// reservation reads a reservation back from Slurm.
func (e *env) reservation(name string) joule.EngineReservation {
	e.t.Helper()
	r, err := e.eng.Reservation(e.ctx, name)
	if err != nil {
		e.t.Fatalf("reservation %s: %v", name, err)
	}
	return r
}

func currentUser(t *testing.T) string {
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	return u.Username
}

func sbatch(e *env, args ...string) (string, error) {
	out, err := cluster.Run(e.ctx, "sbatch", append([]string{"--parsable"}, args...)...)
	if err != nil {
		return "", err
	}
	id, _, _ := strings.Cut(strings.TrimSpace(out), ";")
	e.t.Cleanup(func() { cluster.Run(context.Background(), "scancel", id) })
	return id, nil
}

func jobState(e *env, id string) (state, nodes string) {
	out, err := cluster.Run(e.ctx, "squeue", "-h", "-j", id, "-o", "%T|%N")
	if err != nil {
		return "", ""
	}
	state, nodes, _ = strings.Cut(strings.TrimSpace(out), "|")
	return state, nodes
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func hours(n int) time.Duration { return time.Duration(n) * time.Hour }

// TestReservedOrderReservesItsServers: a reserved order's lease becomes a reservation
// of exactly its servers for exactly its hours; a resale of an hour of it moves that
// hour's server to the buyer's reservation and shrinks the seller's.
func TestReservedOrderReservesItsServers(t *testing.T) {
	e := newEnv(t)
	blk := e.submit(joule.Order{Account: "acme", Product: product, Kind: joule.OrderReserved, GPUs: 24,
		Start: t0.Add(hours(2)), End: t0.Add(hours(5)), LimitMicroUSDPerGPUHour: 3_000_000, AllOrNone: true})
	servers := blk.ServersAt(t0.Add(hours(2)))
	if len(servers) != 3 {
		t.Fatalf("a 24-GPU block holds %v", servers)
	}
	e.reconcile()
	want := joule.EngineReservation{Name: delivery.Account(blk.ID), Account: delivery.Account(blk.ID), Nodes: servers,
		Start: e.engineTime(t0.Add(hours(2))), End: e.engineTime(t0.Add(hours(5)))}
	if got := e.reservation(want.Name); !reflect.DeepEqual(got, want) {
		t.Fatalf("reservation\n got %+v\nwant %+v", got, want)
	}
	out, err := cluster.Run(e.ctx, "scontrol", "show", "reservation", want.Name, "-o")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("scontrol: %s", strings.TrimSpace(out))
	e.reconcile() // again: nothing to do
	if got := e.reservation(want.Name); !reflect.DeepEqual(got, want) {
		t.Fatalf("a second pass changed the reservation to %+v", got)
	}

	// The holder resells hour 4 of one server; another tenant buys it (the cluster has
	// no other server free then).
	if _, err := e.ex.Submit(joule.Order{IdempotencyKey: "rs", Account: "acme", Kind: joule.OrderResale, ResaleOf: blk.ID, GPUs: 8,
		Start: t0.Add(hours(4)), End: t0.Add(hours(5)), LimitMicroUSDPerGPUHour: 2_500_000}); err != nil {
		t.Fatal(err)
	}
	buy := e.submit(joule.Order{Account: "beta", Product: product, Kind: joule.OrderReserved, GPUs: 8,
		Start: t0.Add(hours(4)), End: t0.Add(hours(5)), LimitMicroUSDPerGPUHour: 3_000_000, AllOrNone: true})
	moved := buy.ServersAt(t0.Add(hours(4)))
	if len(moved) != 1 || !slices.Contains(servers, moved[0]) {
		t.Fatalf("the buyer holds %v, want one of %v", moved, servers)
	}
	e.reconcile()
	kept := slices.DeleteFunc(slices.Clone(servers), func(n string) bool { return n == moved[0] })
	blk = e.lease(blk.ID)
	for _, w := range []joule.EngineReservation{
		{Name: delivery.ReservationName(blk.ID, 0), Account: delivery.Account(blk.ID), Nodes: servers, Start: e.engineTime(t0.Add(hours(2))), End: e.engineTime(t0.Add(hours(4)))},
		{Name: delivery.ReservationName(blk.ID, 1), Account: delivery.Account(blk.ID), Nodes: kept, Start: e.engineTime(t0.Add(hours(4))), End: e.engineTime(t0.Add(hours(5)))},
		{Name: delivery.ReservationName(buy.ID, 0), Account: delivery.Account(buy.ID), Nodes: moved, Start: e.engineTime(t0.Add(hours(4))), End: e.engineTime(t0.Add(hours(5)))},
	} {
		if got := e.reservation(w.Name); !reflect.DeepEqual(got, w) {
			t.Errorf("after the resale, reservation\n got %+v\nwant %+v", got, w)
		}
	}
	a := e.rec.Access(blk)
	if len(a.Reservations) != 2 || a.Reservations[0].Name != want.Name || !strings.Contains(a.Submit, "--reservation="+want.Name) || !strings.Contains(a.Submit, "--partition="+slurmtest.Partition) {
		t.Errorf("access %+v", a)
	}
	t.Logf("access: %s", a.Submit)
}

// TestTenantJobRunsInItsLease: an on-demand lease's tenant runs a job in its
// reservation, on its server; another account's job is refused there; the stop ends
// the reservation; accounting's GPU-seconds for the lease are its job's.
func TestTenantJobRunsInItsLease(t *testing.T) {
	e := newEnv(t)
	l := e.submit(joule.Order{Account: "acme", Product: product, Kind: joule.OrderOnDemand, GPUs: 8, LimitMicroUSDPerGPUHour: 3_000_000})
	e.reconcile()
	name := delivery.Account(l.ID)
	res := e.reservation(name)
	if !slices.Equal(res.Nodes, l.ServersAt(e.clock())) || !res.End.Equal(e.engineTime(t0.Add(hours(1)))) {
		t.Fatalf("reservation %+v for lease servers %v until %s", res, l.ServersAt(e.clock()), e.engineTime(t0.Add(hours(1))))
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "job.out")
	id, err := sbatch(e, "-A", name, "--reservation="+name, "--gres=gpu:8", "-N1", "-t", "2", "-o", out, "--wrap", "echo $SLURMD_NODENAME; sleep 2")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the tenant's job to finish", func() bool { s, _ := jobState(e, id); return s == "" })
	b, _ := os.ReadFile(out)
	if got := strings.TrimSpace(string(b)); got != res.Nodes[0] {
		t.Errorf("the job ran on %q, want the lease's server %s", got, res.Nodes[0])
	}
	if err := e.eng.EnsureTenant(e.ctx, joule.EngineTenant{Account: "lease-stranger", Users: []string{currentUser(t)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sbatch(e, "-A", "lease-stranger", "--reservation="+name, "--gres=gpu:8", "-N1", "-t", "1", "-o", "/dev/null", "--wrap", "true"); err == nil {
		t.Error("another account's job was accepted into the lease's reservation")
	} else {
		t.Logf("another account: %v", err)
	}

	var u delivery.Usage
	waitFor(t, "accounting to record the job", func() bool {
		u, err = e.rec.Usage(e.ctx, e.lease(l.ID))
		return err == nil && len(u.Jobs) == 1 && u.Jobs[0].State == "COMPLETED"
	})
	if u.UsedGPUSeconds != 8*u.Jobs[0].ElapsedSec || u.Jobs[0].ElapsedSec < 2 {
		t.Errorf("usage %+v", u)
	}

	e.advance(2 * time.Second)
	stopped, err := e.ex.Stop(l.ID, joule.LeaseEndStopped, "acme")
	if err != nil {
		t.Fatal(err)
	}
	e.reconcile()
	if _, err := e.eng.Reservation(e.ctx, name); joule.ErrorCode(err) != joule.ENOTFOUND {
		t.Errorf("after the stop the reservation is still there (%v)", err)
	}
	for _, sl := range stopped.Leases {
		if sl.ID != l.ID {
			continue
		}
		// what usage calls billed is what the invoice charges: Cost prices those seconds
		billed := delivery.BilledGPUSeconds(sl)
		if secs := int64(sl.End.Sub(sl.Start) / time.Second); billed != 8*secs {
			t.Errorf("billed %d GPU-seconds for %d s of 8 GPUs", billed, secs)
		}
		price := int64(sl.Sellers[0].PriceMicroUSDPerGPUHour)
		if got, want := sl.Cost(sl.Start, sl.End), joule.MicroUSD((billed*price+1800)/3600); got != want {
			t.Errorf("the lease costs %s; %d GPU-seconds at its price are %s", got, billed, want)
		}
		t.Logf("billed %d GPU-seconds (%s); the tenant's job used %d", billed, sl.Cost(sl.Start, sl.End), u.UsedGPUSeconds)
	}
}

// TestSpotPreemptedByOnDemand: an on-demand order that finds the next hour's servers
// held by a spot lease preempts it; the spot lease's reservation ends at the hour,
// the on-demand lease's next reservation starts there on the spot lease's server, and
// the spot job gets SIGTERM no earlier than the hand-over, runs its notice, and is
// requeued when the on-demand tenant's job takes the server.
func TestSpotPreemptedByOnDemand(t *testing.T) {
	e := newEnv(t)
	const notice = 5
	// a block holds n1 from the hour; the spot lease takes n2 and n3 now and next hour
	e.submit(joule.Order{Account: "beta", Product: product, Kind: joule.OrderReserved, GPUs: 8,
		Start: t0, End: t0.Add(hours(1)), LimitMicroUSDPerGPUHour: 3_000_000, AllOrNone: true})
	spot := e.submit(joule.Order{Account: "cheap", Product: product, Kind: joule.OrderSpot, GPUs: 16, LimitMicroUSDPerGPUHour: 2_500_000})
	if spot.NoticeSec != notice {
		t.Fatalf("spot notice %d", spot.NoticeSec)
	}
	e.reconcile()
	spotName := delivery.Account(spot.ID)
	dir := t.TempDir()
	term, alive, script := filepath.Join(dir, "term"), filepath.Join(dir, "alive"), filepath.Join(dir, "spot.sh")
	body := "#!/bin/bash\nsrun bash -c 'trap \"date +%s.%N >> " + term + "\" TERM; while :; do date +%s.%N > " + alive + ".tmp; mv " + alive + ".tmp " + alive + "; sleep 0.1; done'\n"
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := sbatch(e, "-A", spotName, "--reservation="+spotName, "--gres=gpu:8", "-N2", "-t", "30", "-o", filepath.Join(dir, "spot.out"), script); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the spot job to run", func() bool { _, err := os.Stat(alive); return err == nil })

	od := e.submit(joule.Order{Account: "acme", Product: product, Kind: joule.OrderOnDemand, GPUs: 8, LimitMicroUSDPerGPUHour: 3_000_000})
	spot = e.lease(spot.ID)
	if spot.Status != joule.LeasePreempted || !spot.End.Equal(t0) {
		t.Fatalf("the spot lease after the on-demand order: %s until %s", spot.Status, spot.End)
	}
	bs := od.Bindings()
	if len(bs) != 2 || !bs[1].Start.Equal(t0) || !slices.Contains(spot.ServersAt(e.clock()), bs[1].Servers[0]) {
		t.Fatalf("on-demand bindings %+v; the spot lease held %v", bs, spot.ServersAt(e.clock()))
	}
	e.reconcile()
	handover := e.engineTime(t0)
	if got := e.reservation(spotName); !got.End.Equal(handover) {
		t.Errorf("the spot reservation ends %s, want the hand-over %s", got.End, handover)
	}
	next := delivery.ReservationName(od.ID, 1)
	if got := e.reservation(next); !got.Start.Equal(handover) || !slices.Equal(got.Nodes, bs[1].Servers) {
		t.Errorf("the on-demand lease's next reservation %+v", got)
	}
	odName := delivery.Account(od.ID)
	firmID, err := sbatch(e, "-A", odName, "--reservation="+next, "--gres=gpu:8", "-N1", "-t", "5", "-o", "/dev/null", "--wrap", "sleep 1")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the on-demand job to run on "+bs[1].Servers[0], func() bool {
		state, nodes := jobState(e, firmID)
		return (state == "RUNNING" && nodes == bs[1].Servers[0]) || state == "COMPLETING" || state == ""
	})
	terms, last := readTimes(t, term), readTimes(t, alive)
	if len(terms) == 0 || len(last) != 1 {
		t.Fatalf("SIGTERM at %v, last alive at %v", terms, last)
	}
	if at := terms[0]; at < float64(handover.Unix()) {
		t.Errorf("SIGTERM %.1f s before the hand-over", float64(handover.Unix())-at)
	}
	if ran := last[0] - terms[0]; ran < notice-0.5 {
		t.Errorf("the spot job ran %.1f s after SIGTERM, want its notice of %d s", ran, notice)
	}
	t.Logf("SIGTERM %.1f s after the hand-over; the spot job ran %.1f s after it", terms[0]-float64(handover.Unix()), last[0]-terms[0])
}

// TestCurtailDrainsAfterNotice: a demand-response curtailment of a lease's server
// drains it with Joule's reason; the tenant's job runs on through the notice and is
// evicted by the first pass after it, leaving the server drained and empty.
func TestCurtailDrainsAfterNotice(t *testing.T) {
	e := newEnv(t)
	l := e.submit(joule.Order{Account: "acme", Product: product, Kind: joule.OrderOnDemand, GPUs: 8, LimitMicroUSDPerGPUHour: 3_000_000})
	e.reconcile()
	name, server := delivery.Account(l.ID), l.ServersAt(e.clock())[0]
	id, err := sbatch(e, "-A", name, "--reservation="+name, "--gres=gpu:8", "-N1", "-t", "5", "-o", "/dev/null", "--wrap", "sleep 300")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the tenant's job to run", func() bool { s, _ := jobState(e, id); return s == "RUNNING" })
	const reason = "joule: DR event 7: site west-texas to 20 MW"
	if err := e.rec.Curtail(e.ctx, []string{server}, reason, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	e.reconcile()
	if s, _ := jobState(e, id); s != "RUNNING" {
		t.Errorf("the job is %q before its notice is over", s)
	}
	nodes, err := e.eng.Nodes(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if n.Name == server && (n.State != joule.NodeDraining || n.Reason != reason) {
			t.Errorf("%s during the notice: %+v", server, n)
		}
	}
	e.advance(5 * time.Second)
	e.reconcile()
	waitFor(t, server+" drained and empty", func() bool {
		out, err := cluster.Run(e.ctx, "squeue", "-h", "-w", server, "-o", "%A")
		if err != nil || strings.TrimSpace(out) != "" {
			return false
		}
		nodes, err := e.eng.Nodes(e.ctx)
		if err != nil {
			return false
		}
		for _, n := range nodes {
			if n.Name == server {
				return n.State == joule.NodeDrained
			}
		}
		return false
	})
	if err := e.rec.Restore(e.ctx, []string{server}); err != nil {
		t.Fatal(err)
	}
}

func readTimes(t *testing.T, path string) []float64 {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var ts []float64
	for _, l := range strings.Fields(string(b)) {
		f, err := strconv.ParseFloat(l, 64)
		if err != nil {
			t.Fatalf("%s: %q", path, l)
		}
		ts = append(ts, f)
	}
	return ts
}

// TestCompletedLeaseAgreesToTheSecond: an on-demand lease that runs to its order's end
// (the hour boundary, 20 s on) is reserved from its fill to its end; once it has
// completed, what Slurm's accounting recorded its reservation holding and what the
// lease is billed (the invoice's amount, Cost) agree to the second, and sacct has the
// tenant's job beside them.
func TestCompletedLeaseAgreesToTheSecond(t *testing.T) {
	e := newEnv(t)
	l := e.submit(joule.Order{Account: "acme", Product: product, Kind: joule.OrderOnDemand, GPUs: 8, End: t0, LimitMicroUSDPerGPUHour: 3_000_000})
	if l.OpenEnded || !l.End.Equal(t0) {
		t.Fatalf("lease until %s (open %v), want until %s", l.End, l.OpenEnded, t0)
	}
	e.reconcile()
	name := delivery.Account(l.ID)
	id, err := sbatch(e, "-A", name, "--reservation="+name, "--gres=gpu:8", "-N1", "-t", "1", "-o", "/dev/null", "--wrap", "sleep 3")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the tenant's job to finish", func() bool { s, _ := jobState(e, id); return s == "" })
	if wait := time.Until(e.engineTime(t0).Add(time.Second)); wait > 0 {
		time.Sleep(wait) // the lease completes at t0
	}
	for _, x := range e.ex.Advance().Leases { // the book forgets it: the store keeps it
		if x.ID == l.ID {
			l = x
		}
	}
	if l.Status != joule.LeaseEnded {
		t.Fatalf("the lease is %s after its end", l.Status)
	}
	var u delivery.Usage
	waitFor(t, "accounting to record the job and the reservation", func() bool {
		u, err = e.rec.Usage(e.ctx, l)
		return err == nil && len(u.Jobs) == 1 && u.Jobs[0].State == "COMPLETED" && u.ReservedGPUSeconds != nil && *u.ReservedGPUSeconds > 0
	})
	billed := delivery.BilledGPUSeconds(l)
	if *u.ReservedGPUSeconds != billed || u.BilledGPUSeconds != billed {
		t.Errorf("accounting reserved %d GPU-seconds, the lease is billed %d", *u.ReservedGPUSeconds, billed)
	}
	price := int64(l.Sellers[0].PriceMicroUSDPerGPUHour)
	if got, want := l.Cost(l.Start, l.End), joule.MicroUSD((billed*price+1800)/3600); got != want {
		t.Errorf("the invoice charges %s; %d GPU-seconds at its price are %s", got, billed, want)
	}
	if u.UsedGPUSeconds != 8*u.Jobs[0].ElapsedSec || u.UsedGPUSeconds > billed {
		t.Errorf("jobs used %d GPU-seconds of %d billed", u.UsedGPUSeconds, billed)
	}
	t.Logf("lease %s from %s to %s: billed %d GPU-seconds (%s), Slurm's accounting reserved %d, its job used %d",
		l.ID, l.Start.Format("15:04:05.000"), l.End.Format("15:04:05"), billed, l.Cost(l.Start, l.End), *u.ReservedGPUSeconds, u.UsedGPUSeconds)
}
