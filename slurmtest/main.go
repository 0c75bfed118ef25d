package slurmtest

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// Main is for a package's TestMain: it starts one cluster for all the package's tests,
// stores it in *c, runs them, and stops the cluster, returning the exit code. Without
// the programs a cluster needs, *c stays nil and the tests run (to skip through Need),
// unless JOULE_CI=1, where Main fails at once. A fuzzing run (-fuzz) starts no cluster.
func Main(m *testing.M, c **Cluster) int { return MainWith(m, c, Start) }

// MainWith is Main with the cluster started by start (Start, StartPowerSaving).
func MainWith(m *testing.M, c **Cluster, start func(context.Context) (*Cluster, error)) int {
	flag.Parse()
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		return m.Run() // fuzzing runs no test that needs the cluster
	}
	if missing := Missing(); len(missing) > 0 {
		if os.Getenv("JOULE_CI") == "1" {
			fmt.Fprintf(os.Stderr, "slurm tests: %s not installed, and JOULE_CI=1 requires Slurm\n", strings.Join(missing, ", "))
			return 1
		}
		return m.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cl, err := start(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "slurm tests:", err)
		return 1
	}
	*c = cl
	code := m.Run()
	if err := cl.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "slurm tests: stop:", err)
		code = max(code, 1)
	}
	return code
}

// Need skips t when c is nil, that is when Main found no Slurm (and JOULE_CI is unset).
func Need(t testing.TB, c *Cluster) {
	t.Helper()
	if c == nil {
		t.Skipf("Slurm is not installed (%s): apt-get install slurmctld slurmd slurm-client munge slurmdbd mariadb-server", strings.Join(Missing(), ", "))
	}
}
