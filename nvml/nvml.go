// Package nvml reads GPU telemetry through NVIDIA's Management Library (NVML): per GPU,
// power draw and limit, utilization, memory and temperature, and a server's sum of them
// as joule.Telemetry.
//
// The Reader only reads. It never calls an NVML setter — no power limit, clock, MIG or
// persistence change — and a test keeps it that way: a GPU that a tenant leases is
// theirs to run, and power is moved by dispatch, not by reshaping GPUs underneath a
// workload.
//
// One setter exists, apart, in limiter.go: a Limiter sets GPUs' power limits
// (nvmlDeviceSetPowerManagementLimit) and nothing else, for dispatch's power caps.
// Only `joule node --allow-power-limit` creates one on real GPUs, and tests create one
// only over NVIDIA's mock of the library (OpenInterface); TestReadOnly keeps every
// other file, and every other NVML setter, out, and TestLimiterCallers keeps every
// other caller out.
//
// NVML is loaded at run time (dlopen of libnvidia-ml.so.1, through cgo): a binary
// built here runs on machines without NVIDIA's driver, and Open then fails with
// ErrNoDriver. A build without cgo has Open always fail with ErrNoDriver.
//
// `joule node` runs on each GPU server, reads its GPUs here and serves them over the GPU
// servers' power API (package gpuapi), as the simulator serves its own.
package nvml

import (
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/gpuapi"
)

// ErrNoDriver is the error Open wraps when NVML cannot be used: no libnvidia-ml, or no
// NVIDIA kernel driver loaded, or a build without cgo. Check it with errors.Is.
var ErrNoDriver = joule.Errorf(joule.EINTERNAL, "no NVML driver")

// Device is one GPU as NVML names it.
type Device struct {
	Index        int    // NVML's index, 0-based; not stable across reboots
	UUID         string // "GPU-…": stable, the GPU's identity
	Name         string // "NVIDIA H100 80GB HBM3"
	MemoryTotalB int64  // bytes of memory NVML reports for the GPU
}

// GPU is one reading of one GPU. A figure the GPU does not report is zero (power has
// PowerKnown to tell zero from unknown).
type GPU struct {
	Device
	PowerW         joule.Watts // board power draw, rounded to the watt
	PowerKnown     bool
	PowerLimitW    joule.Watts // the power limit in force (enforced), rounded to the watt
	UtilizationPct int         // percent of the last sample period a kernel ran, 0..100
	MemoryUsedB    int64
	TempC          float64 // GPU core temperature
	// EnergyJ is the GPU's energy counter: joules consumed since the driver was last
	// loaded (nvmlDeviceGetTotalEnergyConsumption, Volta and later); EnergyKnown says
	// the GPU has one.
	EnergyJ     int64
	EnergyKnown bool
}

// Summarize returns a GPU server's telemetry from a reading of each of its GPUs: power
// and power limit summed, utilization as the mean fraction busy (0..1, as dispatch
// counts utilization), memory used as the mean per GPU (as joule.Telemetry's GPU
// fields are averages), and the hottest GPU's temperature. Model is the GPUs' name,
// "mixed" when they differ. Power is known only when every GPU reports it; it is GPU
// board power, less than the server draws at the wall. No GPU means StateUnknown.
func Summarize(gpus []GPU, at time.Time, driverVersion string) *joule.Telemetry {
	t := &joule.Telemetry{At: at, Firmware: "nvidia " + driverVersion, State: joule.StateUnknown}
	if len(gpus) == 0 {
		return t
	}
	t.State, t.PowerKnown, t.Model = joule.StateRunning, true, gpus[0].Name
	var util, mem int64
	for _, g := range gpus {
		t.PowerW += g.PowerW
		t.PowerKnown = t.PowerKnown && g.PowerKnown
		t.PowerLimitW += g.PowerLimitW
		util += int64(g.UtilizationPct)
		mem += g.MemoryUsedB
		t.TempC = max(t.TempC, g.TempC)
		if g.Name != t.Model {
			t.Model = "mixed"
		}
	}
	if !t.PowerKnown {
		t.PowerW = 0
	}
	n := int64(len(gpus))
	t.GPUUtilization = float64(util) / float64(n) / 100
	t.GPUMemoryUsedB = mem / n
	return t
}

// APIGPUs returns readings as the GPU servers' power API reports them (package gpuapi),
// utilization as a fraction.
func APIGPUs(gpus []GPU) []gpuapi.GPU {
	out := make([]gpuapi.GPU, len(gpus))
	for i, g := range gpus {
		out[i] = gpuapi.GPU{Index: g.Index, PowerW: g.PowerW, PowerLimitW: g.PowerLimitW,
			Utilization: float64(g.UtilizationPct) / 100, MemoryUsedBytes: g.MemoryUsedB, MemoryTotalBytes: g.MemoryTotalB,
			TemperatureC: g.TempC, EnergyJ: g.EnergyJ, UUID: g.UUID, Name: g.Name}
		if !g.PowerKnown {
			out[i].PowerW, out[i].PowerKnown = 0, new(bool)
		}
	}
	return out
}

// milliwatts converts NVML's milliwatts to watts, rounding half up.
func milliwatts(mw uint32) joule.Watts { return joule.Watts((int64(mw) + 500) / 1000) }
