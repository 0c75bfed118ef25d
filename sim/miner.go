package sim

import (
	"context"
	"fmt"
	"math"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/joule-site/joule"
)

// Fault is a way a simulated device misbehaves.
type Fault int

// Faults of simulated miners.
const (
	FaultNone         Fault = iota
	FaultNoAnswer           // accepts connections, reads the request, never replies
	FaultSlow               // replies after MinerConfig.SlowDelay (real time)
	FaultGarbage            // replies with bytes that are not JSON
	FaultCloseEarly         // sends the first half of its reply and closes the connection
	FaultLieAck             // acknowledges curtail and profile commands but does not act; its telemetry tells the truth
	FaultLieTelemetry       // acknowledges curtail, does not act, and reports what it was told while drawing full power
	FaultOverheat           // its boards and chips report temperatures over any sane limit (OverheatC) while it hashes
	FaultWrongPool          // it switches to a pool it was not given (WrongPoolURL) and hashes there until switched back
	FaultReplyShape         // a firmware "update": its stats move the fans into a list and rename the chip temperatures and hardware errors
)

var faultNames = [...]string{"none", "no-answer", "slow", "garbage", "close-early", "lie-ack", "lie-telemetry", "overheat", "wrong-pool", "reply-shape"}

// ParseFault returns the fault a name stands for (Fault.String's names).
func ParseFault(name string) (Fault, error) {
	for i, n := range faultNames {
		if n == name {
			return Fault(i), nil
		}
	}
	return 0, fmt.Errorf("sim: no fault %q: want one of %q", name, faultNames[:])
}

// OverheatC is how much hotter than normal the boards of a miner under FaultOverheat
// read: its hottest chip near 105 °C, over the 90 °C alert default and where real
// firmware would soon stop hashing.
const OverheatC = 35

// WrongPoolURL is the pool a miner under FaultWrongPool hashes for.
const WrongPoolURL = "stratum+tcp://wrong-pool.example.net:3333"

// String names the fault.
func (f Fault) String() string {
	if f >= 0 && int(f) < len(faultNames) {
		return faultNames[f]
	}
	return fmt.Sprintf("fault(%d)", int(f))
}

// Profile is a power profile of a simulated miner, as LuxOS offers them: a fraction of
// the model's stock power.
type Profile struct {
	Name          string
	PowerFraction float64
}

// HashFraction is the fraction of stock hashrate at the profile: power to the 0.95,
// as LuxOS's own profile table of an S19k Pro runs from proportional below stock to
// an exponent of 0.9 above it (784 W → 39.2 TH/s, 1188 W → 59.8, 1657 W → 80.5:
// cgminer/testdata/luxminer/profiles-s19kpro.json).
func (p Profile) HashFraction() float64 { return math.Pow(p.PowerFraction, 0.95) }

// DefaultProfiles are the profiles a simulated miner offers unless told otherwise:
// 50 % to 110 % of stock power in steps of 10; "p100" is stock.
var DefaultProfiles = []Profile{
	{"p50", 0.5}, {"p60", 0.6}, {"p70", 0.7}, {"p80", 0.8}, {"p90", 0.9}, {"p100", 1.0}, {"p110", 1.1},
}

// MinerConfig describes a simulated miner. Zero fields take the defaults named.
type MinerConfig struct {
	Addr        string        // host:port to listen on; port 0 picks a free one; default 127.0.0.1:0
	Model       string        // what VERSION says in Type; default "Antminer S21"
	PowerW      joule.Watts   // at stock profile; default 3500, the catalog's s21
	IdleW       joule.Watts   // asleep; default 20, the catalog's s21 estimate
	HashrateTHs float64       // at stock profile; default 200
	Profiles    []Profile     // default DefaultProfiles
	Profile     string        // starting profile; default the one at power fraction 1
	SleepRamp   time.Duration // from hashing to asleep; default 1 s
	WakeRamp    time.Duration // from asleep to hashing; default 30 s
	Clock       Clock         // default SystemClock
	Fault       Fault         // default FaultNone; SetFault changes it later
	SlowDelay   time.Duration // FaultSlow's delay; default 2 s
	Asleep      bool          // start asleep
	PoolURL     string        // default stratum+tcp://pool.example.com:3333
	PoolUser    string        // default "joule.sim"
	// RebootTime is how long a reboot (rebootdevice) keeps the miner from answering;
	// default 2 s (an assumption: a real miner takes minutes, which tests need not wait).
	RebootTime time.Duration
}

func (c *MinerConfig) setDefaults() {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.SleepRamp, time.Second)
	def(&c.WakeRamp, 30*time.Second)
	def(&c.SlowDelay, 2*time.Second)
	if c.Addr == "" {
		c.Addr = "127.0.0.1:0"
	}
	if c.Model == "" {
		c.Model = "Antminer S21"
	}
	if c.PowerW == 0 {
		c.PowerW, c.IdleW, c.HashrateTHs = 3500, 20, 200
	}
	if c.Profiles == nil {
		c.Profiles = DefaultProfiles
	}
	if c.Clock == nil {
		c.Clock = SystemClock{}
	}
	if c.PoolURL == "" {
		c.PoolURL, c.PoolUser = "stratum+tcp://pool.example.com:3333", "joule.sim"
	}
	if c.RebootTime == 0 {
		c.RebootTime = 2 * time.Second
	}
}

// Miner is a simulated miner listening on its own address. It keeps two states: what
// it does (its true power) and what it reports; they differ only under
// FaultLieTelemetry.
type Miner struct {
	cfg     MinerConfig
	addr    string
	ln      net.Listener // nil on a fleet's one socket
	serving sync.Mutex   // held while a connection is answered: one at a time
	started time.Time
	ctx     context.Context // cancelled by Close
	stop    context.CancelFunc
	wg      sync.WaitGroup

	mu       sync.Mutex
	fault    Fault
	truth    transition
	told     transition
	session  string
	sessions int
	received []Command
	// pools are the pools the miner lists, active the one it hashes for.
	pools  []simPool
	active int
	// rebootedAt is when the miner last restarted (its start, or a reboot's end); it
	// does not answer before.
	rebootedAt time.Time
}

// simPool is a pool a simulated miner lists.
type simPool struct{ URL, User string }

// Command is a write command a simulated device received: what a test compares with
// the audit log of the agent that sent it.
type Command struct {
	At     time.Time // by the device's clock, when it arrived
	Action string    // "sleep", "wake", "power" (a profile), "switchpool" or "addpool"
	Arg    string    // power: the profile asked for
	// Accepted is whether the device took it (a valid session, a known profile); a
	// refused command still reached the device.
	Accepted bool
}

// Commands returns every write command the miner received, in order: sleeps and
// wakes (curtail) and power settings (profileset), whether or not it acted on them
// (its fault may say not).
func (m *Miner) Commands() []Command {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Command(nil), m.received...)
}

// receive records a write command as it arrives.
func (m *Miner) receive(action, arg string, accepted bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.received = append(m.received, Command{At: m.cfg.Clock.Now(), Action: action, Arg: arg, Accepted: accepted})
}

// transition is a miner's state: asleep or awake at a profile, and since when, with the
// level (0 asleep … 1 hashing at the profile) it started from.
type transition struct {
	awake   bool
	since   time.Time
	from    float64
	profile int
}

// level is how far the miner is from asleep (0) to hashing (1) at now.
func (t transition) level(now time.Time, sleepRamp, wakeRamp time.Duration) float64 {
	target, ramp := 0.0, sleepRamp
	if t.awake {
		target, ramp = 1, wakeRamp
	}
	done := max(float64(now.Sub(t.since))/float64(ramp), 0) // a reboot's ramp starts when it is back
	if ramp <= 0 || done >= 1 {
		return target
	}
	return t.from + (target-t.from)*max(done, 0)
}

// StartMiner starts a simulated miner.
func StartMiner(cfg MinerConfig) (*Miner, error) {
	cfg.setDefaults()
	// A request per connection, as the API's clients make: keepalive would only cost
	// system calls on every accept.
	ln, err := (&net.ListenConfig{KeepAlive: -1}).Listen(context.Background(), "tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("sim: miner: %w", err)
	}
	m, err := newMiner(cfg, ln.Addr().String())
	if err != nil {
		ln.Close()
		return nil, err
	}
	m.ln = ln
	m.wg.Go(m.accept)
	return m, nil
}

// newMiner makes a miner that answers at addr, without a listener of its own: StartMiner
// gives it one, a fleet on one socket hands it its connections.
func newMiner(cfg MinerConfig, addr string) (*Miner, error) {
	cfg.setDefaults()
	profile := -1
	for i, p := range cfg.Profiles {
		if p.Name == cfg.Profile || (cfg.Profile == "" && p.PowerFraction == 1) {
			profile = i
		}
	}
	if profile < 0 {
		return nil, fmt.Errorf("sim: miner profile %q is not among its profiles", cfg.Profile)
	}
	now := cfg.Clock.Now()
	t := transition{awake: !cfg.Asleep, since: now.Add(-cfg.WakeRamp), profile: profile}
	if !cfg.Asleep {
		t.from = 1
	}
	ctx, stop := context.WithCancel(context.Background())
	m := &Miner{cfg: cfg, addr: addr, started: now, rebootedAt: now, ctx: ctx, stop: stop, truth: t, told: t,
		pools: []simPool{{cfg.PoolURL, cfg.PoolUser}}}
	m.SetFault(cfg.Fault)
	return m, nil
}

// Addr returns the address the miner answers at, host:port.
func (m *Miner) Addr() string { return m.addr }

// Close stops the miner and waits for its connections to end.
func (m *Miner) Close() error {
	m.stop()
	var err error
	if m.ln != nil {
		err = m.ln.Close()
	}
	m.wg.Wait()
	return err
}

// SetFault changes how the miner misbehaves. Clearing a lie makes it report the truth.
// FaultWrongPool adds WrongPoolURL to its pools and switches to it; clearing that
// fault switches it back to its first pool, as does a switchpool command.
func (m *Miner) SetFault(f Fault) {
	m.mu.Lock()
	defer m.mu.Unlock()
	was := m.fault
	m.fault = f
	if f != FaultLieTelemetry {
		m.told = m.truth
	}
	switch {
	case f == FaultWrongPool && was != FaultWrongPool:
		i := slices.IndexFunc(m.pools, func(p simPool) bool { return p.URL == WrongPoolURL })
		if i < 0 {
			m.pools, i = append(m.pools, simPool{WrongPoolURL, "someone.else"}), len(m.pools)
		}
		m.active = i
	case was == FaultWrongPool && f != FaultWrongPool && m.pools[m.active].URL == WrongPoolURL:
		m.active = 0
	}
}

// Fault returns how the miner misbehaves now.
func (m *Miner) Fault() Fault {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.fault
}

// Pool returns the URL of the pool the miner hashes for.
func (m *Miner) Pool() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pools[m.active].URL
}

// switchPool makes pool i the one the miner hashes for, as cgminer's switchpool does,
// and returns its URL; false when there is none such. A miner under FaultLieAck
// acknowledges and does not switch.
func (m *Miner) switchPool(i int) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if i < 0 || i >= len(m.pools) {
		return "", false
	}
	if m.fault != FaultLieAck {
		m.active = i
	}
	return m.pools[i].URL, true
}

// maxSimPools bounds a simulated miner's pools, as firmware bounds its pool list.
const maxSimPools = 8

// addPool adds a pool as cgminer's addpool does, and returns its number.
func (m *Miner) addPool(url, user string) (int, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.pools) >= maxSimPools {
		return 0, false
	}
	m.pools = append(m.pools, simPool{url, user})
	return len(m.pools) - 1, true
}

// Reading is what a simulated device does at one instant.
type Reading struct {
	State       joule.DeviceState `json:"state"`
	PowerW      joule.Watts       `json:"power_w"`
	HashrateTHs float64           `json:"hashrate_ths,omitempty"`
	Profile     string            `json:"profile,omitempty"`
}

// Reading returns what the miner truly does now.
func (m *Miner) Reading() Reading {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.readingOf(m.truth, m.cfg.Clock.Now())
}

// PowerW returns the power the miner truly draws now.
func (m *Miner) PowerW() joule.Watts { return m.Reading().PowerW }

// reported returns what the miner's API says it does now.
func (m *Miner) reported() Reading {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.readingOf(m.told, m.cfg.Clock.Now())
}

func (m *Miner) readingOf(t transition, now time.Time) Reading {
	l := t.level(now, m.cfg.SleepRamp, m.cfg.WakeRamp)
	p := m.cfg.Profiles[t.profile]
	full := float64(m.cfg.PowerW) * p.PowerFraction
	r := Reading{
		PowerW:      joule.Watts(math.Round(float64(m.cfg.IdleW) + (full-float64(m.cfg.IdleW))*l)),
		HashrateTHs: m.cfg.HashrateTHs * p.HashFraction() * l,
		Profile:     p.Name,
		State:       joule.StateRamping,
	}
	switch {
	case l >= 1:
		r.State = joule.StateRunning
	case l <= 0:
		r.State = joule.StateSleeping
	}
	return r
}

// Sleep puts the miner to sleep as the curtail command does (subject to its fault).
func (m *Miner) Sleep() { m.setAwake(false) }

// Wake wakes the miner as the curtail command does (subject to its fault).
func (m *Miner) Wake() { m.setAwake(true) }

func (m *Miner) setAwake(awake bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.cfg.Clock.Now()
	to := func(t transition) transition {
		if t.awake == awake {
			return t
		}
		return transition{awake: awake, since: now, from: t.level(now, m.cfg.SleepRamp, m.cfg.WakeRamp), profile: t.profile}
	}
	switch m.fault {
	case FaultLieAck:
	case FaultLieTelemetry:
		m.told = to(m.told)
	default:
		m.truth = to(m.truth)
		m.told = m.truth
	}
}

// Restart power-cycles the miner, as a power cut or a watchdog reset does: it boots and
// ramps up to hashing at its profile whatever it was told before, since firmware does
// not keep a curtailment across a reboot.
func (m *Miner) Restart() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.truth = transition{awake: true, since: m.cfg.Clock.Now(), profile: m.truth.profile}
	m.told = m.truth
}

// SetProfile switches the miner to a named profile (subject to its fault). Power and
// hashrate follow at once; a sleeping miner wakes to it later.
func (m *Miner) SetProfile(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, p := range m.cfg.Profiles {
		if p.Name != name {
			continue
		}
		switch m.fault {
		case FaultLieAck:
		case FaultLieTelemetry:
			m.told.profile = i
		default:
			m.truth.profile = i
			m.told = m.truth
		}
		return nil
	}
	return fmt.Errorf("sim: no profile %q", name)
}

// Reboot restarts the miner as rebootdevice does: it answers nothing for RebootTime,
// then comes back with its uptime from then, waking to its profile and with no
// session. A miner under FaultLieAck acknowledges and does not restart.
func (m *Miner) Reboot() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fault == FaultLieAck {
		return
	}
	back := m.cfg.Clock.Now().Add(m.cfg.RebootTime)
	m.rebootedAt, m.session = back, ""
	m.truth = transition{awake: true, since: back, profile: m.truth.profile}
	m.told = m.truth
}

// rebooting reports whether the miner is restarting now and does not answer.
func (m *Miner) rebooting() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cfg.Clock.Now().Before(m.rebootedAt)
}

// uptimeStart is when the miner's uptime counts from.
func (m *Miner) uptimeStart() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rebootedAt
}
