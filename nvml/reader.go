//go:build linux && cgo

package nvml

import (
	"fmt"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/joule-site/joule"
)

// DefaultLibrary is the NVML library Open loads, found the way dlopen finds libraries.
const DefaultLibrary = "libnvidia-ml.so.1"

// Reader reads the GPUs of the machine it runs on. Its methods may be called from
// several goroutines (NVML is thread-safe); Close it when done.
type Reader struct {
	// Now is the clock Telemetry stamps readings with; Open sets time.Now.
	Now func() time.Time

	lib    nvml.Interface
	driver string
}

// Open loads NVML from DefaultLibrary and initializes it. Without NVIDIA's library or
// driver it returns an error that wraps ErrNoDriver.
func Open() (*Reader, error) { return OpenLibrary(DefaultLibrary) }

// OpenLibrary is Open with the library at path.
func OpenLibrary(path string) (*Reader, error) {
	return open(nvml.New(nvml.WithLibraryPath(path)), time.Now)
}

// OpenInterface initializes lib, an NVML binding of the caller's: NVIDIA's mock of a
// server (github.com/NVIDIA/go-nvml/pkg/nvml/mock) in tests, so that they read, and
// set limits on, GPUs that do not exist. now stamps the readings.
func OpenInterface(lib nvml.Interface, now func() time.Time) (*Reader, error) { return open(lib, now) }

// open initializes lib, which the tests replace with NVIDIA's mock of a server.
func open(lib nvml.Interface, now func() time.Time) (*Reader, error) {
	switch ret := lib.Init(); ret {
	case nvml.SUCCESS:
	case nvml.ERROR_LIBRARY_NOT_FOUND, nvml.ERROR_DRIVER_NOT_LOADED, nvml.ERROR_NO_PERMISSION:
		return nil, fmt.Errorf("%w: nvml init: %w", ErrNoDriver, ret)
	default:
		return nil, fmt.Errorf("nvml: init: %w", ret)
	}
	r := &Reader{Now: now, lib: lib}
	if v, ret := lib.SystemGetDriverVersion(); ret == nvml.SUCCESS {
		r.driver = v
	}
	return r, nil
}

// Close shuts NVML down. The Reader may not be used after.
func (r *Reader) Close() error {
	if ret := r.lib.Shutdown(); ret != nvml.SUCCESS {
		return fmt.Errorf("nvml: shutdown: %w", ret)
	}
	return nil
}

// DriverVersion returns the NVIDIA driver's version, "" if NVML did not say.
func (r *Reader) DriverVersion() string { return r.driver }

// Devices lists the GPUs.
func (r *Reader) Devices() ([]Device, error) {
	var out []Device
	err := r.each(func(_ nvml.Device, dev Device, _ nvml.Memory) error {
		out = append(out, dev)
		return nil
	})
	return out, err
}

// Read reads every GPU once. A figure a GPU does not support is left zero; any other
// failure, such as a GPU that fell off the bus, fails the read and names the GPU.
func (r *Reader) Read() ([]GPU, error) {
	var out []GPU
	err := r.each(func(d nvml.Device, dev Device, mem nvml.Memory) error {
		g := GPU{Device: dev, MemoryUsedB: int64(mem.Used)}
		mw, ret := d.GetPowerUsage()
		if err := supported("power usage", ret); err != nil {
			return err
		}
		g.PowerW, g.PowerKnown = milliwatts(mw), ret == nvml.SUCCESS
		if mw, ret = d.GetEnforcedPowerLimit(); ret == nvml.SUCCESS {
			g.PowerLimitW = milliwatts(mw)
		} else if err := supported("power limit", ret); err != nil {
			return err
		}
		if u, ret := d.GetUtilizationRates(); ret == nvml.SUCCESS {
			g.UtilizationPct = int(u.Gpu)
		} else if err := supported("utilization", ret); err != nil {
			return err
		}
		if c, ret := d.GetTemperature(nvml.TEMPERATURE_GPU); ret == nvml.SUCCESS {
			g.TempC = float64(c)
		} else if err := supported("temperature", ret); err != nil {
			return err
		}
		if mj, ret := d.GetTotalEnergyConsumption(); ret == nvml.SUCCESS {
			g.EnergyJ, g.EnergyKnown = int64(mj/1000), true
		} else if err := supported("energy", ret); err != nil {
			return err
		}
		out = append(out, g)
		return nil
	})
	return out, err
}

// Telemetry reads every GPU and sums them up as the telemetry of one GPU server (see
// Summarize), stamped with r.Now().
func (r *Reader) Telemetry() (*joule.Telemetry, error) {
	gpus, err := r.Read()
	if err != nil {
		return nil, err
	}
	return Summarize(gpus, r.Now(), r.driver), nil
}

// each calls f with every GPU, its identity and its memory.
func (r *Reader) each(f func(nvml.Device, Device, nvml.Memory) error) error {
	n, ret := r.lib.DeviceGetCount()
	if ret != nvml.SUCCESS {
		return fmt.Errorf("nvml: device count: %w", ret)
	}
	for i := range n {
		dev := Device{Index: i}
		err := func() error {
			d, ret := r.lib.DeviceGetHandleByIndex(i)
			if ret != nvml.SUCCESS {
				return fmt.Errorf("handle: %w", ret)
			}
			if dev.UUID, ret = d.GetUUID(); ret != nvml.SUCCESS {
				return fmt.Errorf("uuid: %w", ret)
			}
			if dev.Name, ret = d.GetName(); ret != nvml.SUCCESS {
				return fmt.Errorf("name: %w", ret)
			}
			mem, ret := d.GetMemoryInfo()
			if err := supported("memory", ret); err != nil {
				return err
			}
			dev.MemoryTotalB = int64(mem.Total)
			return f(d, dev, mem)
		}()
		if err != nil {
			return fmt.Errorf("nvml: GPU %d %s: %w", i, dev.UUID, err)
		}
	}
	return nil
}

// supported returns nil when a query succeeded or the GPU does not support it (the
// figure stays zero), else an error naming what failed.
func supported(what string, ret nvml.Return) error {
	if ret == nvml.SUCCESS || ret == nvml.ERROR_NOT_SUPPORTED {
		return nil
	}
	return fmt.Errorf("%s: %w", what, ret)
}
