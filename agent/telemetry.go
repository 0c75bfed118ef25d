package agent

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

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

// read reads the devices' telemetry, each through its kind's executor, updates
// beliefs and keeps the readings as the step's samples (sendTelemetry). A device that does not answer becomes unhealthy and keeps its last belief
// of whether it runs; one that answers is healthy again unless it failed a command it
// still has not carried out, and a failed one that answers ramping counts awake.
func (a *Agent) read(ctx context.Context, devs []*Device) {
	_, history := a.Server.(TelemetrySender)
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
		// A server that keeps the telemetry history gets full readings (hashrate,
		// temperatures, fans, pools), and so does a site whose pools are guarded;
		// otherwise the cheaper one does.
		read := ex.Driver.Status
		if ps, ok := ex.Driver.(PowerStater); ok && !history && (kind != joule.KindASIC || len(a.Pools) == 0) {
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
					a.samples = append(a.samples, joule.TelemetrySample{Site: a.Site, Address: d.Address, Fleet: d.Fleet, At: a.now(), State: joule.StateUnknown})
					d.Healthy, d.State = false, joule.StateUnknown
					if err != nil {
						d.Detail = "not answering: " + err.Error()
					} else {
						d.Detail = "telemetry says nothing of its state"
					}
					return
				}
				// A miner believed asleep that shows running or booting woke by itself (a
				// restart, a watchdog, a person at the rack): it counts awake, so that the
				// step puts it back to sleep if the plan has it asleep, and is audited.
				asleep := !d.Awake && d.Healthy && d.failed == "" && d.Kind == joule.KindASIC
				d.observe(t, a.now())
				if asleep && (t.State == joule.StateRunning || t.State == joule.StateRamping) {
					d.Awake, d.LimitW = true, 0
					a.woke = append(a.woke, wokeDevice{address: d.Address, state: t.State})
				}
				a.offPool(d, t)
				// The agent's clock stamps the sample, as it stamps its audit rows (a demo's
				// clock runs apart from the firmware's).
				sample := joule.SampleFromTelemetry(a.Site, d.Fleet, t)
				sample.Node = d.Name // a GPU server's, as leases bind it
				sample.Capped = d.Kind == joule.KindGPUServer && d.LimitW > 0 && d.LimitW < a.stockW(d.Fleet)
				sample.At = a.now()
				a.samples = append(a.samples, sample)
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

// telemetrySendTimeout bounds how long a batch of samples may take to reach the server.
const telemetrySendTimeout = 30 * time.Second

// maxHeldSamples bounds the samples held for the sender while a slow server still
// takes the batches before: a few steps of a large site.
const maxHeldSamples = 4 * joule.MaxTelemetryBatch

// sendTelemetry sends the samples this step read to a server that keeps them
// (TelemetrySender), in the background so that no command waits on it: one batch a
// step, split only past joule.MaxTelemetryBatch. A step whose batch finds the one
// before still on its way leaves its samples to the same sender, which sends them
// next (the alert rules judge every poll); past maxHeldSamples the oldest are dropped
// with a log line. A batch the server does not take is dropped with a log line, not
// sent again.
func (a *Agent) sendTelemetry(ctx context.Context) {
	ts, ok := a.Server.(TelemetrySender)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.held = append(a.held, a.samples...)
	a.samples = nil
	if n := len(a.held) - maxHeldSamples; n > 0 {
		a.logf("telemetry: %d samples dropped: the server takes them more slowly than they come", n)
		a.held = slices.Delete(a.held, 0, n)
	}
	if !ok || ctx.Err() != nil {
		a.held = nil
		return
	}
	if a.sending || len(a.held) == 0 {
		return
	}
	a.sending = true
	go func() {
		for {
			a.mu.Lock()
			batch := a.held
			a.held = nil
			if len(batch) == 0 || ctx.Err() != nil {
				a.sending = false
				a.mu.Unlock()
				return
			}
			a.mu.Unlock()
			sctx, cancel := context.WithTimeout(ctx, telemetrySendTimeout)
			for len(batch) > 0 {
				n := min(len(batch), joule.MaxTelemetryBatch)
				if err := ts.AppendTelemetry(sctx, a.Site, batch[:n]); err != nil {
					a.logf("telemetry: %d samples dropped: %v", len(batch), err)
					break
				}
				batch = batch[n:]
			}
			cancel()
		}
	}()
}

// stockW is one machine's stock (nameplate) power in a fleet, as the newest plan
// says; 0 before a plan. a.mu is held.
func (a *Agent) stockW(fleet string) joule.Watts {
	if a.last == nil {
		return 0
	}
	for _, f := range a.last.Fleets {
		if f.Fleet == fleet {
			return f.StockW
		}
	}
	return 0
}

// wokeDevice is a miner a reading found running or booting while the agent believed
// it asleep.
type wokeDevice struct {
	address string
	state   joule.DeviceState
}

// wokeRows are the audit rows of the miners that woke by themselves and that this
// step's commands put back to sleep: during a demand-response event such a miner is
// kept asleep until the event ends. They are taken from a.woke, which is emptied.
func (a *Agent) wokeRows(plan *joule.SitePlan, now time.Time, miners []Command) []*joule.Audit {
	a.mu.Lock()
	woke := a.woke
	a.woke = nil
	a.mu.Unlock()
	sleeping := map[string]bool{}
	for _, c := range miners {
		if c.Action == ActionSleep {
			sleeping[c.Address] = true
		}
	}
	var rows []*joule.Audit
	for _, w := range woke {
		if !sleeping[w.address] {
			continue
		}
		reason, during := "woke by itself", ""
		if plan.Reason == joule.PlanReasonDemandResponse {
			reason, during = "woke during demand response", ", during a demand-response event"
		}
		rows = append(rows, &joule.Audit{Site: a.Site, At: now, Kind: joule.AuditReport, Seq: plan.Seq, Device: w.address,
			Outcome: joule.OutcomeDegraded, Reason: reason, Actor: joule.ActorAgent,
			Detail: fmt.Sprintf("found %s while asleep by the plan%s: put back to sleep", w.state, during)})
	}
	return rows
}
