package cgminer

import (
	"context"
	"errors"
	"math"
	"strings"

	"github.com/joule-site/joule"
)

// idleTHs is the hashrate below which a miner counts as not hashing: 1 GH/s, far below
// any Bitcoin ASIC at work and above the rounding noise of a sleeping one
// (avalon/summary-avalonq.json reads "MHS 5m":0.06 while idle).
const idleTHs = 0.001

// Status reads the miner and normalizes what it says into one reading: firmware,
// model, hashrate in TH/s, power when the firmware reports it, pools, uptime and
// state. It asks for version+summary+pools in one request and falls back to one
// request each for firmware that refuses multi-commands; stats, power, config (LuxOS)
// and status (Whatsminer) are read where the firmware keeps what is needed there.
//
// State is sleeping when the miner does not hash and its firmware says it was put to
// sleep (LuxOS CurtailMode, Whatsminer btmineroff, Avalon SoftOFF, all Antminer chips
// off), running when it hashes or has no such sign, and unknown when no
// hashrate could be read at all. A miner that does not answer is an error.
func (c *Client) Status(ctx context.Context) (*joule.Telemetry, error) {
	at := c.now()
	basics, err := c.readBasics(ctx)
	if err != nil {
		return nil, err
	}
	summary := basics["summary"].firstOr("SUMMARY")
	v := versionOf(basics["version"].firstOr("VERSION"), description(basics))
	v.refine(nil, summary)

	hash, hashOK := hashrateTHs(summary)
	var stats []Object
	if r := basics["stats"]; r.ok() {
		stats = r.Section("STATS")
	} else if needsStats(v.Firmware) || wantsStats(v.Firmware) || !hashOK {
		stats, err = c.Stats(ctx)
		if isTransport(err) {
			return nil, err
		}
	}
	if stats != nil {
		v.refine(stats, summary)
	}
	if !hashOK {
		for _, s := range stats {
			if hash, hashOK = hashrateTHs(s); hashOK {
				break
			}
		}
	}
	c.setFirmware(v.Firmware)

	t := &joule.Telemetry{
		Address: c.addr, At: at, Firmware: v.Firmware, FirmwareVersion: v.FirmwareVersion, Model: v.Model,
		State: joule.StateRunning, HashrateTHs: hash,
		Pools:      poolsOf(basics["pools"].sectionOr("POOLS")),
		UptimeS:    uptime(summary, stats),
		ReplyShape: replyShape(basics, stats),
	}
	if f, ok := summary.Float("Temperature"); ok && temp(f) {
		t.TempC = f
	}
	if err := c.readPower(ctx, v.Firmware, summary, t, basics["power"]); err != nil {
		return nil, err
	}
	details(t, summary, stats)
	if v.Firmware == FirmwareBOSminer {
		if err := c.readBOS(ctx, t); err != nil {
			return nil, err
		}
	}
	if !t.PowerKnown {
		t.PowerW, t.PowerKnown = genericPower(summary, stats)
	}
	switch {
	case !hashOK:
		t.State = joule.StateUnknown
	case hash < idleTHs:
		asleep, err := c.asleep(ctx, v.Firmware, stats, basics["config"])
		if err != nil {
			return nil, err
		}
		if asleep {
			t.State = joule.StateSleeping
		}
	}
	return t, nil
}

// readBasics reads version, summary and pools, as one multi-command when the firmware
// takes it. A miner that cannot be reached is an error at once; a refused or
// unreadable command is left out, as long as one of the three answers.
func (c *Client) readBasics(ctx context.Context) (map[string]*Reply, error) {
	cmds := []string{"version", "summary", "pools"}
	c.mu.Lock()
	luxos := c.firmware == FirmwareLuxOS
	c.mu.Unlock()
	if luxos {
		// Once a miner is known to run LuxOS, its power and curtail mode come in the
		// same request: one round trip per reading for an agent polling a fleet.
		raw, err := c.Raw(ctx, "version+summary+pools+power+config+stats", "")
		if err != nil {
			return nil, err
		}
		if m, err := ParseMulti(raw); err == nil && m["summary"].ok() && m["pools"].ok() && m["version"].ok() {
			return m, nil
		}
	}
	raw, err := c.Raw(ctx, strings.Join(cmds, "+"), "")
	if err != nil {
		return nil, err
	}
	if m, err := ParseMulti(raw); err == nil && m["summary"].ok() && m["pools"].ok() && m["version"].ok() {
		return m, nil
	}
	out := make(map[string]*Reply)
	var firstErr error
	for _, cmd := range cmds {
		r, err := c.Command(ctx, cmd)
		switch {
		case err == nil:
			out[cmd] = r
		case isTransport(err):
			return nil, err
		case firstErr == nil:
			firstErr = err
		}
	}
	if len(out) == 0 {
		return nil, firstErr
	}
	return out, nil
}

func (r *Reply) ok() bool { return r != nil && r.Status.OK() }

func (r *Reply) firstOr(name string) Object {
	if r == nil {
		return nil
	}
	return r.First(name)
}

func (r *Reply) sectionOr(name string) []Object {
	if r == nil {
		return nil
	}
	return r.Section(name)
}

// description is the STATUS Description of the first reply that has one.
func description(replies map[string]*Reply) string {
	for _, k := range []string{"version", "summary", "pools"} {
		if r := replies[k]; r != nil && r.Status.Description != "" {
			return r.Status.Description
		}
	}
	return ""
}

// wantsStats reports whether a firmware's stats carry temperatures, fans or chips
// that Status reads: all but Whatsminer (whose stats are tens of kilobytes of
// per-chip data and whose summary has what is needed) and Braiins OS (its fans and
// temps commands do).
func wantsStats(fw string) bool {
	return fw != FirmwareWhatsminer && fw != FirmwareBOSminer
}

// readBOS reads Braiins OS's fans and temps; a refused command leaves its readings
// out.
func (c *Client) readBOS(ctx context.Context, t *joule.Telemetry) error {
	fans, err := c.Command(ctx, "fans")
	if isTransport(err) {
		return err
	}
	temps, err := c.Command(ctx, "temps")
	if isTransport(err) {
		return err
	}
	bosDetails(t, fans, temps)
	return nil
}

// needsStats reports whether a firmware keeps its model, sleep mode or firmware name
// in stats (Antminer firmware and Avalon), or is not yet known.
func needsStats(fw string) bool {
	switch fw {
	case FirmwareLuxOS, FirmwareBOSminer, FirmwareWhatsminer:
		return false
	}
	return true
}

func uptime(summary Object, stats []Object) int64 {
	if s, ok := summary.Int("Elapsed"); ok {
		return s
	}
	for _, o := range stats {
		if s, ok := o.Int("Elapsed"); ok {
			return s
		}
	}
	return 0
}

// readPower fills the power fields where the firmware reports them.
// prefetched is a reply that came in the basics request, if any.
func (c *Client) readPower(ctx context.Context, fw string, summary Object, t *joule.Telemetry, prefetched *Reply) error {
	switch fw {
	case FirmwareWhatsminer:
		t.PowerW, t.PowerKnown = whatsminerPower(summary)
		if lim, ok := summary.Float("Power Limit"); ok && lim > 0 {
			t.PowerLimitW = joule.Watts(math.Round(lim))
		}
	case FirmwareLuxOS:
		r := prefetched
		if !r.ok() {
			var err error
			if r, err = c.Command(ctx, "power"); isTransport(err) {
				return err
			} else if err != nil {
				return nil
			}
		}
		t.PowerW, t.PowerKnown = powerOf(r)
	}
	return nil
}

// asleep asks the firmware whether it was put to sleep.
func (c *Client) asleep(ctx context.Context, fw string, stats []Object, prefetched *Reply) (bool, error) {
	switch fw {
	case FirmwareLuxOS:
		r := prefetched
		if !r.ok() {
			var err error
			if r, err = c.Command(ctx, "config"); err != nil {
				return false, transportOnly(err)
			}
		}
		mode := r.First("CONFIG").String("CurtailMode")
		return mode != "" && !strings.EqualFold(mode, "None"), nil
	case FirmwareWhatsminer:
		msg, err := c.whatsminerStatus(ctx)
		if err != nil {
			return false, transportOnly(err)
		}
		for _, k := range []string{"btmineroff", "mineroff"} {
			if off, ok := msg.Bool(k); ok {
				return off, nil
			}
		}
		return false, nil
	case FirmwareAvalon:
		return avalonSleeping(avalonStats(stats)), nil
	}
	return boardsOff(stats), nil
}

// boardsOff reports whether Antminer stats show every hash board's chips as not
// answering ("chain_acs2":" xx xx …" and no 'o'), which is how stock bmminer shows sleep
// mode: its API has no sleep flag (bmminer/stats-s19-sleeping.json). "Mode" is not one:
// the S19 Pro in bmminer/stats-s19pro.json hashes at 110 TH/s with "Mode":2 as well.
func boardsOff(stats []Object) bool {
	seen := false
	for _, o := range stats {
		for k, v := range o {
			acs, ok := v.(string)
			if !ok || !strings.HasPrefix(k, "chain_acs") || strings.TrimSpace(acs) == "" {
				continue
			}
			if strings.ContainsRune(acs, 'o') {
				return false
			}
			seen = true
		}
	}
	return seen
}

// transportError marks an error of the connection itself (dial, write, read), as
// opposed to a reply the miner sent.
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

func isTransport(err error) bool {
	var t *transportError
	return errors.As(err, &t)
}

// transportOnly keeps transport errors and drops the rest: a refused optional command
// leaves its field unknown.
func transportOnly(err error) error {
	if isTransport(err) {
		return err
	}
	return nil
}

func (c *Client) setFirmware(fw string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if fw != "" {
		c.firmware = fw
	}
}
