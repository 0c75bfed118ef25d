package sim

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/gpuapi"
)

// The simulated GPU servers speak the GPU servers' power API (package gpuapi). "on"
// serves tenant work at the configured utilization, "idle" keeps the server up with its
// GPUs idle, "off" powers it down, leaving the BMC that answers the API. A power limit
// caps the server's draw at the wall while it serves: the GPUs' own limits fall in
// proportion. Changes are immediate.

// GPU server power states, as POST /power takes them: the protocol's.
const (
	GPUOn   = gpuapi.StateOn
	GPUIdle = gpuapi.StateIdle
	GPUOff  = gpuapi.StateOff
)

// GPUConfig describes a simulated GPU server. Zero fields take the defaults named,
// which are the catalog's h100-sxm (an 8× H100 SXM5 80 GB server).
type GPUConfig struct {
	Addr           string      // host:port; port 0 picks a free one; default 127.0.0.1:0
	GPUs           int         // default 8
	PowerW         joule.Watts // at full load, at the wall; default 10200
	IdleW          joule.Watts // powered, GPUs idle; default 1700
	OffW           joule.Watts // powered down, BMC only; default 25 (an assumption)
	GPUPowerLimitW joule.Watts // per GPU; default 700 (H100 SXM5 board power)
	GPUMemoryBytes int64       // per GPU; default 80 GiB
	Utilization    float64     // load when on, 0…1; default 0.9
	State          string      // starting state; default "on"
	Clock          Clock       // stamps readings; default SystemClock
	// Fault is how the server misbehaves (SetFault changes it later): it hangs, answers
	// slowly, sends a body that is not JSON, cuts its reply short, or acknowledges
	// power changes without making them (FaultLieAck tells the truth in its telemetry,
	// FaultLieTelemetry reports what it was told).
	Fault     Fault
	SlowDelay time.Duration // FaultSlow's delay; default 2 s
	// Token, when set, is required of every request as "Authorization: Bearer TOKEN",
	// as `joule node` requires its own; a request without it is answered 401.
	Token string
	// RedfishUser and RedfishPassword, when the user is set, make the server's BMC
	// answer Redfish under /redfish/v1 with these HTTP Basic credentials (redfish.go);
	// RedfishLegacyOnly leaves out the newer EnvironmentMetrics, as older BMCs do.
	RedfishUser, RedfishPassword string
	RedfishLegacyOnly            bool
}

func (c *GPUConfig) setDefaults() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:0"
	}
	if c.GPUs == 0 {
		c.GPUs = 8
	}
	if c.PowerW == 0 {
		c.PowerW, c.IdleW = 10200, 1700
	}
	if c.OffW == 0 {
		c.OffW = 25
	}
	if c.GPUPowerLimitW == 0 {
		c.GPUPowerLimitW = 700
	}
	if c.GPUMemoryBytes == 0 {
		c.GPUMemoryBytes = 80 << 30
	}
	if c.Utilization == 0 {
		c.Utilization = 0.9
	}
	if c.State == "" {
		c.State = GPUOn
	}
	if c.Clock == nil {
		c.Clock = SystemClock{}
	}
	if c.SlowDelay == 0 {
		c.SlowDelay = 2 * time.Second
	}
}

// GPUServer is a simulated GPU server listening on its own address. Like a miner it
// keeps what it does (its true power) apart from what it reports; they differ only
// under FaultLieTelemetry.
type GPUServer struct {
	cfg  GPUConfig
	ln   net.Listener
	srv  *http.Server
	done chan struct{} // closed by Close: hung and slow replies end

	mu     sync.Mutex
	fault  Fault
	state  string      // what it does
	told   string      // what it reports
	limitW joule.Watts // power cap at the wall; 0 when none
}

// StartGPUServer starts a simulated GPU server.
func StartGPUServer(cfg GPUConfig) (*GPUServer, error) {
	cfg.setDefaults()
	if !gpuapi.ValidState(cfg.State) {
		return nil, fmt.Errorf("sim: GPU server state %q: use on, idle or off", cfg.State)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("sim: GPU server: %w", err)
	}
	g := &GPUServer{cfg: cfg, ln: ln, done: make(chan struct{}), fault: cfg.Fault, state: cfg.State, told: cfg.State}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /telemetry", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, g.reported()) })
	mux.HandleFunc("POST /power", g.handlePower)
	mux.HandleFunc("POST /power-limit", g.handlePowerLimit)
	if cfg.RedfishUser != "" {
		g.redfish(mux)
	}
	g.srv = &http.Server{Handler: g.authorized(g.faulty(mux)), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = g.srv.Serve(ln) }()
	return g, nil
}

// Addr returns the address the server listens on, host:port.
func (g *GPUServer) Addr() string { return g.ln.Addr().String() }

// Close stops the server.
func (g *GPUServer) Close() error {
	g.mu.Lock()
	select {
	case <-g.done:
	default:
		close(g.done)
	}
	g.mu.Unlock()
	err := g.srv.Close()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// SetFault changes how the server misbehaves. Clearing a lie makes it report the truth.
func (g *GPUServer) SetFault(f Fault) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.fault = f
	if f != FaultLieTelemetry {
		g.told = g.state
	}
}

// SetState changes the power state, as POST /power does (subject to its fault).
func (g *GPUServer) SetState(state string) error {
	if !gpuapi.ValidState(state) {
		return fmt.Errorf("sim: GPU server state %q: use on, idle or off", state)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	switch g.fault {
	case FaultLieAck:
	case FaultLieTelemetry:
		g.told = state
	default:
		g.state, g.told = state, state
	}
	return nil
}

// SetPowerLimit caps the server's draw at the wall while it serves, as POST
// /power-limit does (subject to its fault); 0 removes the cap.
func (g *GPUServer) SetPowerLimit(w joule.Watts) error {
	if w < 0 || (w != 0 && w < g.cfg.IdleW) {
		return fmt.Errorf("sim: GPU server power limit %d W is below its idle draw of %d W", w, g.cfg.IdleW)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fault != FaultLieAck && g.fault != FaultLieTelemetry {
		g.limitW = w
	}
	return nil
}

// PowerW returns the power the server truly draws now, at the wall.
func (g *GPUServer) PowerW() joule.Watts { return g.Telemetry().PowerW }

// State returns the power state the server is truly in: on, idle or off.
func (g *GPUServer) State() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.state
}

// Telemetry returns what the server truly does now.
func (g *GPUServer) Telemetry() gpuapi.Telemetry {
	g.mu.Lock()
	state, limit := g.state, g.limitW
	g.mu.Unlock()
	return g.reading(state, limit)
}

// reported returns what the server's API says it does now.
func (g *GPUServer) reported() gpuapi.Telemetry {
	g.mu.Lock()
	state, limit := g.told, g.limitW
	g.mu.Unlock()
	return g.reading(state, limit)
}

func (g *GPUServer) reading(state string, limitW joule.Watts) gpuapi.Telemetry {
	c := g.cfg
	t := gpuapi.Telemetry{At: c.Clock.Now(), State: state, StateSource: "sim", PowerLimitW: c.PowerW,
		MemoryTotalBytes: int64(c.GPUs) * c.GPUMemoryBytes}
	// The GPUs' limits fall with the server's cap, over the span between idle and full.
	gpuLimitW := c.GPUPowerLimitW
	// An idle H100 reads about 75 W; the rest scales with load up to the board limit.
	const gpuIdleW = 75
	if limitW > 0 && limitW < c.PowerW {
		t.PowerLimitW = limitW
		share := float64(limitW-c.IdleW) / float64(max(c.PowerW-c.IdleW, 1))
		gpuLimitW = gpuIdleW + joule.Watts(math.Floor(float64(c.GPUPowerLimitW-gpuIdleW)*share))
	}
	util := 0.0
	switch state {
	case GPUOn:
		util = c.Utilization
		t.PowerW = min(c.IdleW+joule.Watts(math.Round(float64(c.PowerW-c.IdleW)*util)), t.PowerLimitW)
	case GPUIdle:
		t.PowerW = c.IdleW
	case GPUOff:
		t.PowerW = c.OffW
		t.GPUs = []gpuapi.GPU{} // the BMC sees no GPU while the host is off
		return t
	}
	for i := range c.GPUs {
		r := gpuapi.GPU{Index: i, PowerLimitW: gpuLimitW, Utilization: util,
			PowerW:           min(gpuIdleW+joule.Watts(math.Round(float64(c.GPUPowerLimitW-gpuIdleW)*util)), gpuLimitW),
			MemoryUsedBytes:  int64(float64(c.GPUMemoryBytes) * 0.85 * util),
			MemoryTotalBytes: c.GPUMemoryBytes,
			TemperatureC:     32 + 40*util + float64(i%3)}
		t.GPUs = append(t.GPUs, r)
		t.MemoryUsedBytes += r.MemoryUsedBytes
		t.TemperatureC = max(t.TemperatureC, r.TemperatureC)
	}
	t.Utilization = util
	return t
}

func (g *GPUServer) handlePower(w http.ResponseWriter, r *http.Request) {
	var req gpuapi.StateRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, gpuapi.ErrorReply{Error: "body must be {\"state\":\"on\"|\"idle\"|\"off\"}"})
		return
	}
	if err := g.SetState(req.State); err != nil {
		writeJSON(w, http.StatusBadRequest, gpuapi.ErrorReply{Error: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, g.reported())
}

func (g *GPUServer) handlePowerLimit(w http.ResponseWriter, r *http.Request) {
	var req gpuapi.PowerLimitRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil || req.PowerLimitW == nil {
		writeJSON(w, http.StatusBadRequest, gpuapi.ErrorReply{Error: "body must be {\"power_limit_w\":W}"})
		return
	}
	if err := g.SetPowerLimit(*req.PowerLimitW); err != nil {
		writeJSON(w, http.StatusBadRequest, gpuapi.ErrorReply{Error: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, g.reported())
}

// authorized refuses a request without the server's token, when it has one. Redfish
// requests carry the BMC's own credentials instead.
func (g *GPUServer) authorized(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.cfg.Token != "" && !strings.HasPrefix(r.URL.Path, "/redfish") && subtle.ConstantTimeCompare([]byte(r.Header.Get(gpuapi.TokenHeader)), []byte(gpuapi.BearerPrefix+g.cfg.Token)) != 1 {
			writeJSON(w, http.StatusUnauthorized, gpuapi.ErrorReply{Error: "this GPU server needs its token: Authorization: Bearer TOKEN"})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// faulty wraps the API in the server's fault: the lies are in SetState and
// SetPowerLimit, the rest here.
func (g *GPUServer) faulty(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		fault := g.fault
		g.mu.Unlock()
		switch fault {
		case FaultNoAnswer:
			select { // until the client gives up or the server stops
			case <-r.Context().Done():
			case <-g.done:
			}
			return
		case FaultSlow:
			t := time.NewTimer(g.cfg.SlowDelay)
			defer t.Stop()
			select {
			case <-t.C:
			case <-r.Context().Done():
				return
			case <-g.done:
				return
			}
		case FaultGarbage:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte("\xff\xfe}}not json{{\x00"))
			return
		case FaultCloseEarly:
			rec := &recorder{header: http.Header{}}
			h.ServeHTTP(rec, r)
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", rec.status, http.StatusText(rec.status), len(rec.body))
			_, _ = buf.Write(rec.body[:len(rec.body)/2])
			_ = buf.Flush()
			return
		}
		h.ServeHTTP(w, r)
	})
}

// recorder keeps a reply that a fault will cut short.
type recorder struct {
	header http.Header
	status int
	body   []byte
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(s int)   { r.status = s }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body = append(r.body, b...)
	return len(b), nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
