package slurm

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/joule-site/joule"
)

// CreateReservation reserves r.Nodes for r.Account over [r.Start, r.End), with
// `scontrol create reservation`. A reservation on a node that another reservation holds
// for an overlapping time is refused with ECONFLICT, as is a name already taken; an
// unknown node or account is EINVALID.
//
// Jobs running on the nodes do not block it (Flags=IGNORE_JOBS): without the flag,
// Slurm refuses a reservation on a node whose running job's time limit reaches into it,
// and a job without a limit would block every later lease of its node. Those jobs are
// left to preemption (a firm job in the new reservation preempts a spot one, with its
// grace time) or to Evict.
func (e *Engine) CreateReservation(ctx context.Context, r joule.EngineReservation) error {
	if err := checkReservation(r); err != nil {
		return err
	}
	_, err := e.run(ctx, "scontrol", "create", "reservation",
		"ReservationName="+r.Name,
		"StartTime="+formatTime(r.Start),
		"EndTime="+formatTime(r.End),
		"Nodes="+strings.Join(r.Nodes, ","),
		"Accounts="+r.Account,
		"Flags=IGNORE_JOBS")
	if err != nil {
		return fmt.Errorf("create reservation %s: %w", r.Name, err)
	}
	return nil
}

// UpdateReservation sets the nodes and the end of the reservation r.Name. Slurm
// leaves running jobs where they are: a job on a node the reservation no longer holds
// runs on there outside it (Evict ends it).
func (e *Engine) UpdateReservation(ctx context.Context, r joule.EngineReservation) error {
	if !validName(r.Name) {
		return joule.Errorf(joule.EINVALID, "slurm: invalid reservation name %q", r.Name)
	}
	if err := checkNodes(r.Nodes); err != nil {
		return err
	}
	if r.End.IsZero() || r.End.Truncate(time.Second) != r.End {
		return joule.Errorf(joule.EINVALID, "slurm: reservation %s: the end must be a whole second", r.Name)
	}
	_, err := e.run(ctx, "scontrol", "update", "ReservationName="+r.Name,
		"Nodes="+strings.Join(r.Nodes, ","),
		"EndTime="+formatTime(r.End))
	if err != nil {
		return fmt.Errorf("update reservation %s: %w", r.Name, err)
	}
	return nil
}

// DeleteReservation removes the reservation name: ENOTFOUND when there is none,
// ECONFLICT while jobs run in it (Slurm says it is in use).
func (e *Engine) DeleteReservation(ctx context.Context, name string) error {
	if !validName(name) {
		return joule.Errorf(joule.EINVALID, "slurm: invalid reservation name %q", name)
	}
	if _, err := e.run(ctx, "scontrol", "delete", "ReservationName="+name); err != nil {
		return fmt.Errorf("delete reservation %s: %w", name, err)
	}
	return nil
}

// Reservation reads the reservation name back with `scontrol show reservation -o`.
func (e *Engine) Reservation(ctx context.Context, name string) (joule.EngineReservation, error) {
	if !validName(name) {
		return joule.EngineReservation{}, joule.Errorf(joule.EINVALID, "slurm: invalid reservation name %q", name)
	}
	out, err := e.run(ctx, "scontrol", "show", "reservation", name, "-o")
	if err != nil {
		return joule.EngineReservation{}, fmt.Errorf("show reservation %s: %w", name, err)
	}
	rs, err := parseReservations(out.stdout)
	if err != nil {
		return joule.EngineReservation{}, err
	}
	for _, r := range rs {
		if r.Name == name {
			return r, nil
		}
	}
	return joule.EngineReservation{}, joule.Errorf(joule.ENOTFOUND, "slurm: no reservation %s", name)
}

// Reservations lists every reservation the cluster holds.
func (e *Engine) Reservations(ctx context.Context) ([]joule.EngineReservation, error) {
	out, err := e.run(ctx, "scontrol", "show", "reservation", "-o")
	if err != nil {
		return nil, fmt.Errorf("show reservations: %w", err)
	}
	return parseReservations(out.stdout)
}

func checkReservation(r joule.EngineReservation) error {
	if !validName(r.Name) {
		return joule.Errorf(joule.EINVALID, "slurm: invalid reservation name %q", r.Name)
	}
	if !validName(r.Account) {
		return joule.Errorf(joule.EINVALID, "slurm: invalid account %q", r.Account)
	}
	if err := checkNodes(r.Nodes); err != nil {
		return err
	}
	if r.Start.IsZero() || !r.End.After(r.Start) {
		return joule.Errorf(joule.EINVALID, "slurm: reservation %s must end after it starts", r.Name)
	}
	if r.Start.Truncate(time.Second) != r.Start || r.End.Truncate(time.Second) != r.End {
		return joule.Errorf(joule.EINVALID, "slurm: reservation %s: start and end must be whole seconds", r.Name)
	}
	return nil
}

func checkNodes(nodes []string) error {
	if len(nodes) == 0 {
		return joule.Errorf(joule.EINVALID, "slurm: a reservation needs at least one node")
	}
	for _, n := range nodes {
		if !validName(n) {
			return joule.Errorf(joule.EINVALID, "slurm: invalid node name %q", n)
		}
	}
	return nil
}

// parseReservations reads `scontrol show reservation -o`: one reservation a line, as
// space-separated Key=Value fields. "No reservations in the system" is an empty list.
func parseReservations(out string) ([]joule.EngineReservation, error) {
	var rs []joule.EngineReservation
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "No reservations") {
			continue
		}
		f := fields(line)
		name, ok := f["ReservationName"]
		if !ok {
			return nil, fmt.Errorf("slurm: reservation line without a name: %q", line)
		}
		start, err := parseTime(f["StartTime"])
		if err != nil {
			return nil, err
		}
		end, err := parseTime(f["EndTime"])
		if err != nil {
			return nil, err
		}
		nodes, err := expandHostlist(f["Nodes"])
		if err != nil {
			return nil, err
		}
		slices.Sort(nodes)
		acct := f["Accounts"]
		if acct == "(null)" {
			acct = ""
		}
		rs = append(rs, joule.EngineReservation{Name: name, Account: acct, Nodes: nodes, Start: start, End: end})
	}
	return rs, nil
}

// fields splits a one-line `scontrol show -o` record into its Key=Value pairs. A value
// never holds a space in the fields read here.
func fields(line string) map[string]string {
	m := map[string]string{}
	for _, kv := range strings.Fields(line) {
		k, v, ok := strings.Cut(kv, "=")
		if ok {
			m[k] = v
		}
	}
	return m
}
