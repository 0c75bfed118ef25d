package slurmtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// StartPowerSaving starts a cluster as Start does, with Slurm's power saving
// configured so that `scontrol update State=POWER_DOWN` and POWER_UP are accepted
// (Slurm refuses them without a SuspendProgram): the programs only log the nodes they
// were called with (PowerLog), and a node is suspended for being idle only after a
// day (SuspendTime=86400; Slurm 22.05 disables power saving, and refuses POWER_DOWN,
// with SuspendTime=NONE). A power-up never completes, since nothing reboots: the node is
// marked down after ResumeTimeout.
func StartPowerSaving(ctx context.Context) (*Cluster, error) { return startTries(ctx, true) }

// powerSavingConf writes the suspend and resume programs and returns slurm.conf's
// lines for them.
func (c *Cluster) powerSavingConf() string {
	for _, p := range []string{"suspend", "resume"} {
		script := fmt.Sprintf("#!/bin/sh\necho \"%s $*\" >> %s\n", p, filepath.Join(c.Dir, "power.log"))
		// The error surfaces when Slurm cannot run the program; the cluster starts anyway.
		_ = os.WriteFile(filepath.Join(c.Dir, p+".sh"), []byte(script), 0o700)
	}
	return fmt.Sprintf("SuspendProgram=%[1]s/suspend.sh\nResumeProgram=%[1]s/resume.sh\nSuspendTime=86400\nSuspendTimeout=10\nResumeTimeout=60\n", c.Dir)
}

// PowerLog returns the lines the suspend and resume programs wrote ("suspend n2"),
// of a cluster started by StartPowerSaving.
func (c *Cluster) PowerLog() []string {
	b, err := os.ReadFile(filepath.Join(c.Dir, "power.log"))
	if err != nil {
		return nil
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}
