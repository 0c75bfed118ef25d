package gpunode_test

import (
	"context"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/gpunode"
	"github.com/joule-site/joule/sim"
)

func start(t *testing.T, cfg sim.GPUConfig) *sim.GPUServer {
	t.Helper()
	g, err := sim.StartGPUServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

// The driver commands a simulated server through every state and a power cap, and its
// telemetry agrees with what the server truly draws.
func TestDriverControlsServer(t *testing.T) {
	g := start(t, sim.GPUConfig{})
	d := gpunode.NewDriver()
	ctx := context.Background()
	steps := []struct {
		name  string
		do    func() error
		state joule.DeviceState
		power joule.Watts
		limit joule.Watts
	}{
		{"read", func() error { return nil }, joule.StateRunning, 9350, 10200},
		{"idle", func() error { return d.Sleep(ctx, g.Addr()) }, joule.StateSleeping, 1700, 10200},
		{"off", func() error { return d.PowerOff(ctx, g.Addr()) }, joule.StateOff, 25, 10200},
		{"on", func() error { return d.Wake(ctx, g.Addr()) }, joule.StateRunning, 9350, 10200},
		{"cap 6 kW", func() error { return d.SetPower(ctx, g.Addr(), 6000, 10200) }, joule.StateRunning, 6000, 6000},
		{"cap at stock removes it", func() error { return d.SetPower(ctx, g.Addr(), 10200, 10200) }, joule.StateRunning, 9350, 10200},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if err := s.do(); err != nil {
				t.Fatal(err)
			}
			tel, err := d.Status(ctx, g.Addr())
			if err != nil {
				t.Fatal(err)
			}
			if tel.State != s.state || tel.PowerW != s.power || !tel.PowerKnown || tel.PowerLimitW != s.limit || g.PowerW() != s.power {
				t.Errorf("telemetry %s %d W (limit %d W), truth %d W; want %s %d W (limit %d W)", tel.State, tel.PowerW, tel.PowerLimitW, g.PowerW(), s.state, s.power, s.limit)
			}
		})
	}
	if err := d.SetPower(ctx, g.Addr(), 1000, 10200); joule.ErrorCode(err) != joule.EINVALID {
		t.Errorf("a cap below idle draw: %v, want EINVALID", err)
	}
}

// Each fault costs a call an error (or, for the liars, shows in the telemetry), within
// the driver's timeout.
func TestDriverFaults(t *testing.T) {
	tests := []struct {
		fault sim.Fault
		// readErr: reading fails; lie: an idle command is acknowledged, the server keeps serving.
		readErr, lie bool
		reported     joule.DeviceState
	}{
		{fault: sim.FaultNoAnswer, readErr: true},
		{fault: sim.FaultSlow, readErr: true},
		{fault: sim.FaultGarbage, readErr: true},
		{fault: sim.FaultCloseEarly, readErr: true},
		{fault: sim.FaultLieAck, lie: true, reported: joule.StateRunning},
		{fault: sim.FaultLieTelemetry, lie: true, reported: joule.StateSleeping},
	}
	for _, tc := range tests {
		t.Run(tc.fault.String(), func(t *testing.T) {
			g := start(t, sim.GPUConfig{Fault: tc.fault, SlowDelay: 5 * time.Second})
			d := gpunode.NewDriver()
			d.Timeout = 200 * time.Millisecond
			ctx := context.Background()
			began := time.Now()
			_, readErr := d.Status(ctx, g.Addr())
			if took := time.Since(began); took > 2*time.Second {
				t.Errorf("a read took %s with a 200 ms timeout", took)
			}
			if (readErr != nil) != tc.readErr {
				t.Fatalf("read error %v, want error %v", readErr, tc.readErr)
			}
			if !tc.lie {
				if err := d.Sleep(ctx, g.Addr()); err == nil {
					t.Error("idle acknowledged by a faulty server")
				}
				return
			}
			if err := d.Sleep(ctx, g.Addr()); err != nil {
				t.Fatalf("idle: %v", err)
			}
			tel, err := d.Status(ctx, g.Addr())
			if err != nil || tel.State != tc.reported || g.State() != sim.GPUOn || g.PowerW() != 9350 {
				t.Errorf("after an acknowledged idle: telemetry %+v (%v), truth %s %d W", tel, err, g.State(), g.PowerW())
			}
		})
	}
}

// A closed port and an address that is not host:port fail at once, without a panic.
func TestDriverUnreachable(t *testing.T) {
	g := start(t, sim.GPUConfig{})
	addr := g.Addr()
	g.Close()
	d := gpunode.NewDriver()
	if _, err := d.Status(context.Background(), addr); err == nil {
		t.Error("a closed server answered")
	}
	if _, err := d.Status(context.Background(), "bad host:x:y"); err == nil {
		t.Error("a bad address answered")
	}
}
