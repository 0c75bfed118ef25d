package sim

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/cgminer"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// startMiner starts a miner on 127.0.0.1:0 with a fake clock, stopped when the test ends.
func startMiner(t testing.TB, cfg MinerConfig) (*Miner, *FakeClock) {
	t.Helper()
	clock := NewFakeClock(t0)
	if cfg.Clock == nil {
		cfg.Clock = clock
	}
	m, err := StartMiner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, clock
}

func status(t *testing.T, c *cgminer.Client) *joule.Telemetry {
	t.Helper()
	got, err := c.Status(context.Background())
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	return got
}

// TestMinerSpeaksCgminer: the client reads the simulator as it reads LuxOS.
func TestMinerSpeaksCgminer(t *testing.T) {
	m, clock := startMiner(t, MinerConfig{})
	clock.Advance(90 * time.Second)
	got := status(t, cgminer.Dial(m.Addr()))
	if got.Firmware != cgminer.FirmwareLuxOS || got.Model != "Antminer S21" || got.State != joule.StateRunning {
		t.Errorf("firmware %q model %q state %s", got.Firmware, got.Model, got.State)
	}
	if got.HashrateTHs != 200 || !got.PowerKnown || got.PowerW != 3500 || got.UptimeS != 90 {
		t.Errorf("%v TH/s, %d W (known %v), up %d s", got.HashrateTHs, got.PowerW, got.PowerKnown, got.UptimeS)
	}
	if len(got.Pools) != 1 || !got.Pools[0].Active || got.Pools[0].URL != "stratum+tcp://pool.example.com:3333" {
		t.Errorf("pools %+v", got.Pools)
	}
	c := cgminer.Dial(m.Addr(), cgminer.WithTextProtocol())
	if _, err := c.Summary(context.Background()); err != nil {
		t.Errorf("text request: %v", err)
	}
	if devs, err := c.Devs(context.Background()); err != nil || len(devs) != 3 {
		t.Errorf("devs %v %v", devs, err)
	}
}

// TestMinerRamps curtails and wakes a miner through the client and follows its power
// on a fake clock: about a second to sleep, thirty seconds to wake.
func TestMinerRamps(t *testing.T) {
	m, clock := startMiner(t, MinerConfig{})
	c := cgminer.Dial(m.Addr())
	ctx := context.Background()
	steps := []struct {
		do        func() error
		advance   time.Duration
		state     joule.DeviceState // the truth
		powerW    joule.Watts
		telemetry joule.DeviceState // what the client makes of the API
	}{
		{func() error { return c.Sleep(ctx) }, 0, joule.StateRunning, 3500, joule.StateRunning},
		{nil, 500 * time.Millisecond, joule.StateRamping, 1760, joule.StateRunning},
		{nil, 500 * time.Millisecond, joule.StateSleeping, 20, joule.StateSleeping},
		{func() error { return c.Wake(ctx) }, 10 * time.Second, joule.StateRamping, 1180, joule.StateRunning},
		{nil, 20 * time.Second, joule.StateRunning, 3500, joule.StateRunning},
	}
	for i, s := range steps {
		if s.do != nil {
			if err := s.do(); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		}
		clock.Advance(s.advance)
		r := m.Reading()
		tel := status(t, c)
		if r.State != s.state || r.PowerW != s.powerW || tel.State != s.telemetry || tel.PowerW != s.powerW {
			t.Errorf("step %d: truth %s %d W, telemetry %s %d W; want %s %d W, telemetry %s",
				i, r.State, r.PowerW, tel.State, tel.PowerW, s.state, s.powerW, s.telemetry)
		}
	}
}

func TestMinerProfiles(t *testing.T) {
	m, _ := startMiner(t, MinerConfig{})
	c := cgminer.Dial(m.Addr())
	ctx := context.Background()
	profiles, err := c.Profiles(ctx)
	if err != nil || len(profiles) != len(DefaultProfiles) {
		t.Fatalf("profiles %v %v", profiles, err)
	}
	if err := c.SetProfile(ctx, "p50"); err != nil {
		t.Fatal(err)
	}
	got := status(t, c)
	if want := 200 * math.Pow(0.5, 0.95); got.PowerW != 1750 || math.Abs(got.HashrateTHs-want) > 1e-9 {
		t.Errorf("p50: %d W %v TH/s, want 1750 W %v TH/s", got.PowerW, got.HashrateTHs, want)
	}
	if err := c.SetProfile(ctx, "p999"); err == nil {
		t.Error("unknown profile accepted")
	}
}

// TestMinerFaults: each fault shows as it should through the client.
func TestMinerFaults(t *testing.T) {
	tests := []struct {
		fault   Fault
		timeout time.Duration
		check   func(t *testing.T, m *Miner, c *cgminer.Client, clock *FakeClock)
	}{
		{FaultNoAnswer, 100 * time.Millisecond, wantError},
		{FaultSlow, 100 * time.Millisecond, wantError}, // the reply would come after 2 s
		{FaultGarbage, time.Second, wantError},
		{FaultCloseEarly, time.Second, wantError},
		{FaultLieAck, time.Second, func(t *testing.T, m *Miner, c *cgminer.Client, clock *FakeClock) {
			if err := c.Sleep(context.Background()); err != nil {
				t.Fatalf("Sleep: %v", err)
			}
			clock.Advance(5 * time.Second)
			if got := status(t, c); got.State != joule.StateRunning || got.PowerW != 3500 || m.PowerW() != 3500 {
				t.Errorf("after an acknowledged sleep: telemetry %s %d W, truth %d W", got.State, got.PowerW, m.PowerW())
			}
		}},
		{FaultLieTelemetry, time.Second, func(t *testing.T, m *Miner, c *cgminer.Client, clock *FakeClock) {
			if err := c.Sleep(context.Background()); err != nil {
				t.Fatalf("Sleep: %v", err)
			}
			clock.Advance(5 * time.Second)
			if got := status(t, c); got.State != joule.StateSleeping || got.PowerW != 20 || m.PowerW() != 3500 {
				t.Errorf("lying: telemetry %s %d W, truth %d W; want sleeping 20 W, truth 3500 W", got.State, got.PowerW, m.PowerW())
			}
			m.SetFault(FaultNone)
			if got := status(t, c); got.State != joule.StateRunning {
				t.Errorf("after the lie is cleared: %s", got.State)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.fault.String(), func(t *testing.T) {
			m, clock := startMiner(t, MinerConfig{Fault: tc.fault})
			tc.check(t, m, cgminer.Dial(m.Addr(), cgminer.WithTimeout(tc.timeout)), clock)
		})
	}
}

func wantError(t *testing.T, _ *Miner, c *cgminer.Client, _ *FakeClock) {
	t.Helper()
	if _, err := c.Status(context.Background()); err == nil {
		t.Error("Status gave no error")
	}
}

// TestMinerSlowAnswers: a slow miner still answers a patient client.
func TestMinerSlowAnswers(t *testing.T) {
	m, _ := startMiner(t, MinerConfig{Fault: FaultSlow, SlowDelay: 20 * time.Millisecond})
	if got := status(t, cgminer.Dial(m.Addr(), cgminer.WithTimeout(10*time.Second))); got.PowerW != 3500 {
		t.Errorf("power %d W", got.PowerW)
	}
}

// TestMinerSession: a session someone holds blocks logon (402), and the client
// curtails through it.
func TestMinerSession(t *testing.T) {
	m, _ := startMiner(t, MinerConfig{Asleep: true})
	c := cgminer.Dial(m.Addr())
	ctx := context.Background()
	if _, err := c.Logon(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Command(ctx, "logon"); joule.ErrorCode(err) != joule.ECONFLICT {
		t.Errorf("second logon: %v, want ECONFLICT", err)
	}
	if err := c.Wake(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Command(ctx, "curtail", "bogus", "sleep"); err == nil {
		t.Error("curtail with a wrong session id accepted")
	}
	if replies, err := c.Multi(ctx, "version", "summary", "pools"); err != nil || len(replies) != 3 {
		t.Errorf("multi: %v %v", replies, err)
	}
}

func BenchmarkMinerStatus(b *testing.B) {
	m, _ := startMiner(b, MinerConfig{})
	c := cgminer.Dial(m.Addr())
	for b.Loop() {
		if _, err := c.Status(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMinerRecordsCommands: every write command that reaches a miner is recorded in
// order, with the miner's time, whether the miner took it or not; reads are not.
func TestMinerRecordsCommands(t *testing.T) {
	m, clock := startMiner(t, MinerConfig{})
	c := cgminer.Dial(m.Addr())
	ctx := context.Background()
	if err := c.Sleep(ctx); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	if err := c.SetProfile(ctx, "p80"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetProfile(ctx, "p999"); err == nil {
		t.Fatal("unknown profile accepted")
	}
	if err := c.Wake(ctx); err != nil {
		t.Fatal(err)
	}
	_ = status(t, c)
	if _, err := c.Command(ctx, "curtail", "not-a-session,sleep"); err == nil {
		t.Fatal("a curtail without a session was accepted")
	}
	want := []Command{
		{At: t0, Action: "sleep", Accepted: true},
		{At: t0.Add(time.Second), Action: "power", Arg: "p80", Accepted: true},
		{At: t0.Add(time.Second), Action: "power", Arg: "p999"},
		{At: t0.Add(time.Second), Action: "wake", Accepted: true},
		{At: t0.Add(time.Second), Action: "sleep"},
	}
	got := m.Commands()
	if len(got) != len(want) {
		t.Fatalf("recorded %+v, want %+v", got, want)
	}
	for i := range want {
		if !got[i].At.Equal(want[i].At) || got[i].Action != want[i].Action || got[i].Arg != want[i].Arg || got[i].Accepted != want[i].Accepted {
			t.Errorf("command %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if r := m.Reading(); r.Profile != "p80" {
		t.Errorf("profile %q after the commands, want p80", r.Profile)
	}
}

// The simulated miner reports what real firmware does beyond power and hashrate, and
// the cgminer client reads it: temperatures per board, fans, chips, hardware errors,
// the expected rate and the firmware version, all following its state. Asleep, its
// chips read as down and the boards cool.
func TestMinerTelemetryDetails(t *testing.T) {
	m, clock := startMiner(t, MinerConfig{SleepRamp: time.Second})
	c := cgminer.Dial(m.Addr(), cgminer.WithTimeout(5*time.Second))
	running, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if running.FirmwareVersion != simVersion || running.ExpectedHashrateTHs != 200 ||
		!slices.Equal(running.BoardTempsC, []float64{61, 62, 63}) || !slices.Equal(running.ChipTempsC, []float64{71, 72, 73}) ||
		running.TempC != 63 || running.ChipTempC != 73 || len(running.FansRPM) != 4 || running.FansRPM[0] != 5000 ||
		running.Chips != 3*simChipsPerBoard || running.ChipsDown != 0 || !running.HardwareErrorsKnown || running.HardwareErrors != 0 {
		t.Errorf("running: %+v", running)
	}
	m.Sleep()
	clock.Advance(2 * time.Second)
	asleep, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if asleep.State != joule.StateSleeping || !slices.Equal(asleep.BoardTempsC, []float64{36, 37, 38}) ||
		asleep.FansRPM[0] != 1500 || asleep.ChipsDown != 3*simChipsPerBoard || asleep.ExpectedHashrateTHs != 200 {
		t.Errorf("asleep: %+v", asleep)
	}
}
