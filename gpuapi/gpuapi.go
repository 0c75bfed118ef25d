// Package gpuapi is the wire format of the power API of a site's GPU servers: a small
// HTTP JSON API on TCP port 8080 that a node daemon (or the simulator, sim.GPUServer)
// serves next to each 8-GPU server, with the server's power at the wall and the readings
// NVML gives per GPU (nvmlDeviceGetPowerUsage, …GetEnforcedPowerLimit,
// …GetUtilizationRates, …GetMemoryInfo, …GetTemperature). The client (gpunode) and the
// servers (sim) both speak it through these types, so the two sides cannot drift apart.
//
// The protocol, one request per call, JSON bodies, watts, bytes, fractions and °C:
//
//	GET  /telemetry    → 200 Telemetry
//	POST /power        {"state":"on"|"idle"|"off"}  → 200 Telemetry, 400 {"error":…}
//	POST /power-limit  {"power_limit_w":W}          → 200 Telemetry, 400 {"error":…}
//
// A Telemetry reply is
//
//	{"at":"2026-03-01T12:00:00Z", "state":"on", "power_w":9350, "power_limit_w":10200,
//	 "utilization":0.9, "memory_used_bytes":…, "memory_total_bytes":…, "temperature_c":72,
//	 "gpus":[{"index":0, "power_w":637, "power_limit_w":700, "utilization":0.9,
//	          "memory_used_bytes":…, "memory_total_bytes":…, "temperature_c":72}, …]}
//
// "on" serves tenant work, "idle" keeps the host up with its GPUs idle (the server's
// curtailed state: it serves again at once), "off" powers the host down and leaves the
// BMC that answers the API. power_limit_w caps the draw at the wall while the server
// serves, as a BMC's chassis power cap does (Redfish PowerControl LimitInWatts); 0
// removes the cap and a limit below the idle draw is refused. Changes take effect at
// once.
//
// A server may require a shared token: each request then carries it as
// "Authorization: Bearer TOKEN" (TokenHeader), and one without it, or with another, is
// answered 401 {"error":…} and changes nothing. The simulator requires none unless
// configured with one; `joule node` requires one always.
//
// A server that cannot read its GPUs says so: gpu_error names why (no NVIDIA driver,
// a GPU that fell off the bus), its gpus list is empty and power_known is false, so
// that no one takes its zeros for readings. energy_j is the GPUs' energy counter
// (NVML's nvmlDeviceGetTotalEnergyConsumption, in joules since the driver loaded),
// when the server has one.
package gpuapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/joule-site/joule"
)

// Port is the API's default TCP port.
const Port = 8080

// Power states, as POST /power takes them and GET /telemetry reports them.
const (
	StateOn   = "on"
	StateIdle = "idle"
	StateOff  = "off"
)

// TokenHeader is the request header that carries a server's shared token, as
// "Bearer TOKEN".
const TokenHeader = "Authorization"

// BearerPrefix comes before the token in TokenHeader.
const BearerPrefix = "Bearer "

// ValidState reports whether s is one of the three power states.
func ValidState(s string) bool { return s == StateOn || s == StateIdle || s == StateOff }

// Telemetry is the reply of GET /telemetry and of the POSTs: the server at the wall,
// and its GPUs.
type Telemetry struct {
	At               time.Time   `json:"at"`
	State            string      `json:"state"` // on, idle, off
	PowerW           joule.Watts `json:"power_w"`
	PowerLimitW      joule.Watts `json:"power_limit_w"`
	Utilization      float64     `json:"utilization"` // mean over GPUs, 0…1
	MemoryUsedBytes  int64       `json:"memory_used_bytes"`
	MemoryTotalBytes int64       `json:"memory_total_bytes"`
	TemperatureC     float64     `json:"temperature_c"` // hottest GPU
	GPUs             []GPU       `json:"gpus"`
	// PowerKnown is false when the server could not read its power (see GPUError);
	// absent, as the simulator and older servers send it, means known.
	PowerKnown *bool `json:"power_known,omitempty"`
	// EnergyJ is the GPUs' energy counter summed, joules; 0 when not counted.
	EnergyJ int64 `json:"energy_j,omitempty"`
	// GPUError says why the GPUs could not be read; empty when they were.
	GPUError string `json:"gpu_error,omitempty"`
	// StateSource says who keeps the power state: "slurm" (the node's Slurm state),
	// "local" (the server alone), "sim"; empty when the server does not say.
	StateSource string `json:"state_source,omitempty"`
}

// Known reports whether t's power is a reading.
func (t *Telemetry) Known() bool { return t.PowerKnown == nil || *t.PowerKnown }

// Known reports whether g's power is a reading.
func (g *GPU) Known() bool { return g.PowerKnown == nil || *g.PowerKnown }

// GPU is one GPU's reading.
type GPU struct {
	Index            int         `json:"index"`
	PowerW           joule.Watts `json:"power_w"`
	PowerLimitW      joule.Watts `json:"power_limit_w"`
	Utilization      float64     `json:"utilization"` // 0…1
	MemoryUsedBytes  int64       `json:"memory_used_bytes"`
	MemoryTotalBytes int64       `json:"memory_total_bytes"`
	TemperatureC     float64     `json:"temperature_c"`
	EnergyJ          int64       `json:"energy_j,omitempty"` // energy counter, joules; 0 when not counted
	// PowerKnown is false when the GPU does not report its power; absent means known.
	PowerKnown *bool  `json:"power_known,omitempty"`
	UUID       string `json:"uuid,omitempty"` // "GPU-…", when the server knows it
	Name       string `json:"name,omitempty"` // the GPU's model name, when known
}

// StateRequest is the body of POST /power.
type StateRequest struct {
	State string `json:"state"`
}

// PowerLimitRequest is the body of POST /power-limit. The limit is required (a
// pointer, so that a body without it is refused); 0 removes the cap.
type PowerLimitRequest struct {
	PowerLimitW *joule.Watts `json:"power_limit_w"`
}

// ErrorReply is the body of a 400 reply.
type ErrorReply struct {
	Error string `json:"error"`
}

// ParseTelemetry reads a Telemetry reply strictly: one JSON object with a known state
// and no negative power.
func ParseTelemetry(b []byte) (*Telemetry, error) {
	var t Telemetry
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("reply is not telemetry: %w", err)
	}
	if dec.More() {
		return nil, errors.New("reply has bytes after its telemetry")
	}
	switch {
	case !ValidState(t.State):
		return nil, fmt.Errorf("reply has state %q, not on, idle or off", t.State)
	case t.PowerW < 0 || t.PowerLimitW < 0:
		return nil, fmt.Errorf("reply has negative power (%d W, limit %d W)", t.PowerW, t.PowerLimitW)
	case t.EnergyJ < 0:
		return nil, fmt.Errorf("reply has a negative energy counter (%d J)", t.EnergyJ)
	}
	return &t, nil
}
