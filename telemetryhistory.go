package joule

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// TelemetrySample is one reading of one device as the telemetry history keeps it: the
// figures a device table and a device's charts show, flattened from a Telemetry. The
// store keeps hashrates to the GH/s, temperatures to a tenth of a degree and times to
// the millisecond (Quantize).
type TelemetrySample struct {
	Site    string `json:"site"`
	Address string `json:"address"` // host:port, unique in its site
	Fleet   string `json:"fleet"`
	// Node is a GPU server's node name, as leases bind it ("<fleet>-NN"); "" for a
	// miner. The service credits read it at ingest; the history does not keep it.
	Node string `json:"node,omitempty"`
	// Capped says a GPU server ran held to a power cap the agent set and verified
	// below its nameplate; the service credits read it, the history does not keep it.
	Capped bool        `json:"capped,omitempty"`
	At     time.Time   `json:"at"`
	State  DeviceState `json:"state"`
	PowerW Watts       `json:"power_w"`
	// HashrateTHs is what the miner reports, ExpectedHashrateTHs what its firmware says
	// it should hash at its setting (0: not reported).
	HashrateTHs         float64 `json:"hashrate_ths"`
	ExpectedHashrateTHs float64 `json:"expected_hashrate_ths"`
	// TempC is the hottest board, ChipTempC the hottest chip, in °C; 0: not reported.
	TempC     float64 `json:"temp_c"`
	ChipTempC float64 `json:"chip_temp_c"`
	// FanMinRPM and FanMaxRPM are the slowest and the fastest fan; 0 and 0: none reported.
	FanMinRPM int `json:"fan_min_rpm"`
	FanMaxRPM int `json:"fan_max_rpm"`
	// HardwareErrors is the firmware's count since it started.
	HardwareErrors  int64  `json:"hardware_errors"`
	Pool            string `json:"pool"`       // the URL of the pool in use; "": none
	PoolState       string `json:"pool_state"` // as the firmware says it: "Alive", "Dead", …
	Firmware        string `json:"firmware"`
	FirmwareVersion string `json:"firmware_version"`
	// ReplyShape is the reading's Telemetry.ReplyShape: the alert rules compare it at
	// ingest; the history does not keep it.
	ReplyShape string `json:"reply_shape,omitempty"`
	// Tags are the device's tags (rack, container, row, …) as the device table shows
	// them; the history's input ignores them (see DeviceControlService).
	Tags map[string]string `json:"tags,omitempty"`
}

// Limits of the telemetry history's input: a batch holds a step's readings of a large
// site (the agent sends one batch a step), and a text field fits a URL or a version.
const (
	MaxTelemetryBatch   = 20000
	MaxTelemetryTextLen = 256
	// MaxHistoryPoints is the most points one history query returns: a year of
	// hourly points, a week of five-minute ones, or a day and a half of raw samples
	// polled every 15 s.
	MaxHistoryPoints = 10000
	// MaxDevicePage is the most devices one page of the device table holds.
	MaxDevicePage = 1000
)

// SampleFromTelemetry flattens a reading of a device of fleet at site into a sample
// that ValidateTelemetry takes: a figure out of range is left out (zero).
func SampleFromTelemetry(site, fleet string, t *Telemetry) TelemetrySample {
	s := TelemetrySample{Site: site, Address: t.Address, Fleet: fleet, At: t.At, State: t.State, PowerW: t.PowerW,
		HashrateTHs: t.HashrateTHs, ExpectedHashrateTHs: t.ExpectedHashrateTHs, TempC: t.TempC, ChipTempC: t.ChipTempC,
		HardwareErrors: t.HardwareErrors, Firmware: t.Firmware, FirmwareVersion: t.FirmwareVersion, ReplyShape: t.ReplyShape}
	for i, f := range t.FansRPM {
		if i == 0 || f < s.FanMinRPM {
			s.FanMinRPM = f
		}
		s.FanMaxRPM = max(s.FanMaxRPM, f)
	}
	if p := t.ActivePool(); p != nil {
		s.Pool, s.PoolState = p.URL, p.Status
	}
	if !slices.Contains(deviceStates, s.State) {
		s.State = StateUnknown
	}
	// A firmware's odd figure (a sensor reading -1, a hashrate of NaN) is not a
	// reading: it is left out rather than have the batch refused.
	for _, f := range []*float64{&s.HashrateTHs, &s.ExpectedHashrateTHs, &s.TempC, &s.ChipTempC} {
		if math.IsNaN(*f) || *f < 0 || *f > 1e6 {
			*f = 0
		}
	}
	s.PowerW, s.FanMinRPM, s.HardwareErrors = max(s.PowerW, 0), max(s.FanMinRPM, 0), max(s.HardwareErrors, 0)
	s.FanMaxRPM = max(s.FanMaxRPM, s.FanMinRPM)
	for _, t := range []*string{&s.Pool, &s.PoolState, &s.Firmware, &s.FirmwareVersion, &s.ReplyShape} {
		if len(*t) > MaxTelemetryTextLen {
			*t = (*t)[:MaxTelemetryTextLen]
		}
	}
	return s
}

// Quantize rounds s to what the store keeps: its time to the millisecond in UTC, its
// hashrates to the GH/s and its temperatures to a tenth of a degree.
func (s *TelemetrySample) Quantize() {
	s.At = s.At.UTC().Truncate(time.Millisecond)
	s.HashrateTHs = float64(GHs(s.HashrateTHs)) / 1000
	s.ExpectedHashrateTHs = float64(GHs(s.ExpectedHashrateTHs)) / 1000
	s.TempC = float64(DeciC(s.TempC)) / 10
	s.ChipTempC = float64(DeciC(s.ChipTempC)) / 10
}

// GHs is a hashrate in TH/s as the store keeps it: whole GH/s.
func GHs(ths float64) int64 { return int64(math.Round(ths * 1000)) }

// DeciC is a temperature in °C as the store keeps it: whole tenths of a degree.
func DeciC(c float64) int64 { return int64(math.Round(c * 10)) }

// deviceStates are the states a sample may have, in the order of their stored codes:
// by name, so that a table sorted on the code is sorted on the name.
var deviceStates = []DeviceState{StateOff, StateRamping, StateRunning, StateSleeping, StateUnknown}

// StateCode is the small integer a store keeps a state as; one not in the list is
// kept as StateUnknown.
func StateCode(s DeviceState) int64 {
	if i := slices.Index(deviceStates, s); i >= 0 {
		return int64(i)
	}
	return int64(slices.Index(deviceStates, StateUnknown))
}

// StateOfCode is the state a stored code stands for.
func StateOfCode(c int64) DeviceState {
	if c < 0 || int(c) >= len(deviceStates) {
		return StateUnknown
	}
	return deviceStates[c]
}

// ValidateTelemetry checks a batch of samples for site: every sample of the site, with an
// address and a time, a known state and figures that are finite and not negative.
// It fills an empty Site with site and quantizes every sample.
func ValidateTelemetry(site string, samples []TelemetrySample) error {
	if len(samples) > MaxTelemetryBatch {
		return Errorf(EINVALID, "samples: %d in one batch, at most %d", len(samples), MaxTelemetryBatch)
	}
	for i := range samples {
		s := &samples[i]
		if s.Site == "" {
			s.Site = site
		}
		bad := func(field, why string) error {
			return Errorf(EINVALID, "samples[%d].%s: %s", i, field, why)
		}
		switch {
		case s.Site != site:
			return bad("site", "the batch is for site "+site+", not "+s.Site)
		case s.Address == "":
			return bad("address", "required")
		case s.At.IsZero() || s.At.Year() < 2000 || s.At.Year() > 9999:
			return bad("at", "a time after 2000 is required")
		case !slices.Contains(deviceStates, s.State):
			return bad("state", "want one of running, sleeping, ramping, off, unknown")
		case s.PowerW < 0:
			return bad("power_w", "negative")
		case s.FanMinRPM < 0 || s.FanMaxRPM < s.FanMinRPM:
			return bad("fan_min_rpm", "fans must be 0 ≤ min ≤ max")
		case s.HardwareErrors < 0:
			return bad("hardware_errors", "negative")
		}
		for _, f := range []struct {
			name string
			v    float64
			max  float64
		}{{"hashrate_ths", s.HashrateTHs, 1e9}, {"expected_hashrate_ths", s.ExpectedHashrateTHs, 1e9}, {"temp_c", s.TempC, 1000}, {"chip_temp_c", s.ChipTempC, 1000}} {
			if math.IsNaN(f.v) || f.v < 0 || f.v > f.max {
				return bad(f.name, "want a number from 0 to "+strconv.FormatFloat(f.max, 'g', -1, 64))
			}
		}
		for _, f := range []struct{ name, v string }{{"address", s.Address}, {"fleet", s.Fleet}, {"pool", s.Pool}, {"pool_state", s.PoolState}, {"firmware", s.Firmware}, {"firmware_version", s.FirmwareVersion}, {"reply_shape", s.ReplyShape}, {"node", s.Node}} {
			if len(f.v) > MaxTelemetryTextLen {
				return bad(f.name, "longer than 256 bytes")
			}
		}
		s.Quantize()
	}
	return nil
}

// LatestPerDevice returns, of samples, each device's newest, in the order the devices
// first appear: what a batch changes in the device table.
func LatestPerDevice(samples []TelemetrySample) []TelemetrySample {
	at := map[string]int{}
	out := []TelemetrySample{}
	for _, s := range samples {
		i, ok := at[s.Address]
		switch {
		case !ok:
			at[s.Address] = len(out)
			out = append(out, s)
		case !s.At.Before(out[i].At):
			out[i] = s
		}
	}
	return out
}

// DeviceSort is a column the device table sorts on.
type DeviceSort string

// The device table's sort keys. DeviceSortHashrate sorts on the hashrate as a share of
// the expected, devices that report no expected rate first.
const (
	DeviceSortAddress  DeviceSort = "address"
	DeviceSortFleet    DeviceSort = "fleet"
	DeviceSortFirmware DeviceSort = "firmware"
	DeviceSortPool     DeviceSort = "pool"
	DeviceSortState    DeviceSort = "state"
	DeviceSortTemp     DeviceSort = "temp"
	DeviceSortHashrate DeviceSort = "hashrate"
)

// DeviceSorts lists the sort keys.
var DeviceSorts = []DeviceSort{DeviceSortAddress, DeviceSortFleet, DeviceSortFirmware, DeviceSortPool, DeviceSortState,
	DeviceSortTemp, DeviceSortHashrate}

// DeviceQuery asks for a page of a site's device table: every device's latest sample.
type DeviceQuery struct {
	Site string
	// Sort is the column (default address), Desc its order; ties fall back to the
	// address, in the same order.
	Sort DeviceSort
	Desc bool
	// Q, when set, keeps the devices whose address, fleet, firmware or pool contains
	// it, ignoring ASCII case; State, when set, those in that state.
	Q     string
	State DeviceState
	// Tags, when set, keeps the devices that carry every one of these tags; Check
	// takes them out of Q's "tag:key=value" words.
	Tags map[string]string
	// Offset skips that many devices of the sorted, filtered table; Limit is the page's
	// size (1 to MaxDevicePage).
	Offset, Limit int
}

// Check validates q and fills its defaults.
func (q *DeviceQuery) Check() error {
	if q.Sort == "" {
		q.Sort = DeviceSortAddress
	}
	if q.Limit == 0 {
		q.Limit = 100
	}
	switch {
	case !slices.Contains(DeviceSorts, q.Sort):
		return Errorf(EINVALID, "sort: %q is not one of %s", q.Sort, joinSorts())
	case q.State != "" && !slices.Contains(deviceStates, q.State):
		return Errorf(EINVALID, "state: %q is not one of running, sleeping, ramping, off, unknown", q.State)
	case q.Limit < 1 || q.Limit > MaxDevicePage:
		return Errorf(EINVALID, "limit: %d is not from 1 to %d", q.Limit, MaxDevicePage)
	case q.Offset < 0:
		return Errorf(EINVALID, "page: before the first")
	case len(q.Q) > MaxTelemetryTextLen:
		return Errorf(EINVALID, "q: longer than 256 bytes")
	case strings.ContainsFunc(q.Q, func(r rune) bool { return r < ' ' }):
		return Errorf(EINVALID, "q: a search holds no control characters")
	}
	rest, tags, err := SplitTagFilters(q.Q)
	if err != nil {
		return err
	}
	if len(tags) > 0 {
		if q.Tags == nil {
			q.Tags = map[string]string{}
		}
		for k, v := range tags {
			q.Tags[k] = v
		}
		q.Q = rest
	}
	return nil
}

func joinSorts() string {
	s := make([]string, len(DeviceSorts))
	for i, k := range DeviceSorts {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// DevicePage is a page of the device table: Total is how many devices the query's
// filters keep, of which Devices are the page.
type DevicePage struct {
	Total   int               `json:"total"`
	Devices []TelemetrySample `json:"devices"`
}

// Resolution is the spacing of a device's history: its raw samples, or a tier of
// rollups.
type Resolution string

// The resolutions the history keeps.
const (
	ResolutionRaw  Resolution = "raw"
	Resolution5Min Resolution = "5m"
	ResolutionHour Resolution = "1h"
)

// Bucket is the width of a rollup resolution's points; 0 for raw samples.
func (r Resolution) Bucket() time.Duration {
	switch r {
	case Resolution5Min:
		return 5 * time.Minute
	case ResolutionHour:
		return time.Hour
	}
	return 0
}

// Valid reports whether r is a resolution the history keeps.
func (r Resolution) Valid() bool {
	return r == ResolutionRaw || r == Resolution5Min || r == ResolutionHour
}

// HistoryQuery asks for one device's history from From (inclusive) to To (exclusive)
// at a resolution.
type HistoryQuery struct {
	Site, Address string
	From, To      time.Time
	Resolution    Resolution
}

// Check validates q.
func (q *HistoryQuery) Check() error {
	switch {
	case q.Address == "":
		return Errorf(EINVALID, "address: required")
	case !q.Resolution.Valid():
		return Errorf(EINVALID, "resolution: %q is not one of raw, 5m, 1h", q.Resolution)
	case q.From.IsZero() || q.To.IsZero():
		return Errorf(EINVALID, "from: both from and to are required")
	case !q.From.Before(q.To):
		return Errorf(EINVALID, "to: must be after from")
	}
	return nil
}

// HistoryPoint is one point of a device's history: a raw sample (Samples 1, its minima,
// means and maxima the sample's figures) or a rollup of the samples of a bucket that
// starts at At. State and HardwareErrors are the bucket's last sample's; temperatures
// and fans their extremes. Means are kept to the store's units, rounded down: an hourly
// mean is the mean of its five-minute means, weighted by their samples.
type HistoryPoint struct {
	At      time.Time   `json:"at"`
	Samples int64       `json:"samples"`
	State   DeviceState `json:"state"`
	// PowerW is the mean, PowerMinW and PowerMaxW the extremes, in watts.
	PowerW    Watts `json:"power_w"`
	PowerMinW Watts `json:"power_min_w"`
	PowerMaxW Watts `json:"power_max_w"`
	// HashrateTHs is the mean, with its extremes; ExpectedHashrateTHs the mean expected.
	HashrateTHs         float64 `json:"hashrate_ths"`
	HashrateMinTHs      float64 `json:"hashrate_min_ths"`
	HashrateMaxTHs      float64 `json:"hashrate_max_ths"`
	ExpectedHashrateTHs float64 `json:"expected_hashrate_ths"`
	// TempC is the mean of the hottest board, TempMaxC its maximum; ChipTempMaxC the
	// hottest chip's maximum.
	TempC          float64 `json:"temp_c"`
	TempMaxC       float64 `json:"temp_max_c"`
	ChipTempMaxC   float64 `json:"chip_temp_max_c"`
	FanMinRPM      int     `json:"fan_min_rpm"`
	FanMaxRPM      int     `json:"fan_max_rpm"`
	HardwareErrors int64   `json:"hardware_errors"`
}

// RollupRow is a point in the store's integer units (milliseconds, watts, GH/s,
// tenths of a degree, RPM): a raw sample (N 1) or a rollup of N samples, its means
// rounded down. Stores build HistoryPoints from it (Point).
type RollupRow struct {
	AtMS                              int64
	N                                 int64
	State                             int64
	PowerMean, PowerMin, PowerMax     int64
	GHsMean, GHsMin, GHsMax           int64
	ExpectedGHsMean                   int64
	DeciCMean, DeciCMax, ChipDeciCMax int64
	FanMin, FanMax                    int64
	HardwareErrors                    int64
}

// Point is the history point the row stands for.
func (r *RollupRow) Point() HistoryPoint {
	return HistoryPoint{At: time.UnixMilli(r.AtMS).UTC(), Samples: r.N, State: StateOfCode(r.State),
		PowerW: Watts(r.PowerMean), PowerMinW: Watts(r.PowerMin), PowerMaxW: Watts(r.PowerMax),
		HashrateTHs: float64(r.GHsMean) / 1000, HashrateMinTHs: float64(r.GHsMin) / 1000, HashrateMaxTHs: float64(r.GHsMax) / 1000,
		ExpectedHashrateTHs: float64(r.ExpectedGHsMean) / 1000,
		TempC:               float64(r.DeciCMean) / 10, TempMaxC: float64(r.DeciCMax) / 10, ChipTempMaxC: float64(r.ChipDeciCMax) / 10,
		FanMinRPM: int(r.FanMin), FanMaxRPM: int(r.FanMax), HardwareErrors: r.HardwareErrors}
}

// DeviceHistory is a device's history at a resolution; Truncated says the range held
// more than MaxHistoryPoints, of which Points are the first.
type DeviceHistory struct {
	Site       string         `json:"site"`
	Address    string         `json:"address"`
	Resolution Resolution     `json:"resolution"`
	Points     []HistoryPoint `json:"points"`
	Truncated  bool           `json:"truncated"`
}

// TelemetryRetention is how long each tier of the history is kept, counted back from
// the store's clock. Each tier must outlast the rollups' grace (RollupGrace) and the
// timer between passes, so that nothing is deleted before the coarser tier has it.
type TelemetryRetention struct {
	Raw        time.Duration `json:"raw"`
	FiveMinute time.Duration `json:"five_minute"`
	Hourly     time.Duration `json:"hourly"`
}

// DefaultTelemetryRetention keeps raw samples 2 hours, five-minute rollups 7 days and
// hourly ones a year: a week of detail and a year of trend (README, "Telemetry history",
// says what that costs on disk).
var DefaultTelemetryRetention = TelemetryRetention{Raw: 2 * time.Hour, FiveMinute: 7 * 24 * time.Hour, Hourly: 366 * 24 * time.Hour}

// RollupGrace is how late a sample may arrive and still count in its bucket's rollup:
// each rollup recomputes the buckets of that window before the newest closed one.
const RollupGrace = 15 * time.Minute

// Check validates r: each tier kept at least as long as the finer one, the raw window
// an hour longer than the rollups' grace.
func (r TelemetryRetention) Check() error {
	switch {
	case r.Raw < RollupGrace+time.Hour:
		return Errorf(EINVALID, "raw retention %s: at least %s, so that every sample is rolled up before it goes", r.Raw, RollupGrace+time.Hour)
	case r.FiveMinute < r.Raw || r.FiveMinute < 2*time.Hour:
		return Errorf(EINVALID, "five-minute retention %s: at least the raw retention and 2h", r.FiveMinute)
	case r.Hourly < r.FiveMinute:
		return Errorf(EINVALID, "hourly retention %s: at least the five-minute retention", r.Hourly)
	}
	return nil
}

// RollupResult says what one rollup and retention pass did: points written per tier
// (a bucket recomputed within the grace counts again), and rows deleted per tier (a
// rollup tier's row is a device's hour of five-minute points or day of hourly ones;
// devices: those last seen before the hourly tier's retention).
type RollupResult struct {
	FiveMinuteRows, HourlyRows                                   int64
	DeletedRaw, DeletedFiveMinute, DeletedHourly, DeletedDevices int64
}

// TelemetryService keeps each device's telemetry: its latest sample, for the device
// table, and its history in three tiers (raw samples, five-minute and hourly rollups),
// each kept for its retention.
type TelemetryService interface {
	// AppendTelemetry stores a batch of samples of site's devices, at once (validated by
	// ValidateTelemetry); a sample of a device and time already stored is ignored. A
	// device's latest sample is its newest by time. ENOTFOUND when the site is not declared.
	AppendTelemetry(ctx context.Context, site string, samples []TelemetrySample) error
	// Devices returns a page of the device table.
	Devices(ctx context.Context, q DeviceQuery) (*DevicePage, error)
	// DeviceHistory returns a device's points in the range, oldest first; ENOTFOUND for
	// a device never seen.
	DeviceHistory(ctx context.Context, q HistoryQuery) (*DeviceHistory, error)
	// RollupTelemetry rolls the raw samples of closed five-minute buckets up, and those
	// of closed hours, recomputing RollupGrace before the newest closed bucket, then
	// deletes what is older than r keeps, by the store's clock.
	RollupTelemetry(ctx context.Context, r TelemetryRetention) (*RollupResult, error)
}
