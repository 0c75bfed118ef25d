package agent

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
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

// DeviceReporter is a Server that also takes the agent's census of the site's devices
// (the API client does). The agent sends one after every step.
type DeviceReporter interface {
	ReportDevices(ctx context.Context, site string, r *joule.DeviceReport) error
}

// TelemetrySender is a Server that also keeps the devices' telemetry history (the API
// client does). The agent sends it the samples each step read, in one batch a step.
type TelemetrySender interface {
	AppendTelemetry(ctx context.Context, site string, samples []joule.TelemetrySample) error
}

// Device is a machine the agent found, with what it believes of it.
type Device struct {
	Address string
	Fleet   string
	// Name is a GPU server's node name, as leases bind it: "<fleet>-NN", the NN-th
	// server of its fleet in the order discovery found them (the manifest's address
	// order, when every server answers). Empty for miners.
	Name string
	Kind joule.HardwareKind // a miner (asic) or a GPU server
	// Awake is what the device last showed: running (true) or asleep (a miner asleep, a
	// GPU server idle or off). A device that does not answer keeps its last belief, and
	// counts as awake when it was never seen asleep: the agent never assumes power it
	// cannot verify is gone.
	Awake bool
	// Healthy: it answered its last reading and carried out its last command. A device
	// that failed a command stays unhealthy until a command of its is verified; one that
	// only missed a reading is healthy again when it answers.
	Healthy bool
	PowerW  joule.Watts // what it last reported drawing, when PowerKnown
	// LimitW is the power setting last verified; 0 when never set (stock).
	LimitW joule.Watts
	// State is what its telemetry last showed: StateUnknown when the last reading failed.
	State      joule.DeviceState
	PowerKnown bool      // it reports its power
	Load       float64   // GPU servers: GPU utilization last read, 0…1 (tenant work)
	ReadAt     time.Time // when it last answered a reading
	Detail     string    // why it is unhealthy, when it is
	failed     Action    // the command it last failed, "" once one is verified
	offPool    string    // the pool it was last read hashing for when not one of its fleet's; "" otherwise
}

// Agent follows a site's plans next to its miners and GPU servers.
type Agent struct {
	Site     string
	Server   Server
	Executor *Executor // commands the miners
	Log      *slog.Logger
	Now      func() time.Time
	// GPU commands the site's GPU servers (with the gpunode driver); nil when the agent
	// runs miners only. DiscoverGPU needs it.
	GPU *Executor
	// RefreshSteps is over how many steps the agent reads every device's telemetry once
	// for its census, a rolling slice each step: 12 by default, once a minute at a 5 s
	// poll. Devices that failed are read every step.
	RefreshSteps int
	// Meter reads the site's power at its feed; nil when the site has none. The agent
	// reads it around every step with commands, to check that power moved as much as
	// the devices say (see joule.MeterCheck), and sends its reading with the census.
	Meter Meter
	// Spool keeps the audit rows the server could not take until a later step sends
	// them (see audit.go); nil: none, and a step whose command rows the server does not
	// take sends no command.
	Spool Spool
	// Instance names this run of the agent in its audit rows' keys, which must not
	// repeat across runs; a random name when empty.
	Instance string
	// Pools are the pools each miner fleet may hash for (its manifest's pools:, by
	// fleet name); a miner read hashing elsewhere is switched back to its fleet's first
	// (pools.go). A fleet with none may hash anywhere.
	Pools map[string][]string

	steps  int64          // steps begun, for the audit rows' keys; Step's own
	unsent []*joule.Audit // rows neither the server nor the spool took; Step's own
	// actionsDone are the results of operators' actions carried out whose report the
	// server has not taken yet; Step's own.
	actionsDone map[int64]joule.DeviceActionResult

	mu       sync.Mutex
	meter    *joule.MeterReading // the newest reading, with the newest check
	devices  []*Device           // miners, then GPU servers; each by fleet, then address
	declared map[joule.HardwareKind][]joule.FleetTarget
	// settings are the fixed power settings (W, ascending) each miner fleet's firmware
	// offers, read at discovery from one of its miners; none: any power. onOff are the
	// fleets whose firmware takes no power setting: their miners run at stock or sleep.
	settings map[string][]joule.Watts
	onOff    map[string]bool
	last     *joule.SitePlan
	followed *joule.SitePlan
	// holds are the devices operators' actions hold out of dispatch, by address.
	holds    map[string]joule.DeviceHold
	outageAt time.Time
	cursor   int // where the next rolling slice of readings starts
	// samples are the readings of this step, for the telemetry history (telemetry.go);
	// held are those waiting for the sender, which runs while sending.
	samples []joule.TelemetrySample
	// woke are the miners found awake since the last step's commands while believed
	// asleep (telemetry.go).
	woke    []wokeDevice
	held    []joule.TelemetrySample
	sending bool
}

// Discover reads every address and keeps the ones that answer as the site's miners,
// assigned in address order to the fleets by their machine counts (fleets is the
// site's ASIC fleets in order, name → count; fleets of another kind are skipped). It
// replaces the miners found before and returns those found now.
func (a *Agent) Discover(ctx context.Context, addrs []string, fleets []joule.FleetTarget) []*Device {
	return a.discover(ctx, a.Executor, joule.KindASIC, addrs, fleets)
}

// DiscoverGPU does for GPU servers what Discover does for miners, through a.GPU: it
// reads every address (host:port; the API's port is 8080) and assigns those that
// answer, in address order, to the GPU server fleets among fleets (Kind
// joule.KindGPUServer; others are skipped). It replaces the GPU servers found before.
func (a *Agent) DiscoverGPU(ctx context.Context, addrs []string, fleets []joule.FleetTarget) []*Device {
	if a.GPU == nil {
		a.logf("no GPU executor: %d GPU server addresses not scanned", len(addrs))
		return nil
	}
	return a.discover(ctx, a.GPU, joule.KindGPUServer, addrs, fleets)
}

func (a *Agent) discover(ctx context.Context, ex *Executor, kind joule.HardwareKind, addrs []string, fleets []joule.FleetTarget) []*Device {
	found := make([]*Device, len(addrs))
	ex.each(len(addrs), func(i int) {
		cctx, cancel := context.WithTimeout(ctx, ex.Timeout)
		defer cancel()
		t, err := ex.Driver.Status(cctx, addrs[i])
		if err != nil {
			return
		}
		if p, ok := ex.Driver.(Preparer); ok {
			_ = p.Prepare(cctx, addrs[i]) // a miner that cannot be prepared is still commanded, more slowly
		}
		d := &Device{Address: addrs[i], Kind: kind, Healthy: true}
		d.observe(t, a.now())
		if t.State == joule.StateRamping || t.State == joule.StateUnknown {
			d.Awake = true // until it shows itself asleep
		}
		found[i] = d
	})
	var declared []joule.FleetTarget
	var out []*Device
	k := 0
	for _, f := range fleets {
		if f.Kind != kind && (f.Kind != "" || kind != joule.KindASIC) {
			continue
		}
		f.Kind = kind
		declared = append(declared, f)
		for n := 0; n < f.Machines && k < len(found); k++ {
			if found[k] != nil {
				found[k].Fleet = f.Fleet
				if kind == joule.KindGPUServer {
					found[k].Name = joule.DefaultNodeNames(f.Fleet, f.Machines)[n]
				}
				out = append(out, found[k])
				n++
			}
		}
	}
	settings := map[string][]joule.Watts{}
	onOff := map[string]bool{}
	if ps, ok := ex.Driver.(PowerSettinger); ok && kind == joule.KindASIC {
		for _, d := range out {
			if _, read := settings[d.Fleet]; read || onOff[d.Fleet] {
				continue
			}
			cctx, cancel := context.WithTimeout(ctx, ex.Timeout)
			w, err := ps.PowerSettings(cctx, d.Address)
			switch {
			case err == nil:
				settings[d.Fleet] = w
			case joule.ErrorCode(err) == joule.EINVALID:
				onOff[d.Fleet] = true
			}
			cancel()
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if kind == joule.KindASIC {
		a.settings, a.onOff = settings, onOff
	}
	var all []*Device
	if kind == joule.KindGPUServer {
		all = append(all, a.ofKind(joule.KindASIC)...)
		all = append(all, out...)
	} else {
		all = append(all, out...)
		all = append(all, a.ofKind(joule.KindGPUServer)...)
	}
	a.devices = all
	if a.declared == nil {
		a.declared = map[joule.HardwareKind][]joule.FleetTarget{}
	}
	a.declared[kind] = declared
	return out
}

// ofKind returns the devices of one kind; a.mu is held.
func (a *Agent) ofKind(kind joule.HardwareKind) []*Device {
	var out []*Device
	for _, d := range a.devices {
		if d.Kind == kind {
			out = append(out, d)
		}
	}
	return out
}

// observe takes a reading the device answered.
func (d *Device) observe(t *joule.Telemetry, at time.Time) {
	d.State, d.ReadAt, d.PowerKnown, d.Load = t.State, at, t.PowerKnown, t.GPUUtilization
	if t.PowerKnown {
		d.PowerW = t.PowerW
	}
	switch t.State {
	case joule.StateRunning:
		if !d.Awake {
			d.LimitW = 0 // it woke at a setting the agent did not verify; the plan sets it again
		}
		d.Awake = true
	case joule.StateSleeping, joule.StateOff:
		d.Awake = false
	}
}

// PowerSettinger is a driver that can list the fixed power settings a device offers
// (LuxOS profiles), ascending; nil when it takes any power, an EINVALID error when it
// takes none (it runs at stock or sleeps). With it the agent splits a fleet between the
// two settings around a plan's power instead of leaving the difference unused, and
// runs a fleet that takes no setting as whole machines at stock.
type PowerSettinger interface {
	PowerSettings(ctx context.Context, addr string) ([]joule.Watts, error)
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

// Followed returns the plan the last completed Step brought the devices to (every
// command sent, and verified or failed), or nil before the first.
func (a *Agent) Followed() *joule.SitePlan {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.followed
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

// Step sends the audit rows earlier steps could not, fetches the newest plan and
// brings the devices to it, then reports the census of the devices to a server that
// takes one (DeviceReporter). When the server cannot be reached it keeps to its last
// plan while that is valid and, after, wakes nothing: it never raises power on a plan
// it cannot renew. No command goes out before its audit row is with the server or in
// the spool. Steps run one at a time.
func (a *Agent) Step(ctx context.Context) {
	defer a.report(ctx, a.now())
	a.drain(ctx)
	a.steps++
	step := a.steps
	plan, err := a.Server.Plan(ctx, a.Site)
	now := a.Now()
	a.mu.Lock()
	switch {
	case err == nil:
		a.last, a.outageAt = plan, time.Time{}
	case a.last == nil:
		a.mu.Unlock()
		a.logf("no plan yet: %v", err)
		a.refresh(ctx)
		a.guardPools(ctx, step, 0) // the pools do not wait for a plan
		if joule.ErrorCode(err) == joule.ENOTFOUND {
			a.actions(ctx) // the server answers: its operators' actions need no plan
		}
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

	a.refresh(ctx)
	a.guardPools(ctx, step, plan.Seq)
	if err == nil {
		a.actions(ctx) // operators' actions first: the plan then works around their holds
	}
	miners, gpus := a.commands(plan, expired)
	followed := func() {
		a.mu.Lock()
		a.followed = plan
		a.mu.Unlock()
	}
	if len(miners)+len(gpus) == 0 {
		a.mu.Lock()
		a.woke = nil // none of them is to sleep
		a.mu.Unlock()
		followed()
		return
	}
	intent := a.wokeRows(plan, now, miners)
	for _, c := range append(slices.Clip(miners), gpus...) {
		intent = append(intent, &joule.Audit{Site: a.Site, At: now, Kind: joule.AuditCommand, Seq: plan.Seq, Device: c.Address,
			Outcome: joule.OutcomeOK, Reason: plan.Reason, Actor: joule.ActorAgent, Detail: string(c.Action)})
	}
	a.keyRows(step, 0, intent)
	if !a.recordIntent(ctx, intent) {
		return
	}
	defer followed()
	var events []*joule.Audit
	var evMu sync.Mutex
	powerBefore, meterBefore, drift, metered := a.beforeCommands(ctx, miners, gpus)
	results := a.execute(ctx, miners, gpus, func(r Result) {
		evMu.Lock()
		defer evMu.Unlock()
		at := a.Now()
		if r.Acked {
			events = append(events, &joule.Audit{Site: a.Site, At: now.Add(r.AckAfter), Kind: joule.AuditAck, Seq: plan.Seq, Device: r.Address,
				Outcome: joule.OutcomeOK, Actor: joule.ActorAgent, Detail: fmt.Sprintf("%s accepted after %s", r.Action, r.AckAfter.Round(time.Millisecond))})
		}
		e := &joule.Audit{Site: a.Site, At: at, Kind: joule.AuditVerify, Seq: plan.Seq, Device: r.Address, Outcome: joule.OutcomeOK, Actor: joule.ActorAgent,
			Detail: fmt.Sprintf("%s verified after %s", r.Action, r.VerifyAt.Round(time.Millisecond))}
		if r.PowerKnown {
			e.Detail += fmt.Sprintf(", drawing %s", r.PowerW)
		}
		if !r.Verified {
			e.Outcome, e.Reason, e.Detail = joule.OutcomeFailed, r.Err, "FAILED: "+r.Err
		}
		events = append(events, e)
	})
	a.apply(results)
	if metered {
		if c := a.checkMeter(ctx, plan.Seq, powerBefore, results, meterBefore, drift); c != nil {
			events = append(events, &joule.Audit{Site: a.Site, At: c.At, Kind: joule.AuditReport, Seq: plan.Seq, Outcome: c.Outcome(), Actor: joule.ActorAgent, Detail: c.Detail})
		}
	}
	running, unhealthy := a.census()
	outcome := joule.OutcomeOK
	if unhealthy > 0 {
		outcome = joule.OutcomeDegraded
	}
	events = append(events, &joule.Audit{Site: a.Site, At: a.Now(), Kind: joule.AuditReport, Seq: plan.Seq, Outcome: outcome, Actor: joule.ActorAgent,
		Detail: fmt.Sprintf("%d devices awake, %d not answering or not obeying (counted awake unless seen asleep)", running, unhealthy)})
	a.keyRows(step, len(intent), events)
	a.recordAfter(ctx, events)
}

// execute runs the miners' and the GPU servers' commands at once, each through its
// executor, and returns every result.
func (a *Agent) execute(ctx context.Context, miners, gpus []Command, onResult func(Result)) []Result {
	var wg sync.WaitGroup
	var rm, rg []Result
	if len(miners) > 0 {
		wg.Go(func() { rm = a.Executor.Run(ctx, miners, onResult) })
	}
	if len(gpus) > 0 && a.GPU != nil {
		wg.Go(func() { rg = a.GPU.Run(ctx, gpus, onResult) })
	}
	wg.Wait()
	return append(rm, rg...)
}

// commands compares the plan with what the devices are doing, fleet by fleet, and
// returns the miners' commands and the GPU servers'.
func (a *Agent) commands(plan *joule.SitePlan, expired bool) (miners, gpus []Command) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, f := range plan.Fleets {
		switch f.Kind {
		case joule.KindASIC:
			miners = append(miners, a.minerCommands(plan, f, expired)...)
		case joule.KindGPUServer:
			gpus = append(gpus, a.gpuCommands(f, expired)...)
		}
	}
	return miners, gpus
}

// minerCommands brings one ASIC fleet to its target. A miner that does not obey — one
// that failed its last command, or one discovery did not find — is counted running at
// what it last drew, at least its stock power. The healthy miners that stay awake are
// then as many as the plan runs, less those, and no more than fit the fleet's
// allocation at the plan's power setting; the rest sleep. Nothing is woken and no
// setting raised once the plan has expired. a.mu is held.
func (a *Agent) minerCommands(plan *joule.SitePlan, f joule.FleetTarget, expired bool) []Command {
	var cmds []Command
	var healthyAwake, healthyAsleep, unrulyAwake, unrulyAsleep []*Device
	found, unruly := 0, 0
	var unrulyW float64
	var heldRunning int
	var heldW float64
	for _, d := range a.devices {
		if d.Fleet != f.Fleet || d.Kind != joule.KindASIC {
			continue
		}
		found++
		// An operator's hold wins over the plan: a device held asleep is kept asleep
		// (put to sleep again should it be seen awake, as after a power cut) and one
		// held at a power setting runs at it; the plan's other machines make up the rest.
		if h, held := a.holds[d.Address]; held {
			switch {
			case h.Hold == joule.HoldSleep && d.Awake:
				unruly++
				unrulyW += float64(max(d.PowerW, f.StockW))
				cmds = append(cmds, Command{Address: d.Address, Action: ActionSleep})
			case h.Hold == joule.HoldPower && d.Awake:
				heldRunning++
				heldW += float64(h.LimitW)
				if d.LimitW != h.LimitW && !expired {
					cmds = append(cmds, Command{Address: d.Address, Action: ActionPower, LimitW: h.LimitW, StockW: f.StockW})
				}
			}
			continue
		}
		switch {
		case !d.Healthy && d.Awake:
			unruly++
			unrulyW += float64(max(d.PowerW, f.StockW))
			unrulyAwake = append(unrulyAwake, d)
		case !d.Healthy:
			unrulyAsleep = append(unrulyAsleep, d)
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
	if limit <= 0 || a.onOff[f.Fleet] {
		// A firmware that takes no power setting runs at stock: the allocation then runs
		// fewer miners, each at stock, rather than all of them at a setting none can take.
		limit = f.StockW
	}
	target := f.Running - unruly - heldRunning
	if budget := float64(f.AllocatedW)/max(plan.PUE, 1) - unrulyW - heldW; limit > 0 {
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
	// Miners that woke by themselves go to sleep first: a miner the plan has asleep
	// stays asleep, rather than another being put to sleep in its place.
	if len(a.woke) > 0 {
		woke := map[string]bool{}
		for _, w := range a.woke {
			woke[w.address] = true
		}
		slices.SortStableFunc(healthyAwake, func(x, y *Device) int {
			switch {
			case woke[x.Address] == woke[y.Address]:
				return 0
			case woke[x.Address]:
				return 1
			}
			return -1
		})
	}
	switch {
	case len(healthyAwake) > target:
		for _, d := range healthyAwake[target:] {
			cmds = append(cmds, Command{Address: d.Address, Action: ActionSleep})
		}
		healthyAwake = healthyAwake[:target]
	case len(healthyAwake) < target && !expired:
		// Healthy miners wake first; then those whose last command failed while they
		// slept (a wake not verified in time, on a busy site): one that wakes now is
		// healthy again, and none is left asleep for good by one slow read-back.
		asleep := append(healthyAsleep, unrulyAsleep...)
		for _, d := range asleep[:min(target-len(healthyAwake), len(asleep))] {
			cmds = append(cmds, Command{Address: d.Address, Action: ActionWake})
		}
	}
	// Running machines take the plan's power setting.
	if f.StockW <= 0 || limit <= 0 {
		return cmds
	}
	// A miner whose power setting was not verified in time runs at a setting not known:
	// while the fleet runs whole (else it is asked to sleep, above) it is given the
	// plan's again, counted at stock until one is verified.
	for _, d := range unrulyAwake {
		if d.failed == ActionPower && f.Running >= f.Machines && !expired {
			cmds = append(cmds, Command{Address: d.Address, Action: ActionPower, LimitW: limit, StockW: f.StockW})
		}
	}
	limits := mixLimits(a.settings[f.Fleet], limit, healthyAwake)
	for i, d := range healthyAwake {
		current := d.LimitW
		if current == 0 {
			current = f.StockW
		}
		if current == limits[i] || (limits[i] > current && expired) {
			continue
		}
		cmds = append(cmds, Command{Address: d.Address, Action: ActionPower, LimitW: limits[i], StockW: f.StockW})
	}
	return cmds
}

// mixLimits gives each running miner of a fleet a power setting so that together
// they draw at most limit each on average and as close to it as the firmware allows.
// Firmware with fixed settings (ascending in settings) would take the one below limit
// on every miner and leave the rest of the allocation unused: instead the miners take
// the two settings around limit, as many at the higher as keeps the sum within
// len(devs) × limit. The miners already at the higher setting keep it, so a plan that
// does not change sends no command. Without fixed settings, or with limit outside
// them, every miner gets limit. The order of devs is changed.
func mixLimits(settings []joule.Watts, limit joule.Watts, devs []*Device) []joule.Watts {
	out := make([]joule.Watts, len(devs))
	for i := range out {
		out[i] = limit
	}
	i, exact := slices.BinarySearch(settings, limit)
	if exact || i == 0 || i == len(settings) {
		return out
	}
	lo, hi := settings[i-1], settings[i]
	high := int(int64(len(devs)) * int64(limit-lo) / int64(hi-lo))
	slices.SortStableFunc(devs, func(a, b *Device) int {
		switch {
		case a.LimitW == hi && b.LimitW != hi:
			return -1
		case b.LimitW == hi && a.LimitW != hi:
			return 1
		}
		return 0
	})
	for i := range out {
		out[i] = lo
		if i < high {
			out[i] = hi
		}
	}
	return out
}

// apply updates beliefs from results: verified commands change state; failed ones
// leave the device unhealthy, and a miner that failed to sleep counted awake.
func (a *Agent) apply(results []Result) {
	a.mu.Lock()
	defer a.mu.Unlock()
	byAddr := a.byAddress()
	now := a.now()
	for _, r := range results {
		d := byAddr[r.Address]
		if d == nil {
			continue
		}
		d.Healthy = r.Verified
		if r.PowerKnown {
			d.PowerW, d.PowerKnown = r.PowerW, true
		}
		if r.State != "" {
			d.State, d.ReadAt = r.State, now
		}
		if !r.Verified {
			d.failed, d.Detail = r.Action, string(r.Action)+": "+r.Err
			if r.Action == ActionSleep {
				d.Awake = true // not verified asleep: assume it still draws power
			}
			continue
		}
		d.failed, d.Detail = "", ""
		switch r.Action {
		case ActionPower:
			d.LimitW = r.LimitW
		case ActionReboot, ActionPool:
			// Neither asks for a state: the device is as its reading shows it, and a
			// restarted one at its firmware's setting, which the plan sets again.
			switch r.State {
			case joule.StateRunning:
				d.Awake = true
			case joule.StateSleeping, joule.StateOff:
				d.Awake = false
			}
			if r.Action == ActionReboot {
				d.LimitW = 0
			}
		default:
			d.Awake = r.Action == ActionWake
			if d.Awake {
				d.LimitW = 0 // firmware wakes at its last setting; the plan sets it again
			}
		}
	}
}

// byAddress indexes the devices by address; the caller holds a.mu.
func (a *Agent) byAddress() map[string]*Device {
	m := make(map[string]*Device, len(a.devices))
	for _, d := range a.devices {
		m[d.Address] = d
	}
	return m
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

func (a *Agent) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Agent) logf(format string, args ...any) {
	if a.Log != nil {
		a.Log.Info(fmt.Sprintf(format, args...), "site", a.Site)
	}
}

func (a *Agent) warnf(format string, args ...any) {
	if a.Log != nil {
		a.Log.Warn(fmt.Sprintf(format, args...), "site", a.Site)
	}
}
