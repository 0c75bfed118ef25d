package cgminer

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/joule-site/joule"
)

// detail is what Status must read of a firmware beyond hashrate, power and pools,
// each value read off the recorded replies by hand.
type detail struct {
	version       string
	expectedTHs   float64
	tempC, chipC  float64
	boards, chips []float64
	fans          []int
	hw            int64 // -1: not reported
	nChips, down  int
}

// details of every case in firmwareCases, by name: a case without one fails.
var detailCases = map[string]detail{
	"bmminer S19 Pro": {version: "1.0.0", expectedTHs: 110, tempC: 73, chipC: 78,
		boards: []float64{73, 66, 64}, chips: []float64{78, 71, 69}, fans: []int{6000, 5880, 5040, 5040},
		hw: 562, nChips: 342},
	"bmminer S19 asleep, no summary recorded": {version: "1.0.0", expectedTHs: 63.919, tempC: 40, chipC: 40,
		boards: []float64{40, 40}, chips: []float64{40, 40}, fans: []int{1560, 1560, 600, 720},
		hw: 0, nChips: 152, down: 152},
	"bmminer S17 Pro, stats only: GHS 5s as a string": {version: "1.0.0", expectedTHs: 53.619, tempC: 53, chipC: 80,
		boards: []float64{50, 53, 45}, chips: []float64{80, 75, 63}, fans: []int{2400, 3000, 3120, 2400},
		hw: 731 + 1074 + 1080, nChips: 144},
	"LuxOS S19k Pro, refuses multi-commands": {version: "2025.4.8.220305-57b389c7", expectedTHs: 61.9542, tempC: 47, chipC: 47,
		boards: []float64{47, 47, 47}, chips: []float64{47, 47, 47}, fans: []int{1920, 1920, 2340, 2340},
		hw: 0, nChips: 231},
	"BOSminer S9": {version: "0.2.0-d360818", tempC: 53,
		boards: []float64{53, 46, 52}, fans: []int{1560, 1560, 0, 0}, hw: 0},
	"BOSminer+ S9": {version: "0.2.0-36c56a9363", tempC: 75,
		boards: []float64{75, 63, 70}, fans: []int{2820, 3780, 0, 0}, hw: 186},
	"Whatsminer M31S btminer": {version: "20201202.22.REL", expectedTHs: 75.697, tempC: 72, chipC: 93,
		fans: []int{5700, 0}, hw: 0},
	"Whatsminer M20S old firmware: invalid escape, says cgminer": {version: "20200917.22.REL", expectedTHs: 67.051, tempC: 72, chipC: 87.7,
		fans: []int{4950, 4920}, hw: 912},
	"Whatsminer API 1.4": {version: "20210322.22.REL", expectedTHs: 68.796, tempC: 71.5, chipC: 92.5,
		fans: []int{6450, 6480}, hw: 69},
	"Vnish 3.8.6 S9: the }{ bug in stats": {version: "3.8.6", expectedTHs: 12.9276, tempC: 65, chipC: 80,
		boards: []float64{65, 56, 63}, chips: []float64{80, 71, 78}, fans: []int{5400, 5880},
		hw: 1 + 3 + 293, nChips: 189},
	"Vnish 2.0.3 S17+: no Type in VERSION": {version: "2.0.3", expectedTHs: 79.968, tempC: 66, chipC: 81,
		boards: []float64{66, 65, 62}, chips: []float64{81, 80, 76}, fans: []int{6120, 6120, 5160, 5160},
		hw: 0, nChips: 195, down: 5},
	"Hiveon S9, no pools recorded": {version: "2.0.0 rwglr", expectedTHs: 11.8503, tempC: 59, chipC: 74,
		boards: []float64{59, 50, 57}, chips: []float64{74, 65, 72}, fans: []int{3840, 4920},
		hw: 0, nChips: 189},
	"asicseer S9": {version: "2.4.0-asicseer-1.1.9-f7b7", expectedTHs: 13.46625, tempC: 57, chipC: 87,
		boards: []float64{57, 49, 56}, chips: []float64{87, 74, 86}, fans: []int{2880, 3840},
		hw: 2, nChips: 189},
	"Avalon Q in soft-off": {version: "25052801_14a19a2", expectedTHs: 55.03279, tempC: 27,
		boards: []float64{27}, fans: []int{0, 0, 0, 0}, hw: 0},
	"Avalon 741, no version recorded": {expectedTHs: 68.24351, chipC: 92,
		chips: []float64{89, 80, 92, 87, 88, 84, 89, 87, 90, 78},
		fans:  []int{2550, 1440, 2700, 2580, 2430, 4440, 3900, 3150, 2760, 3810}, hw: 3},
	"cgminer MinerVa MV8": {tempC: 86.86, boards: []float64{85.87, 84.14, 83.13, 86.86},
		fans: []int{3090, 3330}, hw: 1351, nChips: 4 * 102},
	"bmminer S9": {version: "2.0.0", expectedTHs: 13.50126, tempC: 62, chipC: 77,
		boards: []float64{62, 60, 60}, chips: []float64{77, 75, 75}, fans: []int{5880, 5760},
		hw: 0, nChips: 189},
	"bmminer S19 Pro overheated: chips off, reads as asleep": {version: "1.0.0", expectedTHs: 111.859, tempC: 92, chipC: 97,
		boards: []float64{88, 89, 92}, chips: []float64{93, 94, 97}, fans: []int{5160, 5280, 6240, 6120},
		hw: 1, nChips: 342, down: 342},
	"cgminer Antminer L3+: the }{ bug in stats": {version: "4.9.0", tempC: 46, chipC: 56,
		boards: []float64{46, 46, 46, 45}, chips: []float64{54, 56, 56, 53}, fans: []int{3840, 3810},
		hw: 153, nChips: 288},
	"cgminer Spondoolies SP36: power in json-stats": {chipC: 97, tempC: 66,
		boards: []float64{66, 65}, chips: []float64{97, 93}, fans: []int{12028, 11094, 11956, 11094}, hw: 3844},
}

// TestStatusDetails replays each firmware and checks the temperatures, fans, chips,
// hardware errors, firmware version and expected hashrate Status reads.
func TestStatusDetails(t *testing.T) {
	for _, tc := range firmwareCases {
		t.Run(tc.name, func(t *testing.T) {
			want, ok := detailCases[tc.name]
			if !ok {
				t.Fatalf("no expected details for %q", tc.name)
			}
			p := startPeer(t, true, 0, replay(t, tc.files, tc.multi))
			got, err := Dial(p.addr, WithTimeout(5*time.Second)).Status(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			checkDetails(t, want, got)
		})
	}
}

func checkDetails(t *testing.T, want detail, got *joule.Telemetry) {
	t.Helper()
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-6 }
	if got.FirmwareVersion != want.version {
		t.Errorf("firmware version %q, want %q", got.FirmwareVersion, want.version)
	}
	if !near(got.ExpectedHashrateTHs, want.expectedTHs) {
		t.Errorf("expected hashrate %v TH/s, want %v", got.ExpectedHashrateTHs, want.expectedTHs)
	}
	if !near(got.TempC, want.tempC) || !near(got.ChipTempC, want.chipC) {
		t.Errorf("hottest board %v °C chip %v °C, want %v %v", got.TempC, got.ChipTempC, want.tempC, want.chipC)
	}
	if !slices.Equal(got.BoardTempsC, want.boards) || !slices.Equal(got.ChipTempsC, want.chips) {
		t.Errorf("boards %v chips %v °C, want %v %v", got.BoardTempsC, got.ChipTempsC, want.boards, want.chips)
	}
	if !slices.Equal(got.FansRPM, want.fans) {
		t.Errorf("fans %v RPM, want %v", got.FansRPM, want.fans)
	}
	if got.HardwareErrorsKnown != (want.hw >= 0) || (want.hw >= 0 && got.HardwareErrors != want.hw) {
		t.Errorf("hardware errors %d (known %v), want %d", got.HardwareErrors, got.HardwareErrorsKnown, want.hw)
	}
	if got.Chips != want.nChips || got.ChipsDown != want.down {
		t.Errorf("chips %d, %d down; want %d, %d", got.Chips, got.ChipsDown, want.nChips, want.down)
	}
}

// TestDetailsOfStats reads replies Status cannot be replayed over alone (stats with no
// summary or version, a multi-command reply) and checks what details makes of them.
func TestDetailsOfStats(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		want       detail
		powerW     joule.Watts
	}{
		{"Avalon 1246", "avalon/stats-avalon1246.json", detail{expectedTHs: 83.92304, chipC: 77,
			chips: []float64{77, 77, 76}, fans: []int{5344, 5392, 5349, 5309}, hw: 2735}, 3504},
		{"Avalon 8xx", "avalon/stats-avalon8xx.json", detail{expectedTHs: 36.7693, chipC: 85,
			chips: []float64{84, 85, 83}, fans: []int{5730, 5850, 5610}, hw: 1}, 0},
		{"Avalon 10xx multi-command, PS of six fields", "avalon/pools+summary+stats-avalon10xx.json", detail{expectedTHs: 37.47098, chipC: 64,
			chips: []float64{61, 64}, fans: []int{2896, 2927}, hw: 0}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := fixture(t, tc.file)
			var summary Object
			var stats []Object
			if m, err := ParseMulti(b); err == nil && m["stats"] != nil {
				summary, stats = m["summary"].firstOr("SUMMARY"), m["stats"].Section("STATS")
			} else {
				r, err := ParseReply(b)
				if err != nil {
					t.Fatal(err)
				}
				stats = r.Section("STATS")
			}
			got := &joule.Telemetry{}
			details(got, summary, stats)
			checkDetails(t, tc.want, got)
			if got.PowerW != tc.powerW || got.PowerKnown != (tc.powerW > 0) {
				t.Errorf("power %d W (known %v), want %d", got.PowerW, got.PowerKnown, tc.powerW)
			}
		})
	}
}

// A firmware Joule does not recognise still has its hashrate and power read where its
// replies carry them. The replies are written for the test: no recording of such a
// firmware exists.
func TestStatusUnknownFirmware(t *testing.T) {
	replies := map[string]string{
		"version": `{"STATUS":[{"STATUS":"S","Code":22,"Msg":"versions","Description":"foominer 0.1"}],"VERSION":[{"API":"3.1","FooMiner":"0.1"}],"id":1}`,
		"summary": `{"STATUS":[{"STATUS":"S","Code":11,"Msg":"Summary","Description":"foominer 0.1"}],"SUMMARY":[{"Elapsed":60,"GHS 5s":"98000.5","Power":3123.4,"Hardware Errors":7}],"id":1}`,
		"pools":   `{"STATUS":[{"STATUS":"S","Code":7,"Msg":"1 Pool(s)","Description":"foominer 0.1"}],"POOLS":[{"POOL":0,"URL":"stratum+tcp://pool:3333","Status":"Alive","Priority":0}],"id":1}`,
	}
	p := startPeer(t, true, 0, func(r request) []byte {
		if b, ok := replies[r.Command]; ok {
			return []byte(b)
		}
		return invalidCommand
	})
	got, err := Dial(p.addr, WithTimeout(5*time.Second)).Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.Firmware != "" || math.Abs(got.HashrateTHs-98.0005) > 1e-9 || !got.PowerKnown || got.PowerW != 3123 ||
		got.HardwareErrors != 7 || got.UptimeS != 60 || got.ActivePool() == nil || got.ActivePool().URL != "stratum+tcp://pool:3333" {
		t.Errorf("unknown firmware: %+v", got)
	}
}
