package main_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule/sim"
)

// TestMeterStatus reads a simulated site meter through `joule meter status`.
func TestMeterStatus(t *testing.T) {
	fleet, err := sim.StartFleet(sim.FleetConfig{Miners: 2, Range: "127.58.1.1-127.58.1.9"})
	if err != nil {
		t.Fatal(err)
	}
	defer fleet.Close()
	sm, err := sim.StartMeter("127.0.0.1:0", fleet.PowerW)
	if err != nil {
		t.Fatal(err)
	}
	defer sm.Close()
	power := int64(fleet.PowerW())
	dir := t.TempDir()
	var st struct {
		Meter  string    `json:"meter"`
		PowerW int64     `json:"power_w"`
		At     time.Time `json:"at"`
	}
	before := time.Now()
	jsonRun(t, dir, &st, "meter", "status", sm.URL(), "--json")
	if st.Meter != sm.URL() || st.PowerW != power || power <= 0 || st.At.Before(before.Add(-time.Second)) || st.At.After(time.Now()) {
		t.Errorf("status %+v", st)
	}
	if r := run(t, dir, "meter", "status", sm.URL()); r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("%v (%d W)", fleet.PowerW(), power)) {
		t.Errorf("table: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}

	for _, tc := range []struct {
		args []string
		want string // in the error
	}{
		{[]string{"modbus://127.0.0.1?scale=kW"}, "scale="},
		{[]string{"http://127.0.0.1"}, "scheme"},
		{[]string{"modbus://127.0.0.1:1?register=0", "--timeout", "1s"}, "127.0.0.1:1"},
	} {
		r := run(t, dir, append([]string{"meter", "status"}, tc.args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("meter status %s: exit %d: %s; want an error with %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.want)
		}
	}
}

// `joule sim --meter` runs a site meter that reports the fleet's true power, and says
// where in its ready line.
func TestSimMeter(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(joule, "sim", "--control", "--miners", "3", "--gpu-servers", "1",
		"--listen", "127.58.0.1-127.58.0.9", "--meter", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "JOULE_DB="+filepath.Join(dir, "joule.db"), "JOULE_SERVER=")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		io.Copy(io.Discard, stdout)
		cmd.Wait()
	}()
	var ready struct {
		Ready  bool   `json:"ready"`
		PowerW int64  `json:"power_w"`
		Meter  string `json:"meter"`
	}
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(line, &ready); err != nil || !ready.Ready || !strings.HasPrefix(ready.Meter, "modbus://127.0.0.1:") || ready.PowerW <= 0 {
		t.Fatalf("ready line %s: %v", line, err)
	}
	var st struct {
		PowerW int64 `json:"power_w"`
	}
	jsonRun(t, dir, &st, "meter", "status", ready.Meter, "--json")
	if st.PowerW != ready.PowerW {
		t.Errorf("the meter reads %d W; the fleet draws %d W", st.PowerW, ready.PowerW)
	}
}
