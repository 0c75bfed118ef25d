package main_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	domain "github.com/joule-site/joule"
	"github.com/joule-site/joule/leasing"
	"github.com/joule-site/joule/sim"
	"github.com/joule-site/joule/syncbuf"
)

// `joule devices` reads the device table of a real server that a `joule agent` child
// fills from simulated miners; `joule devices tag` tags two of them and the table's
// search finds them by tag; `joule devices action sleep --wait` puts them to sleep
// through the agent and prints the verified result; a viewer's token asks nothing.
func TestDevicesCommands(t *testing.T) {
	const miners = 6
	rig := agentSite(t, miners)
	fleet, err := sim.StartFleet(sim.FleetConfig{Miners: miners, RandomPorts: true, Range: "127.0.0.1",
		Miner: sim.MinerConfig{SleepRamp: 100 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fleet.Close() })
	ctx := context.Background()
	issued, err := rig.exchange.IssueToken(ctx, rig.operator, rig.operator.ID, leasing.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	_, viewer, err := rig.exchange.CreateAccount(ctx, rig.operator, leasing.NewAccountRequest{ID: "watch", Role: domain.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	agent := exec.Command(joule, "agent", "--site", "test-site", "--server", rig.srv.URL(), "--token", rig.agentToken,
		"--scan", strings.Join(fleet.MinerAddresses(), ","), "--poll", "100ms", "--spool", t.TempDir()+"/agent.spool")
	out := &syncbuf.Buffer{}
	agent.Stdout, agent.Stderr = out, out
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = agent.Process.Kill(); _ = agent.Wait() })
	run := func(token string, args ...string) (string, error) {
		t.Helper()
		cmd := exec.Command(joule, append(args, "--server", rig.srv.URL(), "--token", token)...)
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	for end := time.Now().Add(2 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		page, err := rig.telemetry.Devices(ctx, domain.DeviceQuery{Site: "test-site", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total == miners {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the device table holds %d of %d devices; the agent's output:\n%s", page.Total, miners, out.String())
		}
	}
	addrs := fleet.MinerAddresses()
	if got, err := run(issued.Token, "devices", "tag", "--site", "test-site", addrs[1], addrs[4], "rack=A12", "row=3"); err != nil || got != "tagged 2 devices rack=A12 row=3\n" {
		t.Fatalf("devices tag: %q, %v", got, err)
	}
	got, err := run(viewer, "devices", "--site", "test-site", "--search", "tag:rack=A12", "--sort", "address", "--json")
	if err != nil {
		t.Fatalf("devices --json: %v\n%s", err, got)
	}
	var page domain.DevicePage
	if err := json.Unmarshal([]byte(got), &page); err != nil || page.Total != 2 || page.Devices[0].Tags["rack"] != "A12" {
		t.Fatalf("devices --search tag:rack=A12: %s (%v)", got, err)
	}
	table, err := run(viewer, "devices", "--site", "test-site", "--search", "tag:row=3")
	if err != nil || !strings.Contains(table, "rack=A12 row=3") || !strings.HasSuffix(table, "1–2 of 2 devices\n") {
		t.Errorf("devices table: %v\n%s", err, table)
	}
	if got, err := run(viewer, "devices", "action", "sleep", "--site", "test-site", "--search", "tag:rack=A12"); err == nil || !strings.Contains(got, "only the operator") {
		t.Errorf("a viewer asked an action: %q, %v", got, err)
	}
	got, err = run(issued.Token, "devices", "action", "sleep", "--site", "test-site", "--search", "tag:rack=A12", "--wait")
	if err != nil || got != "action 1: sleep of 2 devices: 2 sent, 2 verified, 0 failed\n" {
		t.Fatalf("devices action sleep --wait: %q, %v; the agent's output:\n%s", got, err, out.String())
	}
	for i, m := range fleet.Miners() {
		if asleep := m.Reading().State == domain.StateSleeping; asleep != (i == 1 || i == 4) {
			t.Errorf("miner %d is %s", i, m.Reading().State)
		}
	}
	if got, err := run(viewer, "devices", "actions", "--site", "test-site"); err != nil || !strings.Contains(got, "sleep   operator") {
		t.Errorf("devices actions: %v\n%s", err, got)
	}
}
