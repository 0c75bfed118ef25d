package cgminer

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/joule-site/joule"
)

// Version reads the firmware and model (the version command). The firmware name comes
// from VERSION alone; Status refines it with stats and summary.
func (c *Client) Version(ctx context.Context) (*Version, error) {
	r, err := c.Command(ctx, "version")
	if err != nil {
		return nil, err
	}
	v := versionOf(r.First("VERSION"), r.Status.Description)
	return &v, nil
}

// Summary reads the miner's totals: hashrate ("MHS 5s", "GHS av", …), Elapsed, and on
// Whatsminer its power.
func (c *Client) Summary(ctx context.Context) (Object, error) {
	return c.section(ctx, "summary", "SUMMARY")
}

// Stats reads the per-board and per-pool statistics.
func (c *Client) Stats(ctx context.Context) ([]Object, error) {
	r, err := c.Command(ctx, "stats")
	if err != nil {
		return nil, err
	}
	return r.Section("STATS"), nil
}

// Devs reads the per-device (hash board) details.
func (c *Client) Devs(ctx context.Context) ([]Object, error) {
	r, err := c.Command(ctx, "devs")
	if err != nil {
		return nil, err
	}
	return r.Section("DEVS"), nil
}

// Pools reads the configured pools.
func (c *Client) Pools(ctx context.Context) ([]joule.Pool, error) {
	r, err := c.Command(ctx, "pools")
	if err != nil {
		return nil, err
	}
	return poolsOf(r.Section("POOLS")), nil
}

// Power reads the power the miner reports, in watts: the LuxOS power command
// (luxminer/power-s19kpro.json; an estimate when "PSU" is false), else Whatsminer's
// summary fields. It is an ENOTFOUND error when the firmware reports no power.
func (c *Client) Power(ctx context.Context) (joule.Watts, error) {
	r, err := c.Command(ctx, "power")
	if err == nil {
		if w, ok := powerOf(r); ok {
			return w, nil
		}
	} else if !isAPIError(err) {
		return 0, err
	}
	s, err := c.Summary(ctx)
	if err != nil {
		return 0, err
	}
	if w, ok := whatsminerPower(s); ok {
		return w, nil
	}
	return 0, joule.Errorf(joule.ENOTFOUND, "miner %s does not report its power", c.addr)
}

func (c *Client) section(ctx context.Context, command, name string) (Object, error) {
	r, err := c.Command(ctx, command)
	if err != nil {
		return nil, err
	}
	o := r.First(name)
	if o == nil {
		return nil, fmt.Errorf("miner %s: %s: reply has no %s", c.addr, command, name)
	}
	return o, nil
}

func isAPIError(err error) bool {
	var e *APIError
	return errors.As(err, &e)
}

// powerOf reads a LuxOS-style POWER section.
func powerOf(r *Reply) (joule.Watts, bool) {
	w, ok := r.First("POWER").Float("Watts")
	if !ok || w < 0 {
		return 0, false
	}
	return joule.Watts(math.Round(w)), true
}

// whatsminerPower reads the power fields of a Whatsminer summary: "Power_RT" (real
// time) or "Power", in watts (whatsminer-v2/summary-m31s-btminer.json).
func whatsminerPower(s Object) (joule.Watts, bool) {
	for _, k := range []string{"Power_RT", "Power"} {
		if w, ok := s.Float(k); ok && w >= 0 {
			return joule.Watts(math.Round(w)), true
		}
	}
	return 0, false
}

// hashWindows are the averaging windows of the hashrate keys, shortest first: the
// shortest window tells whether the miner hashes now (a miner just put to sleep still
// shows its hashrate in "MHS av", avalon/summary-avalonq.json).
var hashWindows = []string{"5s", "30s", "1m", "5m", "15m", "30m", "av"}

// hashUnits are the key prefixes and how many of their unit make one TH/s. cgminer
// writes MH/s ("MHS 5s"), bmminer and LuxOS GH/s ("GHS 5s").
var hashUnits = []struct {
	prefix string
	perTHs float64
}{{"THS ", 1}, {"GHS ", 1e3}, {"MHS ", 1e6}, {"KHS ", 1e9}}

// hashrateTHs reads the hashrate of a SUMMARY or STATS object in TH/s, from the
// shortest window that holds a finite number (a nan is skipped).
func hashrateTHs(o Object) (float64, bool) {
	for _, w := range hashWindows {
		for _, u := range hashUnits {
			if f, ok := o.Float(u.prefix + w); ok && f >= 0 {
				return f / u.perTHs, true
			}
		}
	}
	// bmminer stats without "GHS 5s": "total_rate" in "rate_unit".
	if f, ok := o.Float("total_rate"); ok && f >= 0 {
		switch o.String("rate_unit") {
		case "TH":
			return f, true
		case "MH":
			return f / 1e6, true
		default: // "GH", and absent: bmminer's unit
			return f / 1e3, true
		}
	}
	return 0, false
}

// poolsOf turns POOLS entries into pools. Entries without a URL (empty slots, as in
// cgminer/pools-antminer-l3plus.json) are left out. The active pool is the one with
// "Stratum Active" true; firmware without that key gets the alive pool of lowest
// priority.
func poolsOf(list []Object) []joule.Pool {
	pools := make([]joule.Pool, 0, len(list))
	activeKnown := false
	for _, p := range list {
		if p.String("URL") == "" {
			continue
		}
		prio, _ := p.Int("Priority")
		pool := joule.Pool{URL: p.String("URL"), User: p.String("User"), Status: p.String("Status"), Priority: int(prio)}
		if active, ok := p.Bool("Stratum Active"); ok {
			pool.Active, activeKnown = active, true
		}
		pools = append(pools, pool)
	}
	if !activeKnown {
		best := -1
		for i, p := range pools {
			if p.Status == "Alive" && (best < 0 || p.Priority < pools[best].Priority) {
				best = i
			}
		}
		if best >= 0 {
			pools[best].Active = true
		}
	}
	return pools
}
