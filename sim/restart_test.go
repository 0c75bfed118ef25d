package sim

import (
	"context"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/cgminer"
)

// A miner asleep that restarts boots from nothing and ramps up to hashing, as after a
// power cut: its curtailment is not kept; a sleep puts it back to sleep.
func TestMinerRestart(t *testing.T) {
	m, clock := startMiner(t, MinerConfig{Asleep: true})
	c := cgminer.Dial(m.Addr())
	if r := m.Reading(); r.State != joule.StateSleeping {
		t.Fatalf("started %s, want asleep", r.State)
	}
	m.Restart()
	for _, s := range []struct {
		advance time.Duration
		state   joule.DeviceState
		powerW  joule.Watts
	}{{0, joule.StateSleeping, 20}, {15 * time.Second, joule.StateRamping, 1760}, {15 * time.Second, joule.StateRunning, 3500}} {
		clock.Advance(s.advance)
		if r := m.Reading(); r.State != s.state || r.PowerW != s.powerW {
			t.Errorf("%v after the restart: %s at %v, want %s at %v", clock.Now().Sub(t0), r.State, r.PowerW, s.state, s.powerW)
		}
	}
	if tel := status(t, c); tel.State != joule.StateRunning {
		t.Errorf("telemetry after the restart: %s", tel.State)
	}
	if err := c.Sleep(context.Background()); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	if r := m.Reading(); r.State != joule.StateSleeping {
		t.Errorf("after a sleep: %s", r.State)
	}
}
