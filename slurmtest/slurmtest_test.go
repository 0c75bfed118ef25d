package slurmtest

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestStartStop starts a cluster, checks that its three nodes are up with their GPUs
// and accounting answers, and that Stop leaves no daemon running.
func TestStartStop(t *testing.T) {
	if m := Missing(); len(m) > 0 {
		if os.Getenv("JOULE_CI") == "1" {
			t.Fatalf("missing %v, and JOULE_CI=1 requires Slurm", m)
		}
		t.Skipf("missing %v", m)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pids := append([]string(nil), c.pids...)
	stopped := false
	defer func() {
		if !stopped {
			c.Stop()
		}
	}()
	out, err := c.Run(ctx, "sinfo", "-h", "-N", "-o", "%N|%T|%G")
	if err != nil {
		t.Fatal(err)
	}
	want := "n1|idle|gpu:h100:8\nn2|idle|gpu:h100:8\nn3|idle|gpu:h100:8\n"
	if out != want {
		t.Errorf("sinfo = %q, want %q", out, want)
	}
	out, err = c.Run(ctx, "sacctmgr", "-n", "-P", "list", "cluster", "format=Cluster")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out) != ClusterName {
		t.Errorf("accounting clusters = %q, want %q", out, ClusterName)
	}
	var live []int
	for _, p := range pids {
		pid, err := readPID(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		live = append(live, pid)
	}
	if len(live) != 7 { // munged, mariadbd, slurmdbd, slurmctld, 3 slurmd
		t.Errorf("%d daemons started, want 7", len(live))
	}
	stopped = true
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range live {
		if alive(pid) {
			t.Errorf("process %d still runs after Stop", pid)
		}
	}
	if _, err := os.Stat(c.Dir); !os.IsNotExist(err) {
		t.Errorf("%s is left after Stop (%v)", c.Dir, err)
	}
}
