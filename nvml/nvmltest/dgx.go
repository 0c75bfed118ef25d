//go:build linux && cgo

package nvmltest

import (
	"sync"

	gonvml "github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
)

// The mock GPUs' figures: an H100 SXM5's power limit range and default (NVIDIA's
// H100 datasheet gives up to 700 W; the 200 W floor is an assumption, about what
// nvidia-smi -q shows as Min Power Limit on H100 SXM5), and what each draws at load.
const (
	MinLimitW     = 200
	DefaultLimitW = 700
	LoadW         = 600 // each GPU's draw when its limit allows
)

// DGX is a mock DGX H100 whose GPUs keep their power limits; nvml.OpenInterface
// reads it.
type DGX struct {
	*server.Server
	mu     sync.Mutex
	limits []uint32 // mW, per GPU
	sets   int      // SetPowerManagementLimit calls that succeeded
}

// NewDGX returns the mock: GPU i is 10i % busy at 40+i °C, has counted 1e6+i J, and
// draws min(LoadW, its limit).
func NewDGX() *DGX {
	x := &DGX{Server: dgxh100.New()}
	x.limits = make([]uint32, len(x.Devices))
	for i, d := range x.Devices {
		d := d.(*server.Device)
		x.limits[i] = DefaultLimitW * 1000
		d.GetPowerUsageFunc = func() (uint32, gonvml.Return) {
			x.mu.Lock()
			defer x.mu.Unlock()
			return min(LoadW*1000, x.limits[i]), gonvml.SUCCESS
		}
		d.GetEnforcedPowerLimitFunc = func() (uint32, gonvml.Return) {
			x.mu.Lock()
			defer x.mu.Unlock()
			return x.limits[i], gonvml.SUCCESS
		}
		d.GetUtilizationRatesFunc = func() (gonvml.Utilization, gonvml.Return) {
			return gonvml.Utilization{Gpu: uint32(10 * i)}, gonvml.SUCCESS
		}
		d.GetTemperatureFunc = func(gonvml.TemperatureSensors) (uint32, gonvml.Return) { return uint32(40 + i), gonvml.SUCCESS }
		d.GetTotalEnergyConsumptionFunc = func() (uint64, gonvml.Return) { return uint64(1_000_000_000 + 1000*i), gonvml.SUCCESS }
		d.GetPowerManagementLimitConstraintsFunc = func() (uint32, uint32, gonvml.Return) {
			return MinLimitW * 1000, DefaultLimitW * 1000, gonvml.SUCCESS
		}
		d.GetPowerManagementDefaultLimitFunc = func() (uint32, gonvml.Return) { return DefaultLimitW * 1000, gonvml.SUCCESS }
		d.SetPowerManagementLimitFunc = func(mw uint32) gonvml.Return {
			if mw < MinLimitW*1000 || mw > DefaultLimitW*1000 {
				return gonvml.ERROR_INVALID_ARGUMENT
			}
			x.mu.Lock()
			defer x.mu.Unlock()
			x.limits[i] = mw
			x.sets++
			return gonvml.SUCCESS
		}
	}
	return x
}

// Sets returns how many limits were set.
func (x *DGX) Sets() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.sets
}
