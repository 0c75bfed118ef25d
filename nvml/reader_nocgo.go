//go:build !(linux && cgo)

package nvml

import (
	"fmt"
	"runtime"
	"time"

	"github.com/joule-site/joule"
)

// DefaultLibrary is the NVML library Open would load in a build with cgo on Linux.
const DefaultLibrary = "libnvidia-ml.so.1"

// Reader reads the GPUs of the machine it runs on. This build has no NVML (it needs
// cgo on Linux): Open always fails and no Reader exists.
type Reader struct {
	// Now is the clock Telemetry stamps readings with.
	Now func() time.Time
}

// Open fails with ErrNoDriver: this build has no NVML.
func Open() (*Reader, error) { return OpenLibrary(DefaultLibrary) }

// OpenLibrary fails with ErrNoDriver: this build has no NVML.
func OpenLibrary(string) (*Reader, error) {
	return nil, fmt.Errorf("%w: NVML needs cgo on Linux, and this is a build for %s/%s without it", ErrNoDriver, runtime.GOOS, runtime.GOARCH)
}

// Close does nothing.
func (r *Reader) Close() error { return nil }

// DriverVersion returns "".
func (r *Reader) DriverVersion() string { return "" }

// Devices fails with ErrNoDriver.
func (r *Reader) Devices() ([]Device, error) { return nil, ErrNoDriver }

// Read fails with ErrNoDriver.
func (r *Reader) Read() ([]GPU, error) { return nil, ErrNoDriver }

// Telemetry fails with ErrNoDriver.
func (r *Reader) Telemetry() (*joule.Telemetry, error) { return nil, ErrNoDriver }

// Limiter would set GPUs' power limits; this build has no NVML.
type Limiter struct{}

// NewLimiter returns a Limiter whose every call fails with ErrNoDriver.
func NewLimiter(*Reader) *Limiter { return &Limiter{} }

// Constraints fails with ErrNoDriver.
func (l *Limiter) Constraints(int) (lo, hi, def joule.Watts, err error) { return 0, 0, 0, ErrNoDriver }

// SetPowerLimit fails with ErrNoDriver.
func (l *Limiter) SetPowerLimit(int, joule.Watts) error { return ErrNoDriver }
