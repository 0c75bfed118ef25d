package agent

import (
	"context"
	"time"

	"github.com/joule-site/joule"
)

// Census returns the agent's census of the site's devices as their last readings and
// commands show them: per fleet of the newest plan (or, before one, of discovery), the
// machines declared and found, counts by state — a device that does not answer or did
// not obey counts as unknown — the power they last reported, and up to
// joule.MaxReportedProblems devices that are not healthy; and the site meter's newest
// reading, when the agent reads one.
func (a *Agent) Census() *joule.DeviceReport {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := &joule.DeviceReport{Site: a.Site, At: a.now(), Fleets: []joule.FleetCensus{}, Problems: []joule.DeviceStatus{}}
	if a.meter != nil {
		m := *a.meter
		r.Meter = &m
	}
	var fleets []joule.FleetTarget
	if a.last != nil {
		fleets = a.last.Fleets
	} else {
		fleets = append(fleets, a.declared[joule.KindASIC]...)
		fleets = append(fleets, a.declared[joule.KindGPUServer]...)
	}
	index := make(map[string]int, len(fleets))
	for _, f := range fleets {
		index[f.Fleet] = len(r.Fleets)
		r.Fleets = append(r.Fleets, joule.FleetCensus{Fleet: f.Fleet, Kind: f.Kind, Machines: f.Machines})
	}
	for _, d := range a.devices {
		i, ok := index[d.Fleet]
		if !ok {
			continue
		}
		c := &r.Fleets[i]
		c.Found++
		state := d.State
		if !d.Healthy {
			state = joule.StateUnknown
		}
		switch state {
		case joule.StateRunning:
			c.Running++
		case joule.StateSleeping:
			c.Sleeping++
		case joule.StateRamping:
			c.Ramping++
		case joule.StateOff:
			c.Off++
		default:
			c.Unknown++
		}
		if d.PowerKnown && d.State != joule.StateUnknown {
			c.PowerW += d.PowerW
			c.Reported++
		}
		if !d.Healthy && len(r.Problems) < joule.MaxReportedProblems {
			p := joule.DeviceStatus{Address: d.Address, Fleet: d.Fleet, State: d.State, Detail: d.Detail}
			if d.PowerKnown && d.State != joule.StateUnknown {
				p.PowerW = d.PowerW
			}
			r.Problems = append(r.Problems, p)
		}
	}
	return r
}

// report sends the step's samples and the census to a server that takes them, with a meter reading taken since
// the step began at since (the one after its commands, or a fresh one).
func (a *Agent) report(ctx context.Context, since time.Time) {
	a.sendTelemetry(ctx)
	rep, ok := a.Server.(DeviceReporter)
	if !ok || ctx.Err() != nil {
		return
	}
	if a.Meter != nil {
		a.mu.Lock()
		stale := a.meter == nil || a.meter.At.Before(since)
		a.mu.Unlock()
		if stale {
			_, _ = a.readMeter(ctx) // a failure goes in the census
		}
	}
	if err := rep.ReportDevices(ctx, a.Site, a.Census()); err != nil {
		a.logf("device census: %v", err)
	}
}
