package agent

import (
	"testing"
	"time"

	"github.com/joule-site/joule"
)

// meterCheck flags a meter that dropped much less than the devices say they did, and
// not one within the allowance for loads changing by themselves; it does not judge a
// step in which devices rose in power, or a site whose meter was moving already.
func TestMeterCheck(t *testing.T) {
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	before := map[string]joule.Watts{"a": 3500, "b": 3500, "c": 3500, "d": 3500}
	sleep := func(addr string, w joule.Watts) Result {
		return Result{Command: Command{Address: addr, Action: ActionSleep}, Verified: true, PowerKnown: true, PowerW: w}
	}
	wake := func(addr string, w joule.Watts) Result {
		return Result{Command: Command{Address: addr, Action: ActionWake}, Verified: true, PowerKnown: true, PowerW: w}
	}
	all := []Result{sleep("a", 20), sleep("b", 20), sleep("c", 20), sleep("d", 20)}
	for _, tc := range []struct {
		name              string
		before            map[string]joule.Watts
		results           []Result
		meterBefore, want joule.Watts // the meter before and after
		drift             joule.Watts // how far it moved since the step before
		devices           int
		reported          joule.Watts
		judged, mismatch  bool
	}{
		{"all four asleep", before, all, 100_000, 100_000 - 4*3480, 0, 4, -4 * 3480, true, false},
		{"one of four still draws", before, all, 100_000, 100_000 - 3*3480, 0, 4, -4 * 3480, true, true},
		{"the meter drops a little less, within 1% of the site", before, all, 100_000, 100_000 - 4*3480 + 900, 0, 4, -4 * 3480, true, false},
		{"the meter drops more than reported", before, all, 100_000, 100_000 - 5*3480, 0, 4, -4 * 3480, true, false},
		{"a steady site within 1%", before, all, 100_000, 100_000 - 3*3480, 900, 4, -4 * 3480, true, true},
		{"a failed command is left out", before, []Result{sleep("a", 20), {Command: Command{Address: "b", Action: ActionSleep}, Err: "no answer"}},
			100_000, 100_000 - 3480, 0, 1, -3480, true, false},
		{"a device never read before is left out", map[string]joule.Watts{"a": 3500}, all[:2], 100_000, 100_000 - 2*3480, 0, 1, -3480, true, false},
		// Not judged: machines ramping make the meter move on its own.
		{"the meter moving since the last step", before, all, 100_000, 100_000 - 3*3480, 5000, 4, -4 * 3480, false, false},
		{"woken miners in the same step", map[string]joule.Watts{"a": 3500, "b": 20}, []Result{sleep("a", 20), wake("b", 3500)}, 50_000, 50_000 + 3480, 0, 2, 0, false, false},
		{"woken miners say they run but do not draw", map[string]joule.Watts{"a": 20, "b": 20}, []Result{wake("a", 3500), wake("b", 3500)}, 50_000, 50_000, 0, 2, 2 * 3480, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := meterCheck(7, at, tc.before, tc.results, tc.meterBefore, tc.want, tc.drift)
			if c.Devices != tc.devices || c.ReportedDeltaW != tc.reported || c.MeterDeltaW != tc.want-tc.meterBefore || c.Judged != tc.judged || c.Mismatch != tc.mismatch ||
				c.Seq != 7 || !c.At.Equal(at) || c.Detail == "" {
				t.Errorf("check %+v; want %d devices reporting %d W, judged %v, mismatch %v", c, tc.devices, tc.reported, tc.judged, tc.mismatch)
			}
		})
	}
}
