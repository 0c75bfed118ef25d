// Package http speaks Joule's JSON API over HTTP: the server that `joule serve` runs
// and the client the CLI uses, against a remote server or in process on a local store.
package http

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/pricing"
)

// ShutdownTimeout bounds how long Close waits for requests in flight.
const ShutdownTimeout = 10 * time.Second

// Pricer answers econ and compare queries (pricing.Pricer).
type Pricer interface {
	Day(ctx context.Context, q pricing.DayQuery) (*pricing.DayReport, error)
	Compare(ctx context.Context, q pricing.CompareQuery) (*pricing.CompareReport, error)
}

// Server serves the API. Set the services, then Open.
type Server struct {
	ln     net.Listener
	server *http.Server
	mux    *http.ServeMux

	// Addr is the address to listen on, host:port.
	Addr   string
	Logger *slog.Logger

	Sites     joule.SiteService
	Fleets    joule.FleetService
	Manifests joule.ManifestService
	Models    joule.ModelLister
	Pricer    Pricer
	Live      joule.LiveService
	Ops       Operations       // live operations; nil: their endpoints answer not_found
	Prices    joule.Prices     // the live market's tickers; nil: none shown
	Demo      *Demo            // the demo this server runs; nil: none
	Reports   Reporter         // backtests and plans for the dashboard; nil: none
	Now       func() time.Time // nil: the wall clock

	// Leasing is the GPU exchange; nil: its endpoints answer not_found.
	Leasing Leasing
	// Billing answers for invoices and statements over the exchange's store.
	Billing Billing
	// RateLimit is how many exchange requests per second one API token may make, with
	// bursts of RateBurst; zero: DefaultRateLimit and twice that. In-process requests
	// (the local CLI) are not limited.
	RateLimit float64
	RateBurst int
	// PublicPrices answers the price routes (models, econ, compare) without a token;
	// otherwise, like every route but the health check, the API description and a
	// demo's, they need one.
	PublicPrices bool

	routes     []string
	reports    reportCache
	limitsOnce sync.Once
	limits     *limiters
}

// NewServer returns a server with its routes; services are set by the caller.
func NewServer() *Server {
	s := &Server{mux: http.NewServeMux(), Logger: slog.Default()}
	s.server = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	viewer, agent := joule.RoleViewer, joule.RoleAgent
	s.handle("GET /healthz", public, s.handleHealth)
	s.handle("GET /api/v1/openapi.json", public, s.handleOpenAPI)
	s.handle("GET /api/v1/demo", publicWhen(demoServer, admits(viewer)), s.handleDemo)
	s.handle("GET /api/v1/models", publicWhen(pricesServer, admits(viewer)), s.handleModels)
	s.handle("GET /api/v1/econ", publicWhen(pricesServer, admits(viewer)), s.handleEcon)
	s.handle("GET /api/v1/compare", publicWhen(pricesServer, admits(viewer)), s.handleCompare)
	s.handle("GET /api/v1/whoami", admits(viewer, joule.RoleTenant, joule.RoleOwner), s.handleWhoami)
	s.handle("GET /api/v1/sites", admits(viewer), s.handleSites)
	s.handle("GET /api/v1/sites/{name}", admits(viewer, agent), s.handleSite) // the agent reads its fleets
	s.handle("POST /api/v1/apply", admits().taking("application/json", "application/yaml", "application/x-yaml", "text/yaml"), s.handleApply)
	s.handle("POST /api/v1/sites/{name}/dr", admits(), s.handleCreateDR)
	s.handle("GET /api/v1/sites/{name}/plan", admits(viewer, agent), s.handlePlan)
	s.handle("GET /api/v1/sites/{name}/audit", admits(viewer), s.handleAudit)
	s.handle("POST /api/v1/sites/{name}/audit", admits(agent), s.handleAppendAudit)
	s.handle("GET /api/v1/overview", admits(viewer), s.handleOverview)
	s.handle("GET /api/v1/sites/{name}/plans", admits(viewer), s.handlePlans)
	s.handle("GET /api/v1/sites/{name}/next-mw", admits(viewer), s.handleNextMW)
	s.handle("GET /api/v1/sites/{name}/dr", admits(viewer), s.handleDemandResponses)
	s.handle("POST /api/v1/sites/{name}/dr/{id}/cancel", admits(), s.handleCancelDR)
	s.handle("GET /api/v1/sites/{name}/backtest", admits(viewer), s.reportJSON(ReportBacktest))
	s.handle("GET /api/v1/sites/{name}/backtest/{chart}", admits(viewer), s.reportChart(ReportBacktest))
	s.handle("GET /api/v1/sites/{name}/planreport", admits(viewer), s.reportJSON(ReportPlan))
	s.handle("GET /api/v1/sites/{name}/planreport/{chart}", admits(viewer), s.reportChart(ReportPlan))
	s.handle("GET /api/v1/sites/{name}/devices", admits(viewer), s.handleDevices)
	s.handle("PUT /api/v1/sites/{name}/devices", admits(agent), s.handleReportDevices)
	s.leasingRoutes()
	s.dashboardRoutes()
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, s.Logger, joule.Errorf(joule.ENOTFOUND, "no route %s %s", r.Method, r.URL.Path))
	})
	return s
}

// handle registers a route with who may call it, and remembers its pattern for Routes.
func (s *Server) handle(pattern string, a access, h http.HandlerFunc) {
	s.routes = append(s.routes, pattern)
	s.mux.HandleFunc(pattern, s.guard(pattern, a, h))
}

// Routes returns the pattern of every route, "METHOD /path/{param}", as registered.
func (s *Server) Routes() []string { return append([]string(nil), s.routes...) }

// Open starts listening on Addr and serving in the background.
func (s *Server) Open() (err error) {
	if s.ln, err = net.Listen("tcp", s.Addr); err != nil {
		return fmt.Errorf("listen %s: %w", s.Addr, err)
	}
	go func() {
		if err := s.server.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Logger.Error("serve", "err", err)
		}
	}()
	return nil
}

// URL is the base URL the server listens on, valid after Open.
func (s *Server) URL() string {
	if s.ln == nil {
		return ""
	}
	return "http://" + s.ln.Addr().String()
}

// Close stops accepting requests and waits up to ShutdownTimeout for those in flight.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	return s.server.Shutdown(ctx)
}

// ServeHTTP routes a request and logs it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	s.mux.ServeHTTP(rec, r)
	s.Logger.Debug("request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "duration", time.Since(start))
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// handleWhoami answers the account the request's token belongs to: the dashboard
// says who is signed in.
func (s *Server) handleWhoami(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, principal(r))
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// errorStatus maps error codes to HTTP statuses.
var errorStatus = map[string]int{
	joule.EINVALID:      http.StatusBadRequest,
	joule.ENOTFOUND:     http.StatusNotFound,
	joule.ECONFLICT:     http.StatusConflict,
	joule.EUNAUTHORIZED: http.StatusUnauthorized,
	joule.EFORBIDDEN:    http.StatusForbidden,
	joule.ECREDIT:       http.StatusForbidden,
	joule.ECAPACITY:     http.StatusConflict,
	joule.EMEDIATYPE:    http.StatusUnsupportedMediaType,
	joule.ERATELIMIT:    http.StatusTooManyRequests,
	joule.EUNAVAILABLE:  http.StatusServiceUnavailable,
	joule.EINTERNAL:     http.StatusInternalServerError,
}

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError writes err as JSON; internal errors are logged and shown only as
// "internal error".
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code := joule.ErrorCode(err)
	switch {
	case code == joule.EINTERNAL && r.Context().Err() != nil:
		// The client went away (its own timeout, a closed page) and the work was cut
		// short: nothing failed on this side.
		log.Info("request abandoned by the client", "method", r.Method, "path", r.URL.Path, "err", err)
	case code == joule.EINTERNAL:
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	var body errorBody
	body.Error.Code = code
	body.Error.Message = joule.ErrorMessage(err)
	if code != joule.EINTERNAL {
		body.Error.Message = err.Error() // user errors keep their context ("west.yaml:3: …")
	}
	status, ok := errorStatus[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away; nothing to do
}

// reply writes v with status, or err when there is one: the end of most handlers.
func (s *Server) reply(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	writeJSON(w, status, v)
}
