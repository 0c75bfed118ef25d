package slurm

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/joule-site/joule"
)

// Drain sets a node to drain with the reason given: no new job starts there, and the
// jobs running go on (Evict ends them). Slurm requires a reason; Joule's start with
// "joule: ".
func (e *Engine) Drain(ctx context.Context, node, reason string) error {
	if !validName(node) {
		return joule.Errorf(joule.EINVALID, "slurm: invalid node name %q", node)
	}
	reason = strings.TrimSpace(reason)
	if reason == "" || strings.ContainsAny(reason, "\n\r") {
		return joule.Errorf(joule.EINVALID, "slurm: draining %s needs a one-line reason", node)
	}
	if _, err := e.run(ctx, "scontrol", "update", "NodeName="+node, "State=DRAIN", "Reason="+reason); err != nil {
		return fmt.Errorf("drain %s: %w", node, err)
	}
	return nil
}

// Resume makes a drained node schedulable again; ECONFLICT when it is not drained.
func (e *Engine) Resume(ctx context.Context, node string) error {
	if !validName(node) {
		return joule.Errorf(joule.EINVALID, "slurm: invalid node name %q", node)
	}
	if _, err := e.run(ctx, "scontrol", "update", "NodeName="+node, "State=RESUME"); err != nil {
		return fmt.Errorf("resume %s: %w", node, err)
	}
	return nil
}

// Evict requeues every job running on node with `scontrol requeue` (Slurm sends
// SIGTERM, then SIGKILL after its KillWait) and cancels those that cannot be requeued
// (submitted with --no-requeue). It returns how many jobs it ended.
func (e *Engine) Evict(ctx context.Context, node string) (int, error) {
	if !validName(node) {
		return 0, joule.Errorf(joule.EINVALID, "slurm: invalid node name %q", node)
	}
	out, err := e.run(ctx, "squeue", "-h", "-w", node, "-t", "RUNNING,SUSPENDED,CONFIGURING", "-o", "%A")
	if err != nil {
		return 0, fmt.Errorf("jobs on %s: %w", node, err)
	}
	n := 0
	for _, id := range strings.Fields(out.stdout) {
		if _, err := strconv.ParseUint(id, 10, 64); err != nil {
			return n, fmt.Errorf("squeue: job id %q: %w", id, err)
		}
		_, err := e.run(ctx, "scontrol", "requeue", id)
		switch joule.ErrorCode(err) {
		case "":
		case joule.ENOTFOUND:
			continue // it ended meanwhile
		case joule.ECONFLICT: // not requeueable
			if _, err := e.run(ctx, "scancel", id); err != nil && joule.ErrorCode(err) != joule.ENOTFOUND {
				return n, fmt.Errorf("cancel job %s on %s: %w", id, node, err)
			}
		default:
			return n, fmt.Errorf("requeue job %s on %s: %w", id, node, err)
		}
		n++
	}
	return n, nil
}

// Nodes lists the cluster's nodes with `sinfo -N`.
func (e *Engine) Nodes(ctx context.Context) ([]joule.EngineNode, error) {
	out, err := e.run(ctx, "sinfo", "-h", "-N", "-o", "%N|%T|%G|%E")
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	return parseNodes(out.stdout)
}

// parseNodes reads `sinfo -h -N -o %N|%T|%G|%E` (the reason last, since it is free
// text). A node in several partitions is listed once.
func parseNodes(out string) ([]joule.EngineNode, error) {
	var nodes []joule.EngineNode
	seen := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.SplitN(line, "|", 4)
		if len(f) != 4 {
			return nil, fmt.Errorf("slurm: sinfo line %q: want 4 fields", line)
		}
		if seen[f[0]] {
			continue
		}
		seen[f[0]] = true
		gpus, err := gresGPUs(f[2])
		if err != nil {
			return nil, err
		}
		reason := f[3]
		if reason == "none" {
			reason = ""
		}
		nodes = append(nodes, joule.EngineNode{Name: f[0], State: nodeState(f[1]), Raw: f[1], Reason: reason, GPUs: gpus})
	}
	return nodes, nil
}

// nodeState maps sinfo's long state (%T) to Joule's words. A trailing '*' (not
// responding) or '~' (powered off) means down whatever the base state.
func nodeState(raw string) joule.EngineNodeState {
	base := strings.TrimRight(raw, "*~#!%$@^-")
	if strings.ContainsAny(raw[len(base):], "*~") {
		return joule.NodeDown
	}
	switch base {
	case "idle", "planned":
		return joule.NodeIdle
	case "allocated", "mixed", "completing":
		return joule.NodeBusy
	case "reserved":
		return joule.NodeReserved
	case "draining":
		return joule.NodeDraining
	case "drained":
		return joule.NodeDrained
	case "down", "fail", "failing", "powered_down", "powering_down", "power_down":
		return joule.NodeDown
	}
	return joule.NodeUnknown
}

// gresGPUs counts the GPUs in a node's generic resources ("gpu:h100:8",
// "gpu:8(S:0-1)", several joined by commas; "(null)" has none).
func gresGPUs(gres string) (int, error) {
	total := 0
	for _, g := range strings.Split(gres, ",") {
		g, _, _ = strings.Cut(g, "(")
		parts := strings.Split(g, ":")
		if len(parts) < 2 || parts[0] != "gpu" {
			continue
		}
		n, err := strconv.Atoi(parts[len(parts)-1])
		if err != nil || n < 0 {
			return 0, fmt.Errorf("slurm: gres %q: bad GPU count", gres)
		}
		total += n
	}
	return total, nil
}
