package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	domain "github.com/joule-site/joule"
	"github.com/joule-site/joule/gpunode"
)

// noNVML is a library path that does not exist, so that these tests read no GPU even
// on a machine that has one.
const noNVML = "/nonexistent/libnvidia-ml.so.1"

func TestNodeCheckWithoutGPU(t *testing.T) {
	r := run(t, t.TempDir(), "node", "--check", "--nvml", noNVML)
	for _, want := range []string{
		"NVML:         no NVML driver: ",
		"GPUs:         none: /telemetry reports gpu_error and power unknown",
		"power limits: refused (start with --allow-power-limit",
		"power state:  local (no --slurm-conf)",
		"token:        missing",
	} {
		if r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("joule node --check: exit %d, no %q in\n%s%s", r.code, want, r.stdout, r.stderr)
		}
	}
}

// --allow-power-limit without NVML sets nothing, and says so.
func TestNodeCheckAllowWithoutNVML(t *testing.T) {
	r := run(t, t.TempDir(), "node", "--check", "--allow-power-limit", "--nvml", noNVML)
	if r.code != 0 || !strings.Contains(r.stdout, "power limits: refused: no NVML to set them through") {
		t.Errorf("joule node --check --allow-power-limit: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestNodeCheckJSON(t *testing.T) {
	r := run(t, t.TempDir(), "node", "--check", "--json", "--nvml", noNVML, "--node-token", "0123456789abcdef")
	var got struct {
		GPUError    string `json:"gpu_error"`
		GPUs        []any  `json:"gpus"`
		PowerLimits string `json:"power_limits"`
		StateSource string `json:"state_source"`
		Token       string `json:"token"`
	}
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &got) != nil || !strings.HasPrefix(got.GPUError, "no NVML driver") ||
		got.GPUs == nil || len(got.GPUs) != 0 || got.PowerLimits != "refused" || got.StateSource != "local" || got.Token != "set" {
		t.Errorf("joule node --check --json: exit %d, %+v from\n%s%s", r.code, got, r.stdout, r.stderr)
	}
}

func TestNodeNeedsAToken(t *testing.T) {
	for _, args := range [][]string{{}, {"--node-token", "short"}} {
		r := run(t, t.TempDir(), append([]string{"node", "--listen", "127.0.0.1:0", "--nvml", noNVML}, args...)...)
		if r.code == 0 || !strings.Contains(r.stderr, "--node-token") {
			t.Errorf("joule node %v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
}

// joule node serves the power API with its token, says it has no GPU readings rather
// than zeros, refuses caps without --allow-power-limit, and stops cleanly.
func TestNodeServes(t *testing.T) {
	const token = "node-token-for-tests"
	cmd := exec.Command(joule, "node", "--node-token", token, "--listen", "127.0.0.1:0", "--nvml", noNVML)
	cmd.Env = append(os.Environ(), "JOULE_NODE_TOKEN=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	}()
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		t.Fatal("joule node printed nothing")
	}
	ready := lines.Text()
	go func() { done <- cmd.Wait() }()
	m := regexp.MustCompile(`^joule node on http://(127\.0\.0\.1:\d+): no GPU readings \(no NVML driver: .*\); power limits refused \(no --allow-power-limit\); power state kept locally \(no --slurm-conf\)$`).FindStringSubmatch(ready)
	if m == nil {
		t.Fatalf("first line %q", ready)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d := gpunode.NewDriver()
	if _, err := d.Status(ctx, m[1]); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
		t.Errorf("Status without the token: %v", err)
	}
	d.Token = token
	st, err := d.Status(ctx, m[1])
	if err != nil || st.PowerKnown || st.State != domain.StateRunning {
		t.Errorf("Status = %+v, %v; want running, power unknown", st, err)
	}
	if err := d.SetPower(ctx, m[1], 5000, 10200); domain.ErrorCode(err) != domain.EINVALID || !strings.Contains(err.Error(), "--allow-power-limit") {
		t.Errorf("SetPower: %v", err)
	}
	if err := d.Sleep(ctx, m[1]); err != nil {
		t.Errorf("Sleep: %v", err)
	}
	if st, err := d.Status(ctx, m[1]); err != nil || st.State != domain.StateSleeping {
		t.Errorf("Status after Sleep = %+v, %v", st, err)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("joule node after SIGTERM: %v", err)
		}
		done <- nil
	case <-time.After(10 * time.Second):
		t.Error("joule node did not stop within 10 s of SIGTERM")
	}
}
