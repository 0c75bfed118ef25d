// Package telemetryrows is how the SQL stores (sqlite, postgres) lay out the telemetry
// history in integer columns: a sample's columns and values, reading them back, and
// the rollup tiers and their tables. Both stores keep the same rows, so a history
// reads the same on either.
package telemetryrows

import (
	"time"

	"github.com/joule-site/joule"
)

// DeviceColumns are telemetry_devices' columns after id, in the order DeviceValues gives them.
var DeviceColumns = []string{"site", "address", "fleet", "at", "state", "power_w", "ghs", "expected_ghs", "deci_c", "chip_deci_c",
	"fan_min", "fan_max", "hw_errors", "pool", "pool_state", "firmware", "firmware_version"}

// DeviceValues are a sample's values for DeviceColumns.
func DeviceValues(s *joule.TelemetrySample) []any {
	return []any{s.Site, s.Address, s.Fleet, s.At.UnixMilli(), joule.StateCode(s.State), int64(s.PowerW), joule.GHs(s.HashrateTHs),
		joule.GHs(s.ExpectedHashrateTHs), joule.DeciC(s.TempC), joule.DeciC(s.ChipTempC), s.FanMinRPM, s.FanMaxRPM, s.HardwareErrors,
		s.Pool, s.PoolState, s.Firmware, s.FirmwareVersion}
}

// RawValues are a sample's values for telemetry_raw after its device.
func RawValues(s *joule.TelemetrySample) []any {
	return []any{s.At.UnixMilli(), joule.StateCode(s.State), int64(s.PowerW), joule.GHs(s.HashrateTHs), joule.GHs(s.ExpectedHashrateTHs),
		joule.DeciC(s.TempC), joule.DeciC(s.ChipTempC), s.FanMinRPM, s.FanMaxRPM, s.HardwareErrors}
}

// ScanDevice scans DeviceColumns into a sample.
func ScanDevice(scan func(...any) error) (joule.TelemetrySample, error) {
	var d joule.TelemetrySample
	var at, state, power, ghs, expected, deciC, chipDeciC int64
	err := scan(&d.Site, &d.Address, &d.Fleet, &at, &state, &power, &ghs, &expected, &deciC, &chipDeciC, &d.FanMinRPM, &d.FanMaxRPM,
		&d.HardwareErrors, &d.Pool, &d.PoolState, &d.Firmware, &d.FirmwareVersion)
	d.At, d.State, d.PowerW = time.UnixMilli(at).UTC(), joule.StateOfCode(state), joule.Watts(power)
	d.HashrateTHs, d.ExpectedHashrateTHs = float64(ghs)/1000, float64(expected)/1000
	d.TempC, d.ChipTempC = float64(deciC)/10, float64(chipDeciC)/10
	return d, err
}

// Tiers are the rollup tiers: each rolled up from its source, the raw samples or the
// finer tier.
var Tiers = []struct {
	Name, Table, From string
	Width             time.Duration
}{
	{"5m", "telemetry_5m", "telemetry_raw", 5 * time.Minute},
	{"1h", "telemetry_1h", "telemetry_5m", time.Hour},
}

// TierOf is the tier a resolution reads.
func TierOf(r joule.Resolution) (table string, width time.Duration) {
	for _, t := range Tiers {
		if t.Width == r.Bucket() {
			return t.Table, t.Width
		}
	}
	return "telemetry_raw", 0
}

// RawRowColumns are what a raw sample is read as a RollupRow from.
const RawRowColumns = `at, state, power_w, ghs, expected_ghs, deci_c, chip_deci_c, fan_min, fan_max, hw_errors`

// ScanRaw scans RawRowColumns, after the extra destinations, into a row of one sample.
func ScanRaw(scan func(...any) error, extra ...any) (joule.RollupRow, error) {
	r := joule.RollupRow{N: 1}
	err := scan(append(extra, &r.AtMS, &r.State, &r.PowerMean, &r.GHsMean, &r.ExpectedGHsMean, &r.DeciCMean, &r.ChipDeciCMax, &r.FanMin, &r.FanMax, &r.HardwareErrors)...)
	r.PowerMin, r.PowerMax, r.GHsMin, r.GHsMax, r.DeciCMax = r.PowerMean, r.PowerMean, r.GHsMean, r.GHsMean, r.DeciCMean
	return r, err
}

// RollupGraceMS is joule.RollupGrace in milliseconds.
const RollupGraceMS = int64(joule.RollupGrace / time.Millisecond)
