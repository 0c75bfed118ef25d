package nvml_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/nvml"
)

func TestSummarize(t *testing.T) {
	at := time.Date(2024, 7, 10, 20, 30, 0, 0, time.UTC)
	h100 := func(i int, powerW, util int, memUsedGiB int64, temp float64) nvml.GPU {
		return nvml.GPU{
			Device:      nvml.Device{Index: i, UUID: "GPU-" + string(rune('a'+i)), Name: "NVIDIA H100 80GB HBM3", MemoryTotalB: 80 << 30},
			PowerW:      joule.Watts(powerW),
			PowerKnown:  true,
			PowerLimitW: 700, UtilizationPct: util, MemoryUsedB: memUsedGiB << 30, TempC: temp,
		}
	}
	noPower := h100(1, 0, 50, 10, 40)
	noPower.PowerKnown = false
	other := h100(1, 300, 50, 10, 40)
	other.Name = "NVIDIA H200"

	tests := []struct {
		name string
		gpus []nvml.GPU
		want joule.Telemetry
	}{
		{"no GPU", nil, joule.Telemetry{State: joule.StateUnknown}},
		{"two busy H100s", []nvml.GPU{h100(0, 650, 100, 70, 61), h100(1, 620, 90, 60, 58)}, joule.Telemetry{
			State: joule.StateRunning, Model: "NVIDIA H100 80GB HBM3", PowerW: 1270, PowerKnown: true, PowerLimitW: 1400,
			TempC: 61, GPUUtilization: 0.95, GPUMemoryUsedB: 65 << 30,
		}},
		{"one GPU without a power reading", []nvml.GPU{h100(0, 650, 100, 70, 61), noPower}, joule.Telemetry{
			State: joule.StateRunning, Model: "NVIDIA H100 80GB HBM3", PowerLimitW: 1400,
			TempC: 61, GPUUtilization: 0.75, GPUMemoryUsedB: 40 << 30,
		}},
		{"mixed models", []nvml.GPU{h100(0, 100, 0, 0, 30), other}, joule.Telemetry{
			State: joule.StateRunning, Model: "mixed", PowerW: 400, PowerKnown: true, PowerLimitW: 1400,
			TempC: 40, GPUUtilization: 0.25, GPUMemoryUsedB: 5 << 30,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := nvml.Summarize(tt.gpus, at, "550.54.15")
			want := tt.want
			want.At, want.Firmware = at, "nvidia 550.54.15"
			if got.State != want.State || got.Model != want.Model || got.PowerW != want.PowerW ||
				got.PowerKnown != want.PowerKnown || got.PowerLimitW != want.PowerLimitW || got.TempC != want.TempC ||
				got.GPUUtilization != want.GPUUtilization || got.GPUMemoryUsedB != want.GPUMemoryUsedB ||
				!got.At.Equal(want.At) || got.Firmware != want.Firmware || got.HashrateTHs != 0 {
				t.Errorf("Summarize =\n%+v\nwant\n%+v", *got, want)
			}
		})
	}
}

// TestOpenWithoutDriver runs everywhere: a library that is not there is ErrNoDriver,
// an internal error whose message hides the detail, never a panic.
func TestOpenWithoutDriver(t *testing.T) {
	r, err := nvml.OpenLibrary("/nonexistent/libnvidia-ml.so.1")
	if r != nil || !errors.Is(err, nvml.ErrNoDriver) {
		t.Fatalf("OpenLibrary(missing) = %v, %v; want ErrNoDriver", r, err)
	}
	if joule.ErrorCode(err) != joule.EINTERNAL || joule.ErrorMessage(err) != "no NVML driver" {
		t.Errorf("code %q, message %q", joule.ErrorCode(err), joule.ErrorMessage(err))
	}
}

// TestOpen reads the real GPUs where NVIDIA's driver is installed, and elsewhere checks
// that Open fails with ErrNoDriver.
func TestOpen(t *testing.T) {
	r, err := nvml.Open()
	if err != nil {
		if !errors.Is(err, nvml.ErrNoDriver) {
			t.Fatalf("Open: %v; want ErrNoDriver on a machine without NVIDIA's driver", err)
		}
		t.Skip(err) // "no NVML driver: …"
	}
	defer r.Close()
	r.Now = func() time.Time { return time.Unix(1_720_643_400, 0) }

	devices, err := r.Devices()
	if err != nil || len(devices) == 0 {
		t.Fatalf("Devices = %v, %v", devices, err)
	}
	gpus, err := r.Read()
	if err != nil || len(gpus) != len(devices) {
		t.Fatalf("Read = %d GPUs, %v; want %d", len(gpus), err, len(devices))
	}
	for _, g := range gpus {
		t.Logf("GPU %d %s %q: %v of %v limit, %d%% busy, %d/%d MiB, %.0f °C",
			g.Index, g.UUID, g.Name, g.PowerW, g.PowerLimitW, g.UtilizationPct, g.MemoryUsedB>>20, g.MemoryTotalB>>20, g.TempC)
		switch {
		case !strings.HasPrefix(g.UUID, "GPU-") || g.Name == "":
			t.Errorf("GPU %d: UUID %q, name %q", g.Index, g.UUID, g.Name)
		case g.PowerKnown && (g.PowerW <= 0 || g.PowerW > 2000):
			t.Errorf("GPU %d draws %v", g.Index, g.PowerW)
		case g.PowerLimitW < 0 || g.PowerLimitW > 2000:
			t.Errorf("GPU %d power limit %v", g.Index, g.PowerLimitW)
		case g.UtilizationPct < 0 || g.UtilizationPct > 100:
			t.Errorf("GPU %d utilization %d%%", g.Index, g.UtilizationPct)
		case g.MemoryTotalB <= 0 || g.MemoryUsedB > g.MemoryTotalB:
			t.Errorf("GPU %d memory %d of %d", g.Index, g.MemoryUsedB, g.MemoryTotalB)
		case g.TempC <= 0 || g.TempC > 120:
			t.Errorf("GPU %d at %v °C", g.Index, g.TempC)
		}
	}
	tel, err := r.Telemetry()
	if err != nil || tel.State != joule.StateRunning || !tel.At.Equal(r.Now()) || !strings.HasPrefix(tel.Firmware, "nvidia ") {
		t.Errorf("Telemetry = %+v, %v", tel, err)
	}
}
