//go:build linux && cgo

package nvml

import (
	"errors"
	"testing"
	"time"

	"github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"

	"github.com/joule-site/joule"
)

// dgx returns NVIDIA's mock of a DGX H100 (eight H100 SXM5 80GB) with the readings the
// mock leaves out: GPU i draws 300+50i W of a 700 W limit, is 10i % busy, at 40+i °C.
func dgx(t *testing.T) *server.Server {
	t.Helper()
	s := dgxh100.New()
	for i, d := range s.Devices {
		d := d.(*server.Device)
		d.GetPowerUsageFunc = func() (uint32, nvml.Return) { return uint32(300_000 + 50_000*i), nvml.SUCCESS }
		d.GetEnforcedPowerLimitFunc = func() (uint32, nvml.Return) { return 700_000, nvml.SUCCESS }
		d.GetUtilizationRatesFunc = func() (nvml.Utilization, nvml.Return) {
			return nvml.Utilization{Gpu: uint32(10 * i)}, nvml.SUCCESS
		}
		d.GetTemperatureFunc = func(nvml.TemperatureSensors) (uint32, nvml.Return) { return uint32(40 + i), nvml.SUCCESS }
		d.GetTotalEnergyConsumptionFunc = func() (uint64, nvml.Return) { return uint64(1_000_000_500 + 1000*i), nvml.SUCCESS }
	}
	return s
}

// TestReadDGXH100 runs Read and Telemetry against NVIDIA's mock of the library.
func TestReadDGXH100(t *testing.T) {
	at := time.Date(2024, 7, 10, 20, 30, 0, 0, time.UTC)
	r, err := open(dgx(t), func() time.Time { return at })
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	gpus, err := r.Read()
	if err != nil || len(gpus) != 8 {
		t.Fatalf("Read = %d GPUs, %v; want 8", len(gpus), err)
	}
	for i, g := range gpus {
		if g.Index != i || g.UUID == "" || g.Name != "NVIDIA H100 80GB HBM3" || g.MemoryTotalB < 80e9 ||
			g.PowerW != joule.Watts(300+50*i) || !g.PowerKnown || g.PowerLimitW != 700 ||
			g.UtilizationPct != 10*i || g.TempC != float64(40+i) || g.EnergyJ != int64(1_000_000+i) || !g.EnergyKnown {
			t.Errorf("GPU %d = %+v", i, g)
		}
	}
	tel, err := r.Telemetry()
	if err != nil {
		t.Fatal(err)
	}
	// 300+350+…+650 W = 3800 W; mean utilization (0+10+…+70)/8 = 35 %.
	if tel.PowerW != 3800 || !tel.PowerKnown || tel.PowerLimitW != 5600 || tel.GPUUtilization != 0.35 ||
		tel.TempC != 47 || tel.Firmware != "nvidia 550.54.15" || !tel.At.Equal(at) || tel.State != joule.StateRunning {
		t.Errorf("Telemetry = %+v", *tel)
	}
	devices, err := r.Devices()
	if err != nil || len(devices) != 8 || devices[3] != gpus[3].Device {
		t.Errorf("Devices = %+v, %v", devices, err)
	}
}

func TestReadFailures(t *testing.T) {
	tests := []struct {
		name      string
		ret       nvml.Return // what GPU 5's power query answers
		wantErr   error
		wantKnown bool
	}{
		{"power not supported", nvml.ERROR_NOT_SUPPORTED, nil, false},
		{"GPU fell off the bus", nvml.ERROR_GPU_IS_LOST, nvml.ERROR_GPU_IS_LOST, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := dgx(t)
			s.Devices[5].(*server.Device).GetPowerUsageFunc = func() (uint32, nvml.Return) { return 0, tt.ret }
			r, err := open(s, time.Now)
			if err != nil {
				t.Fatal(err)
			}
			tel, err := r.Telemetry()
			if !errors.Is(err, tt.wantErr) || (err == nil && tel.PowerKnown != tt.wantKnown) {
				t.Errorf("Telemetry = %+v, %v; want error %v, power known %v", tel, err, tt.wantErr, tt.wantKnown)
			}
		})
	}
}

func TestOpenInitFailures(t *testing.T) {
	tests := []struct {
		ret      nvml.Return
		noDriver bool
	}{
		{nvml.ERROR_LIBRARY_NOT_FOUND, true},
		{nvml.ERROR_DRIVER_NOT_LOADED, true},
		{nvml.ERROR_NO_PERMISSION, true},
		{nvml.ERROR_UNKNOWN, false},
	}
	for _, tt := range tests {
		t.Run(tt.ret.String(), func(t *testing.T) {
			lib := &mock.Interface{InitFunc: func() nvml.Return { return tt.ret }}
			r, err := open(lib, time.Now)
			if r != nil || err == nil || errors.Is(err, ErrNoDriver) != tt.noDriver || !errors.Is(err, tt.ret) {
				t.Errorf("open = %v, %v; want an error wrapping %v, ErrNoDriver: %v", r, err, tt.ret, tt.noDriver)
			}
		})
	}
}

// TestLimiter sets power limits on NVIDIA's mock only: within the constraints the GPU
// takes the limit (and Read reports it), outside them NVML's refusal is EINVALID.
func TestLimiter(t *testing.T) {
	s := dgx(t)
	limits := make([]uint32, len(s.Devices))
	for i, d := range s.Devices {
		d := d.(*server.Device)
		limits[i] = 700_000
		d.GetEnforcedPowerLimitFunc = func() (uint32, nvml.Return) { return limits[i], nvml.SUCCESS }
		d.GetPowerManagementLimitConstraintsFunc = func() (uint32, uint32, nvml.Return) { return 200_000, 700_000, nvml.SUCCESS }
		d.GetPowerManagementDefaultLimitFunc = func() (uint32, nvml.Return) { return 700_000, nvml.SUCCESS }
		d.SetPowerManagementLimitFunc = func(mw uint32) nvml.Return {
			if mw < 200_000 || mw > 700_000 {
				return nvml.ERROR_INVALID_ARGUMENT
			}
			limits[i] = mw
			return nvml.SUCCESS
		}
	}
	r, err := OpenInterface(s, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	l := NewLimiter(r)
	lo, hi, def, err := l.Constraints(2)
	if err != nil || lo != 200 || hi != 700 || def != 700 {
		t.Fatalf("Constraints = %d, %d, %d, %v", lo, hi, def, err)
	}
	if err := l.SetPowerLimit(2, 450); err != nil {
		t.Fatal(err)
	}
	gpus, err := r.Read()
	if err != nil || gpus[2].PowerLimitW != 450 || gpus[1].PowerLimitW != 700 {
		t.Errorf("after setting GPU 2 to 450 W: %+v, %v", gpus, err)
	}
	for _, w := range []joule.Watts{150, 800, 0} {
		if err := l.SetPowerLimit(2, w); joule.ErrorCode(err) != joule.EINVALID {
			t.Errorf("SetPowerLimit(%d W) = %v; want EINVALID", w, err)
		}
	}
	if _, _, _, err := l.Constraints(9); err == nil {
		t.Error("Constraints of GPU 9 of 8: no error")
	}
}
