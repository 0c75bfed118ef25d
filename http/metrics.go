package http

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/leasing"
)

// ExchangeStats is what the metrics read of the exchange, when the server's Leasing
// has it (leasing.Service does): a summary from memory, so that a scrape runs no query
// of the exchange's store.
type ExchangeStats interface {
	Stats(now time.Time) leasing.Stats
}

// collectTimeout bounds the store reads of one scrape: Prometheus' own scrape timeout
// is 10 s by default, and an answer after it is thrown away.
const collectTimeout = 8 * time.Second

// metrics are a server's Prometheus metrics, in a registry of its own so that the
// servers of one process (tests start many) do not share or collide. Most are gathered
// at scrape time from the services (siteCollector); only what leaves no state behind
// — requests served, agents' command rows — is counted as it happens.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.HistogramVec
	commands *prometheus.CounterVec
	handler  http.Handler
}

func newMetrics(s *Server) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "joule_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern and status class (2xx, 4xx, ...).",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "code"}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "joule_agent_commands_total",
			Help: "Device commands agents reported in their audit rows, by site and outcome (sent, acked, verified, failed).",
		}, []string{"site", "outcome"}),
	}
	m.registry.MustRegister(m.requests, m.commands, &siteCollector{s: s},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
	return m
}

// observeRequest counts one answered request. The route is the pattern that matched,
// never the path, so that the series stay few; a request refused before routing (by
// the global rate limit) is "unrouted". One refused for its Host is not counted: it
// never reached the API.
func (m *metrics) observeRequest(pattern string, status int, took time.Duration) {
	if pattern == "" {
		pattern = "unrouted"
	}
	m.requests.WithLabelValues(pattern, strconv.Itoa(status/100)+"xx").Observe(took.Seconds())
}

// countCommands counts the command rows of an agent's audit post the server stored:
// a command sent, acknowledged, and verified or not. A row an agent posts again after
// an outage is counted again: the counter says what agents reported, the audit log
// what happened.
func (m *metrics) countCommands(site string, events []*joule.Audit) {
	for _, e := range events {
		var outcome string
		switch {
		case e.Kind == joule.AuditCommand:
			outcome = "sent"
		case e.Kind == joule.AuditAck:
			outcome = "acked"
		case e.Kind == joule.AuditVerify && e.Outcome == joule.OutcomeOK:
			outcome = "verified"
		case e.Kind == joule.AuditVerify && e.Outcome == joule.OutcomeFailed:
			outcome = "failed"
		default:
			continue // plans, reports, unjudged checks: not a command's outcome
		}
		m.commands.WithLabelValues(site, outcome).Inc()
	}
}

// handleMetrics answers the metrics in Prometheus' text exposition format.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	s.metrics.handler.ServeHTTP(w, r)
}

// metricsServer says when /metrics is public: joule serve --public-metrics.
func metricsServer(s *Server) bool { return s.PublicMetrics }
