package agent

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/joule-site/joule"
)

// Meter reads the site's power at its feed: the meter package's Modbus reader.
type Meter interface {
	PowerW(ctx context.Context) (joule.Watts, error)
}

// Meter checks: a step's commands moved the devices' reported power by some amount; the
// meter must have moved by at least meterShare of it, less meterSlack of the site's
// draw for loads that changed on their own meanwhile (tenants' GPU work, fans).
const (
	meterShare = 0.9
	meterSlack = 0.01
	// meterSecondRead is the wait before a second reading when there is no earlier one
	// to tell whether the meter holds steady.
	meterSecondRead = 500 * time.Millisecond
)

// meterCheck compares the meter's change over a step's commands with the change the
// devices reported: a miner that says it sleeps but draws full power (its telemetry
// lies) shows as a meter that did not drop. before holds each commanded device's
// power as last read before the step (devices whose power was never read are left
// out); meterBefore and meterAfter are the meter's readings around the commands, and
// drift how far it moved on its own between the previous step and this one.
//
// Only a step that lowers power on a steady site is judged. A device that wakes says
// it runs while it still ramps up for tens of seconds, so its reading, and the meter's
// change, depend on when each is taken; and a site whose meter moves on its own has
// machines still ramping from an earlier step.
func meterCheck(seq int64, at time.Time, before map[string]joule.Watts, results []Result, meterBefore, meterAfter, drift joule.Watts) *joule.MeterCheck {
	c := &joule.MeterCheck{At: at, Seq: seq, MeterDeltaW: meterAfter - meterBefore}
	var rose int
	for _, r := range results {
		was, ok := before[r.Address]
		if !r.Verified || !r.PowerKnown || !ok {
			continue
		}
		c.ReportedDeltaW += r.PowerW - was
		c.Devices++
		if r.PowerW > was {
			rose++
		}
	}
	slack := joule.Watts(meterSlack * float64(max(meterBefore, meterAfter)))
	c.Detail = fmt.Sprintf("site meter moved %s, %d devices reported %s", signed(c.MeterDeltaW), c.Devices, signed(c.ReportedDeltaW))
	switch {
	case rose > 0:
		c.Detail += fmt.Sprintf("; not judged: %d devices rose in power and may still be ramping", rose)
	case drift > slack || drift < -slack:
		c.Detail += fmt.Sprintf("; not judged: the meter moved %s on its own since the last step", signed(drift))
	case c.ReportedDeltaW >= 0:
		c.Detail += "; nothing to judge"
	default:
		c.Judged = true
		if c.MeterDeltaW > joule.Watts(meterShare*float64(c.ReportedDeltaW))+slack {
			c.Mismatch = true
			c.Detail = fmt.Sprintf("site meter moved %s while %d devices reported %s: devices that report less power than before still draw it",
				signed(c.MeterDeltaW), c.Devices, signed(c.ReportedDeltaW))
		}
	}
	return c
}

// signed writes a change of power with its sign.
func signed(w joule.Watts) string {
	if w >= 0 {
		return "+" + w.String()
	}
	return "-" + (-w).String()
}

// beforeCommands reads, when the site has a meter, each commanded device's power as
// last read and the meter, for the check after the commands, with how far the meter
// moved since its previous reading. metered is false without a meter or when it did
// not answer.
func (a *Agent) beforeCommands(ctx context.Context, miners, gpus []Command) (power map[string]joule.Watts, meterW, drift joule.Watts, metered bool) {
	if a.Meter == nil {
		return nil, 0, 0, false
	}
	a.mu.Lock()
	prev := a.meter
	byAddr := a.byAddress()
	power = make(map[string]joule.Watts, len(miners)+len(gpus))
	for _, c := range append(slices.Clip(miners), gpus...) {
		if d := byAddr[c.Address]; d != nil && d.PowerKnown && d.State != joule.StateUnknown {
			power[c.Address] = d.PowerW
		}
	}
	a.mu.Unlock()
	meterW, err := a.readMeter(ctx)
	if err != nil {
		return nil, 0, 0, false
	}
	if prev == nil || prev.Err != "" {
		// No reading to compare with (the agent's first step, or the meter was down):
		// a second one shortly after tells whether the site holds steady.
		prev = &joule.MeterReading{PowerW: meterW}
		if !sleepCtx(ctx, meterSecondRead) {
			return nil, 0, 0, false
		}
		if meterW, err = a.readMeter(ctx); err != nil {
			return nil, 0, 0, false
		}
	}
	return power, meterW, meterW - prev.PowerW, true
}

// checkMeter reads the meter after the commands and compares its change with the
// devices' (see meterCheck); nil when the meter did not answer.
func (a *Agent) checkMeter(ctx context.Context, seq int64, before map[string]joule.Watts, results []Result, meterBefore, drift joule.Watts) *joule.MeterCheck {
	after, err := a.readMeter(ctx)
	if err != nil {
		return nil
	}
	c := meterCheck(seq, a.now(), before, results, meterBefore, after, drift)
	if c.Mismatch {
		a.warnf("%s", c.Detail)
	}
	a.mu.Lock()
	a.meter.Check = c
	a.mu.Unlock()
	return c
}

// readMeter reads the meter once (the meter bounds a reading by its own timeout) and
// keeps the reading, or why there is none, for the census, with the newest check.
func (a *Agent) readMeter(ctx context.Context) (joule.Watts, error) {
	w, err := a.Meter.PowerW(ctx)
	r := &joule.MeterReading{At: a.now(), PowerW: w}
	if err != nil {
		r.PowerW, r.Err = 0, err.Error()
		a.logf("site meter: %v", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.meter != nil {
		r.Check = a.meter.Check
	}
	a.meter = r
	return r.PowerW, err
}
