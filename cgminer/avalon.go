package cgminer

import (
	"context"
	"strconv"
	"strings"
)

// avalonFields parses the "Key[value] Key[value]" text that Avalon packs its module
// telemetry into, inside a JSON string ("MM ID0":"Ver[1047-…] DNA[…] SoftOFF[0] …",
// avalon/stats-avalon1246.json; "MM ID0:Summary":"'STATS':{Ver[…] …}" on the Avalon Q,
// avalon/stats-avalonq.json). The first value of a key wins.
func avalonFields(s string, into map[string]string) {
	for {
		open := strings.IndexByte(s, '[')
		if open < 0 {
			return
		}
		end := strings.IndexByte(s[open:], ']')
		if end < 0 {
			return
		}
		key := s[:open]
		if i := strings.LastIndexAny(key, " {,'"); i >= 0 {
			key = key[i+1:]
		}
		if _, seen := into[key]; key != "" && !seen {
			into[key] = strings.TrimSpace(s[open+1 : open+end])
		}
		s = s[open+end+1:]
	}
}

// avalonStats merges the bracket fields of every "MM ID…" string of a stats reply, or
// returns nil when there are none (not an Avalon).
func avalonStats(stats []Object) map[string]string {
	var out map[string]string
	for _, o := range stats {
		for k, v := range o {
			s, ok := v.(string)
			if !ok || !strings.HasPrefix(k, "MM ID") {
				continue
			}
			if out == nil {
				out = make(map[string]string)
			}
			avalonFields(s, out)
		}
	}
	return out
}

// avalonID reports whether a stats reply names an Avalon controller ("ID":"AV70",
// "ID":"AVA100").
func avalonID(stats []Object) bool {
	for _, o := range stats {
		if strings.HasPrefix(o.String("ID"), "AV") {
			return true
		}
	}
	return false
}

// avalonModel turns a module version into a model name. The version starts with the
// model number and, on older units, a YYMM date: Ver[7411706-…] is an Avalon 741 of
// June 2017, Ver[1047-…] an Avalon 1047, Ver[1246-83-…] an Avalon 1246.
func avalonModel(ver string) string {
	digits, _, _ := strings.Cut(ver, "-")
	if _, err := strconv.Atoi(digits); err != nil || len(digits) < 3 {
		return ""
	}
	if len(digits) >= 7 {
		digits = digits[:len(digits)-4]
	}
	return "Avalon " + digits
}

// avalonSleeping reports whether the module fields say the miner is in soft-off:
// SoftOFF[n] with n not 0, or SYSTEMSTATU[Work: In Idle, …] (avalon/stats-avalonq.json,
// taken after ascset softoff).
func avalonSleeping(f map[string]string) bool {
	if v, ok := f["SoftOFF"]; ok && v != "0" && v != "" {
		return true
	}
	return strings.Contains(f["SYSTEMSTATU"], "In Idle")
}

// avalonSoft sends Avalon's soft power command: ascset|0,softoff,1:<unix time> to
// sleep and ascset|0,softon,1:<unix time> to wake, as asic-rs sends them
// (avalon/ascset-softoff-avalonq.json). Success is STATUS "I" with Code 118.
func (c *Client) avalonSoft(ctx context.Context, on bool) error {
	action := "softoff"
	if on {
		action = "softon"
	}
	_, err := c.Command(ctx, "ascset", "0", action, "1:"+strconv.FormatInt(c.now().Unix(), 10))
	return err
}
