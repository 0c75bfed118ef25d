package slurm

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/joule-site/joule"
)

// sacctFormat is the fields Usage asks sacct for, in the order parseUsage reads them.
const sacctFormat = "JobID,Account,Reservation,State,Start,End,ElapsedRaw,AllocTRES"

// Usage lists the runs of account's jobs in [from, to) from accounting, with `sacct
// -X -D` (allocations only, one row per run of a requeued job). Jobs that never started
// are left out. It needs AccountingStorageTRES=gres/gpu in slurm.conf for the GPU
// counts.
func (e *Engine) Usage(ctx context.Context, account string, from, to time.Time) ([]joule.JobUsage, error) {
	if !validName(account) {
		return nil, joule.Errorf(joule.EINVALID, "slurm: invalid account %q", account)
	}
	if !to.After(from) {
		return nil, joule.Errorf(joule.EINVALID, "slurm: usage window must end after it starts")
	}
	out, err := e.run(ctx, "sacct", "-a", "-X", "-D", "-P", "-n", "-A", account,
		"-S", formatTime(from), "-E", formatTime(to), "--format="+sacctFormat)
	if err != nil {
		return nil, fmt.Errorf("usage of %s: %w", account, err)
	}
	return parseUsage(out.stdout)
}

// parseUsage reads `sacct -P -n --format=` sacctFormat.
func parseUsage(out string) ([]joule.JobUsage, error) {
	var us []joule.JobUsage
	for _, line := range strings.Split(out, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Split(line, "|")
		if len(f) != 8 {
			return nil, fmt.Errorf("slurm: sacct line %q: want 8 fields", line)
		}
		start, err := parseTime(f[4])
		if err != nil {
			return nil, err
		}
		if start.IsZero() {
			continue // never ran
		}
		end, err := parseTime(f[5])
		if err != nil {
			return nil, err
		}
		elapsed, err := strconv.ParseInt(f[6], 10, 64)
		if err != nil || elapsed < 0 {
			return nil, fmt.Errorf("slurm: sacct ElapsedRaw %q", f[6])
		}
		gpus, err := tresGPUs(f[7])
		if err != nil {
			return nil, err
		}
		us = append(us, joule.JobUsage{
			JobID: f[0], Account: f[1], Reservation: f[2], State: f[3],
			Start: start, End: end, ElapsedSec: elapsed, GPUs: gpus,
		})
	}
	return us, nil
}

// tresGPUs reads the GPU count from a TRES list such as
// "billing=1,cpu=1,gres/gpu:h100=8,gres/gpu=8,node=1" (the untyped gres/gpu total).
func tresGPUs(tres string) (int, error) {
	for _, kv := range strings.Split(tres, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k != "gres/gpu" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("slurm: TRES %q: bad GPU count", tres)
		}
		return n, nil
	}
	return 0, nil
}
