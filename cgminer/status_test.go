package cgminer

import (
	"context"
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/joule-site/joule"
)

// firmwareCase is one miner replayed from recorded replies, and the reading Status
// must make of it. Commands without a recorded reply get invalidCommand.
type firmwareCase struct {
	name  string
	files map[string]string // command → fixture
	multi bool              // the peer answers version+summary+pools in one reply

	firmware   string
	model      string
	ths        float64
	powerW     joule.Watts // 0: the firmware does not report power
	limitW     joule.Watts
	uptime     int64
	state      joule.DeviceState
	pools      int    // pools with a URL
	activePool string // URL of the first active pool
}

var firmwareCases = []firmwareCase{
	{
		name: "bmminer S19 Pro", multi: true,
		files: map[string]string{"version": "bmminer/version-s19pro.json", "summary": "bmminer/summary-s19pro.json",
			"pools": "bmminer/pools-s19pro.json", "stats": "bmminer/stats-s19pro.json"},
		firmware: FirmwareBMMiner, model: "Antminer S19 Pro", ths: 110.56689, uptime: 50474,
		state: joule.StateRunning, pools: 3, activePool: "stratum+tcp://btc.global.luxor.tech:700",
	},
	{
		name: "bmminer S19 asleep, no summary recorded",
		files: map[string]string{"version": "bmminer/version-s19-sleeping.json", "stats": "bmminer/stats-s19-sleeping.json",
			"pools": "bmminer/pools-s19-sleeping.json"},
		firmware: FirmwareBMMiner, model: "Antminer S19", ths: 0, uptime: 735,
		state: joule.StateSleeping, pools: 3, activePool: "stratum+tcp://aaa:700",
	},
	{
		name:     "bmminer S17 Pro, stats only: GHS 5s as a string",
		files:    map[string]string{"stats": "bmminer/stats-s17pro.json", "pools": "bmminer/pools-s17pro.json"},
		firmware: FirmwareBMMiner, model: "Antminer S17 Pro", ths: 54.99701, uptime: 253447,
		state: joule.StateRunning, pools: 3, activePool: "stratum+tcp://xxxxxx:3333",
	},
	{
		name: "LuxOS S19k Pro, refuses multi-commands",
		files: map[string]string{"version": "luxminer/version-s19kpro.json", "summary": "luxminer/summary-s19kpro.json",
			"pools": "luxminer/pools-s19kpro.json", "power": "luxminer/power-s19kpro.json",
			"config": "luxminer/config-s19kpro.json", "version+summary+pools": "luxminer/error-invalid-command.json",
			"stats": "luxminer/stats-s19kpro.json"},
		firmware: FirmwareLuxOS, model: "Antminer S19k Pro", ths: 59.75606, powerW: 1051, uptime: 3453,
		state: joule.StateRunning, pools: 4, activePool: "stratum+tcp://ca.stratum.braiins.com:3333",
	},
	{
		name: "BOSminer S9", multi: true,
		files: map[string]string{"version": "bosminer/version-bos-s9.json", "summary": "bosminer/summary-bos-s9.json",
			"pools": "bosminer/pools-bos-s9.json", "fans": "bosminer/fans-bos-s9.json", "temps": "bosminer/temps-bos-s9.json"},
		firmware: FirmwareBOSminer, ths: 14.274425317759488, uptime: 92,
		state: joule.StateRunning, pools: 2, activePool: "stratum+tcp://stratum.antpool.com:3333",
	},
	{
		name: "BOSminer+ S9", multi: true,
		files: map[string]string{"version": "bosminer/version-bosplus-s9.json", "summary": "bosminer/summary-bosplus-s9.json",
			"pools": "bosminer/pools-bosplus-s9.json", "fans": "bosminer/fans-bosplus-s9.json", "temps": "bosminer/temps-bosplus-s9.json"},
		firmware: FirmwareBOSminer, ths: 15.740915842676325, uptime: 3680,
		state: joule.StateRunning, pools: 3, activePool: "stratum+tcp://stratum.antpool.com:3333",
	},
	{
		name:     "Whatsminer M31S btminer",
		files:    map[string]string{"summary": "whatsminer-v2/summary-m31s-btminer.json", "pools": "whatsminer-v2/pools-m31s-btminer.json"},
		firmware: FirmwareWhatsminer, ths: 92.76828894, powerW: 3552, limitW: 3600, uptime: 33102,
		state: joule.StateRunning, pools: 3, activePool: "stratum+tcp://btc.ss.poolin.com:443",
	},
	{
		name:     "Whatsminer M20S old firmware: invalid escape, says cgminer",
		files:    map[string]string{"summary": "whatsminer-v2/summary-m20s-old-firmware.json", "pools": "whatsminer-v2/pools-m20s-old-firmware.json"},
		firmware: FirmwareWhatsminer, ths: 64.14377795, powerW: 3482, limitW: 3500, uptime: 66295,
		state: joule.StateRunning, pools: 2, activePool: "stratum+tcp://us-east.stratum.slushpool.com:3333",
	},
	{
		name:     "Whatsminer API 1.4",
		files:    map[string]string{"summary": "whatsminer-v2/summary-api1.4.json", "pools": "whatsminer-v2/pools-api1.4.json"},
		firmware: FirmwareWhatsminer, ths: 70.66811452, powerW: 3427, limitW: 3500, uptime: 10154,
		state: joule.StateRunning, pools: 3, activePool: "stratum+tcp://btc.example.pool:3333",
	},
	{
		name: "Vnish 3.8.6 S9: the }{ bug in stats",
		files: map[string]string{"version": "vnish/version-s9-vnish-3.8.6.json", "stats": "vnish/stats-s9-vnish-3.8.6.json",
			"pools": "vnish/pools-s9-vnish-3.8.6.json"},
		firmware: FirmwareVnish, model: "Antminer S9", ths: 12.79548, uptime: 3617,
		state: joule.StateRunning, pools: 4, activePool: "stratum+tcp://solo.antpool.com:3333",
	},
	{
		name: "Vnish 2.0.3 S17+: no Type in VERSION",
		files: map[string]string{"version": "vnish/version-s17plus-vnish-2.0.3.json", "stats": "vnish/stats-s17plus-vnish-2.0.3.json",
			"pools": "vnish/pools-s17plus-vnish-2.0.3.json"},
		firmware: FirmwareVnish, model: "Antminer S17+", ths: 77.45873, uptime: 1201,
		state: joule.StateRunning, pools: 3, activePool: "stratum+tcp://sha256.eu.mine.zpool.ca:3333",
	},
	{
		name:     "Hiveon S9, no pools recorded",
		files:    map[string]string{"version": "hiveon/version-s9-hiveon.json", "stats": "hiveon/stats-s9-hiveon.json"},
		firmware: FirmwareHiveon, model: "Antminer S9", ths: 11.7814, uptime: 69, state: joule.StateRunning,
	},
	{
		name: "asicseer S9",
		files: map[string]string{"version": "asicseer/version-s9-asicseer.json", "stats": "asicseer/stats-s9-asicseer.json",
			"pools": "asicseer/pools-s9-asicseer.json"},
		firmware: FirmwareASICseer, model: "Antminer S9", ths: 13.40214, uptime: 102,
		state: joule.StateRunning, pools: 3, activePool: "", // every pool says "Stratum Active":false
	},
	{
		name: "Avalon Q in soft-off", multi: true,
		files: map[string]string{"version": "avalon/version-avalonq.json", "summary": "avalon/summary-avalonq.json",
			"pools": "avalon/pools-avalonq.json", "stats": "avalon/stats-avalonq.json"},
		firmware: FirmwareAvalon, model: "Avalon Q", ths: 0, uptime: 37714, powerW: 146, // PS[… 146]
		state: joule.StateSleeping, pools: 1, activePool: "stratum+tcp://pool.example.com:4444",
	},
	{
		name: "Avalon 741, no version recorded",
		files: map[string]string{"summary": "avalon/summary-avalon7xx.json", "stats": "avalon/stats-avalon7xx.json",
			"pools": "avalon/pools-avalon7xx.json"},
		firmware: FirmwareAvalon, model: "Avalon 741", ths: 52.12628215, uptime: 118,
		state: joule.StateRunning, pools: 2, activePool: "stratum+tcp://stratum.antpool.com:3333",
	},
	{
		name: "cgminer MinerVa MV8",
		files: map[string]string{"summary": "cgminer/summary-minerva-mv8.json", "stats": "cgminer/stats-minerva-mv8.json",
			"pools": "cgminer/pools-minerva-mv8.json"},
		firmware: FirmwareCGMiner, ths: 87.24323861, uptime: 10336,
		state: joule.StateRunning, pools: 1, activePool: "stratum+tcp://btc-us.f2pool.com:3333",
	},
	{
		name: "bmminer S9", multi: true,
		files:    map[string]string{"version": "bmminer/version-s9.json", "stats": "bmminer/stats-s9-bmminer-1.0.0.json"},
		firmware: FirmwareBMMiner, model: "Antminer S9", ths: 13.60484, uptime: 248, state: joule.StateRunning,
	},
	{
		name:     "bmminer S19 Pro overheated: chips off, reads as asleep",
		files:    map[string]string{"version": "bmminer/version-s19pro.json", "stats": "bmminer/stats-s19pro-overheating.json"},
		firmware: FirmwareBMMiner, model: "Antminer S19 Pro", ths: 0, uptime: 12122, state: joule.StateSleeping,
	},
	{
		name: "cgminer Antminer L3+: the }{ bug in stats",
		files: map[string]string{"version": "cgminer/version-antminer-l3plus.json", "stats": "cgminer/stats-antminer-l3plus.json",
			"pools": "cgminer/pools-antminer-l3plus.json"},
		firmware: FirmwareCGMiner, model: "Antminer L3+", ths: 0.50456, uptime: 393983, state: joule.StateRunning,
		pools: 1, activePool: "stratum+tcp://us.litecoinpool.org:3333",
	},
	{
		name: "cgminer Spondoolies SP36: power in json-stats",
		files: map[string]string{"summary": "cgminer/summary-spondoolies-sp36.json", "stats": "cgminer/stats-spondoolies-sp36.json",
			"pools": "cgminer/pools-spondoolies-sp36.json"},
		firmware: FirmwareCGMiner, ths: 0.37776337, powerW: 4320, uptime: 147407, state: joule.StateRunning,
		pools: 2, activePool: "stratum+tcp://dash.coinmine.pl:6099",
	},
}

// TestStatusPerFirmware replays each firmware's recorded replies, with and without
// the trailing NUL and split into small writes, and checks the normalized reading.
func TestStatusPerFirmware(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range firmwareCases {
		for _, wire := range []struct {
			name  string
			nul   bool
			chunk int
		}{{"nul", true, 0}, {"no-nul split", false, 7}} {
			t.Run(tc.name+"/"+wire.name, func(t *testing.T) {
				p := startPeer(t, wire.nul, wire.chunk, replay(t, tc.files, tc.multi))
				c := Dial(p.addr, WithClock(func() time.Time { return at }), WithTimeout(5*time.Second))
				got, err := c.Status(context.Background())
				if err != nil {
					t.Fatalf("Status: %v", err)
				}
				checkTelemetry(t, tc, got)
				if got.At != at || got.Address != p.addr {
					t.Errorf("at %v address %s, want %v %s", got.At, got.Address, at, p.addr)
				}
				if _, err := json.Marshal(got); err != nil {
					t.Errorf("telemetry does not marshal: %v", err)
				}
			})
		}
	}
}

func checkTelemetry(t *testing.T, tc firmwareCase, got *joule.Telemetry) {
	t.Helper()
	if got.Firmware != tc.firmware || got.Model != tc.model {
		t.Errorf("firmware %q model %q, want %q %q", got.Firmware, got.Model, tc.firmware, tc.model)
	}
	if math.Abs(got.HashrateTHs-tc.ths) > 1e-6 {
		t.Errorf("hashrate %v TH/s, want %v", got.HashrateTHs, tc.ths)
	}
	if got.PowerKnown != (tc.powerW > 0) || got.PowerW != tc.powerW || got.PowerLimitW != tc.limitW {
		t.Errorf("power %d W (known %v, limit %d), want %d W limit %d", got.PowerW, got.PowerKnown, got.PowerLimitW, tc.powerW, tc.limitW)
	}
	if got.UptimeS != tc.uptime || got.State != tc.state {
		t.Errorf("uptime %d state %s, want %d %s", got.UptimeS, got.State, tc.uptime, tc.state)
	}
	if len(got.Pools) != tc.pools {
		t.Errorf("%d pools, want %d: %+v", len(got.Pools), tc.pools, got.Pools)
	}
	active := ""
	for _, p := range got.Pools {
		if p.Active {
			active = p.URL
			break
		}
	}
	if active != tc.activePool {
		t.Errorf("active pool %q, want %q", active, tc.activePool)
	}
}

// TestStatusJSON checks the fields the CLI prints for `joule miner status --json`.
func TestStatusJSON(t *testing.T) {
	tc := firmwareCases[3] // LuxOS: reports power
	p := startPeer(t, true, 0, replay(t, tc.files, tc.multi))
	got, err := Dial(p.addr).Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"firmware", "hashrate_ths", "power_w", "pools", "uptime_s"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, b)
		}
	}
}
