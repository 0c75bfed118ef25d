package http

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/joule-site/joule"
)

// access says who may call a route: the operator always, the other roles it names,
// and anyone, without a token, where public says so on this server. An agent is
// admitted only to the routes of the site it runs ({name}).
type access struct {
	roles  []joule.AccountRole
	public func(*Server) bool
	// bodyTypes are the media types a request's body may be sent as; nil: JSON only.
	bodyTypes []string
	// maxBody is the most bytes a request's body may have; zero: DefaultMaxBodyBytes.
	maxBody int64
}

// DefaultMaxBodyBytes is the most a request's body may have on a route that says no
// other (access.limit): far more than any JSON request of the API needs.
const DefaultMaxBodyBytes = 1 << 20

// admits is the access of a route that the operator and the roles may call.
func admits(roles ...joule.AccountRole) access {
	return access{roles: append([]joule.AccountRole{joule.RoleOperator}, roles...)}
}

// public is the access of a route anyone may call without a token.
var public = access{public: func(*Server) bool { return true }}

// publicWhen makes a's route public on a server where cond holds.
func publicWhen(cond func(*Server) bool, a access) access {
	a.public = cond
	return a
}

// taking makes a's route take bodies of these media types (JSON is not among them
// unless named).
func (a access) taking(types ...string) access {
	a.bodyTypes = types
	return a
}

// limit lets a's route take bodies of up to n bytes, rather than DefaultMaxBodyBytes.
func (a access) limit(n int64) access {
	a.maxBody = n
	return a
}

// admitted reports whether who may call a route of the site (the route's {name}).
func (a access) admitted(who *joule.Account, site string) bool {
	if who == nil || !slices.Contains(a.roles, who.Role) {
		return false
	}
	return who.Role != joule.RoleAgent || (site != "" && who.Site == site)
}

// demoServer and pricesServer say when the demo's and the prices' routes are public.
func demoServer(s *Server) bool   { return s.Demo != nil }
func pricesServer(s *Server) bool { return s.PublicPrices }

// whoKey carries, in a guarded request's context, the principal that calls.
type whoKey struct{}

// principal returns the account a guarded request acts as; nil on a public route.
func principal(r *http.Request) *joule.Account {
	who, _ := r.Context().Value(whoKey{}).(*joule.Account)
	return who
}

// actor is the ID of the account a request acts as, for the audit log; empty on a
// public route.
func actor(r *http.Request) string {
	if who := principal(r); who != nil {
		return who.ID
	}
	return ""
}

// localOperator is who the in-process CLI acts as on a store without the exchange's
// accounts.
var localOperator = joule.Account{ID: "operator", Name: "Site operator", Role: joule.RoleOperator}

// guard refuses a request that comes from another site's page, that its principal may
// not make, or whose body is not of a type the route takes or is over its limit, before
// h sees it: nothing is changed by a refused request.
func (s *Server) guard(pattern string, a access, h http.HandlerFunc) http.HandlerFunc {
	if len(a.roles) == 0 && a.public == nil {
		panic("http: route " + pattern + " says nobody may call it") // caught by every test that makes a server
	}
	if slices.Contains(a.roles, joule.RoleAgent) && !strings.Contains(pattern, "{name}") {
		panic("http: route " + pattern + " admits agents but names no site")
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if err := sameOrigin(r); err != nil {
			writeError(w, r, s.Logger, err)
			return
		}
		if err := bodyType(r, a.bodyTypes); err != nil {
			writeError(w, r, s.Logger, err)
			return
		}
		limit := cmp.Or(a.maxBody, DefaultMaxBodyBytes)
		if r.ContentLength > limit { // refused before anything is read
			writeError(w, r, s.Logger, tooLarge(r, limit))
			return
		}
		if a.public != nil && a.public(s) {
			if err := limitBody(w, r, limit); err != nil {
				writeError(w, r, s.Logger, err)
				return
			}
			h(w, r)
			return
		}
		who, err := s.authenticate(r)
		if err != nil {
			writeError(w, r, s.Logger, err)
			return
		}
		if !a.admitted(who, r.PathValue("name")) {
			writeError(w, r, s.Logger, forbidden(who, a, r))
			return
		}
		// Only now may a body of unknown length be read: a caller without a token
		// cannot make the server hold a body for it.
		if err := limitBody(w, r, limit); err != nil {
			writeError(w, r, s.Logger, err)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), whoKey{}, who)))
	}
}

// forbidden says why who may not make request r.
func forbidden(who *joule.Account, a access, r *http.Request) error {
	if len(a.roles) == 1 {
		return joule.Errorf(joule.EFORBIDDEN, "only the operator may %s %s; %s is a %s", r.Method, r.URL.Path, who.ID, who.Role)
	}
	if who.Role == joule.RoleAgent {
		return joule.Errorf(joule.EFORBIDDEN, "%s is the agent of site %s: it may not %s %s", who.ID, who.Site, r.Method, r.URL.Path)
	}
	return joule.Errorf(joule.EFORBIDDEN, "%s is a %s: it may not %s %s", who.ID, who.Role, r.Method, r.URL.Path)
}

// authenticate returns the request's principal: the account the in-process CLI acts
// as, or the one its bearer token belongs to. Failed attempts from the network share
// one rate budget, so that guessing tokens is slow as well as hopeless.
func (s *Server) authenticate(r *http.Request) (*joule.Account, error) {
	id, local := r.Context().Value(principalKey{}).(string)
	switch {
	case local && s.Leasing != nil:
		return s.Leasing.Principal(r.Context(), id)
	case local && id == "":
		op := localOperator
		return &op, nil
	case local:
		return nil, joule.Errorf(joule.EUNAUTHORIZED, "this store has no accounts to act as %q", id)
	}
	var who *joule.Account
	var err error = joule.Errorf(joule.EUNAUTHORIZED, "this server keeps no accounts: no API token can be checked")
	if s.Leasing != nil {
		who, err = s.Leasing.Authenticate(r.Context(), bearerToken(r))
	}
	if err != nil && joule.ErrorCode(err) == joule.EUNAUTHORIZED {
		if wait := s.limiter().reserve("\x00unauthenticated", s.RateLimit, s.RateBurst); wait > 0 {
			return nil, joule.Errorf(joule.ERATELIMIT, "too many requests without a valid token: retry in %s", wait.Round(time.Millisecond))
		}
	}
	return who, err
}

// sameOrigin refuses a request that a page of another site made: one whose Origin
// header names a host other than the one the request was sent to. Requests that are
// not a browser's carry no Origin and pass.
func sameOrigin(r *http.Request) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err == nil && u.Host != "" && strings.EqualFold(withoutDefaultPort(u.Host, u.Scheme), withoutDefaultPort(r.Host, u.Scheme)) {
		return nil
	}
	return joule.Errorf(joule.EFORBIDDEN, "a request from %q to %s is refused: the page is not this server's", origin, r.Host)
}

// withoutDefaultPort drops the scheme's default port from host:port.
func withoutDefaultPort(host, scheme string) string {
	switch {
	case scheme == "http" && strings.HasSuffix(host, ":80"):
		return strings.TrimSuffix(host, ":80")
	case scheme == "https" && strings.HasSuffix(host, ":443"):
		return strings.TrimSuffix(host, ":443")
	}
	return host
}

// changes reports whether r's method is one that may change state.
func changes(r *http.Request) bool {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// bodyType refuses a request that changes state with a body of a type the route does
// not take (JSON, unless types says otherwise). A browser sends a form or text/plain
// to another site without asking it first; a JSON body it does not.
func bodyType(r *http.Request, types []string) error {
	if !changes(r) {
		return nil
	}
	if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	if types == nil {
		types = []string{"application/json"}
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err == nil && slices.Contains(types, strings.ToLower(mt)) {
		return nil
	}
	return joule.Errorf(joule.EMEDIATYPE, "%s %s takes a body of type %s, not %q", r.Method, r.URL.Path, strings.Join(types, " or "), r.Header.Get("Content-Type"))
}

// limitBody refuses a body over limit bytes before the route's handler sees it: at
// once when its length is declared, and otherwise (chunked), on a request that may
// change something, after reading it, up to the limit, into memory — as the handler
// would have. So a handler that does not read its body, or stops halfway, changes
// nothing on a request refused for its size. Bodies are read through
// http.MaxBytesReader all the same.
func limitBody(w http.ResponseWriter, r *http.Request, limit int64) error {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	if r.ContentLength > limit {
		return tooLarge(r, limit)
	}
	if r.ContentLength < 0 && changes(r) {
		data, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
		if err != nil {
			return joule.Errorf(joule.EINVALID, "%s %s: cannot read the body: %v", r.Method, r.URL.Path, err)
		}
		if int64(len(data)) > limit {
			return tooLarge(r, limit)
		}
		r.Body.Close()
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(data)), int64(len(data))
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	return nil
}

func tooLarge(r *http.Request, limit int64) error {
	return joule.Errorf(joule.ETOOLARGE, "%s %s takes a body of at most %d bytes", r.Method, r.URL.Path, limit)
}

// bodyError is the error of a body that could not be read or decoded: too large when
// http.MaxBytesReader stopped it, else invalid as what says.
func bodyError(r *http.Request, what string, err error) error {
	if mbe, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return tooLarge(r, mbe.Limit)
	}
	return joule.Errorf(joule.EINVALID, "%s: %v", what, err)
}

// inProcess reports whether r is a request of the in-process CLI (NewLocalClient),
// which no limit of the network's applies to.
func inProcess(r *http.Request) bool {
	_, local := r.Context().Value(principalKey{}).(string)
	return local
}

// authed calls h as the request's principal, within the principal's rate limit: the
// exchange's routes, which the guard has admitted it to.
func (s *Server) authed(h func(http.ResponseWriter, *http.Request, *joule.Account)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.Leasing == nil {
			writeError(w, r, s.Logger, joule.Errorf(joule.ENOTFOUND, "this server does not run the GPU exchange"))
			return
		}
		who := principal(r)
		if !inProcess(r) {
			if wait := s.limiter().reserve(who.ID, s.RateLimit, s.RateBurst); wait > 0 {
				retryAfter(w, wait)
				writeError(w, r, s.Logger, joule.Errorf(joule.ERATELIMIT, "too many requests: retry in %s", wait.Round(time.Millisecond)))
				return
			}
		}
		h(w, r, who)
	}
}

// allowedHost refuses a request sent to a name this server does not answer to. A page
// of another site can make a browser send requests to this server under the other
// site's name (DNS rebinding: evil.example resolving to 127.0.0.1), with that site as
// its origin, so the Origin check passes; the Host header still names evil.example.
// A request to an IP address, to localhost, or to a name in AllowedHosts passes.
func (s *Server) allowedHost(r *http.Request) error {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	switch {
	case net.ParseIP(host) != nil, host == "localhost", strings.HasSuffix(host, ".localhost"):
		return nil
	}
	for _, a := range s.AllowedHosts {
		if a == "*" || strings.EqualFold(strings.TrimSuffix(a, "."), host) {
			return nil
		}
	}
	return joule.Errorf(joule.EFORBIDDEN, "this server does not answer to the name %q: reach it by its address, or start joule serve with --allowed-host %s", host, host)
}
