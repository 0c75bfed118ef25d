package joule

import "time"

// DeviceState is what a machine is doing, as its telemetry shows it.
type DeviceState string

// Device states.
const (
	StateRunning  DeviceState = "running"  // hashing, or a GPU server powered and serving
	StateSleeping DeviceState = "sleeping" // curtailed: hash boards off, control board up
	StateRamping  DeviceState = "ramping"  // waking or going to sleep
	StateOff      DeviceState = "off"      // powered down
	StateUnknown  DeviceState = "unknown"  // no answer, or an answer that says nothing
)

// MinerAPIPort is the TCP port miners answer the cgminer API family on (cgminer,
// bmminer, BOSminer, Whatsminer, Avalon): the agent scans for it and the simulated
// miners serve it.
const MinerAPIPort = 4028

// GPUServerAPIPort is the port GPU servers answer their power API on (joule node, and
// the simulated servers); the agent's --scan-gpu assumes it for a bare address.
const GPUServerAPIPort = 8080

// Device is one machine a site's agent talks to: a miner on the cgminer API family or a
// GPU server.
type Device struct {
	ID       int64        `json:"id"`
	Site     string       `json:"site"`
	Fleet    string       `json:"fleet,omitempty"`
	Name     string       `json:"name"`
	Address  string       `json:"address"` // host:port of its control interface
	Model    string       `json:"model,omitempty"`
	Kind     HardwareKind `json:"kind"`
	Firmware string       `json:"firmware,omitempty"`
}

// Telemetry is one reading of a device, normalized across firmware. PowerW is zero
// and PowerKnown false when the firmware does not report power. Every field a
// firmware does not carry is left zero (or nil): zero temperatures, fan speeds and
// chip counts mean "not reported", never a reading of zero.
type Telemetry struct {
	Address         string      `json:"address"`
	At              time.Time   `json:"at"`
	Firmware        string      `json:"firmware"`
	FirmwareVersion string      `json:"firmware_version,omitempty"` // as the firmware writes it
	Model           string      `json:"model,omitempty"`
	State           DeviceState `json:"state"`
	HashrateTHs     float64     `json:"hashrate_ths"`
	// ExpectedHashrateTHs is what the firmware says the machine should hash at its
	// setting (bmminer's ideal rate, Whatsminer's factory rate, Avalon's GHSmm).
	ExpectedHashrateTHs float64 `json:"expected_hashrate_ths,omitempty"`
	PowerW              Watts   `json:"power_w,omitempty"`
	PowerKnown          bool    `json:"power_known"`
	PowerLimitW         Watts   `json:"power_limit_w,omitempty"`
	Pools               []Pool  `json:"pools"`
	UptimeS             int64   `json:"uptime_s"`
	// TempC is the hottest board (PCB) temperature, ChipTempC the hottest chip, in °C.
	TempC     float64 `json:"temp_c,omitempty"`
	ChipTempC float64 `json:"chip_temp_c,omitempty"`
	// BoardTempsC and ChipTempsC are per hash board, in the firmware's board order:
	// the board's sensor and its hottest chip.
	BoardTempsC []float64 `json:"board_temps_c,omitempty"`
	ChipTempsC  []float64 `json:"chip_temps_c,omitempty"`
	// FansRPM are the fan speeds in revolutions per minute; a stopped fan reads 0.
	FansRPM []int `json:"fans_rpm,omitempty"`
	// HardwareErrors is the firmware's count of hardware errors (nonces that fail the
	// check: failing chips) since it started; HardwareErrorsKnown says it reported one.
	HardwareErrors      int64 `json:"hardware_errors"`
	HardwareErrorsKnown bool  `json:"hardware_errors_known"`
	// Chips is how many chips the hash boards found; ChipsDown how many of them do not
	// answer ('x' in Antminer's chain_acs: a failing chip, or every chip of a sleeping
	// machine). Zero when not reported.
	Chips     int `json:"chips,omitempty"`
	ChipsDown int `json:"chips_down,omitempty"`
	// GPU servers: utilization and memory, averaged over the server's GPUs.
	GPUUtilization float64 `json:"gpu_utilization,omitempty"`
	GPUMemoryUsedB int64   `json:"gpu_memory_used_bytes,omitempty"`
	// ReplyShape fingerprints the names of the fields the firmware's replies carried
	// (not their values): it changes when an update renames or moves a field. "":
	// not computed.
	ReplyShape string `json:"reply_shape,omitempty"`
}

// ActivePool returns the pool the miner hashes for, or nil when none is active.
func (t *Telemetry) ActivePool() *Pool {
	for i := range t.Pools {
		if t.Pools[i].Active {
			return &t.Pools[i]
		}
	}
	return nil
}

// Pool is a mining pool a miner is configured with.
type Pool struct {
	URL      string `json:"url"`
	User     string `json:"user"`
	Status   string `json:"status"` // as the firmware says it: "Alive", "Dead", …
	Priority int    `json:"priority"`
	Active   bool   `json:"active"` // the pool the miner is hashing for
}

// DeviceReport is an agent's census of a site's devices: what each fleet is doing as
// telemetry last showed it, and the devices that do not answer or do not obey.
type DeviceReport struct {
	Site     string         `json:"site"`
	At       time.Time      `json:"at"`
	Fleets   []FleetCensus  `json:"fleets"`
	Problems []DeviceStatus `json:"problems"` // at most MaxReportedProblems
	// Meter is the site meter's reading when the agent reads one: power measured at the
	// feed, beside what the devices say of themselves.
	Meter *MeterReading `json:"meter,omitempty"`
}

// MeterReading is a site meter's reading, with the last check of the meter against
// the devices' own readings.
type MeterReading struct {
	At     time.Time `json:"at"`
	PowerW Watts     `json:"power_w"`
	Err    string    `json:"error,omitempty"` // the meter did not answer; PowerW is 0
	// Check is the newest step with commands that the meter was read around; nil
	// before one.
	Check *MeterCheck `json:"check,omitempty"`
}

// MeterCheck compares a site meter's change over a step's commands with the change the
// commanded devices reported of their own power. A mismatch means the meter dropped
// much less than the devices say: some device's telemetry does not tell the truth.
// Only steps that lower power on a steady site are judged (see Judged).
type MeterCheck struct {
	At             time.Time `json:"at"`
	Seq            int64     `json:"seq"` // the plan the step followed
	MeterDeltaW    Watts     `json:"meter_delta_w"`
	ReportedDeltaW Watts     `json:"reported_delta_w"`
	Devices        int       `json:"devices"` // verified devices whose power was read before and after
	// Judged: the step only lowered power and the meter held steady since the step
	// before, so the two changes can be compared (a waking device says it runs while it
	// still ramps up for tens of seconds).
	Judged   bool   `json:"judged"`
	Mismatch bool   `json:"mismatch"`
	Detail   string `json:"detail"`
}

// Outcome is the check's audit outcome: a mismatch, a pass, or unjudged.
func (c *MeterCheck) Outcome() AuditOutcome {
	switch {
	case c.Mismatch:
		return OutcomeMismatch
	case !c.Judged:
		return OutcomeUnjudged
	}
	return OutcomeOK
}

// MaxReportedProblems bounds the devices a report lists by name.
const MaxReportedProblems = 100

// FleetCensus counts one fleet's machines by state. Machines is the fleet's declared
// size; Found those the agent took over; Missing = Machines − Found.
type FleetCensus struct {
	Fleet    string       `json:"fleet"`
	Kind     HardwareKind `json:"kind"`
	Machines int          `json:"machines"`
	Found    int          `json:"found"`
	Running  int          `json:"running"`
	Sleeping int          `json:"sleeping"`
	Ramping  int          `json:"ramping"`
	Off      int          `json:"off"`
	Unknown  int          `json:"unknown"`   // not answering, or not obeying
	PowerW   Watts        `json:"power_w"`   // sum of what the devices last reported
	Reported int          `json:"reporting"` // devices whose power is in PowerW
}

// DeviceStatus is one device in a report.
type DeviceStatus struct {
	Address string      `json:"address"`
	Fleet   string      `json:"fleet"`
	State   DeviceState `json:"state"`
	Healthy bool        `json:"healthy"`
	PowerW  Watts       `json:"power_w,omitempty"`
	Detail  string      `json:"detail,omitempty"`
}
