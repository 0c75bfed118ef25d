package redfish_test

import (
	"context"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/agent"
	"github.com/joule-site/joule/redfish"
	"github.com/joule-site/joule/sim"
)

func bmc(t *testing.T, legacy bool) *sim.GPUServer {
	t.Helper()
	g, err := sim.StartGPUServer(sim.GPUConfig{RedfishUser: "admin", RedfishPassword: "bmc-pass", RedfishLegacyOnly: legacy})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

func driver(password string) *redfish.Driver {
	d := redfish.NewDriver("admin", password)
	d.UsePlainHTTP()
	return d
}

// The driver powers the simulated BMC's host off and on and caps it, through the newer
// EnvironmentMetrics and through the older Power resource alike.
func TestDriver(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		name := "EnvironmentMetrics"
		if legacy {
			name = "Power"
		}
		t.Run(name, func(t *testing.T) {
			g := bmc(t, legacy)
			d := driver("bmc-pass")
			ctx := context.Background()
			addr := g.Addr()
			st, err := d.Status(ctx, addr)
			if err != nil || st.State != joule.StateRunning || !st.PowerKnown || st.PowerW != 9350 || st.PowerLimitW != 0 {
				t.Fatalf("Status = %+v, %v", st, err)
			}
			if err := d.PowerOff(ctx, addr); err != nil || g.State() != sim.GPUOff {
				t.Errorf("PowerOff: %v, host %s", err, g.State())
			}
			if st, err := d.Status(ctx, addr); err != nil || st.State != joule.StateOff || st.PowerW != 25 {
				t.Errorf("Status off = %+v, %v", st, err)
			}
			if err := d.Wake(ctx, addr); err != nil || g.State() != sim.GPUOn {
				t.Errorf("Wake: %v, host %s", err, g.State())
			}
			if err := d.SetPower(ctx, addr, 6000, 10200); err != nil {
				t.Fatal(err)
			}
			if st, err := d.Status(ctx, addr); err != nil || st.PowerLimitW != 6000 || st.PowerW != 6000 || g.Telemetry().PowerLimitW != 6000 {
				t.Errorf("capped at 6000 W: %+v, %v", st, err)
			}
			if err := d.SetPower(ctx, addr, 1000, 10200); joule.ErrorCode(err) != joule.EINVALID {
				t.Errorf("cap below idle: %v", err)
			}
			if err := d.SetPower(ctx, addr, 10200, 10200); err != nil {
				t.Fatal(err)
			}
			if st, err := d.Status(ctx, addr); err != nil || st.PowerLimitW != 0 || st.PowerW != 9350 {
				t.Errorf("uncapped: %+v, %v", st, err)
			}
			if err := d.Sleep(ctx, addr); joule.ErrorCode(err) != joule.EINVALID || g.State() != sim.GPUOn {
				t.Errorf("Sleep: %v, host %s", err, g.State())
			}
			if _, err := driver("wrong").Status(ctx, addr); joule.ErrorCode(err) != joule.EUNAUTHORIZED {
				t.Errorf("wrong password: %v", err)
			}
		})
	}
}

// The agent's executor drives a BMC over Redfish as it drives the power API: power
// off, on and a cap, each verified by a reading.
func TestExecutorOverRedfish(t *testing.T) {
	g := bmc(t, false)
	ex := agent.DefaultGPUExecutor(driver("bmc-pass"))
	ex.VerifyTimeout, ex.SleepVerifyTimeout, ex.PollInterval = 5*time.Second, 5*time.Second, 20*time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, c := range []agent.Command{
		{Address: g.Addr(), Action: agent.ActionOff},
		{Address: g.Addr(), Action: agent.ActionWake},
		{Address: g.Addr(), Action: agent.ActionPower, LimitW: 7000, StockW: 10200},
	} {
		res := ex.Run(ctx, []agent.Command{c}, nil)
		if len(res) != 1 || !res[0].Verified {
			t.Errorf("%s: %+v", c.Action, res)
		}
	}
	if tel := g.Telemetry(); tel.State != sim.GPUOn || tel.PowerLimitW != 7000 {
		t.Errorf("server after the commands: %+v", tel)
	}
}
