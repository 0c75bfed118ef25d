package node_test

import (
	"context"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/gpunode"
	"github.com/joule-site/joule/node"
	"github.com/joule-site/joule/slurm"
	"github.com/joule-site/joule/slurmtest"
)

// cluster is the package's private Slurm, with power saving, started by TestMain; nil
// without Slurm installed (and JOULE_CI unset).
var cluster *slurmtest.Cluster

func TestMain(m *testing.M) {
	os.Exit(slurmtest.MainWith(m, &cluster, slurmtest.StartPowerSaving))
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A node whose states are its Slurm node's: idle drains it, on resumes it, off powers
// it down through Slurm's power saving, each read back from Slurm by the agent's client.
func TestSlurmStates(t *testing.T) {
	slurmtest.Need(t, cluster)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e, err := slurm.New(slurm.Config{Conf: cluster.Conf})
	if err != nil {
		t.Fatal(err)
	}
	power, err := e.NodePower("n2")
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.New(node.Config{Token: token, NoGPU: "no NVML driver", States: power, StateSource: "slurm"})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(n.Handler())
	defer ts.Close()
	addr := strings.TrimPrefix(ts.URL, "http://")
	d := gpunode.NewDriver()
	d.Token, d.Timeout = token, 30*time.Second
	raw := func() string {
		t.Helper()
		nd, err := e.Node(ctx, "n2")
		if err != nil {
			t.Fatal(err)
		}
		return nd.Raw + " " + nd.Reason
	}
	state := func() joule.DeviceState {
		t.Helper()
		st, err := d.Status(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		return st.State
	}
	if s := state(); s != joule.StateRunning {
		t.Fatalf("n2 at start: %s (%s)", s, raw())
	}
	if err := d.Sleep(ctx, addr); err != nil {
		t.Fatal(err)
	}
	if s, r := state(), raw(); s != joule.StateSleeping || !strings.HasPrefix(r, "drain") || !strings.Contains(r, slurm.IdleReason) {
		t.Errorf("after idle: %s, Slurm has %q", s, r)
	}
	if err := d.Wake(ctx, addr); err != nil {
		t.Fatal(err)
	}
	if s, r := state(), raw(); s != joule.StateRunning || strings.HasPrefix(r, "drain") {
		t.Errorf("after on: %s, Slurm has %q", s, r)
	}
	// Idle with a job running: the node drains, the job runs on, and the node is idle.
	id, err := cluster.Run(ctx, "sbatch", "--parsable", "-w", "n2", "-N1", "-t", "2", "--wrap", "sleep 120")
	if err != nil {
		t.Fatal(err)
	}
	id = strings.TrimSpace(id)
	waitFor(t, "the job runs on n2", 30*time.Second, func() bool { return !strings.HasPrefix(raw(), "idle") })
	if err := d.Sleep(ctx, addr); err != nil {
		t.Fatal(err)
	}
	jobState, _ := cluster.Run(ctx, "squeue", "-h", "-j", id, "-o", "%T")
	if s, r := state(), raw(); s != joule.StateSleeping || !strings.HasPrefix(r, "draining") || strings.TrimSpace(jobState) != "RUNNING" {
		t.Errorf("idle with a job: %s, Slurm has %q, the job is %q", s, r, jobState)
	}
	if _, err := cluster.Run(ctx, "scancel", id); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "n2 drained once the job ended", 30*time.Second, func() bool { return strings.HasPrefix(raw(), "drained") })
	if err := d.Wake(ctx, addr); err != nil {
		t.Fatal(err)
	}
	if err := d.PowerOff(ctx, addr); err != nil {
		t.Fatal(err)
	}
	if s := state(); s != joule.StateOff {
		t.Errorf("after off: %s, Slurm has %q", s, raw())
	}
	waitFor(t, "Slurm runs the suspend program for n2", time.Minute, func() bool { return slices.Contains(cluster.PowerLog(), "suspend n2") })
	waitFor(t, "n2 powered down", time.Minute, func() bool { return strings.Contains(raw(), "~") })
	t.Logf("powered down: Slurm has %q, the API says %s", raw(), state())
	if err := d.Wake(ctx, addr); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "Slurm runs the resume program for n2", time.Minute, func() bool { return slices.Contains(cluster.PowerLog(), "resume n2") })
	t.Logf("powering up: Slurm has %q, the API says %s", raw(), state())
}
