package sim

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestRedfishTool drives the simulated BMC with DMTF's redfishtool (Debian's
// redfishtool package), a client independent of Joule's: it reads the system and its
// power, powers the host off and on, and sets and removes the cap.
func TestRedfishTool(t *testing.T) {
	tool, err := exec.LookPath("redfishtool")
	if err != nil {
		if os.Getenv("JOULE_CI") == "1" {
			t.Fatal("redfishtool is not installed, and JOULE_CI=1 requires it (apt-get install redfishtool)")
		}
		t.Skip("redfishtool is not installed: apt-get install redfishtool")
	}
	g, err := StartGPUServer(GPUConfig{Clock: NewFakeClock(t0), Token: "gpu-api-token", RedfishUser: "admin", RedfishPassword: "bmc-pass"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	run := func(t *testing.T, args ...string) map[string]any {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// -S Never: plain http on loopback; Basic authentication, redfishtool's default.
		cmd := exec.CommandContext(ctx, tool, append([]string{"-r", g.Addr(), "-u", "admin", "-p", "bmc-pass", "-S", "Never"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("redfishtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		var v map[string]any
		if s := strings.TrimSpace(string(out)); strings.HasPrefix(s, "{") {
			if err := json.Unmarshal([]byte(s), &v); err != nil {
				t.Fatalf("redfishtool %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
		return v
	}
	if sys := run(t, "Systems", "-I", "1"); sys["PowerState"] != "On" {
		t.Errorf("system: %v", sys)
	}
	run(t, "Systems", "-I", "1", "reset", "GracefulShutdown")
	if g.State() != GPUOff {
		t.Errorf("after GracefulShutdown the host is %s", g.State())
	}
	if sys := run(t, "Systems", "-I", "1"); sys["PowerState"] != "Off" {
		t.Errorf("system after shutdown: %v", sys)
	}
	run(t, "Systems", "-I", "1", "reset", "On")
	if g.State() != GPUOn {
		t.Errorf("after On the host is %s", g.State())
	}
	run(t, "Chassis", "-I", "1", "setPowerLimit", "6000")
	if tel := g.Telemetry(); tel.PowerLimitW != 6000 || tel.PowerW > 6000 {
		t.Errorf("after setPowerLimit 6000: %+v", tel)
	}
	pc := run(t, "Chassis", "-I", "1", "getPowerReading")
	if lim, _ := pc["PowerLimit"].(map[string]any); lim["LimitInWatts"] != 6000.0 || pc["PowerConsumedWatts"] != 6000.0 {
		t.Errorf("power reading: %v", pc)
	}
	run(t, "Chassis", "-I", "1", "setPowerLimit", "null")
	if tel := g.Telemetry(); tel.PowerLimitW != 10200 || tel.PowerW != 9350 {
		t.Errorf("after setPowerLimit null: %+v", tel)
	}
}
