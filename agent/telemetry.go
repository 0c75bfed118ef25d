package agent

import (
	"context"
	"sync"

	"github.com/joule-site/joule"
)

// defaultRefreshSteps: every device is read once over this many steps.
const defaultRefreshSteps = 12

// refresh reads, before the plan is carried out, every device that failed (to know
// what it draws now) and a rolling slice of the others (so that the census is current
// and a device that changed by itself is seen): about 1/RefreshSteps of the fleet per
// step, at most each executor's Concurrency at once.
func (a *Agent) refresh(ctx context.Context) {
	a.mu.Lock()
	var due []*Device
	for _, d := range a.devices {
		if !d.Healthy {
			due = append(due, d)
		}
	}
	if n := len(a.devices); n > 0 {
		steps := a.RefreshSteps
		if steps <= 0 {
			steps = defaultRefreshSteps
		}
		k := (n + steps - 1) / steps
		for i := range k {
			if d := a.devices[(a.cursor+i)%n]; d.Healthy {
				due = append(due, d)
			}
		}
		a.cursor = (a.cursor + k) % n
	}
	a.mu.Unlock()
	a.read(ctx, due)
}

// read reads the devices' telemetry, each through its kind's executor, and updates
// beliefs. A device that does not answer becomes unhealthy and keeps its last belief
// of whether it runs; one that answers is healthy again unless it failed a command it
// still has not carried out, and a failed one that answers ramping counts awake.
func (a *Agent) read(ctx context.Context, devs []*Device) {
	var wg sync.WaitGroup
	for _, kind := range []joule.HardwareKind{joule.KindASIC, joule.KindGPUServer} {
		ex := a.executorFor(kind)
		var these []*Device
		for _, d := range devs {
			if d.Kind == kind {
				these = append(these, d)
			}
		}
		if ex == nil || len(these) == 0 {
			continue
		}
		read := ex.Driver.Status
		if ps, ok := ex.Driver.(PowerStater); ok {
			read = ps.PowerState
		}
		wg.Go(func() {
			ex.each(len(these), func(i int) {
				d := these[i]
				cctx, cancel := context.WithTimeout(ctx, ex.Timeout)
				t, err := read(cctx, d.Address)
				cancel()
				if ctx.Err() != nil {
					return // the agent is stopping: a reading cut short says nothing of the device
				}
				a.mu.Lock()
				defer a.mu.Unlock()
				if err != nil || t.State == joule.StateUnknown {
					d.Healthy, d.State = false, joule.StateUnknown
					if err != nil {
						d.Detail = "not answering: " + err.Error()
					} else {
						d.Detail = "telemetry says nothing of its state"
					}
					return
				}
				d.observe(t, a.now())
				switch {
				case d.failed == "" || carriedOut(d.failed, t.State):
					// A command whose read-back came too late shows now as done.
					d.failed, d.Healthy, d.Detail = "", true, ""
				case t.State == joule.StateRamping:
					d.Awake = true
				}
			})
		})
	}
	wg.Wait()
}

// carriedOut reports whether a device showing state has done what a failed command
// asked: asleep (or off) after a sleep, off after a power-off, running after a wake. A power setting cannot
// be told from the state, and stays failed until a command verifies it.
func carriedOut(a Action, state joule.DeviceState) bool {
	switch a {
	case ActionSleep:
		return state == joule.StateSleeping || state == joule.StateOff
	case ActionOff:
		return state == joule.StateOff
	case ActionWake:
		return state == joule.StateRunning
	}
	return false
}

// executorFor returns the executor that commands devices of a kind.
func (a *Agent) executorFor(kind joule.HardwareKind) *Executor {
	if kind == joule.KindGPUServer {
		return a.GPU
	}
	return a.Executor
}
