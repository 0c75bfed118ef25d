package agent

import (
	"context"
	"fmt"

	"github.com/joule-site/joule"
)

// poolRowBase numbers the pool guard's audit rows within a step apart from the plan's,
// so that their keys never meet.
const poolRowBase = 1 << 30

// offPool records what a reading showed of a miner's pool: the URL it hashes for when
// that is not one of its fleet's pools, "" otherwise; a.mu is held.
func (a *Agent) offPool(d *Device, t *joule.Telemetry) {
	allowed := a.Pools[d.Fleet]
	p := t.ActivePool()
	if len(allowed) == 0 || p == nil {
		d.offPool = ""
		return
	}
	f := joule.Fleet{Pools: allowed}
	if f.AllowsPool(p.URL) {
		d.offPool = ""
		return
	}
	d.offPool = p.URL
}

// guardPools switches every miner that a reading found on a pool its fleet does not
// list back to the fleet's first pool: a command like any other, written ahead to the
// audit log, acknowledged, and verified by reading the miner back. A driver that
// cannot switch pools leaves the miners as they are (the alert still fires).
func (a *Agent) guardPools(ctx context.Context, step, seq int64) {
	sw, ok := a.Executor.Driver.(PoolSwitcher)
	a.mu.Lock()
	var due []*Device
	for _, d := range a.devices {
		if d.Kind == joule.KindASIC && d.offPool != "" && len(a.Pools[d.Fleet]) > 0 {
			due = append(due, d)
		}
	}
	a.mu.Unlock()
	if len(due) == 0 || !ok {
		return
	}
	now := a.now()
	intent := make([]*joule.Audit, 0, len(due))
	for _, d := range due {
		intent = append(intent, &joule.Audit{Site: a.Site, At: now, Kind: joule.AuditCommand, Seq: seq, Device: d.Address, Outcome: joule.OutcomeOK,
			Reason: "pool guard", Actor: joule.ActorAgent,
			Detail: fmt.Sprintf("switch pool to %s: it hashes for %s, not one of fleet %s's pools", a.Pools[d.Fleet][0], d.offPool, d.Fleet)})
	}
	a.keyRows(step, poolRowBase, intent)
	if !a.recordIntent(ctx, intent) {
		return
	}
	ex := a.Executor
	events := make([]*joule.Audit, 2*len(due))
	ex.each(len(due), func(i int) {
		d := due[i]
		to := a.Pools[d.Fleet][0]
		cctx, cancel := context.WithTimeout(ctx, ex.Timeout)
		defer cancel()
		verify := &joule.Audit{Site: a.Site, Kind: joule.AuditVerify, Seq: seq, Device: d.Address, Outcome: joule.OutcomeOK, Actor: joule.ActorAgent}
		if err := sw.SwitchPool(cctx, d.Address, to, ""); err != nil {
			verify.At, verify.Outcome, verify.Reason, verify.Detail = a.now(), joule.OutcomeFailed, err.Error(), "FAILED: switch pool: "+err.Error()
			events[2*i+1] = verify
			return
		}
		events[2*i] = &joule.Audit{Site: a.Site, At: a.now(), Kind: joule.AuditAck, Seq: seq, Device: d.Address, Outcome: joule.OutcomeOK,
			Actor: joule.ActorAgent, Detail: "switch pool to " + to + " accepted"}
		t, err := ex.Driver.Status(cctx, d.Address)
		verify.At = a.now()
		switch p := activePool(t, err); {
		case err != nil:
			verify.Outcome, verify.Reason, verify.Detail = joule.OutcomeFailed, err.Error(), "FAILED: switch pool: not answering: "+err.Error()
		case (&joule.Fleet{Pools: a.Pools[d.Fleet]}).AllowsPool(p):
			verify.Detail = "switch pool verified: hashing for " + p
			a.mu.Lock()
			d.offPool = ""
			a.mu.Unlock()
		default:
			verify.Outcome, verify.Reason = joule.OutcomeFailed, "still on another pool"
			verify.Detail = fmt.Sprintf("FAILED: switch pool: it hashes for %q after switchpool", p)
		}
		events[2*i+1] = verify
	})
	var rows []*joule.Audit
	for _, e := range events {
		if e != nil {
			rows = append(rows, e)
		}
	}
	a.keyRows(step, poolRowBase+len(intent), rows)
	a.recordAfter(ctx, rows)
}

// activePool is the URL of the pool a reading shows in use, "" for none or no reading.
func activePool(t *joule.Telemetry, err error) string {
	if err != nil || t == nil || t.ActivePool() == nil {
		return ""
	}
	return t.ActivePool().URL
}
