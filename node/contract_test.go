//go:build linux && cgo

package node_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/gpuapi"
	"github.com/joule-site/joule/gpunode"
	"github.com/joule-site/joule/node"
	"github.com/joule-site/joule/nvml"
	"github.com/joule-site/joule/nvml/nvmltest"
	"github.com/joule-site/joule/sim"
)

// apiServer is one server of the power API under the contract: where it listens,
// what it draws at full power with no cap (stock), and a cap below its lowest.
type apiServer struct {
	addr    string
	stockW  joule.Watts
	capW    joule.Watts // a cap it takes
	tooLowW joule.Watts // a cap it refuses
	state   func() string
}

// nvmlGPUs reads a Reader as the API reports GPUs, as cmd/joule wires it.
type nvmlGPUs struct{ r *nvml.Reader }

func (g nvmlGPUs) Read() ([]gpuapi.GPU, error) {
	gpus, err := g.r.Read()
	return nvml.APIGPUs(gpus), err
}

// startNode starts a node over NVIDIA's mock of a DGX H100, with power limits allowed
// and states kept locally.
func startNode(t *testing.T, hostW joule.Watts) (*apiServer, *nvmltest.DGX) {
	t.Helper()
	x := nvmltest.NewDGX()
	r, err := nvml.OpenInterface(x.Server, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	states := &node.LocalStates{}
	n, err := node.New(node.Config{Token: token, GPUs: nvmlGPUs{r}, Limiter: nvml.NewLimiter(r), States: states, StateSource: "local", HostW: hostW})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(n.Handler())
	t.Cleanup(ts.Close)
	return &apiServer{addr: strings.TrimPrefix(ts.URL, "http://"), stockW: 8*nvmltest.LoadW + hostW,
			capW: 8*400 + hostW, tooLowW: 8*(nvmltest.MinLimitW-1) + hostW,
			state: func() string { s, _ := states.State(context.Background()); return s }},
		x
}

func startSim(t *testing.T) *apiServer {
	t.Helper()
	g, err := sim.StartGPUServer(sim.GPUConfig{Token: token})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return &apiServer{addr: g.Addr(), stockW: 10200, capW: 6000, tooLowW: 1000, state: g.State}
}

// TestContract runs one table against the simulator and against joule node over the
// NVML mock: the agent's client drives both alike.
func TestContract(t *testing.T) {
	servers := map[string]func(t *testing.T) *apiServer{
		"sim":  startSim,
		"node": func(t *testing.T) *apiServer { s, _ := startNode(t, 600); return s },
	}
	type step struct {
		name string
		run  func(t *testing.T, s *apiServer, d *gpunode.Driver, raw func(method, path, body string, withToken bool) (int, string))
	}
	ctx := context.Background()
	steps := []step{
		{"a request without the token is refused and changes nothing", func(t *testing.T, s *apiServer, _ *gpunode.Driver, raw func(string, string, string, bool) (int, string)) {
			for _, r := range [][2]string{{"GET", "/telemetry"}, {"POST", "/power"}, {"POST", "/power-limit"}} {
				if code, body := raw(r[0], r[1], `{"state":"off","power_limit_w":2000}`, false); code != http.StatusUnauthorized || !strings.Contains(body, `"error"`) {
					t.Errorf("%s %s without token: %d %s", r[0], r[1], code, body)
				}
			}
			if s.state() != gpuapi.StateOn {
				t.Errorf("state %s after refused requests", s.state())
			}
			bad := gpunode.NewDriver()
			bad.Token = "wrong"
			if _, err := bad.Status(ctx, s.addr); joule.ErrorCode(err) != joule.EUNAUTHORIZED {
				t.Errorf("Status with a wrong token: %v", err)
			}
		}},
		{"telemetry reads strictly: on, eight GPUs, known power within the limit", func(t *testing.T, s *apiServer, d *gpunode.Driver, raw func(string, string, string, bool) (int, string)) {
			code, body := raw("GET", "/telemetry", "", true)
			tel, err := gpuapi.ParseTelemetry([]byte(body))
			if code != 200 || err != nil {
				t.Fatalf("GET /telemetry: %d %v", code, err)
			}
			if tel.State != gpuapi.StateOn || len(tel.GPUs) != 8 || !tel.Known() || tel.PowerW <= 0 || tel.PowerW > tel.PowerLimitW ||
				tel.MemoryTotalBytes < 8*80e9 || tel.TemperatureC <= 0 || tel.GPUError != "" || tel.StateSource == "" {
				t.Errorf("telemetry %+v", tel)
			}
			st, err := d.Status(ctx, s.addr)
			if err != nil || st.State != joule.StateRunning || !st.PowerKnown || st.PowerW != tel.PowerW {
				t.Errorf("Status = %+v, %v", st, err)
			}
		}},
		{"idle, off and on again, each read back", func(t *testing.T, s *apiServer, d *gpunode.Driver, _ func(string, string, string, bool) (int, string)) {
			for _, c := range []struct {
				do    func(context.Context, string) error
				api   string
				state joule.DeviceState
			}{{d.Sleep, gpuapi.StateIdle, joule.StateSleeping}, {d.PowerOff, gpuapi.StateOff, joule.StateOff}, {d.Wake, gpuapi.StateOn, joule.StateRunning}} {
				if err := c.do(ctx, s.addr); err != nil {
					t.Fatalf("to %s: %v", c.api, err)
				}
				if st, err := d.Status(ctx, s.addr); err != nil || st.State != c.state || s.state() != c.api {
					t.Errorf("after %s: %+v, %v (server says %s)", c.api, st, err, s.state())
				}
			}
		}},
		{"bad bodies are refused with a reason", func(t *testing.T, s *apiServer, _ *gpunode.Driver, raw func(string, string, string, bool) (int, string)) {
			for _, r := range [][2]string{{"/power", `{"state":"sleep"}`}, {"/power", `not json`}, {"/power", `{}`}, {"/power-limit", `{}`}, {"/power-limit", `{"power_limit_w":"a lot"}`}, {"/power-limit", `{"power_limit_w":-5}`}} {
				if code, body := raw("POST", r[0], r[1], true); code != http.StatusBadRequest || !strings.Contains(body, `"error"`) {
					t.Errorf("POST %s %s: %d %s", r[0], r[1], code, body)
				}
			}
			if s.state() != gpuapi.StateOn {
				t.Errorf("state %s after bad bodies", s.state())
			}
		}},
		{"a cap holds the draw and the limit within it; 0 removes it", func(t *testing.T, s *apiServer, d *gpunode.Driver, _ func(string, string, string, bool) (int, string)) {
			if err := d.SetPower(ctx, s.addr, s.capW, s.stockW); err != nil {
				t.Fatal(err)
			}
			st, err := d.Status(ctx, s.addr)
			if err != nil || st.PowerLimitW > s.capW || st.PowerW > s.capW || st.PowerLimitW < s.capW*9/10 {
				t.Errorf("capped at %d W: %+v, %v", s.capW, st, err)
			}
			if err := d.SetPower(ctx, s.addr, s.stockW, s.stockW); err != nil { // at stock: no cap
				t.Fatal(err)
			}
			if st, err := d.Status(ctx, s.addr); err != nil || st.PowerLimitW < s.stockW {
				t.Errorf("uncapped: %+v, %v", st, err)
			}
		}},
		{"a cap below the lowest is refused, and the limit stays", func(t *testing.T, s *apiServer, d *gpunode.Driver, _ func(string, string, string, bool) (int, string)) {
			before, err := d.Status(ctx, s.addr)
			if err != nil {
				t.Fatal(err)
			}
			if err := d.SetPower(ctx, s.addr, s.tooLowW, s.stockW); joule.ErrorCode(err) != joule.EINVALID {
				t.Errorf("cap %d W: %v; want EINVALID", s.tooLowW, err)
			}
			if after, err := d.Status(ctx, s.addr); err != nil || after.PowerLimitW != before.PowerLimitW {
				t.Errorf("limit %d W after a refused cap, was %d W (%v)", after.PowerLimitW, before.PowerLimitW, err)
			}
		}},
	}
	for name, start := range servers {
		t.Run(name, func(t *testing.T) {
			s := start(t)
			d := gpunode.NewDriver()
			d.Token = token
			raw := func(method, path, body string, withToken bool) (int, string) {
				t.Helper()
				req, err := http.NewRequest(method, "http://"+s.addr+path, strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if withToken {
					req.Header.Set(gpuapi.TokenHeader, gpuapi.BearerPrefix+token)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			for _, st := range steps {
				t.Run(st.name, func(t *testing.T) { st.run(t, s, d, raw) })
			}
		})
	}
}
