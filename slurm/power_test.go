package slurm

import (
	"testing"

	"github.com/joule-site/joule/gpuapi"
)

func TestPowerState(t *testing.T) {
	for raw, want := range map[string]string{
		"idle": gpuapi.StateOn, "mixed": gpuapi.StateOn, "allocated": gpuapi.StateOn, "idle*": gpuapi.StateOn,
		"drained": gpuapi.StateIdle, "draining": gpuapi.StateIdle, "drained*": gpuapi.StateIdle,
		"drained!": gpuapi.StateOff, "idle%": gpuapi.StateOff, "idle~": gpuapi.StateOff, "idle#": gpuapi.StateOff,
		"powered_down": gpuapi.StateOff, "powering_down": gpuapi.StateOff,
	} {
		if got := powerState(raw); got != want {
			t.Errorf("powerState(%q) = %s, want %s", raw, got, want)
		}
	}
}
