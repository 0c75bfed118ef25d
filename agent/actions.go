package agent

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"time"

	"github.com/joule-site/joule"
)

// ActionSource is a Server that also hands the agent operators' bulk actions and the
// holds they put on devices (the API client does). The agent fetches them every step,
// carries each action out once, and reports what became of it.
type ActionSource interface {
	PendingActions(ctx context.Context, site string) (*joule.PendingActions, error)
	ReportAction(ctx context.Context, site string, id int64, r joule.DeviceActionResult) error
}

// Rebooter is a driver that can restart a device (its miner software or its host).
type Rebooter interface {
	Reboot(ctx context.Context, addr string) error
}

// PoolSwitcher is a driver that can make a miner hash for a pool, adding the pool
// when the miner does not list it.
type PoolSwitcher interface {
	SwitchPool(ctx context.Context, addr, url, user string) error
}

// actions carries out the operators' actions the server holds for the site, before the
// step follows its plan: each device named gets its command through the executor,
// written ahead to the audit log like a plan's and verified by telemetry, and the
// result goes back to the server. It keeps the holds the server lists, which the plan
// then works around (minerCommands). An action whose result the server did not take
// is not carried out again; its result is sent again next step.
func (a *Agent) actions(ctx context.Context) {
	src, ok := a.Server.(ActionSource)
	if !ok {
		return
	}
	p, err := src.PendingActions(ctx, a.Site)
	if err != nil {
		a.warnf("operator actions not fetched, keeping %d holds: %v", len(a.holds), err)
		return
	}
	holds := make(map[string]joule.DeviceHold, len(p.Holds))
	for _, h := range p.Holds {
		holds[h.Address] = h
	}
	a.mu.Lock()
	a.holds = holds
	a.mu.Unlock()
	for _, act := range p.Actions {
		if ctx.Err() != nil {
			return
		}
		res, done := a.actionsDone[act.ID]
		if !done {
			var ran bool
			if res, ran = a.runAction(ctx, act); !ran {
				continue // its intent is not recorded: nothing was sent, try next step
			}
			if a.actionsDone == nil {
				a.actionsDone = map[int64]joule.DeviceActionResult{}
			}
			a.actionsDone[act.ID] = res
		}
		switch err := src.ReportAction(ctx, a.Site, act.ID, res); {
		case err == nil, joule.ErrorCode(err) == joule.ECONFLICT:
			delete(a.actionsDone, act.ID)
		default:
			a.warnf("action %d: result not taken, sent again next step: %v", act.ID, err)
		}
	}
}

// actionCommand is the command an action asks of one device.
func actionCommand(act *joule.DeviceAction, addr string, stock joule.Watts) Command {
	c := Command{Address: addr}
	switch act.Kind {
	case joule.ActionKindSleep:
		c.Action = ActionSleep
	case joule.ActionKindWake:
		c.Action = ActionWake
	case joule.ActionKindPower:
		c.Action, c.LimitW, c.StockW = ActionPower, act.LimitW, stock
	case joule.ActionKindReboot:
		c.Action = ActionReboot
	case joule.ActionKindPool:
		c.Action, c.PoolURL, c.PoolUser = ActionPool, act.PoolURL, act.PoolUser
	}
	return c
}

// runAction sends one action's commands to the miners it names and waits for their
// verification. ran is false when the commands' audit rows could not be recorded, and
// nothing was sent.
func (a *Agent) runAction(ctx context.Context, act *joule.DeviceAction) (res joule.DeviceActionResult, ran bool) {
	now := a.now()
	a.mu.Lock()
	byAddr := a.byAddress()
	stock := map[string]joule.Watts{}
	if a.last != nil {
		for _, f := range a.last.Fleets {
			stock[f.Fleet] = f.StockW
		}
	}
	a.mu.Unlock()
	var cmds []Command
	var devs []*Device
	for _, addr := range act.Addresses {
		d := byAddr[addr]
		if d == nil || d.Kind != joule.KindASIC {
			res.Failed++
			res.Sent++
			a.addFailure(&res, addr, "not a miner this agent found")
			continue
		}
		cmds = append(cmds, actionCommand(act, addr, stock[d.Fleet]))
		devs = append(devs, d)
	}
	reason := fmt.Sprintf("operator action %d", act.ID)
	var intent []*joule.Audit
	for _, c := range cmds {
		intent = append(intent, &joule.Audit{Site: a.Site, At: now, Kind: joule.AuditCommand, Device: c.Address, Outcome: joule.OutcomeOK,
			Reason: reason, Actor: joule.ActorAgent, Detail: fmt.Sprintf("%s (action %d by %s)", c.Action, act.ID, act.By)})
	}
	a.keyActionRows(act.ID, 0, intent)
	if len(intent) > 0 && !a.recordIntent(ctx, intent) {
		return res, false
	}
	var events []*joule.Audit
	var mu sync.Mutex
	results := a.Executor.Run(ctx, cmds, func(r Result) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, a.resultRows(0, reason, now, r)...)
	})
	a.apply(results)
	// A full reading of each device afterwards, for the device table: the verification
	// read only what it needed.
	a.read(ctx, devs)
	for _, r := range results {
		res.Sent++
		if r.Verified {
			res.Verified++
			continue
		}
		res.Failed++
		a.addFailure(&res, r.Address, r.Err)
	}
	a.keyActionRows(act.ID, len(intent), events)
	a.recordAfter(ctx, events)
	a.logf("action %d (%s by %s): %d sent, %d verified, %d failed", act.ID, act.Kind, act.By, res.Sent, res.Verified, res.Failed)
	return res, true
}

// addFailure names a failed device in res, up to joule.MaxActionFailures.
func (a *Agent) addFailure(res *joule.DeviceActionResult, addr, why string) {
	if len(res.Failures) < joule.MaxActionFailures {
		res.Failures = append(res.Failures, joule.ActionFailure{Address: addr, Error: clip(why, joule.MaxAuditDetailBytes)})
	}
}

// resultRows are the audit rows of one command's result: its acknowledgement, when it
// was, and its verification or failure.
func (a *Agent) resultRows(seq int64, reason string, sentAt time.Time, r Result) []*joule.Audit {
	var rows []*joule.Audit
	if r.Acked {
		rows = append(rows, &joule.Audit{Site: a.Site, At: sentAt.Add(r.AckAfter), Kind: joule.AuditAck, Seq: seq, Device: r.Address, Reason: reason,
			Outcome: joule.OutcomeOK, Actor: joule.ActorAgent, Detail: fmt.Sprintf("%s accepted after %s", r.Action, r.AckAfter.Round(time.Millisecond))})
	}
	e := &joule.Audit{Site: a.Site, At: a.Now(), Kind: joule.AuditVerify, Seq: seq, Device: r.Address, Reason: reason, Outcome: joule.OutcomeOK, Actor: joule.ActorAgent,
		Detail: fmt.Sprintf("%s verified after %s", r.Action, r.VerifyAt.Round(time.Millisecond))}
	if r.PowerKnown {
		e.Detail += fmt.Sprintf(", drawing %s", r.PowerW)
	}
	if !r.Verified {
		e.Outcome, e.Reason, e.Detail = joule.OutcomeFailed, r.Err, "FAILED: "+r.Err
	}
	return append(rows, e)
}

// keyActionRows gives an action's audit rows their keys: this run of the agent, the
// action and the row.
func (a *Agent) keyActionRows(id int64, n int, rows []*joule.Audit) {
	if a.Instance == "" {
		a.Instance = rand.Text()
	}
	for i, r := range rows {
		r.Key = fmt.Sprintf("%s/action-%d/%d", a.Instance, id, n+i)
		r.Detail = clip(r.Detail, joule.MaxAuditDetailBytes)
		r.Reason = clip(r.Reason, joule.MaxAuditFieldBytes)
	}
}

// Holds returns the devices held out of dispatch by operators' actions, as last
// fetched, by address.
func (a *Agent) Holds() map[string]joule.DeviceHold {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]joule.DeviceHold, len(a.holds))
	for k, v := range a.holds {
		out[k] = v
	}
	return out
}
