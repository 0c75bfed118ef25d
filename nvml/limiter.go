//go:build linux && cgo

package nvml

import (
	"fmt"

	"github.com/NVIDIA/go-nvml/pkg/nvml"

	"github.com/joule-site/joule"
)

// Limiter sets the power limits of a Reader's GPUs: the one NVML setter Joule calls,
// nvmlDeviceSetPowerManagementLimit, which needs root and changes the limit until the
// driver reloads or the limit is set again. It is apart from the Reader so that reading
// GPUs can never change one: only `joule node --allow-power-limit` makes a Limiter on
// real GPUs, and tests make one only over NVIDIA's mock (see TestLimiterCallers).
type Limiter struct {
	r *Reader
}

// NewLimiter returns a Limiter of r's GPUs.
func NewLimiter(r *Reader) *Limiter { return &Limiter{r: r} }

// Constraints returns GPU i's lowest and highest settable power limit and its default
// (the limit it boots with), in watts.
func (l *Limiter) Constraints(i int) (lo, hi, def joule.Watts, err error) {
	d, err := l.device(i)
	if err != nil {
		return 0, 0, 0, err
	}
	minMW, maxMW, ret := d.GetPowerManagementLimitConstraints()
	if ret != nvml.SUCCESS {
		return 0, 0, 0, fmt.Errorf("nvml: GPU %d: power limit constraints: %w", i, ret)
	}
	defMW, ret := d.GetPowerManagementDefaultLimit()
	if ret != nvml.SUCCESS {
		return 0, 0, 0, fmt.Errorf("nvml: GPU %d: default power limit: %w", i, ret)
	}
	// Round the bounds inward, so that a limit within them in watts is one NVML takes.
	return joule.Watts((int64(minMW) + 999) / 1000), joule.Watts(int64(maxMW) / 1000), milliwatts(defMW), nil
}

// SetPowerLimit sets GPU i's power limit to w watts, which must lie within its
// Constraints (NVML refuses others with ERROR_INVALID_ARGUMENT).
func (l *Limiter) SetPowerLimit(i int, w joule.Watts) error {
	if w <= 0 {
		return joule.Errorf(joule.EINVALID, "nvml: GPU %d: power limit must be positive, got %d W", i, w)
	}
	d, err := l.device(i)
	if err != nil {
		return err
	}
	if ret := d.SetPowerManagementLimit(uint32(w) * 1000); ret != nvml.SUCCESS {
		if ret == nvml.ERROR_INVALID_ARGUMENT {
			return joule.Errorf(joule.EINVALID, "nvml: GPU %d: power limit %d W is outside its constraints", i, w)
		}
		return fmt.Errorf("nvml: GPU %d: set power limit %d W: %w", i, w, ret)
	}
	return nil
}

func (l *Limiter) device(i int) (nvml.Device, error) {
	d, ret := l.r.lib.DeviceGetHandleByIndex(i)
	if ret != nvml.SUCCESS {
		return nil, fmt.Errorf("nvml: GPU %d: handle: %w", i, ret)
	}
	return d, nil
}
