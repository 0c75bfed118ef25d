package agent

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/joule-site/joule"
)

// Server is where the agent gets its plans and reports what it did (the API client).
type Server interface {
	Plan(ctx context.Context, site string) (*joule.SitePlan, error)
	ReportAudit(ctx context.Context, site string, events []*joule.Audit) error
}

// Preparer is a driver that readies a device when the agent takes it over (a kept
// LuxOS session, say), so that commands later cost less.
type Preparer interface {
	Prepare(ctx context.Context, addr string) error
}

// Device is a machine the agent found, with what it believes of it.
type Device struct {
	Address string
	Fleet   string
	// Awake is what the device last showed: running (true) or asleep. A device that
	// does not answer keeps its last belief, and counts as awake when it was never
	// seen asleep: the agent never assumes power it cannot verify is gone.
	Awake   bool
	Healthy bool // answered its last command or reading
	PowerW  joule.Watts
	// LimitW is the power setting last verified; 0 when never set (stock).
	LimitW joule.Watts
}

// Agent follows a site's plans next to its miners.
type Agent struct {
	Site     string
	Server   Server
	Executor *Executor
	Log      *slog.Logger
	Now      func() time.Time

	mu       sync.Mutex
	devices  []*Device // by fleet, then address
	last     *joule.SitePlan
	outageAt time.Time
}

// Discover reads every address and keeps the ones that answer as the site's miners,
// assigned in address order to the fleets by their machine counts (fleets is the
// site's ASIC fleets in order, name → count). It returns the devices found.
func (a *Agent) Discover(ctx context.Context, addrs []string, fleets []joule.FleetTarget) []*Device {
	found := make([]*Device, len(addrs))
	a.Executor.each(len(addrs), func(i int) {
		cctx, cancel := context.WithTimeout(ctx, a.Executor.Timeout)
		defer cancel()
		t, err := a.Executor.Driver.Status(cctx, addrs[i])
		if err != nil {
			return
		}
		if p, ok := a.Executor.Driver.(Preparer); ok {
			_ = p.Prepare(cctx, addrs[i]) // a miner that cannot be prepared is still commanded, more slowly
		}
		found[i] = &Device{Address: addrs[i], Awake: t.State != joule.StateSleeping, Healthy: true, PowerW: t.PowerW}
	})
	var devs []*Device
	k := 0
	for _, f := range fleets {
		for n := 0; n < f.Machines && k < len(found); k++ {
			if found[k] != nil {
				found[k].Fleet = f.Fleet
				devs = append(devs, found[k])
				n++
			}
		}
	}
	a.mu.Lock()
	a.devices = devs
	a.mu.Unlock()
	return devs
}

// Devices returns a copy of what the agent believes of each device.
func (a *Agent) Devices() []Device {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Device, len(a.devices))
	for i, d := range a.devices {
		out[i] = *d
	}
	return out
}

// Run follows plans every poll until ctx ends.
func (a *Agent) Run(ctx context.Context, poll time.Duration) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		a.Step(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Step fetches the newest plan and brings the devices to it. When the server cannot
// be reached it keeps to its last plan while that is valid and, after, wakes nothing:
// it never raises power on a plan it cannot renew.
func (a *Agent) Step(ctx context.Context) {
	plan, err := a.Server.Plan(ctx, a.Site)
	now := a.Now()
	a.mu.Lock()
	switch {
	case err == nil:
		a.last, a.outageAt = plan, time.Time{}
	case a.last == nil:
		a.mu.Unlock()
		a.logf("no plan yet: %v", err)
		return
	default:
		if a.outageAt.IsZero() {
			a.outageAt = now
			a.logf("server unreachable, keeping plan %d: %v", a.last.Seq, err)
		}
		plan = a.last
	}
	expired := now.After(plan.ValidUntil) && err != nil
	a.mu.Unlock()

	a.recheck(ctx)
	cmds := a.commands(plan, expired)
	if len(cmds) == 0 {
		return
	}
	var events []*joule.Audit
	var evMu sync.Mutex
	for _, c := range cmds {
		events = append(events, &joule.Audit{Site: a.Site, At: now, Kind: joule.AuditCommand, Seq: plan.Seq, Device: c.Address, Detail: string(c.Action)})
	}
	results := a.Executor.Run(ctx, cmds, func(r Result) {
		evMu.Lock()
		defer evMu.Unlock()
		at := a.Now()
		if r.Acked {
			events = append(events, &joule.Audit{Site: a.Site, At: now.Add(r.AckAfter), Kind: joule.AuditAck, Seq: plan.Seq, Device: r.Address, Detail: fmt.Sprintf("%s accepted after %s", r.Action, r.AckAfter.Round(time.Millisecond))})
		}
		detail := fmt.Sprintf("%s verified after %s", r.Action, r.VerifyAt.Round(time.Millisecond))
		if r.PowerKnown {
			detail += fmt.Sprintf(", drawing %s", r.PowerW)
		}
		if !r.Verified {
			detail = "FAILED: " + r.Err
		}
		events = append(events, &joule.Audit{Site: a.Site, At: at, Kind: joule.AuditVerify, Seq: plan.Seq, Device: r.Address, Detail: detail})
	})
	a.apply(results)
	running, unknown := a.census()
	events = append(events, &joule.Audit{Site: a.Site, At: a.Now(), Kind: joule.AuditReport, Seq: plan.Seq,
		Detail: fmt.Sprintf("%d miners awake, %d not answering (counted awake)", running, unknown)})
	if err := a.Server.ReportAudit(ctx, a.Site, events); err != nil {
		a.logf("report: %v", err)
	}
}

// commands compares the plan with what the devices are doing, fleet by fleet. A
// machine that does not obey — one that failed its last command, or one discovery did
// not find — is counted running at what it last drew, at least its stock power. The
// healthy machines that stay awake are then as many as the plan runs, less those, and
// no more than fit the fleet's allocation at the plan's power setting; the rest sleep.
// Nothing is woken and no setting raised once the plan has expired.
func (a *Agent) commands(plan *joule.SitePlan, expired bool) []Command {
	a.mu.Lock()
	defer a.mu.Unlock()
	var cmds []Command
	for _, f := range plan.Fleets {
		if f.Kind != joule.KindASIC {
			continue
		}
		var healthyAwake, healthyAsleep, unrulyAwake []*Device
		found, unruly := 0, 0
		var unrulyW float64
		for _, d := range a.devices {
			if d.Fleet != f.Fleet {
				continue
			}
			found++
			switch {
			case !d.Healthy && d.Awake:
				unruly++
				unrulyW += float64(max(d.PowerW, f.StockW))
				unrulyAwake = append(unrulyAwake, d)
			case !d.Healthy:
			case d.Awake:
				healthyAwake = append(healthyAwake, d)
			default:
				healthyAsleep = append(healthyAsleep, d)
			}
		}
		missing := max(f.Machines-found, 0)
		unruly += missing
		unrulyW += float64(missing) * float64(f.StockW)

		limit := f.MachineW()
		if limit <= 0 {
			limit = f.StockW
		}
		target := f.Running - unruly
		if budget := float64(f.AllocatedW)/max(plan.PUE, 1) - unrulyW; limit > 0 {
			target = min(target, int(budget/float64(limit)))
		}
		target = max(target, 0)

		// Miners that did not obey are asked again whenever the fleet is not to run whole,
		// though the budget does not count on them: one that obeys is healthy again.
		if f.Running < f.Machines {
			for _, d := range unrulyAwake {
				cmds = append(cmds, Command{Address: d.Address, Action: ActionSleep})
			}
		}
		switch {
		case len(healthyAwake) > target:
			for _, d := range healthyAwake[target:] {
				cmds = append(cmds, Command{Address: d.Address, Action: ActionSleep})
			}
			healthyAwake = healthyAwake[:target]
		case len(healthyAwake) < target && !expired:
			for _, d := range healthyAsleep[:min(target-len(healthyAwake), len(healthyAsleep))] {
				cmds = append(cmds, Command{Address: d.Address, Action: ActionWake})
			}
		}
		// Running machines take the plan's power setting.
		if f.StockW <= 0 || limit <= 0 {
			continue
		}
		for _, d := range healthyAwake {
			current := d.LimitW
			if current == 0 {
				current = f.StockW
			}
			if current == limit || (limit > current && expired) {
				continue
			}
			cmds = append(cmds, Command{Address: d.Address, Action: ActionPower, LimitW: limit, StockW: f.StockW})
		}
	}
	return cmds
}

// recheck reads the devices that failed their last command again, to know what they
// draw now: one that still does not answer keeps its last reading. They stay unhealthy
// until a command of theirs is verified.
func (a *Agent) recheck(ctx context.Context) {
	a.mu.Lock()
	var sick []*Device
	for _, d := range a.devices {
		if !d.Healthy {
			sick = append(sick, d)
		}
	}
	a.mu.Unlock()
	if len(sick) == 0 {
		return
	}
	read := a.Executor.Driver.Status
	if ps, ok := a.Executor.Driver.(PowerStater); ok {
		read = ps.PowerState
	}
	a.Executor.each(len(sick), func(i int) {
		cctx, cancel := context.WithTimeout(ctx, a.Executor.Timeout)
		defer cancel()
		t, err := read(cctx, sick[i].Address)
		if err != nil || t.State == joule.StateUnknown {
			return
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		sick[i].Awake = t.State != joule.StateSleeping
		if t.PowerKnown {
			sick[i].PowerW = t.PowerW
		}
	})
}

// apply updates beliefs from results: verified commands change state; failed ones
// leave the device counted awake and unhealthy.
func (a *Agent) apply(results []Result) {
	a.mu.Lock()
	defer a.mu.Unlock()
	byAddr := make(map[string]*Device, len(a.devices))
	for _, d := range a.devices {
		byAddr[d.Address] = d
	}
	for _, r := range results {
		d := byAddr[r.Address]
		if d == nil {
			continue
		}
		d.Healthy = r.Verified
		if r.PowerKnown {
			d.PowerW = r.PowerW
		}
		switch {
		case r.Verified && r.Action == ActionPower:
			d.LimitW = r.LimitW
		case r.Verified:
			d.Awake = r.Action == ActionWake
			if d.Awake {
				d.LimitW = 0 // firmware wakes at its last setting; the plan sets it again
			}
		case r.Action == ActionSleep:
			d.Awake = true // not verified asleep: assume it still draws power
		}
	}
}

// census counts devices believed awake and the unhealthy ones among all.
func (a *Agent) census() (awake, unhealthy int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, d := range a.devices {
		if d.Awake {
			awake++
		}
		if !d.Healthy {
			unhealthy++
		}
	}
	return awake, unhealthy
}

func (a *Agent) logf(format string, args ...any) {
	if a.Log != nil {
		a.Log.Info(fmt.Sprintf(format, args...), "site", a.Site)
	}
}
