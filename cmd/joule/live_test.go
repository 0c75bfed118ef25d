package main_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/joule-site/joule/sim"
)

// The curtail benchmark runs the simulator in child processes ('joule sim --control')
// and sheds every miner across them: the children report ready and their true power,
// and all of it is gone after. By default one child answers for every miner on one
// socket; with a socket per miner, several children share the fleet.
func TestBenchCurtailInChildren(t *testing.T) {
	for _, tc := range []struct {
		flags     []string
		procs     int
		oneSocket bool
	}{
		{nil, 1, true},
		{[]string{"--one-socket=false", "--sim-procs", "3"}, 3, false},
		{[]string{"--sim-procs", "0"}, 0, true},
	} {
		t.Run(strings.Join(tc.flags, " "), func(t *testing.T) {
			args := append([]string{"bench", "curtail", "--devices", "300", "--concurrency", "16",
				"--sleep-ramp", "20ms", "--listen", "127.31.0.1-127.31.3.254", "--json"}, tc.flags...)
			r := run(t, t.TempDir(), args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			var b struct {
				Devices, Verified, Failed int
				PowerBeforeW              int64   `json:"power_before_w"`
				PowerAfterW               int64   `json:"power_after_w"`
				SimProcs                  int     `json:"sim_procs"`
				OneSocket                 bool    `json:"one_socket"`
				AgentCPUS                 float64 `json:"agent_cpu_s"`
				SimCPUS                   float64 `json:"sim_cpu_s"`
				LoopbackRoundTrips        int     `json:"loopback_round_trips"`
				LoopbackSeconds           float64 `json:"loopback_seconds"`
				RatioToLoopback           float64 `json:"ratio_to_loopback"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &b); err != nil {
				t.Fatalf("%v: %s", err, r.stdout)
			}
			if b.Devices != 300 || b.Verified != 300 || b.Failed != 0 || b.SimProcs != tc.procs || b.OneSocket != tc.oneSocket ||
				b.PowerBeforeW != 300*3500 || b.PowerAfterW != 300*20 || b.AgentCPUS <= 0 ||
				b.LoopbackRoundTrips != 300 || b.LoopbackSeconds <= 0 || b.RatioToLoopback <= 0 {
				t.Errorf("bench %+v", b)
			}
		})
	}
}

// Bad scan ranges for either kind of device are the user's error, named by flag.
func TestAgentScanFlags(t *testing.T) {
	dir := t.TempDir()
	for _, flag := range []string{"--scan", "--scan-gpu"} {
		args := []string{"agent", "--site", "x", "--server", "http://127.0.0.1:1", "--scan", "127.0.0.2", flag, "127.0.0.9-127.0.0.2"}
		r := run(t, dir, args...)
		if r.code != 1 || !strings.Contains(r.stderr, flag+":") {
			t.Errorf("%s with a backwards range: exit %d: %s", flag, r.code, r.stderr)
		}
	}
}

// TestGPUStatus reads a simulated 8×H100 server through `joule gpu status`.
func TestGPUStatus(t *testing.T) {
	g, err := sim.StartGPUServer(sim.GPUConfig{Addr: "127.0.0.1:0", Utilization: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	dir := t.TempDir()
	var tel struct {
		State          string  `json:"state"`
		PowerW         int64   `json:"power_w"`
		PowerLimitW    int64   `json:"power_limit_w"`
		GPUUtilization float64 `json:"gpu_utilization"`
		GPUMemoryUsedB int64   `json:"gpu_memory_used_bytes"`
	}
	jsonRun(t, dir, &tel, "gpu", "status", g.Addr(), "--json")
	if tel.State != "running" || tel.PowerW <= 0 || tel.PowerLimitW != 10_200 || tel.GPUUtilization != 0.5 {
		t.Errorf("telemetry: %+v", tel)
	}
	if perGPU := float64(tel.GPUMemoryUsedB) / (80 << 30); perGPU <= 0 || perGPU > 1 {
		t.Errorf("memory used per GPU is %.2f of an 80 GiB GPU", perGPU)
	}
	if r := run(t, dir, "gpu", "status", "127.0.0.1:1", "--timeout", "1s"); r.code != 1 || !strings.Contains(r.stderr, "127.0.0.1:1") {
		t.Errorf("an address with no server: exit %d: %s", r.code, r.stderr)
	}
}
