package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/joule-site/joule"
)

// The simulator's protocol for GPU servers is a small HTTP JSON API, with the readings
// NVML gives per GPU (nvmlDeviceGetPowerUsage, …GetEnforcedPowerLimit,
// …GetUtilizationRates, …GetMemoryInfo, …GetTemperature), in watts, bytes, fractions
// and °C:
//
//	GET  /telemetry  → 200 GPUTelemetry
//	POST /power      {"state":"on"|"idle"|"off"} → 200 GPUTelemetry, 400 {"error":…}
//
// "on" serves tenant work at the configured utilization, "idle" keeps the server up with
// its GPUs idle, "off" powers it down, leaving the BMC that answers the API. Changes are
// immediate.

// GPU server power states, as POST /power takes them.
const (
	GPUOn   = "on"
	GPUIdle = "idle"
	GPUOff  = "off"
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
}

// GPUReading is one GPU's reading.
type GPUReading struct {
	Index            int         `json:"index"`
	PowerW           joule.Watts `json:"power_w"`
	PowerLimitW      joule.Watts `json:"power_limit_w"`
	Utilization      float64     `json:"utilization"` // 0…1
	MemoryUsedBytes  int64       `json:"memory_used_bytes"`
	MemoryTotalBytes int64       `json:"memory_total_bytes"`
	TemperatureC     float64     `json:"temperature_c"`
}

// GPUTelemetry is the reply of GET /telemetry: the server at the wall, and its GPUs.
type GPUTelemetry struct {
	At               time.Time    `json:"at"`
	State            string       `json:"state"` // on, idle, off
	PowerW           joule.Watts  `json:"power_w"`
	PowerLimitW      joule.Watts  `json:"power_limit_w"`
	Utilization      float64      `json:"utilization"` // mean over GPUs, 0…1
	MemoryUsedBytes  int64        `json:"memory_used_bytes"`
	MemoryTotalBytes int64        `json:"memory_total_bytes"`
	TemperatureC     float64      `json:"temperature_c"` // hottest GPU
	GPUs             []GPUReading `json:"gpus"`
}

// GPUServer is a simulated GPU server listening on its own address.
type GPUServer struct {
	cfg GPUConfig
	ln  net.Listener
	srv *http.Server

	mu    sync.Mutex
	state string
}

// StartGPUServer starts a simulated GPU server.
func StartGPUServer(cfg GPUConfig) (*GPUServer, error) {
	cfg.setDefaults()
	if !validGPUState(cfg.State) {
		return nil, fmt.Errorf("sim: GPU server state %q: use on, idle or off", cfg.State)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("sim: GPU server: %w", err)
	}
	g := &GPUServer{cfg: cfg, ln: ln, state: cfg.State}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /telemetry", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, g.Telemetry()) })
	mux.HandleFunc("POST /power", g.handlePower)
	g.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = g.srv.Serve(ln) }()
	return g, nil
}

func validGPUState(s string) bool { return s == GPUOn || s == GPUIdle || s == GPUOff }

// Addr returns the address the server listens on, host:port.
func (g *GPUServer) Addr() string { return g.ln.Addr().String() }

// Close stops the server.
func (g *GPUServer) Close() error {
	err := g.srv.Close()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// SetState changes the power state, as POST /power does.
func (g *GPUServer) SetState(state string) error {
	if !validGPUState(state) {
		return fmt.Errorf("sim: GPU server state %q: use on, idle or off", state)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.state = state
	return nil
}

// PowerW returns the power the server draws now, at the wall.
func (g *GPUServer) PowerW() joule.Watts { return g.Telemetry().PowerW }

// Telemetry returns the server's reading now.
func (g *GPUServer) Telemetry() GPUTelemetry {
	g.mu.Lock()
	state := g.state
	g.mu.Unlock()
	c := g.cfg
	t := GPUTelemetry{At: c.Clock.Now(), State: state, PowerLimitW: c.PowerW,
		MemoryTotalBytes: int64(c.GPUs) * c.GPUMemoryBytes}
	util := 0.0
	switch state {
	case GPUOn:
		util = c.Utilization
		t.PowerW = c.IdleW + joule.Watts(math.Round(float64(c.PowerW-c.IdleW)*util))
	case GPUIdle:
		t.PowerW = c.IdleW
	case GPUOff:
		t.PowerW = c.OffW
		t.GPUs = []GPUReading{} // the BMC sees no GPU while the host is off
		return t
	}
	// An idle H100 reads about 75 W; the rest scales with load up to the board limit.
	const gpuIdleW = 75
	for i := range c.GPUs {
		r := GPUReading{Index: i, PowerLimitW: c.GPUPowerLimitW, Utilization: util,
			PowerW:           gpuIdleW + joule.Watts(math.Round(float64(c.GPUPowerLimitW-gpuIdleW)*util)),
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
	var req struct {
		State string `json:"state"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "body must be {\"state\":\"on\"|\"idle\"|\"off\"}"})
		return
	}
	if err := g.SetState(req.State); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, g.Telemetry())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
