// Package agent runs next to a site's devices, miners and GPU servers: it finds them,
// reads their telemetry, carries out the dispatch plan with bounded concurrency and
// retries, and verifies by telemetry that power really moved — an accepted command is
// not a curtailment. A device that answers garbage, hangs or closes early costs that
// device, never the agent. After every step it sends the server a census of the
// devices by fleet and state, from telemetry it reads a rolling slice of each step.
package agent

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/joule-site/joule"
)

// Driver talks to one kind of device by address. The cgminer client and the GPU
// server client implement it.
type Driver interface {
	// Status reads the device's telemetry.
	Status(ctx context.Context, addr string) (*joule.Telemetry, error)
	// Sleep curtails the device (hash boards off, or GPUs idle); Wake resumes it.
	Sleep(ctx context.Context, addr string) error
	Wake(ctx context.Context, addr string) error
	// SetPower sets a running device to draw at most limit (stock is its stock power).
	SetPower(ctx context.Context, addr string, limit, stock joule.Watts) error
}

// PowerStater is a driver with a cheaper reading than Status that still tells whether
// a device runs or sleeps and what it draws; verification uses it when there is one.
type PowerStater interface {
	PowerState(ctx context.Context, addr string) (*joule.Telemetry, error)
}

// PowerOffer is a driver that can power a device down whole (a GPU server's host),
// beyond the sleep of Sleep.
type PowerOffer interface {
	PowerOff(ctx context.Context, addr string) error
}

// Action is what a command asks a device to do.
type Action string

// Actions.
const (
	ActionSleep Action = "sleep"
	ActionWake  Action = "wake"
	ActionPower Action = "power" // set the power setting of a running device
	ActionOff   Action = "off"   // power a device down whole (drivers that are PowerOffers)
	// ActionReboot restarts a device (drivers that are Rebooters): done when it answers
	// again with an uptime shorter than the time since the command.
	ActionReboot Action = "reboot"
	// ActionPool makes a miner hash for PoolURL (drivers that are PoolSwitchers): done
	// when it reads back with that pool in use.
	ActionPool Action = "pool"
)

// Command asks one device to act.
type Command struct {
	Address string      `json:"address"`
	Action  Action      `json:"action"`
	LimitW  joule.Watts `json:"limit_w,omitempty"` // ActionPower: the most it may draw
	StockW  joule.Watts `json:"stock_w,omitempty"` // ActionPower: its stock power
	// PoolURL and PoolUser are ActionPool's pool and the worker name it knows.
	PoolURL  string `json:"pool_url,omitempty"`
	PoolUser string `json:"pool_user,omitempty"`
}

// Result is what became of one command: when it was acknowledged and when telemetry
// showed it done.
type Result struct {
	Command
	Attempts   int           `json:"attempts"`
	Acked      bool          `json:"acked"`
	AckAfter   time.Duration `json:"ack_after_ns"`
	Verified   bool          `json:"verified"`
	VerifyAt   time.Duration `json:"verified_after_ns"`
	PowerW     joule.Watts   `json:"power_w"` // last reading, when the device reports power
	PowerKnown bool          `json:"power_known"`
	// State is what the last reading showed; empty when the device was never read back.
	State joule.DeviceState `json:"state,omitempty"`
	Err   string            `json:"error,omitempty"`
}

// Executor carries out commands with bounded concurrency, retries and verification.
type Executor struct {
	Driver      Driver
	Concurrency int           // commands in flight at once
	Retries     int           // further attempts after a failed one
	Backoff     time.Duration // wait before a retry, doubling each time
	// Timeout bounds each call to a device; VerifyTimeout the wait for telemetry to
	// show the command done, polling every PollInterval.
	// Sleeping takes seconds and waking tens of seconds, so a sleep gets at most
	// SleepVerifyTimeout when it is shorter.
	Timeout            time.Duration
	VerifyTimeout      time.Duration
	SleepVerifyTimeout time.Duration
	PollInterval       time.Duration
	// Settle is how long after its acknowledgement a device is first read back: a
	// miner takes about a second to fall asleep, and reading it sooner only costs.
	Settle time.Duration
	Now    func() time.Time
}

// DefaultExecutor returns an executor with settings fit for a LAN of miners.
func DefaultExecutor(d Driver) *Executor {
	return &Executor{Driver: d, Concurrency: 256, Retries: 2, Backoff: 200 * time.Millisecond,
		Timeout: 3 * time.Second, VerifyTimeout: 90 * time.Second, SleepVerifyTimeout: 10 * time.Second, PollInterval: 500 * time.Millisecond,
		Settle: time.Second, Now: time.Now}
}

// DefaultGPUExecutor returns an executor with settings fit for a site's GPU servers on
// their control API: fewer of them, each change effective at once (idle, serve, cap),
// so no settling time, but a powered-off host takes minutes to boot and serve again.
func DefaultGPUExecutor(d Driver) *Executor {
	return &Executor{Driver: d, Concurrency: 64, Retries: 2, Backoff: 200 * time.Millisecond,
		Timeout: 3 * time.Second, VerifyTimeout: 5 * time.Minute, SleepVerifyTimeout: 30 * time.Second, PollInterval: time.Second,
		Now: time.Now}
}

// Run carries out every command and returns their results in the same order: first
// it sends them all (at most Concurrency at once, retrying), then it polls the
// telemetry of every acknowledged device in rounds until each shows the command done.
// Polling in rounds keeps a slow ramp (a miner takes a second to sleep and half a
// minute to wake) from holding a slot. onResult, when set, is called as each result
// is final, from several goroutines at once.
//
// A command fails verification only on a reading taken after its deadline
// (SleepVerifyTimeout for sleeps and power settings, VerifyTimeout for wakes, from
// when the last command was acknowledged and settled): one that answers then and
// still does not show the command done did not obey; one that does not answer is read
// again, up to Retries more times past the deadline, before it fails as not
// answering. The deadline is thus never shorter than the time the fleet takes to be
// read back: on a slow machine, or a fleet so large that one round of reads outlasts
// the deadline, every device is still read after it, and a device that obeyed ends
// verified however late its turn came.
func (e *Executor) Run(ctx context.Context, cmds []Command, onResult func(Result)) []Result {
	results := make([]Result, len(cmds))
	start := e.Now()
	e.each(len(cmds), func(i int) {
		results[i] = e.send(ctx, cmds[i], start)
		if !results[i].Acked && onResult != nil {
			onResult(results[i])
		}
	})
	pending := make([]int, 0, len(cmds))
	for i := range results {
		if results[i].Acked {
			pending = append(pending, i)
		}
	}
	// Verification time counts from when the last command was acknowledged and given
	// time to settle: every device is read back at least once.
	var lastAck time.Duration
	for _, r := range results {
		lastAck = max(lastAck, r.AckAfter)
	}
	settled := start.Add(lastAck + e.Settle)
	deadline := settled.Add(e.VerifyTimeout)
	sleepDeadline := deadline
	if e.SleepVerifyTimeout > 0 && e.SleepVerifyTimeout < e.VerifyTimeout {
		sleepDeadline = settled.Add(e.SleepVerifyTimeout)
	}
	deadlineOf := func(r *Result) time.Time {
		if r.Action == ActionWake || r.Action == ActionReboot || r.Action == ActionPool {
			return deadline
		}
		return sleepDeadline
	}
	// lateMisses counts, per command, the readings past its deadline that got no
	// answer.
	lateMisses := make(map[int]int)
	for len(pending) > 0 {
		var mu sync.Mutex
		var next, due []int
		now := e.Now()
		for _, i := range pending {
			if now.Sub(start) >= results[i].AckAfter+e.Settle {
				due = append(due, i)
			} else {
				next = append(next, i) // not settled yet: read it in a later round
			}
		}
		e.each(len(due), func(k int) {
			i := due[k]
			r := &results[i]
			late := !e.Now().Before(deadlineOf(r))
			answered, done := e.verify(ctx, r, start)
			if done {
				if onResult != nil {
					onResult(*r)
				}
				return
			}
			if late && answered {
				e.fail(r, onResult) // it answered past its deadline, and has not obeyed
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if late {
				lateMisses[i]++
				if lateMisses[i] > e.Retries {
					e.fail(r, onResult)
					return
				}
			}
			next = append(next, i)
		})
		pending = next
		slices.Sort(pending)
		if len(pending) == 0 || !sleepCtx(ctx, e.PollInterval) {
			break
		}
	}
	for _, i := range pending {
		e.fail(&results[i], onResult)
	}
	return results
}

// fail marks an acknowledged command that telemetry never confirmed.
func (e *Executor) fail(r *Result, onResult func(Result)) {
	switch r.Action {
	case ActionReboot:
		r.Err = "not verified: telemetry did not show the device restarted" + r.Err
	case ActionPool:
		r.Err = "not verified: telemetry did not show the device on " + r.PoolURL + r.Err
	default:
		r.Err = "not verified: telemetry did not show the device " + string(want(r.Action)) + r.Err
	}
	if onResult != nil {
		onResult(*r)
	}
}

// each runs fn(0..n-1) with at most Concurrency running at once, on that many
// workers that take the next index as they finish: a goroutine per device would grow a
// fresh stack through the dial path for each of a hundred thousand.
func (e *Executor) each(n int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(max(e.Concurrency, 1), n) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// send delivers a command, retrying with backoff while it is not acknowledged.
func (e *Executor) send(ctx context.Context, c Command, start time.Time) Result {
	r := Result{Command: c}
	backoff := e.Backoff
	var err error
	for r.Attempts = 1; ; r.Attempts++ {
		cctx, cancel := context.WithTimeout(ctx, e.Timeout)
		switch c.Action {
		case ActionSleep:
			err = e.Driver.Sleep(cctx, c.Address)
		case ActionWake:
			err = e.Driver.Wake(cctx, c.Address)
		case ActionPower:
			err = e.Driver.SetPower(cctx, c.Address, c.LimitW, c.StockW)
		case ActionOff:
			if po, ok := e.Driver.(PowerOffer); ok {
				err = po.PowerOff(cctx, c.Address)
			} else {
				err = joule.Errorf(joule.EINVALID, "%s: this driver cannot power a device off", c.Address)
			}
		case ActionReboot:
			if rb, ok := e.Driver.(Rebooter); ok {
				err = rb.Reboot(cctx, c.Address)
			} else {
				err = joule.Errorf(joule.EINVALID, "%s: this driver cannot reboot a device", c.Address)
			}
		case ActionPool:
			if ps, ok := e.Driver.(PoolSwitcher); ok {
				err = ps.SwitchPool(cctx, c.Address, c.PoolURL, c.PoolUser)
			} else {
				err = joule.Errorf(joule.EINVALID, "%s: this driver cannot switch pools", c.Address)
			}
		default:
			err = joule.Errorf(joule.EINVALID, "unknown action %q", c.Action)
		}
		cancel()
		if err == nil || r.Attempts > e.Retries || ctx.Err() != nil || joule.ErrorCode(err) == joule.EINVALID {
			break
		}
		if !sleepCtx(ctx, backoff) {
			break
		}
		backoff *= 2
	}
	if err != nil {
		r.Err = err.Error()
		return r
	}
	r.Acked, r.AckAfter = true, e.Now().Sub(start)
	return r
}

// verify reads the device once and reports whether it answered and whether it shows
// the command done.
func (e *Executor) verify(ctx context.Context, r *Result, start time.Time) (answered, done bool) {
	cctx, cancel := context.WithTimeout(ctx, e.Timeout)
	read := e.Driver.Status
	if ps, ok := e.Driver.(PowerStater); ok && r.Action != ActionReboot && r.Action != ActionPool {
		read = ps.PowerState // a reboot's uptime and a pool are in the full reading only
	}
	t, err := read(cctx, r.Address)
	cancel()
	if err != nil {
		r.Err = " (last reading: " + err.Error() + ")"
		return false, false
	}
	r.Err = ""
	r.PowerW, r.PowerKnown, r.State = t.PowerW, t.PowerKnown, t.State
	switch r.Action {
	case ActionReboot:
		// Restarted since the command: up for less time than has passed since it
		// (a second's slack for the uptime's rounding).
		if t.State == joule.StateUnknown || t.UptimeS <= 0 || time.Duration(t.UptimeS)*time.Second > e.Now().Sub(start)+time.Second {
			return true, false
		}
		r.Verified, r.VerifyAt = true, e.Now().Sub(start)
		return true, true
	case ActionPool:
		if p := t.ActivePool(); p == nil || p.URL != r.PoolURL {
			return true, false
		}
		r.Verified, r.VerifyAt = true, e.Now().Sub(start)
		return true, true
	}
	if t.State != want(r.Action) {
		return true, false
	}
	// A power setting is done when the device draws no more than it (with 2% for
	// metering), where it reports power at all.
	if r.Action == ActionPower && t.PowerKnown && float64(t.PowerW) > 1.02*float64(r.LimitW) {
		return true, false
	}
	// Where the device reports the limit in force, a cap below stock is done only when
	// that limit is at the cap (a GPU server that draws little may be under it before
	// the limit took hold).
	if r.Action == ActionPower && t.PowerLimitW > 0 && r.StockW > 0 && r.LimitW < r.StockW && float64(t.PowerLimitW) > 1.02*float64(r.LimitW) {
		return true, false
	}
	r.Verified, r.VerifyAt = true, e.Now().Sub(start)
	return true, true
}

// want is the state a command leaves a device in.
func want(a Action) joule.DeviceState {
	switch a {
	case ActionSleep:
		return joule.StateSleeping
	case ActionOff:
		return joule.StateOff
	}
	return joule.StateRunning
}

// sleepCtx waits d or until ctx ends, reporting whether the wait completed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
