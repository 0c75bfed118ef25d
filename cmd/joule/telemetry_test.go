package main_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	domain "github.com/joule-site/joule"
	"github.com/joule-site/joule/sim"
	"github.com/joule-site/joule/syncbuf"
)

// `joule agent`, run as a child process against a real server and simulated miners,
// fills the server's device table with every miner's latest reading and each miner's
// history with its samples, step after step.
func TestAgentFillsTheTelemetryHistory(t *testing.T) {
	const miners = 12
	rig := agentSite(t, miners)
	fleet, err := sim.StartFleet(sim.FleetConfig{Miners: miners, RandomPorts: true, Range: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fleet.Close() })
	cmd := exec.Command(joule, "agent", "--site", "test-site", "--server", rig.srv.URL(), "--token", rig.agentToken,
		"--scan", strings.Join(fleet.MinerAddresses(), ","), "--poll", "100ms", "--spool", t.TempDir()+"/agent.spool")
	out := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ctx := context.Background()
	since := time.Now().Add(-time.Minute)
	for end := time.Now().Add(2 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
		page, err := rig.telemetry.Devices(ctx, domain.DeviceQuery{Site: "test-site", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		full := page.Total == miners
		for _, d := range page.Devices {
			h, err := rig.telemetry.DeviceHistory(ctx, domain.HistoryQuery{Site: "test-site", Address: d.Address, From: since, To: time.Now().Add(time.Minute), Resolution: domain.ResolutionRaw})
			if err != nil {
				t.Fatal(err)
			}
			if len(h.Points) < 2 || d.HashrateTHs <= 0 || d.PowerW <= 0 || d.Fleet != "s21s" || d.State != domain.StateRunning {
				full = false
			}
		}
		if full {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("after two minutes the device table is %+v; the agent's output:\n%s", page, out.String())
		}
	}
}
