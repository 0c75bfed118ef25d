package slurm

import (
	"context"
	"fmt"
	"strings"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/gpuapi"
)

// IdleReason is the drain reason a node gets when `joule node` idles it.
const IdleReason = "joule: idle"

// NodePower keeps one node's power state in Slurm, for `joule node` on that node:
// idle drains it (no new job starts; the jobs running go on), off powers it down
// (State=POWER_DOWN_ASAP: Slurm drains it and runs its SuspendProgram once it is
// empty), on resumes it (State=RESUME, or POWER_UP when it is powered down). Power
// saving must be configured (SuspendProgram, ResumeProgram) for off; Slurm refuses
// POWER_DOWN without it, and so does NodePower, ECONFLICT.
type NodePower struct {
	e    *Engine
	node string
}

// NodePower returns the power state keeper of node.
func (e *Engine) NodePower(node string) (*NodePower, error) {
	if !validName(node) {
		return nil, joule.Errorf(joule.EINVALID, "slurm: invalid node name %q", node)
	}
	return &NodePower{e: e, node: node}, nil
}

// Node reads one node as `sinfo -N -n NODE` lists it.
func (e *Engine) Node(ctx context.Context, node string) (joule.EngineNode, error) {
	if !validName(node) {
		return joule.EngineNode{}, joule.Errorf(joule.EINVALID, "slurm: invalid node name %q", node)
	}
	out, err := e.run(ctx, "sinfo", "-h", "-N", "-n", node, "-o", "%N|%T|%G|%E")
	if err != nil {
		return joule.EngineNode{}, fmt.Errorf("node %s: %w", node, err)
	}
	nodes, err := parseNodes(out.stdout)
	if err != nil {
		return joule.EngineNode{}, err
	}
	for _, n := range nodes {
		if n.Name == node {
			return n, nil
		}
	}
	return joule.EngineNode{}, joule.Errorf(joule.ENOTFOUND, "slurm: no node %s", node)
}

// State returns the node's power state, from its Slurm state: off when powered down,
// to be powered down, or on its way down or up ('~', '!', '%', '#' or a power state
// word), idle when drained or draining, on otherwise.
func (p *NodePower) State(ctx context.Context) (string, error) {
	n, err := p.e.Node(ctx, p.node)
	if err != nil {
		return "", err
	}
	return powerState(n.Raw), nil
}

// powerState maps sinfo's long state (%T) to the power API's.
func powerState(raw string) string {
	base := strings.TrimRight(raw, "*~#!%$@^-")
	switch {
	case strings.ContainsAny(raw[len(base):], "~!%#"), strings.HasPrefix(base, "power"):
		return gpuapi.StateOff
	case strings.HasPrefix(base, "drain"):
		return gpuapi.StateIdle
	}
	return gpuapi.StateOn
}

// SetState asks Slurm to move the node to state.
func (p *NodePower) SetState(ctx context.Context, state string) error {
	cur, err := p.State(ctx)
	if err != nil {
		return err
	}
	var args []string
	switch {
	case state == cur && state != gpuapi.StateIdle:
		return nil
	case state == gpuapi.StateIdle:
		args = []string{"State=DRAIN", "Reason=" + IdleReason}
	case state == gpuapi.StateOff:
		args = []string{"State=POWER_DOWN_ASAP", "Reason=joule: off"}
	case state == gpuapi.StateOn && cur == gpuapi.StateOff:
		if n, err := p.e.Node(ctx, p.node); err == nil && strings.Contains(n.Raw, "%") {
			// Slurm ignores a power-up while its SuspendProgram runs.
			return joule.Errorf(joule.ECONFLICT, "slurm: %s is powering down (%s); power it up once it is down", p.node, n.Raw)
		}
		args = []string{"State=POWER_UP"}
	case state == gpuapi.StateOn:
		args = []string{"State=RESUME"}
	default:
		return joule.Errorf(joule.EINVALID, "state %q: use on, idle or off", state)
	}
	_, err = p.e.run(ctx, "scontrol", append([]string{"update", "NodeName=" + p.node}, args...)...)
	if err != nil {
		if joule.ErrorCode(err) == joule.ECONFLICT && state == gpuapi.StateOff {
			return joule.Errorf(joule.ECONFLICT, "slurm refused to power %s down (power saving needs SuspendProgram and ResumeProgram in slurm.conf): %v", p.node, joule.ErrorMessage(err))
		}
		return fmt.Errorf("set %s %s: %w", p.node, state, err)
	}
	return nil
}
