package cgminer

import (
	"encoding/json"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/joule-site/joule"
)

// The readings beyond hashrate, power and pools: temperatures, fans, chips, hardware
// errors and the expected hashrate, read from where each firmware keeps them.
//
//   - Antminer stats (bmminer, LuxOS, Vnish, Hiveon, asicseer): "tempN" is board N's
//     PCB sensor and "temp2_N" its hottest chip, "fanN" the fans (fan_num of them),
//     "chain_acnN" the chips found, "chain_acsN" one letter a chip ('o' answers, 'x'
//     does not), "chain_hwN" the board's hardware errors, "total_rateideal" the
//     expected rate in "rate_unit" (bmminer/stats-s19pro.json, luxminer/stats-s19kpro.json).
//   - Whatsminer summary: "Temperature", "Chip Temp Max", "Fan Speed In"/"Out",
//     "Factory GHS" (whatsminer-v2/summary-m31s-btminer.json).
//   - Avalon: the "MM ID" strings, one per module: TMax (hottest chip), MTmax (per
//     board), HBOTemp (hash board outlet), Fan/Fan1…Fan4, HW, GHSmm (expected GH/s)
//     and PS[…], whose seventh number is the watts drawn (as pyasic reads it;
//     avalon/stats-avalon1246.json).
//   - Braiins OS: the fans and temps commands (bosminer/fans-bos-s9.json).
//   - cgminer forks: per-chain "Temp Avg", "Chip Count" and "FanN Speed"
//     (cgminer/stats-minerva-mv8.json); Spondoolies' "json-stats", a JSON document in
//     a string with power, temperatures and fan speeds per board
//     (cgminer/stats-spondoolies-sp36.json).

// maxRPM and maxTempC bound what counts as a reading: a fan speed or temperature
// beyond them is a firmware's garbage, not a measurement.
const (
	maxRPM   = 100_000
	maxTempC = 500
)

func rpm(f float64) (int, bool) {
	if f < 0 || f > maxRPM || math.IsNaN(f) {
		return 0, false
	}
	return int(f), true
}

func temp(f float64) bool { return f > 0 && f < maxTempC }

// maxBoards bounds the board numbers read from Antminer keys: "temp31" on the L3+
// (cgminer/stats-antminer-l3plus.json) is a misspelt chip sensor, not board 31.
const maxBoards = 16

var antminerKey = regexp.MustCompile(`^(temp|temp2_|fan|chain_hw|chain_acn|chain_acs)([0-9]{1,2})$`)

// details fills the readings a summary and stats carry beyond hashrate, power and
// pools. Values already set (by a firmware-specific read) are kept.
func details(t *joule.Telemetry, summary Object, stats []Object) {
	if n, ok := summary.Int("Hardware Errors"); ok && n >= 0 {
		t.HardwareErrors, t.HardwareErrorsKnown = n, true
	}
	whatsminerDetails(t, summary)
	for _, o := range stats {
		antminerDetails(t, o)
	}
	avalonDetails(t, stats)
	chainDetails(t, stats)
	spondooliesDetails(t, stats)
	finishTemps(t)
}

// finishTemps sets the hottest board and chip temperatures from the per-board ones
// where the firmware gave no overall figure.
func finishTemps(t *joule.Telemetry) {
	if t.TempC == 0 && len(t.BoardTempsC) > 0 {
		t.TempC = slices.Max(t.BoardTempsC)
	}
	if t.ChipTempC == 0 && len(t.ChipTempsC) > 0 {
		t.ChipTempC = slices.Max(t.ChipTempsC)
	}
}

// antminerDetails reads one Antminer stats object, when it is one (it has fan_num,
// temp_num or chain_acn keys).
func antminerDetails(t *joule.Telemetry, o Object) {
	type board = map[int]float64
	vals := map[string]board{}
	acs := map[int]string{}
	for k, v := range o {
		m := antminerKey.FindStringSubmatch(k)
		if m == nil {
			continue
		}
		i, _ := strconv.Atoi(m[2])
		if i < 1 || i > maxBoards {
			continue
		}
		if m[1] == "chain_acs" {
			if s, ok := v.(string); ok {
				acs[i] = s
			}
			continue
		}
		if f, ok := o.Float(k); ok && f >= 0 && f < 1e12 {
			if vals[m[1]] == nil {
				vals[m[1]] = board{}
			}
			vals[m[1]][i] = f
		}
	}
	if len(vals) == 0 && len(acs) == 0 {
		return
	}
	positive := func(b board) []float64 {
		var idx []int
		for i, f := range b {
			if temp(f) {
				idx = append(idx, i)
			}
		}
		slices.Sort(idx)
		out := make([]float64, 0, len(idx))
		for _, i := range idx {
			out = append(out, b[i])
		}
		return out
	}
	if len(t.BoardTempsC) == 0 {
		t.BoardTempsC = nilIfEmpty(positive(vals["temp"]))
	}
	if len(t.ChipTempsC) == 0 {
		t.ChipTempsC = nilIfEmpty(positive(vals["temp2_"]))
	}
	if len(t.FansRPM) == 0 && vals["fan"] != nil {
		t.FansRPM = antminerFans(vals["fan"], o)
	}
	if hw := vals["chain_hw"]; hw != nil && !t.HardwareErrorsKnown {
		var sum float64
		for _, f := range hw {
			sum += f
		}
		t.HardwareErrors, t.HardwareErrorsKnown = int64(sum), true
	}
	if t.Chips == 0 {
		for _, f := range vals["chain_acn"] {
			t.Chips += int(f)
		}
		for _, s := range acs {
			t.ChipsDown += strings.Count(s, "x")
		}
	}
	if t.ExpectedHashrateTHs == 0 {
		if f, ok := o.Float("total_rateideal"); ok && f > 0 {
			t.ExpectedHashrateTHs = f / rateUnitPerTHs(o.String("rate_unit"))
		}
	}
}

// antminerFans lists the fans: fan1…fan_num with the stopped ones at 0 when every
// spinning fan is among them (S17, S19), else the spinning fans in slot order (the S9
// reports fan_num 2 with its fans in slots 3 and 6, bmminer/stats-s9-bmminer-1.0.0.json).
func antminerFans(fans map[int]float64, o Object) []int {
	n, _ := o.Int("fan_num")
	var slots []int
	for i, f := range fans {
		if _, ok := rpm(f); ok && f > 0 {
			slots = append(slots, i)
		}
	}
	slices.Sort(slots)
	if n > 0 && n <= maxBoards && (len(slots) == 0 || slots[len(slots)-1] <= int(n)) {
		out := make([]int, n)
		for i := range out {
			out[i], _ = rpm(fans[i+1])
		}
		return out
	}
	out := make([]int, 0, len(slots))
	for _, i := range slots {
		out = append(out, int(fans[i]))
	}
	return nilIfEmpty(out)
}

// rateUnitPerTHs is how many of a bmminer rate_unit make one TH/s; GH/s when absent.
func rateUnitPerTHs(unit string) float64 {
	switch strings.ToUpper(unit) {
	case "TH":
		return 1
	case "MH":
		return 1e6
	}
	return 1e3
}

// whatsminerDetails reads the temperatures, fans and factory hashrate of a Whatsminer
// summary.
func whatsminerDetails(t *joule.Telemetry, s Object) {
	if f, ok := s.Float("Chip Temp Max"); ok && temp(f) {
		t.ChipTempC = f
	}
	for _, k := range []string{"Fan Speed In", "Fan Speed Out"} {
		if f, ok := s.Float(k); ok {
			if n, ok := rpm(f); ok {
				t.FansRPM = append(t.FansRPM, n)
			}
		}
	}
	if f, ok := s.Float("Factory GHS"); ok && f > 0 {
		t.ExpectedHashrateTHs = f / 1e3
	}
}

// avalonModule is the bracket fields of one "MM ID" string.
func avalonModules(stats []Object) []map[string]string {
	var out []map[string]string
	for _, o := range stats {
		var keys []string
		for k, v := range o {
			if _, ok := v.(string); ok && strings.HasPrefix(k, "MM ID") {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			f := map[string]string{}
			avalonFields(o[k].(string), f)
			out = append(out, f)
		}
	}
	return out
}

// avalonDetails reads the module strings of an Avalon's stats.
func avalonDetails(t *joule.Telemetry, stats []Object) {
	mods := avalonModules(stats)
	if len(mods) == 0 {
		return
	}
	var hw, expectedGHS float64
	var hwSeen bool
	var watts float64
	var wattsSeen bool
	for _, m := range mods {
		if per := numbers(m["MTmax"]); len(per) > 0 {
			for _, f := range per {
				if temp(f) {
					t.ChipTempsC = append(t.ChipTempsC, f)
				}
			}
		} else if f := number(m["TMax"]); temp(f) {
			t.ChipTempsC = append(t.ChipTempsC, f)
		}
		if f := number(m["HBOTemp"]); temp(f) {
			t.BoardTempsC = append(t.BoardTempsC, f)
		}
		for _, k := range []string{"Fan", "Fan1", "Fan2", "Fan3", "Fan4"} {
			if v, ok := m[k]; ok {
				if n, ok := rpm(number(v)); ok {
					t.FansRPM = append(t.FansRPM, n)
				}
			}
		}
		if v, ok := m["HW"]; ok && number(v) >= 0 && number(v) < math.MaxInt32 {
			hw, hwSeen = hw+number(v), true
		}
		if f := number(m["GHSmm"]); f > 0 && f < 1e9 {
			expectedGHS += f
		}
		if ps := numbers(m["PS"]); len(ps) >= 7 && ps[6] >= 0 && ps[6] < 1e6 {
			watts, wattsSeen = watts+ps[6], true
		}
	}
	if hwSeen && !t.HardwareErrorsKnown {
		t.HardwareErrors, t.HardwareErrorsKnown = int64(hw), true
	}
	if expectedGHS > 0 {
		t.ExpectedHashrateTHs = expectedGHS / 1e3
	}
	if wattsSeen && !t.PowerKnown {
		t.PowerW, t.PowerKnown = joule.Watts(math.Round(watts)), true
	}
}

// number parses a bracket value ("77", "72%"); 0 when it is not a number.
func number(s string) float64 {
	f, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "%"), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

// numbers parses a space-separated bracket value ("77 77 76"); nil when any part is
// not a number.
func numbers(s string) []float64 {
	fields := strings.Fields(s)
	out := make([]float64, 0, len(fields))
	for _, p := range fields {
		f, err := strconv.ParseFloat(p, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil
		}
		out = append(out, f)
	}
	return out
}

var chainFanKey = regexp.MustCompile(`^Fan[0-9]+ Speed$`)

// chainDetails reads per-chain stats objects of cgminer forks (MinerVa): "Temp Avg"
// per chain, "Chip Count" and "FanN Speed" (the same fans repeated in every chain).
func chainDetails(t *joule.Telemetry, stats []Object) {
	fans := len(t.FansRPM) > 0
	for _, o := range stats {
		if !o.Has("Chain ID") && !o.Has("Chip Count") {
			continue
		}
		if f, ok := o.Float("Temp Avg"); ok && temp(f) && len(t.BoardTempsC) < maxBoards {
			t.BoardTempsC = append(t.BoardTempsC, f)
		}
		if n, ok := o.Int("Chip Count"); ok && n > 0 && n < 1e6 {
			t.Chips += int(n)
		}
		if fans {
			continue
		}
		var keys []string
		for k := range o {
			if chainFanKey.MatchString(k) {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			if f, ok := o.Float(k); ok {
				if n, ok := rpm(f); ok {
					t.FansRPM = append(t.FansRPM, n)
				}
			}
		}
		fans = len(t.FansRPM) > 0
	}
}

// spondooliesDetails reads the "json-stats" document of a Spondoolies miner: per board
// ("top-board", "bottom-board") power, max-temp (hottest chip) and rear-temp (the
// board's exhaust), and the fan speeds.
func spondooliesDetails(t *joule.Telemetry, stats []Object) {
	for _, o := range stats {
		s := o.String("json-stats")
		if s == "" {
			continue
		}
		var doc map[string]json.RawMessage
		if json.Unmarshal([]byte(s), &doc) != nil {
			continue
		}
		var names []string
		for k := range doc {
			if strings.HasSuffix(k, "-board") {
				names = append(names, k)
			}
		}
		// top before bottom, as the machine stacks them
		slices.SortFunc(names, func(a, b string) int { return strings.Compare(b, a) })
		var watts float64
		var wattsSeen bool
		for _, name := range names {
			var b struct {
				Power    *float64 `json:"power"`
				MaxTemp  float64  `json:"max-temp"`
				RearTemp float64  `json:"rear-temp"`
			}
			if json.Unmarshal(doc[name], &b) != nil {
				continue
			}
			if b.Power != nil && *b.Power >= 0 && *b.Power < 1e6 {
				watts, wattsSeen = watts+*b.Power, true
			}
			if temp(b.MaxTemp) {
				t.ChipTempsC = append(t.ChipTempsC, b.MaxTemp)
			}
			if temp(b.RearTemp) {
				t.BoardTempsC = append(t.BoardTempsC, b.RearTemp)
			}
		}
		var fans []float64
		if json.Unmarshal(doc["fan-speeds"], &fans) == nil && len(t.FansRPM) == 0 {
			for _, f := range fans {
				if n, ok := rpm(f); ok {
					t.FansRPM = append(t.FansRPM, n)
				}
			}
		}
		if wattsSeen && !t.PowerKnown {
			t.PowerW, t.PowerKnown = joule.Watts(math.Round(watts)), true
		}
	}
}

// bosDetails reads the replies of Braiins OS's fans and temps commands: RPM per fan,
// and per board its sensor and chip temperature (Chip 0.0: not measured).
func bosDetails(t *joule.Telemetry, fans, temps *Reply) {
	if fans.ok() {
		t.FansRPM = nil
		for _, f := range fans.Section("FANS") {
			if v, ok := f.Float("RPM"); ok {
				if n, ok := rpm(v); ok {
					t.FansRPM = append(t.FansRPM, n)
				}
			}
		}
	}
	if temps.ok() {
		for _, b := range temps.Section("TEMPS") {
			if f, ok := b.Float("Board"); ok && temp(f) {
				t.BoardTempsC = append(t.BoardTempsC, f)
			}
			if f, ok := b.Float("Chip"); ok && temp(f) {
				t.ChipTempsC = append(t.ChipTempsC, f)
			}
		}
	}
	finishTemps(t)
}

// genericPower reads power from a reply of firmware whose power command is not
// known: a "Power_RT", "Power" or "Watts" number in the summary or a stats object.
func genericPower(summary Object, stats []Object) (joule.Watts, bool) {
	for _, o := range append([]Object{summary}, stats...) {
		for _, k := range []string{"Power_RT", "Power", "Watts", "power"} {
			if w, ok := o.Float(k); ok && w > 0 && w < 1e6 {
				return joule.Watts(math.Round(w)), true
			}
		}
	}
	return 0, false
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}
