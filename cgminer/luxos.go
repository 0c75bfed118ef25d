package cgminer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/joule-site/joule"
)

// LuxOS write commands (curtail, profileset, …) take a session id as their first
// parameter: "curtail" with parameter "SESSION_ID,sleep". A session comes from logon,
// whose reply carries SESSION[0].SessionID; LuxOS keeps one session at a time and
// answers a second logon with Code 402 "Another session is active". Read from
// LuxorLabs/luxos-tooling (asyncops.py) and pyasic's LUXMiner RPC; no recorded logon or
// curtail reply was found (see testdata/SOURCES.md), so the tests run these against a
// peer written from that description.

// Curtail actions of LuxOS's curtail command.
const (
	CurtailSleep  = "sleep"  // hash boards off, control board up
	CurtailWakeup = "wakeup" // back to hashing; LuxOS takes tens of seconds to ramp
)

// Logon opens a LuxOS session and returns its id. When another session is active
// (Code 402), it returns the id of that session as the session command reports it.
func (c *Client) Logon(ctx context.Context) (string, error) {
	id, _, err := c.logon(ctx)
	return id, err
}

// logon also reports whether the session is this client's own (to log off after use).
func (c *Client) logon(ctx context.Context) (id string, owned bool, err error) {
	r, err := c.Command(ctx, "logon")
	if err == nil {
		if id := r.First("SESSION").String("SessionID"); id != "" {
			return id, true, nil
		}
		return "", false, fmt.Errorf("miner %s: logon: reply has no SessionID", c.addr)
	}
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Code != CodeSessionActive {
		return "", false, err
	}
	r, serr := c.Command(ctx, "session")
	if serr == nil {
		if id := r.First("SESSION").String("SessionID"); id != "" {
			return id, false, nil
		}
	}
	return "", false, err
}

// Logoff closes a LuxOS session.
func (c *Client) Logoff(ctx context.Context, sessionID string) error {
	_, err := c.Command(ctx, "logoff", sessionID)
	return err
}

// withSession runs a LuxOS write command inside a session, and logs off afterwards
// when the session was opened for it — unless the client keeps its session
// (WithKeepSession): then the next command reuses it, and a command the miner refuses
// with a kept session is tried once more in a fresh one.
func (c *Client) withSession(ctx context.Context, command string, params ...string) (*Reply, error) {
	if c.keepSession {
		c.mu.Lock()
		id := c.session
		c.mu.Unlock()
		if id != "" {
			r, err := c.Command(ctx, command, append([]string{id}, params...)...)
			var apiErr *APIError
			if err == nil || !errors.As(err, &apiErr) {
				return r, err
			}
		}
		id, _, err := c.logon(ctx)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.session = id
		c.mu.Unlock()
		return c.Command(ctx, command, append([]string{id}, params...)...)
	}
	id, owned, err := c.logon(ctx)
	if err != nil {
		return nil, err
	}
	if owned {
		defer func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
			defer cancel()
			_ = c.Logoff(ctx, id) // the session expires on its own if this fails
		}()
	}
	return c.Command(ctx, command, append([]string{id}, params...)...)
}

// Prepare opens and keeps the session a later write command needs, when the client
// keeps sessions and the miner runs LuxOS; otherwise it does nothing. An agent calls it
// when it takes a miner over, so that a curtailment later costs one round trip.
func (c *Client) Prepare(ctx context.Context) error {
	c.mu.Lock()
	need := c.keepSession && c.firmware == FirmwareLuxOS && c.session == ""
	c.mu.Unlock()
	if !need {
		return nil
	}
	id, _, err := c.logon(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.session = id
	c.mu.Unlock()
	return nil
}

// Curtail sends LuxOS's curtail command: CurtailSleep or CurtailWakeup.
func (c *Client) Curtail(ctx context.Context, action string) error {
	if action != CurtailSleep && action != CurtailWakeup {
		return joule.Errorf(joule.EINVALID, "curtail action %q: use %q or %q", action, CurtailSleep, CurtailWakeup)
	}
	_, err := c.withSession(ctx, "curtail", action)
	return err
}

// Profile is a LuxOS power profile: a frequency step with the power and hashrate
// LuxOS expects of it (luxminer/profiles-s19kpro.json).
type Profile struct {
	Name         string      `json:"name"` // "290MHz"
	PowerW       joule.Watts `json:"power_w"`
	HashrateTHs  float64     `json:"hashrate_ths"`
	FrequencyMHz float64     `json:"frequency_mhz"`
	VoltageV     float64     `json:"voltage_v"`
	Step         int         `json:"step"` // LuxOS's step, sent as a string ("-12")
}

// Profiles reads LuxOS's power profiles.
func (c *Client) Profiles(ctx context.Context) ([]Profile, error) {
	r, err := c.Command(ctx, "profiles")
	if err != nil {
		return nil, err
	}
	var out []Profile
	for _, p := range r.Section("PROFILES") {
		w, _ := p.Float("Watts")
		th, _ := p.Float("Hashrate")
		f, _ := p.Float("Frequency")
		v, _ := p.Float("Voltage")
		step, _ := p.Int("Step")
		out = append(out, Profile{Name: p.String("Profile Name"), PowerW: joule.Watts(math.Round(w)),
			HashrateTHs: th, FrequencyMHz: f, VoltageV: v, Step: int(step)})
	}
	return out, nil
}

// SetProfile switches LuxOS to the named power profile (profileset).
func (c *Client) SetProfile(ctx context.Context, name string) error {
	if name == "" {
		return joule.Errorf(joule.EINVALID, "profile name is empty")
	}
	_, err := c.withSession(ctx, "profileset", name)
	return err
}

// PowerState reads only what a command's verification needs, whether the miner hashes
// or sleeps and what it draws: one small request on LuxOS ("power+config"), Status on
// other firmware.
func (c *Client) PowerState(ctx context.Context) (*joule.Telemetry, error) {
	c.mu.Lock()
	fw := c.firmware
	c.mu.Unlock()
	if fw != FirmwareLuxOS {
		return c.Status(ctx)
	}
	at := c.now()
	raw, err := c.Raw(ctx, "power+config", "")
	if err != nil {
		return nil, err
	}
	t := &joule.Telemetry{Address: c.addr, At: at, Firmware: fw, State: joule.StateRunning, Pools: []joule.Pool{}}
	var mode string
	if pc, ok := parsePowerConfig(raw); ok {
		if pc.configOK() {
			t.PowerW, t.PowerKnown = pc.power()
			mode = pc.Config[0].CONFIG[0].CurtailMode
		} else {
			return c.Status(ctx)
		}
	} else {
		m, err := ParseMulti(raw)
		if err != nil || !m["config"].ok() {
			return c.Status(ctx)
		}
		if m["power"].ok() {
			t.PowerW, t.PowerKnown = powerOf(m["power"])
		}
		mode = m["config"].First("CONFIG").String("CurtailMode")
	}
	if mode != "" && !strings.EqualFold(mode, "None") {
		t.State = joule.StateSleeping
	}
	return t, nil
}

// powerConfig is the part of a "power+config" reply that PowerState reads. A reply in
// plain, valid JSON decodes straight into it, without the generic tree ParseMulti
// builds: a real LuxOS config holds fifty-odd fields, and an agent verifying a fleet
// reads one per miner. Anything else (repairs, odd types) takes the generic path.
type powerConfig struct {
	Power []struct {
		STATUS []Status
		POWER  []struct{ Watts json.Number }
	} `json:"power"`
	Config []struct {
		STATUS []Status
		CONFIG []struct{ CurtailMode string }
	} `json:"config"`
}

func parsePowerConfig(raw []byte) (*powerConfig, bool) {
	var pc powerConfig
	if json.Unmarshal(raw, &pc) != nil {
		return nil, false
	}
	return &pc, true
}

// configOK reports whether the config reply succeeded and holds a CONFIG object.
func (pc *powerConfig) configOK() bool {
	return len(pc.Config) > 0 && len(pc.Config[0].STATUS) > 0 && pc.Config[0].STATUS[0].OK() && len(pc.Config[0].CONFIG) > 0
}

// power is the miner's draw when the power reply succeeded and holds a number of watts.
func (pc *powerConfig) power() (joule.Watts, bool) {
	if len(pc.Power) == 0 || len(pc.Power[0].STATUS) == 0 || !pc.Power[0].STATUS[0].OK() || len(pc.Power[0].POWER) == 0 {
		return 0, false
	}
	w, err := pc.Power[0].POWER[0].Watts.Float64()
	if err != nil || w < 0 || math.IsInf(w, 0) {
		return 0, false
	}
	return joule.Watts(math.Round(w)), true
}
