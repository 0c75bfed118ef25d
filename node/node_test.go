package node_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/gpuapi"
	"github.com/joule-site/joule/gpunode"
	"github.com/joule-site/joule/node"
)

// lostGPUs is a reader whose GPUs cannot be read.
type lostGPUs struct{}

func (lostGPUs) Read() ([]gpuapi.GPU, error) { return nil, errors.New("nvml: GPU 3: GPU is lost") }

// A node that cannot read its GPUs says so and reports no power; one without a Limiter
// refuses caps and changes nothing; none starts without a token.
func TestNodeWithoutGPUs(t *testing.T) {
	if _, err := node.New(node.Config{States: &node.LocalStates{}}); joule.ErrorCode(err) != joule.EINVALID {
		t.Errorf("New without a token: %v", err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		cfg     node.Config
		wantErr string
	}{
		{"no driver", node.Config{NoGPU: "no NVML driver: nvml init: ERROR_LIBRARY_NOT_FOUND"}, "no NVML driver"},
		{"a GPU lost", node.Config{GPUs: lostGPUs{}}, "GPU is lost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Token, cfg.States, cfg.StateSource, cfg.HostW = token, &node.LocalStates{}, "local", 600
			n, err := node.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			tel, err := n.Telemetry(ctx)
			if err != nil || tel.Known() || tel.PowerW != 0 || len(tel.GPUs) != 0 || !strings.Contains(tel.GPUError, tc.wantErr) || tel.State != gpuapi.StateOn {
				t.Errorf("Telemetry = %+v, %v", tel, err)
			}
			ts := httptest.NewServer(n.Handler())
			defer ts.Close()
			addr := strings.TrimPrefix(ts.URL, "http://")
			d := gpunode.NewDriver()
			d.Token = token
			st, err := d.Status(ctx, addr)
			if err != nil || st.PowerKnown || st.State != joule.StateRunning {
				t.Errorf("Status = %+v, %v; want running, power unknown", st, err)
			}
			if err := d.SetPower(ctx, addr, 3000, 10200); joule.ErrorCode(err) != joule.EINVALID || !strings.Contains(err.Error(), "--allow-power-limit") {
				t.Errorf("SetPower without a Limiter: %v", err)
			}
			if err := d.Sleep(ctx, addr); err != nil {
				t.Errorf("Sleep: %v", err)
			}
		})
	}
}
