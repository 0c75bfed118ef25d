package node

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/gpuapi"
)

// GPUs reads the server's GPUs (NVML's readings, converted by nvml.APIGPUs).
type GPUs interface {
	// Read reads every GPU once; an error means the GPUs cannot be read now.
	Read() ([]gpuapi.GPU, error)
}

// Limiter sets GPUs' power limits (nvml.Limiter), by GPU index.
type Limiter interface {
	// Constraints returns GPU i's lowest and highest settable limit and its default, W.
	Constraints(i int) (lo, hi, def joule.Watts, err error)
	// SetPowerLimit sets GPU i's limit to w, within its constraints.
	SetPowerLimit(i int, w joule.Watts) error
}

// Config is what a node serves from.
type Config struct {
	// Token is the shared token every request must carry; required.
	Token string
	// GPUs reads the GPUs; nil when none can be read, and NoGPU says why.
	GPUs  GPUs
	NoGPU string
	// Limiter sets power limits; nil refuses them (403), as `joule node` does without
	// --allow-power-limit.
	Limiter Limiter
	// States keeps the power state; required. StateSource names it in telemetry
	// ("slurm", "local").
	States      States
	StateSource string
	// HostW is what the server draws beyond its GPUs' board power (CPUs, fans,
	// network, supply losses), added to the GPUs' power and limits to give the power
	// at the wall the API speaks of; 0 reports board power alone.
	HostW joule.Watts
	// Now stamps readings; Log takes what the server did. Defaults: time.Now, none.
	Now func() time.Time
	Log *slog.Logger
}

// Server serves the power API from a Config. Its handler is safe for concurrent use;
// power limit changes are made one at a time.
type Server struct {
	cfg     Config
	limitMu sync.Mutex
}

// New checks cfg and returns its server.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Token == "":
		return nil, joule.Errorf(joule.EINVALID, "node: a token is required: the agent's link to the node must not be open to anyone")
	case cfg.States == nil:
		return nil, joule.Errorf(joule.EINVALID, "node: no power state source")
	case cfg.HostW < 0:
		return nil, joule.Errorf(joule.EINVALID, "node: host draw %d W is negative", cfg.HostW)
	}
	if cfg.GPUs == nil && cfg.NoGPU == "" {
		cfg.NoGPU = "no GPU reader"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg}, nil
}

// Handler returns the API's HTTP handler: GET /telemetry, POST /power, POST
// /power-limit, each behind the token.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /telemetry", func(w http.ResponseWriter, r *http.Request) { s.reply(w, r, nil) })
	mux.HandleFunc("POST /power", s.handlePower)
	mux.HandleFunc("POST /power-limit", s.handlePowerLimit)
	return s.authorized(mux)
}

// Telemetry reads the server now: its state, and its GPUs or why they cannot be read.
func (s *Server) Telemetry(ctx context.Context) (gpuapi.Telemetry, error) {
	state, err := s.cfg.States.State(ctx)
	if err != nil {
		return gpuapi.Telemetry{}, fmt.Errorf("power state: %w", err)
	}
	t := gpuapi.Telemetry{At: s.cfg.Now().UTC(), State: state, StateSource: s.cfg.StateSource, GPUs: []gpuapi.GPU{}}
	unknown := false
	if s.cfg.GPUs == nil {
		t.GPUError = s.cfg.NoGPU
	} else if gpus, err := s.cfg.GPUs.Read(); err != nil {
		t.GPUError = err.Error()
	} else {
		t.GPUs = gpus
	}
	if t.GPUError != "" || len(t.GPUs) == 0 {
		unknown = true
		if t.GPUError == "" {
			t.GPUError = "no GPU found"
		}
	}
	var util float64
	for _, g := range t.GPUs {
		unknown = unknown || !g.Known()
		t.PowerW += g.PowerW
		t.PowerLimitW += g.PowerLimitW
		util += g.Utilization
		t.MemoryUsedBytes += g.MemoryUsedBytes
		t.MemoryTotalBytes += g.MemoryTotalBytes
		t.TemperatureC = max(t.TemperatureC, g.TemperatureC)
		t.EnergyJ += g.EnergyJ
	}
	if n := len(t.GPUs); n > 0 {
		t.Utilization = util / float64(n)
		t.PowerLimitW += s.cfg.HostW
	}
	if unknown {
		t.PowerW, t.PowerKnown = 0, new(bool)
	} else {
		t.PowerW += s.cfg.HostW
	}
	return t, nil
}

// SetPowerLimit caps the server's draw at the wall at w by giving each GPU an equal
// share of w less the host's draw, rounded down, so that the sum stays within w; a
// share above a GPU's highest limit is its highest. 0 removes the cap: every GPU goes
// back to its default limit. A share below a GPU's lowest limit is refused (EINVALID),
// as is any limit without a Limiter (EFORBIDDEN).
func (s *Server) SetPowerLimit(w joule.Watts) error {
	if s.cfg.Limiter == nil {
		return joule.Errorf(joule.EFORBIDDEN, "this node does not set power limits: start joule node with --allow-power-limit")
	}
	if w < 0 {
		return joule.Errorf(joule.EINVALID, "power limit %d W is negative", w)
	}
	if s.cfg.GPUs == nil {
		return joule.Errorf(joule.EUNAVAILABLE, "no GPU to limit: %s", s.cfg.NoGPU)
	}
	s.limitMu.Lock()
	defer s.limitMu.Unlock()
	gpus, err := s.cfg.GPUs.Read()
	if err != nil {
		return joule.Errorf(joule.EUNAVAILABLE, "reading the GPUs: %v", err)
	}
	if len(gpus) == 0 {
		return joule.Errorf(joule.EUNAVAILABLE, "no GPU to limit")
	}
	share := (w - s.cfg.HostW) / joule.Watts(len(gpus))
	limits := make([]joule.Watts, len(gpus))
	for i, g := range gpus {
		lo, hi, def, err := s.cfg.Limiter.Constraints(g.Index)
		if err != nil {
			return err
		}
		switch {
		case w == 0:
			limits[i] = def
		case share < lo:
			return joule.Errorf(joule.EINVALID, "power limit %d W is below the server's lowest, %d W (%d GPUs at %d W and the host's %d W)",
				w, joule.Watts(len(gpus))*lo+s.cfg.HostW, len(gpus), lo, s.cfg.HostW)
		default:
			limits[i] = min(share, hi)
		}
	}
	for i, g := range gpus { // every share checked first: all GPUs change, or none is asked to
		if err := s.cfg.Limiter.SetPowerLimit(g.Index, limits[i]); err != nil {
			return fmt.Errorf("GPU %d: %w", g.Index, err)
		}
	}
	s.cfg.Log.Info("power limit set", "limit_w", int64(w), "gpu_limit_w", int64(limits[0]), "gpus", len(gpus))
	return nil
}

func (s *Server) handlePower(w http.ResponseWriter, r *http.Request) {
	var req gpuapi.StateRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil || !gpuapi.ValidState(req.State) {
		writeError(w, http.StatusBadRequest, `body must be {"state":"on"|"idle"|"off"}`)
		return
	}
	s.reply(w, r, func() error {
		if err := s.cfg.States.SetState(r.Context(), req.State); err != nil {
			return err
		}
		s.cfg.Log.Info("power state set", "state", req.State, "source", s.cfg.StateSource)
		return nil
	})
}

func (s *Server) handlePowerLimit(w http.ResponseWriter, r *http.Request) {
	var req gpuapi.PowerLimitRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil || req.PowerLimitW == nil {
		writeError(w, http.StatusBadRequest, `body must be {"power_limit_w":W}`)
		return
	}
	s.reply(w, r, func() error { return s.SetPowerLimit(*req.PowerLimitW) })
}

// reply runs change, if any, and answers with the telemetry after it, or the error.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, change func() error) {
	if change != nil {
		if err := change(); err != nil {
			s.fail(w, err)
			return
		}
	}
	t, err := s.Telemetry(r.Context())
	if err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(t)
}

// fail answers an error by its code: refusals are 4xx with their message, the rest
// 503 (the server cannot do it now), logged.
func (s *Server) fail(w http.ResponseWriter, err error) {
	switch joule.ErrorCode(err) {
	case joule.EINVALID:
		writeError(w, http.StatusBadRequest, joule.ErrorMessage(err))
	case joule.EFORBIDDEN:
		writeError(w, http.StatusForbidden, joule.ErrorMessage(err))
	case joule.ECONFLICT:
		writeError(w, http.StatusConflict, joule.ErrorMessage(err))
	default:
		s.cfg.Log.Error("request failed", "err", err)
		msg := "the node cannot do it now"
		if errors.Is(err, context.DeadlineExceeded) {
			msg = "the node timed out"
		}
		writeError(w, http.StatusServiceUnavailable, msg+": "+err.Error())
	}
}

// authorized refuses a request without the node's token.
func (s *Server) authorized(h http.Handler) http.Handler {
	want := []byte(gpuapi.BearerPrefix + s.cfg.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get(gpuapi.TokenHeader)), want) != 1 {
			writeError(w, http.StatusUnauthorized, "this node needs its token: Authorization: Bearer TOKEN")
			return
		}
		h.ServeHTTP(w, r)
	})
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(gpuapi.ErrorReply{Error: msg})
}
