package http

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"

	"github.com/joule-site/joule"
)

// Replica is where this server stands among the replicas on one store (the
// postgres package's Elector; a server on SQLite always leads).
type Replica interface {
	Leadership() joule.Leadership
}

// forwardedHeader marks a request a follower sent on to the leader: a replica that
// gets one and does not lead (the leadership moved meanwhile) answers 503 rather than
// send it on again.
const forwardedHeader = "X-Joule-Forwarded"

// LeaderHeader names, on a follower's 503, where the leader serves, when it knows.
const LeaderHeader = "X-Joule-Leader"

// leadership is where the server stands: the leader of epoch 1 without a Replica.
func (s *Server) leadership() joule.Leadership {
	if s.Replica == nil {
		return joule.Leadership{Role: joule.ReplicaLeader, Epoch: 1, LeaderURL: s.URL()}
	}
	return s.Replica.Leadership()
}

// onLeader reports whether requests to pattern must be answered by the leader: every
// write (only the leader writes) and every read of the exchange, which the leader
// keeps in memory (the book, orders, leases and balances as the matcher has them).
// The other reads (sites, plans, the audit log, devices, reports, market data, the
// dashboard, /metrics, /healthz) are answered from the store by any replica.
func onLeader(pattern string) bool {
	method, path, _ := strings.Cut(pattern, " ")
	if method != http.MethodGet && method != http.MethodHead {
		return true
	}
	for _, p := range leaderReads {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// leaderReads are the read routes answered from the exchange's memory, or (the
// overview's clearing price) partly so.
var leaderReads = []string{
	"/api/v1/overview", "/api/v1/accounts", "/api/v1/tokens", "/api/v1/audit", "/api/v1/products",
	"/api/v1/orders", "/api/v1/book", "/api/v1/leases", "/api/v1/invoices", "/api/v1/statements",
}

// toLeader wraps h, the handler of a route the leader answers: on a follower a
// request from the network is sent on to the leader's URL and the leader's answer
// returned (the leader checks the token); while no leader is known, or when the
// leader does not answer, it is refused with 503 and Retry-After, which a client
// retries, here or at another replica. In-process requests (the local CLI) are the
// store's own: they are always served here.
func (s *Server) toLeader(pattern string, h http.HandlerFunc) http.HandlerFunc {
	if !onLeader(pattern) {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) {
		l := s.leadership()
		if l.Role == joule.ReplicaLeader || inProcess(r) {
			h(w, r)
			return
		}
		if l.LeaderURL != "" {
			w.Header().Set(LeaderHeader, l.LeaderURL)
		}
		target, err := url.Parse(l.LeaderURL)
		switch {
		case l.LeaderURL == "" || err != nil || target.Host == "":
			writeError(w, r, s.Logger, joule.Errorf(joule.EUNAVAILABLE, "no replica leads now (an election is under way): nothing was done; retry"))
			return
		case r.Header.Get(forwardedHeader) != "":
			writeError(w, r, s.Logger, joule.Errorf(joule.EUNAVAILABLE, "this replica no longer leads: nothing was done; retry at %s", l.LeaderURL))
			return
		}
		proxy := &httputil.ReverseProxy{
			Transport: s.leaderTransport(),
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(target)
				pr.SetXForwarded()
				pr.Out.Header.Set(forwardedHeader, "1")
			},
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				s.Logger.Warn("forward to the leader", "leader", l.LeaderURL, "method", r.Method, "path", r.URL.Path, "err", err)
				writeError(w, r, s.Logger, joule.Errorf(joule.EUNAVAILABLE, "the leader at %s does not answer: retry", l.LeaderURL))
			},
		}
		proxy.ServeHTTP(w, r)
	}
}

// leaderTransport is how a follower reaches the leader: over HTTPS it trusts the
// system's certificate authorities and this server's own certificate chain, so that
// replicas that share a certificate, or the authority that signed theirs, trust each
// other.
func (s *Server) leaderTransport() http.RoundTripper {
	s.proxyOnce.Do(func() {
		t := http.DefaultTransport.(*http.Transport).Clone()
		if s.TLSCertFile != "" {
			roots, err := x509.SystemCertPool()
			if err != nil {
				roots = x509.NewCertPool()
			}
			if pem, err := os.ReadFile(s.TLSCertFile); err == nil {
				roots.AppendCertsFromPEM(pem)
			}
			t.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
		}
		s.proxy = t
	})
	return s.proxy
}

// health is /healthz's answer: up, and where this replica stands.
type health struct {
	Status string `json:"status"`
	joule.Leadership
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, health{Status: "ok", Leadership: s.leadership()})
}
