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
// The plan counts the servers leases hold in Running and names them in Leased (the
// servers the leases are bound to), so the agent keeps to rules that never switch a
// leased server off while the plan keeps its lease:
//   - it idles a serving server only when more serve than the plan runs, and then
//     servers no lease holds first, the least loaded first among them;
//   - it wakes the leased servers first when more must serve;
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
		leased := func(d *Device) int {
			if slices.Contains(f.Leased, d.Name) {
				return 1
			}
			return 0
		}
		slices.SortStableFunc(serving, func(x, y *Device) int { return cmp.Or(cmp.Compare(leased(x), leased(y)), cmp.Compare(x.Load, y.Load)) })
		for _, d := range serving[:len(serving)-target] {
			cmds = append(cmds, Command{Address: d.Address, Action: rest})
		}
	case len(serving) < target && !expired:
		wake := append(slices.Clip(idle), off...)
		slices.SortStableFunc(wake, func(x, y *Device) int {
			return cmp.Compare(boolInt(!slices.Contains(f.Leased, x.Name)), boolInt(!slices.Contains(f.Leased, y.Name)))
		})
		for _, d := range wake[:min(target-len(serving), len(wake))] {
			cmds = append(cmds, Command{Address: d.Address, Action: ActionWake})
		}
	}
	if powerOff {
		for _, d := range idle {
			cmds = append(cmds, Command{Address: d.Address, Action: ActionOff})
		}
	}
	return append(cmds, capCommands(f, serving, cmds, expired)...)
}

// capCommands holds the serving servers the plan names in Capped to the plan's CapW and
// lifts the limit of any other serving server that the agent left capped (a lease no
// longer capped, or one that ended). A server this plan idles is left alone, and no
// limit is lifted once the plan has expired: lifting raises the draw. The plan never
// names a firm lease's server, so none is capped.
func capCommands(f joule.FleetTarget, serving []*Device, idling []Command, expired bool) []Command {
	var cmds []Command
	for _, d := range serving {
		if slices.ContainsFunc(idling, func(c Command) bool { return c.Address == d.Address }) {
			continue
		}
		capped := f.CapW > 0 && f.CapW < f.StockW && slices.Contains(f.Capped, d.Name)
		switch {
		case capped && d.LimitW != f.CapW:
			cmds = append(cmds, Command{Address: d.Address, Action: ActionPower, LimitW: f.CapW, StockW: f.StockW})
		case !capped && d.LimitW > 0 && d.LimitW < f.StockW && !expired:
			cmds = append(cmds, Command{Address: d.Address, Action: ActionPower, LimitW: f.StockW, StockW: f.StockW})
		}
	}
	return cmds
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
