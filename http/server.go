// Package http speaks Joule's JSON API over HTTP: the server that `joule serve` runs
// and the client the CLI uses, against a remote server or in process on a local store.
package http

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/pricing"
)

// ShutdownTimeout bounds how long Close waits for requests in flight.
const ShutdownTimeout = 10 * time.Second

// The server's timeouts. A client has ReadHeaderTimeout to send a request's headers
// (a silent or trickling connection is closed then, or shed sooner at MaxConns) and
// ReadTimeout for the whole request, body included: the largest body a route takes,
// an import of market data (MaxDataImportBytes, 32 MiB), needs about 5 Mbit/s. WriteTimeout runs from the end of the headers to the end
// of the answer, reading the body included, so it is the longer; the report routes,
// which run a backtest or a plan before they answer, extend their own to
// ReportWriteTimeout. A kept-alive connection that sends no next request within
// IdleTimeout is closed.
const (
	ReadHeaderTimeout  = 10 * time.Second
	ReadTimeout        = time.Minute
	WriteTimeout       = 2 * time.Minute
	IdleTimeout        = 2 * time.Minute
	ReportWriteTimeout = 5 * time.Minute
)

// DefaultGlobalRateLimit is how many requests per second a server takes from the
// network in all, when it sets no GlobalRateLimit: far above what a site's agents,
// dashboards and tenants send, it keeps a flood from starving the store.
const DefaultGlobalRateLimit = 2000

// unavailableRetryAfter is the Retry-After, in seconds, of every 503: about the time a
// dashboard's report runs. A full disk is seldom freed that fast, but a retry that is
// refused again writes nothing.
const unavailableRetryAfter = "5"

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
	Ops       Operations        // live operations; nil: their endpoints answer not_found
	Prices    joule.Prices      // the live market's tickers; nil: none shown
	Demo      *Demo             // the demo this server runs; nil: none
	Reports   Reporter          // backtests and plans for the dashboard; nil: none
	Data      joule.DataService // the market series operators import; nil: none
	// Telemetry is the devices' telemetry history; nil: its endpoints answer not_found.
	Telemetry joule.TelemetryService
	// DRReports builds demand-response events' evidence reports; nil: their route
	// answers not_found.
	DRReports DRReporter
	// Alerts are the sites' alerts; nil: their endpoints answer not_found.
	Alerts joule.AlertService
	// AlertRules judges each telemetry batch and census as it is stored; nil: none is.
	AlertRules AlertRules
	// ServiceRecorder sees every telemetry batch the history took, for the hourly
	// service credits (sla.Recorder); nil: none does.
	ServiceRecorder interface {
		Observe(site string, samples []joule.TelemetrySample)
	}
	// DeviceControl keeps device tags and bulk actions; nil: their endpoints answer
	// not_found.
	DeviceControl joule.DeviceControlService
	Now           func() time.Time // nil: the wall clock

	// Leasing is the GPU exchange; nil: its endpoints answer not_found.
	Leasing Leasing
	// Billing answers for invoices and statements over the exchange's store.
	Billing Billing
	// Delivery answers how a lease's tenant submits jobs and what they used; nil (no
	// workload engine): its endpoints answer not_found.
	Delivery Delivery
	// RateLimit is how many exchange requests per second one API token may make, with
	// bursts of RateBurst; zero: DefaultRateLimit and twice that. In-process requests
	// (the local CLI) are not limited.
	RateLimit float64
	RateBurst int
	// GlobalRateLimit is how many requests per second the server takes from the network
	// in all, with bursts of GlobalRateBurst; beyond it they are refused with 429 and
	// Retry-After. Health checks and in-process requests do not count. Zero:
	// DefaultGlobalRateLimit and twice that; negative: no limit.
	GlobalRateLimit float64
	GlobalRateBurst int
	// MaxConns caps the connections open at once; zero: DefaultMaxConns. At the cap a
	// new connection takes the place of the one that has waited longest without sending a
	// complete request (see Conns).
	MaxConns int
	// TLSCertFile and TLSKeyFile, when set, are the PEM files of the server's
	// certificate (its chain after it) and private key: the server then speaks HTTPS.
	TLSCertFile, TLSKeyFile string
	// PublicPrices answers the price routes (models, econ, compare) without a token;
	// otherwise, like every route but the health check, the API description and a
	// demo's, they need one.
	PublicPrices bool
	// AllowedHosts are the DNS names clients reach this server by (joule serve
	// --allowed-host); a request whose Host is another name is refused (see
	// allowedHost). IP addresses and localhost are always allowed; "*" allows any name.
	AllowedHosts []string
	// PublicMetrics answers /metrics without a token (joule serve --public-metrics);
	// otherwise a scraper needs an operator's or a viewer's.
	PublicMetrics bool
	// Replica is where this server stands among replicas on one store; nil: it is the
	// only one, and leads. A follower sends the routes only the leader answers there
	// (toLeader).
	Replica Replica
	// MaxReads is how many reads (GET requests) run at once when no write is in flight;
	// while one is, reads run one at a time and for at most a tenth of the time. The
	// rest wait their turn, so that readers cannot starve the writers (see readGate).
	// Zero: GOMAXPROCS.
	MaxReads int

	metrics    *metrics
	gateOnce   sync.Once
	gate       *readGate
	routes     []string
	reports    reportCache
	limitsOnce sync.Once
	limits     *limiters
	globalOnce sync.Once
	global     *rate.Limiter // nil: no global limit
	conns      *connLimit    // set by Open
	tls        bool
	proxyOnce  sync.Once
	proxy      http.RoundTripper // to the leader (leaderTransport)
}

// The bodies routes take beyond DefaultMaxBodyBytes, besides a manifest's
// (MaxManifestBytes): a batch of an agent's audit events, and the census of a site's
// devices, which names every device that misbehaves.
const (
	maxAuditBodyBytes  = 8 << 20
	maxCensusBodyBytes = 4 << 20
)

// NewServer returns a server with its routes; services are set by the caller.
func NewServer() *Server {
	s := &Server{mux: http.NewServeMux(), Logger: slog.Default()}
	s.metrics = newMetrics(s)
	s.server = &http.Server{Handler: http.HandlerFunc(s.serveNetwork), ReadHeaderTimeout: ReadHeaderTimeout, ReadTimeout: ReadTimeout,
		WriteTimeout: WriteTimeout, IdleTimeout: IdleTimeout}
	viewer, agent := joule.RoleViewer, joule.RoleAgent
	s.handle("GET /healthz", public, s.handleHealth)
	s.handle("GET /api/v1/openapi.json", public, s.handleOpenAPI)
	s.handle("GET /metrics", publicWhen(metricsServer, admits(viewer)), s.handleMetrics)
	s.handle("GET /api/v1/demo", publicWhen(demoServer, admits(viewer)), s.handleDemo)
	s.handle("GET /api/v1/models", publicWhen(pricesServer, admits(viewer)), s.handleModels)
	s.handle("GET /api/v1/econ", publicWhen(pricesServer, admits(viewer)), s.handleEcon)
	s.handle("GET /api/v1/compare", publicWhen(pricesServer, admits(viewer)), s.handleCompare)
	s.handle("GET /api/v1/whoami", admits(viewer, joule.RoleTenant, joule.RoleOwner), s.handleWhoami)
	s.handle("GET /api/v1/sites", admits(viewer), s.handleSites)
	s.handle("GET /api/v1/sites/{name}", admits(viewer, agent), s.handleSite) // the agent reads its fleets
	s.handle("POST /api/v1/apply", admits().taking("application/json", "application/yaml", "application/x-yaml", "text/yaml").limit(MaxManifestBytes), s.handleApply)
	s.handle("POST /api/v1/sites/{name}/dr", admits(), s.handleCreateDR)
	s.handle("GET /api/v1/sites/{name}/plan", admits(viewer, agent), s.handlePlan)
	s.handle("GET /api/v1/sites/{name}/audit", admits(viewer), s.handleAudit)
	s.handle("POST /api/v1/sites/{name}/audit", admits(agent).limit(maxAuditBodyBytes), s.handleAppendAudit)
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
	s.handle("PUT /api/v1/sites/{name}/devices", admits(agent).limit(maxCensusBodyBytes), s.handleReportDevices)
	s.leasingRoutes()
	s.dataRoutes()
	s.telemetryRoutes()
	s.drReportRoutes()
	s.alertRoutes()
	s.deviceControlRoutes()
	s.dashboardRoutes()
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, s.Logger, joule.Errorf(joule.ENOTFOUND, "no route %s %s", r.Method, r.URL.Path))
	})
	return s
}

// handle registers a route with who may call it, and remembers its pattern for Routes.
// Reads queue at the read gate, writes count in there; the health check and the
// reports, which have a bounded queue of their own, pass by it.
func (s *Server) handle(pattern string, a access, h http.HandlerFunc) {
	s.routes = append(s.routes, pattern)
	g := s.toLeader(pattern, s.guard(pattern, a, h))
	if ungated[pattern] {
		s.mux.HandleFunc(pattern, g)
		return
	}
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		gate := s.readGate()
		if !isRead(r) {
			gate.enterWrite()
			defer gate.exitWrite()
			g(w, r)
			return
		}
		if err := gate.enterRead(r.Context()); err != nil {
			return // the caller has gone
		}
		start := time.Now()
		defer func() { gate.exitRead(start) }()
		g(w, r)
	})
}

// ungated are the routes that pass by the read gate: the health check, the reports,
// and the plan the site's agent follows, which must not wait behind dashboards while
// orders flow.
var ungated = map[string]bool{
	"GET /healthz":                                true,
	"GET /api/v1/sites/{name}/plan":               true,
	"GET /api/v1/sites/{name}/backtest":           true,
	"GET /api/v1/sites/{name}/backtest/{chart}":   true,
	"GET /api/v1/sites/{name}/planreport":         true,
	"GET /api/v1/sites/{name}/planreport/{chart}": true,
}

// readGate returns the server's read gate, made on first use.
func (s *Server) readGate() *readGate {
	s.gateOnce.Do(func() { s.gate = newReadGate(s.MaxReads, busyReadShare) })
	return s.gate
}

// Routes returns the pattern of every route, "METHOD /path/{param}", as registered.
func (s *Server) Routes() []string { return append([]string(nil), s.routes...) }

// Open starts listening on Addr and serving in the background: HTTPS when the server
// has a certificate, at most MaxConns connections at once.
func (s *Server) Open() error {
	tlsConfig, err := s.tlsConfig()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", s.Addr, err)
	}
	s.conns = newConnLimit(ln, s.MaxConns, s.Logger)
	s.ln, s.tls = s.conns, tlsConfig != nil
	s.server.ConnState = s.conns.track
	s.server.TLSConfig = tlsConfig
	s.server.ErrorLog = log.New(serverLog{s.Logger}, "", 0)
	go func() {
		var err error
		if s.tls {
			err = s.server.ServeTLS(s.ln, "", "") // the certificate is in TLSConfig
		} else {
			err = s.server.Serve(s.ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Logger.Error("serve", "err", err)
		}
	}()
	return nil
}

// serverLog writes net/http's own log lines into the server's log. A TLS handshake that
// fails is the client's doing — a scanner, a client that does not trust the
// certificate, a connection shed halfway — and logs at debug, lest a flood of them
// flood the log; anything else, such as a handler's panic, is an error.
type serverLog struct{ log *slog.Logger }

func (l serverLog) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	if strings.HasPrefix(msg, "http: TLS handshake error") {
		l.log.Debug(msg)
	} else {
		l.log.Error(msg)
	}
	return len(p), nil
}

// tlsConfig loads the server's certificate and key, or returns nil for plain HTTP.
func (s *Server) tlsConfig() (*tls.Config, error) {
	switch {
	case s.TLSCertFile == "" && s.TLSKeyFile == "":
		return nil, nil
	case s.TLSCertFile == "" || s.TLSKeyFile == "":
		return nil, joule.Errorf(joule.EINVALID, "TLS needs both a certificate file and its private key file")
	}
	cert, err := tls.LoadX509KeyPair(s.TLSCertFile, s.TLSKeyFile)
	if err != nil {
		return nil, joule.Errorf(joule.EINVALID, "TLS certificate %s with key %s: %v", s.TLSCertFile, s.TLSKeyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// URL is the base URL the server listens on, valid after Open: https:// when it
// speaks TLS.
func (s *Server) URL() string {
	if s.ln == nil {
		return ""
	}
	if s.tls {
		return "https://" + s.ln.Addr().String()
	}
	return "http://" + s.ln.Addr().String()
}

// Conns counts the server's connections: how many are open, and how many were shed or
// refused at MaxConns.
func (s *Server) Conns() ConnStats {
	if s.conns == nil {
		return ConnStats{Max: cmp.Or(max(s.MaxConns, 0), DefaultMaxConns)}
	}
	return s.conns.stats()
}

// Close stops accepting requests and waits up to ShutdownTimeout for those in flight.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	return s.server.Shutdown(ctx)
}

// serveNetwork is the front door of the server Open listens with: it refuses a request
// addressed to a name the server does not have (allowedHost) before ServeHTTP routes
// it. A handler embedding the server in process (ServeHTTP) is not reached by name.
func (s *Server) serveNetwork(w http.ResponseWriter, r *http.Request) {
	if err := s.allowedHost(r); err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	s.ServeHTTP(w, r)
}

// ServeHTTP routes a request within the global rate limit, and logs it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	if wait := s.globalWait(r); wait > 0 {
		retryAfter(rec, wait)
		writeError(rec, r, s.Logger, joule.Errorf(joule.ERATELIMIT, "the server takes no more requests now: retry in %s", wait.Round(time.Millisecond)))
	} else {
		s.mux.ServeHTTP(rec, r) // sets r.Pattern to the route that matched
	}
	s.metrics.observeRequest(r.Pattern, rec.status, time.Since(start))
	s.Logger.Debug("request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "duration", time.Since(start))
}

// globalWait takes one request from the budget all network requests share, and returns
// 0, or, when it is spent, how long until it would have one (and takes nothing). Health
// checks and in-process requests are free: a flood must not make a server look dead to
// its supervisor, nor lock out its own CLI.
func (s *Server) globalWait(r *http.Request) time.Duration {
	if inProcess(r) || r.URL.Path == "/healthz" {
		return 0
	}
	s.globalOnce.Do(func() {
		perSec, burst := s.GlobalRateLimit, s.GlobalRateBurst
		switch {
		case perSec < 0:
			return
		case perSec == 0:
			perSec = DefaultGlobalRateLimit
		}
		if burst <= 0 {
			burst = max(1, int(2*perSec))
		}
		s.global = rate.NewLimiter(rate.Limit(perSec), burst)
	})
	if s.global == nil {
		return 0
	}
	res := s.global.Reserve()
	if d := res.Delay(); d > 0 {
		res.Cancel()
		return d
	}
	return 0
}

// retryAfter tells, on a refusal to come back later, when: whole seconds, at least one.
func retryAfter(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap gives http.ResponseController the connection's writer: the report routes
// extend their write deadline through it.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// handleWhoami answers the account the request's token belongs to: the dashboard
// says who is signed in.
func (s *Server) handleWhoami(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, principal(r))
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
	joule.ETOOLARGE:     http.StatusRequestEntityTooLarge,
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
// "internal error". A 503 says when to retry (Retry-After), unless w says so already.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code := joule.ErrorCode(err)
	switch {
	case code == joule.EINTERNAL && r.Context().Err() != nil:
		// The client went away (its own timeout, a closed page) and the work was cut
		// short: nothing failed on this side.
		log.Info("request abandoned by the client", "method", r.Method, "path", r.URL.Path, "err", err)
	case code == joule.EINTERNAL:
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	case code == joule.EUNAVAILABLE:
		log.Warn("request refused for now", "method", r.Method, "path", r.URL.Path, "err", err)
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
	if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", unavailableRetryAfter)
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
