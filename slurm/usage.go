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
const sacctFormat = "JobID,Account,Reservation,ReservationId,State,Start,End,ElapsedRaw,AllocTRES"

// Usage lists the runs of account's jobs in [from, to) from accounting, with `sacct
// -X -D` (allocations only, one row per run of a requeued job). Jobs that never started
// are left out. It needs AccountingStorageTRES=gres/gpu in slurm.conf for the GPU
// counts.
//
// sacct leaves a job's reservation name empty when the job started in the second its
// reservation did (it keeps the reservation's id); Usage then names it from `sacctmgr
// show reservation`.
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
	us, ids, err := parseUsage(out.stdout)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return us, nil
	}
	names, err := e.reservationNames(ctx, from, to)
	if err != nil {
		return nil, err
	}
	for i, id := range ids {
		if id != "" && us[i].Reservation == "" {
			us[i].Reservation = names[id]
		}
	}
	return us, nil
}

// reservationNames maps the ids of the reservations accounting holds over [from, to)
// to their names.
func (e *Engine) reservationNames(ctx context.Context, from, to time.Time) (map[string]string, error) {
	out, err := e.run(ctx, "sacctmgr", "-n", "-P", "show", "reservation",
		"start="+formatTime(from), "end="+formatTime(to), "format=Id,Name")
	if err != nil {
		return nil, fmt.Errorf("reservations in accounting: %w", err)
	}
	return parseReservationNames(out.stdout)
}

// parseReservationNames reads `sacctmgr -n -P show reservation format=Id,Name`.
func parseReservationNames(out string) (map[string]string, error) {
	names := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		id, name, ok := strings.Cut(line, "|")
		if !ok || id == "" || name == "" {
			return nil, fmt.Errorf("slurm: sacctmgr reservation line %q", line)
		}
		names[id] = name
	}
	return names, nil
}

// parseUsage reads `sacct -P -n --format=` sacctFormat. For each run it also returns
// the reservation id when sacct gave an id but no name ("" otherwise); ids is nil when
// no run needs a name.
func parseUsage(out string) (us []joule.JobUsage, ids []string, err error) {
	need := false
	for _, line := range strings.Split(out, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Split(line, "|")
		if len(f) != 9 {
			return nil, nil, fmt.Errorf("slurm: sacct line %q: want 9 fields", line)
		}
		start, err := parseTime(f[5])
		if err != nil {
			return nil, nil, err
		}
		if start.IsZero() {
			continue // never ran
		}
		end, err := parseTime(f[6])
		if err != nil {
			return nil, nil, err
		}
		elapsed, err := strconv.ParseInt(f[7], 10, 64)
		if err != nil || elapsed < 0 {
			return nil, nil, fmt.Errorf("slurm: sacct ElapsedRaw %q", f[7])
		}
		gpus, err := tresGPUs(f[8])
		if err != nil {
			return nil, nil, err
		}
		id := ""
		if f[2] == "" && f[3] != "" && f[3] != "0" {
			id, need = f[3], true
		}
		ids = append(ids, id)
		us = append(us, joule.JobUsage{
			JobID: f[0], Account: f[1], Reservation: f[2], State: f[4],
			Start: start, End: end, ElapsedSec: elapsed, GPUs: gpus,
		})
	}
	if !need {
		ids = nil
	}
	return us, ids, nil
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

// ReservationHistory lists the reservations accounting holds over [from, to), by
// name, with the times accounting recorded for them: a reservation changed after it
// began has a record per stretch it held one set of nodes. Nodes are left out.
func (e *Engine) ReservationHistory(ctx context.Context, from, to time.Time) ([]joule.EngineReservation, error) {
	out, err := e.run(ctx, "sacctmgr", "-n", "-P", "show", "reservation",
		"start="+formatTime(from), "end="+formatTime(to), "format=Name,TimeStart,TimeEnd")
	if err != nil {
		return nil, fmt.Errorf("reservations in accounting: %w", err)
	}
	return parseReservationHistory(out.stdout)
}

// parseReservationHistory reads `sacctmgr -n -P show reservation format=Name,TimeStart,TimeEnd`.
func parseReservationHistory(out string) ([]joule.EngineReservation, error) {
	var rs []joule.EngineReservation
	for _, line := range strings.Split(out, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Split(line, "|")
		if len(f) != 3 || f[0] == "" {
			return nil, fmt.Errorf("slurm: sacctmgr reservation line %q", line)
		}
		start, err := parseTime(f[1])
		if err != nil {
			return nil, fmt.Errorf("slurm: sacctmgr reservation line %q: %w", line, err)
		}
		end, err := parseTime(f[2])
		if err != nil {
			return nil, fmt.Errorf("slurm: sacctmgr reservation line %q: %w", line, err)
		}
		rs = append(rs, joule.EngineReservation{Name: f[0], Start: start, End: end})
	}
	return rs, nil
}
