package node_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/gpuapi"
	"github.com/joule-site/joule/gpunode"
	"github.com/joule-site/joule/node"
)

// token is the nodes' shared token in these tests.
const token = "s3cret-node-token"

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

// Over TLS the agent's client checks the node's certificate: with the CA it reads the
// node, without it the connection fails.
func TestNodeOverTLS(t *testing.T) {
	n, err := node.New(node.Config{Token: token, NoGPU: "no NVML driver", States: &node.LocalStates{}, StateSource: "local"})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewTLSServer(n.Handler())
	defer ts.Close()
	addr := strings.TrimPrefix(ts.URL, "https://")
	ctx := context.Background()
	d := gpunode.NewDriver()
	d.Token = token
	d.UseTLS(ts.Client().Transport.(*http.Transport).TLSClientConfig) // trusts the test server's CA
	if st, err := d.Status(ctx, addr); err != nil || st.State != joule.StateRunning {
		t.Errorf("Status over TLS = %+v, %v", st, err)
	}
	untrusting := gpunode.NewDriver()
	untrusting.Token = token
	untrusting.UseTLS(nil)
	if _, err := untrusting.Status(ctx, addr); err == nil {
		t.Error("Status over TLS with an unknown CA: no error")
	}
	plain := gpunode.NewDriver()
	plain.Token = token
	if _, err := plain.Status(ctx, addr); err == nil {
		t.Error("Status in plain HTTP to a TLS node: no error")
	}
}
