package agent

import (
	"cmp"
	"slices"

	"github.com/joule-site/joule"
)

// gpuCommands brings one fleet of GPU servers to its target: Running servers serve,
// the rest go idle, or off when the plan gives the fleet no power at all (a cap below
// even its idle draw). a.mu is held.
//
// Leases are not bound to servers, and the plan counts the servers firm leases hold in
// Running, so the agent keeps to two rules that never switch a leased server off while
// the plan keeps its lease:
//   - it idles a serving server only when more serve than the plan runs, and then the
//     least loaded first (a server serving a tenant shows GPU utilization);
//   - it never idles one in place of a server that does not answer or did not obey.
//     Those are counted serving when last seen serving (and missing ones as serving),
//     so fewer idle servers are switched on in their place, but none is idled for them.
//
// A server that failed to go idle or off is asked again while the plan still runs fewer
// than the whole fleet. Nothing is switched on once the plan has expired.
func (a *Agent) gpuCommands(f joule.FleetTarget, expired bool) []Command {
	var serving, idle, off []*Device
	var cmds []Command
	found, unruly := 0, 0
	powerOff := f.AllocatedW <= 0
	rest := ActionSleep
	if powerOff {
		rest = ActionOff
	}
	for _, d := range a.devices {
		if d.Fleet != f.Fleet || d.Kind != joule.KindGPUServer {
			continue
		}
		found++
		switch {
		case !d.Healthy:
			if d.Awake {
				unruly++
			}
			if (d.failed == ActionSleep || d.failed == ActionOff) && f.Running < f.Machines {
				cmds = append(cmds, Command{Address: d.Address, Action: rest})
			}
		case d.Awake:
			serving = append(serving, d)
		case d.State == joule.StateOff:
			off = append(off, d)
		default:
			idle = append(idle, d)
		}
	}
	missing := max(f.Machines-found, 0)
	target := max(f.Running-unruly-missing, min(f.Running, len(serving)), 0)
	switch {
	case len(serving) > target:
		// Least loaded first; among equals, the later addresses, so the same servers
		// keep serving from plan to plan.
		slices.SortStableFunc(serving, func(x, y *Device) int { return cmp.Compare(x.Load, y.Load) })
		for _, d := range serving[:len(serving)-target] {
			cmds = append(cmds, Command{Address: d.Address, Action: rest})
		}
	case len(serving) < target && !expired:
		for _, d := range append(slices.Clip(idle), off...)[:min(target-len(serving), len(idle)+len(off))] {
			cmds = append(cmds, Command{Address: d.Address, Action: ActionWake})
		}
	}
	if powerOff {
		for _, d := range idle {
			cmds = append(cmds, Command{Address: d.Address, Action: ActionOff})
		}
	}
	return cmds
}
