package slurm_test

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/slurm"
	"github.com/joule-site/joule/slurmtest"
)

// The tests below run against one real Slurm cluster (slurmtest), started by TestMain
// for the whole package: nodes n1..n3 with eight GPUs each. Each test uses nodes and
// accounts of its own, and its jobs ask for a time limit, so that they fit before the
// future reservations other tests hold.

var cluster *slurmtest.Cluster

func TestMain(m *testing.M) { os.Exit(slurmtest.Main(m, &cluster)) }

// newEngine returns an Engine on the test cluster, or skips without Slurm.
func newEngine(t *testing.T) *slurm.Engine {
	t.Helper()
	slurmtest.Need(t, cluster)
	e, err := slurm.New(slurm.Config{Conf: cluster.Conf})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// waitFor polls cond until it holds, failing the test after a generous deadline.
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

// sbatch submits a batch job and returns its id, or the client's error.
func sbatch(ctx context.Context, t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := cluster.Run(ctx, "sbatch", append([]string{"--parsable"}, args...)...)
	if err != nil {
		return "", err
	}
	id, _, _ := strings.Cut(strings.TrimSpace(out), ";")
	t.Cleanup(func() { cluster.Run(context.Background(), "scancel", id) })
	return id, nil
}

// job reads a job's state and nodes from squeue ("" when squeue no longer lists it).
func job(ctx context.Context, t *testing.T, id string) (state, nodes string) {
	t.Helper()
	out, err := cluster.Run(ctx, "squeue", "-h", "-j", id, "-o", "%T|%N")
	if err != nil {
		return "", ""
	}
	state, nodes, _ = strings.Cut(strings.TrimSpace(out), "|")
	return state, nodes
}

func ensureTenant(ctx context.Context, t *testing.T, e *slurm.Engine, tn joule.EngineTenant) {
	t.Helper()
	if err := e.EnsureTenant(ctx, tn); err != nil {
		t.Fatal(err)
	}
}

// TestReservationExact reserves named nodes for whole hours, reads the reservation
// back, moves and shortens it, refuses overlaps and unknown nodes, and deletes it.
func TestReservationExact(t *testing.T) {
	e := newEngine(t)
	ctx := testContext(t)
	ensureTenant(ctx, t, e, joule.EngineTenant{Account: "lease-hours", Users: []string{"root"}})
	ensureTenant(ctx, t, e, joule.EngineTenant{Account: "lease-other", Users: []string{"root"}})
	hour := time.Now().UTC().Truncate(time.Hour)
	r := joule.EngineReservation{Name: "lease-hours", Account: "lease-hours", Nodes: []string{"n1", "n2"},
		Start: hour.Add(3 * time.Hour), End: hour.Add(6 * time.Hour)}
	if err := e.CreateReservation(ctx, r); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.DeleteReservation(context.Background(), r.Name) })
	got, err := e.Reservation(ctx, r.Name)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Errorf("read back %+v, want %+v", got, r)
	}
	all, err := e.Reservations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	listed := false
	for _, x := range all {
		listed = listed || reflect.DeepEqual(x, r)
	}
	if !listed {
		t.Errorf("Reservations %+v lacks %+v", all, r)
	}
	// scontrol's own words, not only the parser's reading of them.
	out, err := cluster.Run(ctx, "scontrol", "show", "reservation", r.Name, "-o")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"Nodes=n[1-2]", "Accounts=lease-hours", "StartTime=" + r.Start.Format("2006-01-02T15:04:05"), "EndTime=" + r.End.Format("2006-01-02T15:04:05"), "Duration=03:00:00"} {
		if !strings.Contains(out, " "+f+" ") {
			t.Errorf("scontrol show reservation lacks %s: %s", f, out)
		}
	}

	// Resale moves it to n2 only; a stop shortens it by an hour.
	r.Nodes, r.End = []string{"n2"}, hour.Add(5*time.Hour)
	if err := e.UpdateReservation(ctx, r); err != nil {
		t.Fatal(err)
	}
	if got, err := e.Reservation(ctx, r.Name); err != nil || !reflect.DeepEqual(got, r) {
		t.Errorf("after update %+v (%v), want %+v", got, err, r)
	}

	clash := joule.EngineReservation{Name: "lease-clash", Account: "lease-other", Nodes: []string{"n2", "n3"},
		Start: hour.Add(4 * time.Hour), End: hour.Add(7 * time.Hour)}
	for _, tc := range []struct {
		name string
		r    joule.EngineReservation
		code string
	}{
		{"overlap", clash, joule.ECONFLICT},
		{"same name", joule.EngineReservation{Name: r.Name, Account: "lease-other", Nodes: []string{"n3"}, Start: hour.Add(10 * time.Hour), End: hour.Add(11 * time.Hour)}, joule.ECONFLICT},
		{"unknown node", joule.EngineReservation{Name: "lease-n9", Account: "lease-other", Nodes: []string{"n9"}, Start: hour.Add(10 * time.Hour), End: hour.Add(11 * time.Hour)}, joule.EINVALID},
		{"unknown account", joule.EngineReservation{Name: "lease-noacct", Account: "lease-nobody", Nodes: []string{"n3"}, Start: hour.Add(10 * time.Hour), End: hour.Add(11 * time.Hour)}, joule.EINVALID},
		{"ends before it starts", joule.EngineReservation{Name: "lease-back", Account: "lease-other", Nodes: []string{"n3"}, Start: hour.Add(11 * time.Hour), End: hour.Add(10 * time.Hour)}, joule.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := e.CreateReservation(ctx, tc.r)
			if got := joule.ErrorCode(err); got != tc.code {
				t.Errorf("code %q, want %q (%v)", got, tc.code, err)
			}
		})
	}
	// Beside it, not over it, is fine.
	clash.Start = r.End
	if err := e.CreateReservation(ctx, clash); err != nil {
		t.Errorf("a reservation starting where another ends: %v", err)
	}
	e.DeleteReservation(ctx, clash.Name)

	if err := e.DeleteReservation(ctx, r.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Reservation(ctx, r.Name); joule.ErrorCode(err) != joule.ENOTFOUND {
		t.Errorf("reading a deleted reservation: %v, want %s", err, joule.ENOTFOUND)
	}
	if err := e.DeleteReservation(ctx, r.Name); joule.ErrorCode(err) != joule.ENOTFOUND {
		t.Errorf("deleting it again: %v, want %s", err, joule.ENOTFOUND)
	}
	if err := e.UpdateReservation(ctx, r); joule.ErrorCode(err) != joule.ENOTFOUND {
		t.Errorf("updating it: %v, want %s", err, joule.ENOTFOUND)
	}
}

// TestJobInReservation runs a tenant's job inside its lease's reservation, on its
// node, refuses another account's job there, and meters the job from accounting.
func TestJobInReservation(t *testing.T) {
	e := newEngine(t)
	ctx := testContext(t)
	ensureTenant(ctx, t, e, joule.EngineTenant{Account: "lease-run", Users: []string{"root"}})
	ensureTenant(ctx, t, e, joule.EngineTenant{Account: "lease-stranger", Users: []string{"root"}})
	now := time.Now().UTC().Truncate(time.Second)
	r := joule.EngineReservation{Name: "lease-run", Account: "lease-run", Nodes: []string{"n3"},
		Start: now, End: now.Truncate(time.Hour).Add(2 * time.Hour)}
	if err := e.CreateReservation(ctx, r); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.DeleteReservation(context.Background(), r.Name) })

	dir := t.TempDir()
	outFile, release := filepath.Join(dir, "job.out"), filepath.Join(dir, "release")
	// The job runs until the test releases it, then two seconds more.
	id, err := sbatch(ctx, t, "-A", "lease-run", "--reservation=lease-run", "--gres=gpu:8", "-N1", "-t", "2",
		"-o", outFile, "--wrap", "echo $SLURMD_NODENAME; while [ ! -e "+release+" ]; do sleep 0.1; done; sleep 2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sbatch(ctx, t, "-A", "lease-stranger", "--reservation=lease-run", "-N1", "-t", "2", "--wrap", "true"); err == nil {
		t.Error("a job of another account was accepted into the reservation")
	} else if !strings.Contains(err.Error(), "Access denied to requested reservation") {
		t.Errorf("another account's job: %v, want access denied", err)
	}
	// Asking for the node without the reservation, it waits: the node is reserved.
	stranger, err := sbatch(ctx, t, "-A", "lease-stranger", "-w", "n3", "-N1", "-t", "2", "-o", "/dev/null", "--wrap", "true")
	if err != nil {
		t.Fatal(err)
	}
	var reason string
	waitFor(t, "the scheduler to hold the other account's job", func() bool {
		out, err := cluster.Run(ctx, "squeue", "-h", "-j", stranger, "-o", "%T|%r")
		if err != nil {
			t.Fatal(err)
		}
		var state string
		state, reason, _ = strings.Cut(strings.TrimSpace(out), "|")
		if state != "PENDING" {
			t.Fatalf("the other account's job asking for n3 is %s", state)
		}
		return reason != "None" && reason != ""
	})
	if !strings.Contains(reason, "ReqNodeNotAvail") {
		t.Errorf("the other account's job waits for %q, want ReqNodeNotAvail (reserved)", reason)
	}
	cluster.Run(ctx, "scancel", stranger)
	// A reservation with a job running in it cannot be deleted.
	waitFor(t, "the tenant's job to run", func() bool {
		state, _ := job(ctx, t, id)
		return state == "RUNNING"
	})
	if err := e.DeleteReservation(ctx, r.Name); joule.ErrorCode(err) != joule.ECONFLICT {
		t.Errorf("deleting a reservation in use: %v, want %s", err, joule.ECONFLICT)
	}
	if err := os.WriteFile(release, nil, 0o600); err != nil {
		t.Fatal(err)
	}

	var usage []joule.JobUsage
	waitFor(t, "accounting to record the job as completed", func() bool {
		usage, err = e.Usage(ctx, "lease-run", now.Add(-time.Minute), time.Now().Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		return len(usage) == 1 && usage[0].State == "COMPLETED"
	})
	if b, err := os.ReadFile(outFile); err != nil || strings.TrimSpace(string(b)) != "n3" {
		t.Errorf("the job ran on %q (%v), want n3", b, err)
	}
	u := usage[0]
	if u.JobID != id || u.Account != "lease-run" || u.Reservation != "lease-run" || u.GPUs != 8 {
		t.Errorf("usage %+v, want job %s of lease-run in its reservation on 8 GPUs", u, id)
	}
	if u.Start.Before(r.Start) || u.End.After(r.End) || u.End.Sub(u.Start) != time.Duration(u.ElapsedSec)*time.Second {
		t.Errorf("run %v..%v (%d s) is not inside %v..%v", u.Start, u.End, u.ElapsedSec, r.Start, r.End)
	}
	// sacct's own ElapsedRaw and GPUs, read apart from the engine.
	out, err := cluster.Run(ctx, "sacct", "-X", "-n", "-P", "-j", id, "-o", "ElapsedRaw,AllocTRES")
	if err != nil {
		t.Fatal(err)
	}
	raw, tres, _ := strings.Cut(strings.TrimSpace(out), "|")
	elapsed, _ := strconv.ParseInt(raw, 10, 64)
	if elapsed < 2 || !strings.Contains(tres, "gres/gpu=8") || u.GPUSeconds() != elapsed*8 {
		t.Errorf("GPU-seconds %d; sacct says ElapsedRaw=%s AllocTRES=%s", u.GPUSeconds(), raw, tres)
	}
}

// TestSpotPreemptedWithNotice runs a spot tenant's job and has a firm tenant's job
// take its node: the spot job gets SIGTERM, runs on for its notice, and is requeued.
func TestSpotPreemptedWithNotice(t *testing.T) {
	e := newEngine(t)
	ctx := testContext(t)
	const notice = 5
	spot := joule.EngineTenant{Account: "lease-spot", Users: []string{"root"}, Preemptible: true, NoticeSec: notice}
	ensureTenant(ctx, t, e, spot)
	ensureTenant(ctx, t, e, spot) // again: nothing changes
	ensureTenant(ctx, t, e, joule.EngineTenant{Account: "lease-firm", Users: []string{"root"}})

	out, err := cluster.Run(ctx, "sacctmgr", "-n", "-P", "list", "qos", "format=Name,Preempt,PreemptMode,GraceTime")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{slurm.SpotQOS(notice) + "||requeue|00:00:05", slurm.DefaultFirmQOS + "|" + slurm.SpotQOS(notice) + "|cluster|00:00:00"} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("QOS list lacks %q:\n%s", want, out)
		}
	}
	out, err = cluster.Run(ctx, "sacctmgr", "-n", "-P", "list", "assoc", "account=lease-spot", "format=User,QOS,DefaultQOS")
	if err != nil {
		t.Fatal(err)
	}
	if want := "root|" + slurm.SpotQOS(notice) + "|" + slurm.SpotQOS(notice); !strings.Contains(out, want+"\n") {
		t.Errorf("lease-spot associations %q lack %q", out, want)
	}

	// The work runs as a job step, which Slurm signals at the start of the grace time.
	dir, script, term, alive := spotScript(t)
	spotID, err := sbatch(ctx, t, "-A", "lease-spot", "-w", "n2", "--gres=gpu:8", "-N1", "-t", "5", "-o", filepath.Join(dir, "spot.out"), script)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the spot job to run", func() bool { _, err := os.Stat(alive); return err == nil })
	submitted := time.Now()
	firmID, err := sbatch(ctx, t, "-A", "lease-firm", "-w", "n2", "--gres=gpu:8", "-N1", "-t", "5", "-o", "/dev/null", "--wrap", "sleep 1")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the firm job to run on n2", func() bool {
		state, nodes := job(ctx, t, firmID)
		return (state == "RUNNING" && nodes == "n2") || state == "COMPLETING" || state == ""
	})
	terms := readTimes(t, term)
	if len(terms) == 0 {
		t.Fatal("the spot job never got SIGTERM")
	}
	last := readTimes(t, alive)
	if len(last) != 1 {
		t.Fatalf("alive file: %v", last)
	}
	if ran := last[0] - terms[0]; ran < notice-0.5 {
		t.Errorf("the spot job ran %.1f s after SIGTERM, want its notice of %d s", ran, notice)
	}
	t.Logf("SIGTERM %.1f s after the firm job's submission; the spot job ran %.1f s after it; the firm job ran %.1f s after submission",
		terms[0]-float64(submitted.UnixNano())/1e9, last[0]-terms[0], time.Since(submitted).Seconds())
	var usage []joule.JobUsage
	waitFor(t, "accounting to record the preemption", func() bool {
		usage, err = e.Usage(ctx, "lease-spot", time.Now().Add(-time.Hour), time.Now().Add(time.Minute))
		return err == nil && len(usage) > 0 && usage[0].State == "PREEMPTED"
	})
	if usage[0].JobID != spotID || usage[0].GPUs != 8 {
		t.Errorf("preempted run %+v", usage[0])
	}
	if state, _ := job(ctx, t, spotID); state != "PENDING" && state != "RUNNING" && state != "CONFIGURING" {
		t.Errorf("the preempted job is %q, want requeued (pending)", state)
	}
}

// TestSpotLeaseHandedOver ends a spot lease's reservation early and hands its node to
// a firm lease's reservation, as when an on-demand order preempts the spot lease: the
// firm tenant's job preempts the spot job still running there, which gets SIGTERM no
// earlier than the hand-over and runs on for its notice before it is requeued.
func TestSpotLeaseHandedOver(t *testing.T) {
	e := newEngine(t)
	ctx := testContext(t)
	const notice = 5
	ensureTenant(ctx, t, e, joule.EngineTenant{Account: "lease-spot2", Users: []string{"root"}, Preemptible: true, NoticeSec: notice})
	ensureTenant(ctx, t, e, joule.EngineTenant{Account: "lease-firm2", Users: []string{"root"}})
	now := time.Now().UTC().Truncate(time.Second)
	spot := joule.EngineReservation{Name: "lease-spot2", Account: "lease-spot2", Nodes: []string{"n2"}, Start: now, End: now.Add(2 * time.Hour)}
	if err := e.CreateReservation(ctx, spot); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.DeleteReservation(context.Background(), spot.Name) })

	dir, script, term, alive := spotScript(t)
	// The spot job's time limit reaches past the hand-over, as tenants' jobs do.
	if _, err := sbatch(ctx, t, "-A", "lease-spot2", "--reservation=lease-spot2", "--gres=gpu:8", "-N1", "-t", "30", "-o", filepath.Join(dir, "spot.out"), script); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the spot job to run", func() bool { _, err := os.Stat(alive); return err == nil })

	handover := time.Now().UTC().Truncate(time.Second).Add(3 * time.Second)
	spot.End = handover
	if err := e.UpdateReservation(ctx, spot); err != nil {
		t.Fatal(err)
	}
	firm := joule.EngineReservation{Name: "lease-firm2", Account: "lease-firm2", Nodes: []string{"n2"}, Start: handover, End: handover.Add(time.Hour)}
	if err := e.CreateReservation(ctx, firm); err != nil {
		t.Fatalf("a reservation from the hand-over on a node a spot job still runs on: %v", err)
	}
	t.Cleanup(func() { e.DeleteReservation(context.Background(), firm.Name) })
	firmID, err := sbatch(ctx, t, "-A", "lease-firm2", "--reservation=lease-firm2", "--gres=gpu:8", "-N1", "-t", "5", "-o", "/dev/null", "--wrap", "sleep 1")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the firm job to run on n2", func() bool {
		state, nodes := job(ctx, t, firmID)
		return (state == "RUNNING" && nodes == "n2") || state == "COMPLETING" || state == ""
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

// readTimes reads one Unix time (seconds, with a fraction) a line.
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

// TestDrainLeavesNodeEmpty drains a node with a job on it for a demand-response event:
// the job keeps running through the drain, is evicted after the notice, and the node is
// left drained and empty; resume brings it back.
func TestDrainLeavesNodeEmpty(t *testing.T) {
	e := newEngine(t)
	ctx := testContext(t)
	ensureTenant(ctx, t, e, joule.EngineTenant{Account: "lease-drain", Users: []string{"root"}})
	id, err := sbatch(ctx, t, "-A", "lease-drain", "-w", "n1", "-N1", "-c", "1", "-t", "5", "-o", "/dev/null", "--wrap", "sleep 300")
	if err != nil {
		t.Fatal(err)
	}
	noRequeue, err := sbatch(ctx, t, "-A", "lease-drain", "--no-requeue", "-w", "n1", "-N1", "-c", "1", "-t", "5", "-o", "/dev/null", "--wrap", "sleep 300")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both jobs to run on n1", func() bool {
		a, _ := job(ctx, t, id)
		b, _ := job(ctx, t, noRequeue)
		return a == "RUNNING" && b == "RUNNING"
	})
	const reason = "joule: demand response event 1"
	if err := e.Drain(ctx, "n1", reason); err != nil {
		t.Fatal(err)
	}
	n1 := node(ctx, t, e, "n1")
	if n1.State != joule.NodeDraining || n1.Reason != reason || n1.GPUs != slurmtest.GPUsPerNode {
		t.Errorf("n1 after drain: %+v, want draining for %q", n1, reason)
	}
	if state, _ := job(ctx, t, id); state != "RUNNING" {
		t.Errorf("a drain alone ended the job (%q): it must run out its notice", state)
	}

	evicted, err := e.Evict(ctx, "n1")
	if err != nil {
		t.Fatal(err)
	}
	if evicted != 2 {
		t.Errorf("evicted %d jobs, want 2", evicted)
	}
	waitFor(t, "n1 to be drained and empty", func() bool {
		out, err := cluster.Run(ctx, "squeue", "-h", "-w", "n1", "-o", "%A")
		return err == nil && strings.TrimSpace(out) == "" && node(ctx, t, e, "n1").State == joule.NodeDrained
	})
	if state, _ := job(ctx, t, id); state != "PENDING" {
		t.Errorf("the requeueable job is %q, want pending again", state)
	}
	if state, _ := job(ctx, t, noRequeue); state != "" {
		t.Errorf("the job that cannot be requeued is %q, want cancelled", state)
	}
	if n, err := e.Evict(ctx, "n1"); err != nil || n != 0 {
		t.Errorf("evicting an empty node: %d, %v", n, err)
	}

	cluster.Run(ctx, "scancel", id)
	if err := e.Resume(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "n1 to be idle", func() bool { return node(ctx, t, e, "n1").State == joule.NodeIdle })
	if err := e.Resume(ctx, "n1"); joule.ErrorCode(err) != joule.ECONFLICT {
		t.Errorf("resuming a node that is not drained: %v, want %s", err, joule.ECONFLICT)
	}
	if err := e.Drain(ctx, "n9", reason); joule.ErrorCode(err) != joule.EINVALID {
		t.Errorf("draining an unknown node: %v, want %s", err, joule.EINVALID)
	}
	if err := e.Drain(ctx, "n1", " "); joule.ErrorCode(err) != joule.EINVALID {
		t.Errorf("draining without a reason: %v, want %s", err, joule.EINVALID)
	}
}

func node(ctx context.Context, t *testing.T, e *slurm.Engine, name string) joule.EngineNode {
	t.Helper()
	nodes, err := e.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if n.Name == name {
			return n
		}
	}
	t.Fatalf("no node %s in %+v", name, nodes)
	return joule.EngineNode{}
}

// TestNewChecksConfig refuses a slurm.conf that is not there and clients that are not
// installed, before running anything.
func TestNewChecksConfig(t *testing.T) {
	if _, err := slurm.New(slurm.Config{Conf: filepath.Join(t.TempDir(), "slurm.conf")}); joule.ErrorCode(err) != joule.EINVALID {
		t.Errorf("missing slurm.conf: %v, want %s", err, joule.EINVALID)
	}
	if _, err := slurm.New(slurm.Config{BinDir: t.TempDir()}); joule.ErrorCode(err) != joule.EINVALID {
		t.Errorf("no clients in BinDir: %v, want %s", err, joule.EINVALID)
	}
}

// spotScript writes a batch script into a new directory whose one job step writes the
// time to alive every 0.1 s and appends the time to term when it gets SIGTERM.
func spotScript(t *testing.T) (dir, script, term, alive string) {
	t.Helper()
	dir = t.TempDir()
	term, alive, script = filepath.Join(dir, "term"), filepath.Join(dir, "alive"), filepath.Join(dir, "spot.sh")
	body := "#!/bin/bash\nsrun bash -c 'trap \"date +%s.%N >> " + term + "\" TERM; while :; do date +%s.%N > " + alive + ".tmp; mv " + alive + ".tmp " + alive + "; sleep 0.1; done'\n"
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	return dir, script, term, alive
}
