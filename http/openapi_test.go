package http_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/billing"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/leasing"
	"github.com/joule-site/joule/live"
	"github.com/joule-site/joule/render"
	"github.com/joule-site/joule/reports"
	"github.com/joule-site/joule/sqlite"
)

// servedOpenAPI fetches the document s serves and loads it with kin-openapi.
func servedOpenAPI(t *testing.T, s *jhttp.Server) *openapi3.T {
	t.Helper()
	st, _, data := call(t, "GET", s.URL()+"/api/v1/openapi.json", "", "", nil)
	if st != 200 {
		t.Fatalf("openapi.json: %d", st)
	}
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		t.Fatalf("load openapi.json: %v", err)
	}
	return doc
}

// TestOpenAPIServersAreThisServer: the document names the address it was fetched from
// as its server, so that a client generated from it calls this one.
func TestOpenAPIServersAreThisServer(t *testing.T) {
	s := openServer(t)
	doc := servedOpenAPI(t, s)
	if len(doc.Servers) != 1 || doc.Servers[0].URL != s.URL() {
		t.Errorf("servers %v, want the one it was fetched from, %s", doc.Servers, s.URL())
	}
}

// A third-party OpenAPI 3 validator loads the document and finds it valid: its
// references resolve, its schemas are well formed, its examples and defaults match.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	s := openServer(t)
	doc := servedOpenAPI(t, s)
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI 3 document: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q, want 3.x", doc.OpenAPI)
	}
}

// takesBody reports whether a route reads a request body: the writes auth_test.go
// sends one to, and the manifest.
func takesBody(route string) bool {
	return bodies[route] != "" || route == "POST /api/v1/apply"
}

// roleNames are the roles of auth_test.go's principals, as x-joule-roles names them.
var roleNames = map[string]string{asTenant: "tenant", asOwner: "owner", asViewer: "viewer", asAgentA: "agent", "public": "public"}

// wantRoles is who auth_test.go's admitted table says may call route, as x-joule-roles
// lists them: the operator and the others, or "public" alone.
func wantRoles(route string) []string {
	who := admitted[route]
	if slices.Contains(who, "public") {
		return []string{"public"}
	}
	roles := []string{"operator"}
	for _, p := range who {
		roles = append(roles, roleNames[p])
	}
	slices.Sort(roles)
	return roles
}

// docPath is the document's path of a route's pattern: a wildcard {x...} is {x}.
func docPath(pattern string) string {
	return regexp.MustCompile(`\{(\w+)\.\.\.\}`).ReplaceAllString(pattern, "{$1}")
}

// operation returns the document's operation of a route, or nil.
func operation(doc *openapi3.T, route string) *openapi3.Operation {
	method, p, _ := strings.Cut(route, " ")
	item := doc.Paths.Find(docPath(p))
	if item == nil {
		return nil
	}
	return item.GetOperation(method)
}

// Every route has an operation that types what it takes and answers: a success
// response with a schema, a request body schema for a write that reads one (and none
// for one that does not), errors in the shared Error shape, and the roles it admits
// in x-joule-roles, as auth_test.go's table says.
func TestOpenAPITypesEveryOperation(t *testing.T) {
	s := openServer(t)
	doc := servedOpenAPI(t, s)
	for _, route := range s.Routes() {
		op := operation(doc, route)
		if op == nil {
			t.Errorf("%s: no operation", route)
			continue
		}
		var roles []string
		if raw, ok := op.Extensions["x-joule-roles"]; !ok || remarshal(raw, &roles) != nil {
			t.Errorf("%s: no x-joule-roles list (%v)", route, raw)
		}
		slices.Sort(roles)
		if want := wantRoles(route); !slices.Equal(roles, want) {
			t.Errorf("%s: x-joule-roles %q, but auth_test.go admits %q", route, roles, want)
		}
		checkSecurity(t, doc, route, op, roles)
		checkResponses(t, route, op)
		switch {
		case takesBody(route) && (op.RequestBody == nil || op.RequestBody.Value == nil):
			t.Errorf("%s: takes a body, but the document has no request body", route)
		case takesBody(route):
			for ctype, mt := range op.RequestBody.Value.Content {
				if p := untyped(mt.Schema, "body"); p != "" {
					t.Errorf("%s: request %s: %s is an object with no properties", route, ctype, p)
				}
			}
		case op.RequestBody != nil:
			t.Errorf("%s: reads no body, but the document describes one", route)
		}
	}
}

// checkSecurity checks that a public route needs no token, a route public on some
// servers may go without one and says when, and the others need one.
func checkSecurity(t *testing.T, doc *openapi3.T, route string, op *openapi3.Operation, roles []string) {
	t.Helper()
	security := doc.Security
	if op.Security != nil {
		security = *op.Security
	}
	optional := slices.ContainsFunc(security, func(r openapi3.SecurityRequirement) bool { return len(r) == 0 })
	bearer := slices.ContainsFunc(security, func(r openapi3.SecurityRequirement) bool { _, ok := r["bearer"]; return ok })
	_, when := op.Extensions["x-joule-public-when"]
	switch {
	case slices.Equal(roles, []string{"public"}):
		if op.Security == nil || len(*op.Security) != 0 {
			t.Errorf("%s: public, but its security is %v, not []", route, security)
		}
	case when && (!optional || !bearer):
		t.Errorf("%s: public on some servers, but its security %v does not offer both none and bearer", route, security)
	case !when && (optional || !bearer):
		t.Errorf("%s: needs a token, but its security is %v", route, security)
	}
}

// checkResponses checks that an operation types its success responses and answers
// every error as the shared Error schema, and that a route that needs a token says it
// may answer 401 and 403.
func checkResponses(t *testing.T, route string, op *openapi3.Operation) {
	t.Helper()
	if op.Responses == nil {
		t.Errorf("%s: no responses", route)
		return
	}
	success := 0
	for code, r := range op.Responses.Map() {
		if r.Value == nil || len(r.Value.Content) == 0 {
			t.Errorf("%s: response %s has no content", route, code)
			continue
		}
		for ctype, mt := range r.Value.Content {
			switch {
			case mt.Schema == nil:
				t.Errorf("%s: response %s %s has no schema", route, code, ctype)
			case strings.HasPrefix(code, "2"):
				success++
				if p := untyped(mt.Schema, "response"); p != "" {
					t.Errorf("%s: response %s %s: %s is an object with no properties", route, code, ctype, p)
				}
			case mt.Schema.Ref != "#/components/schemas/Error" || ctype != "application/json":
				t.Errorf("%s: error %s is %s %s, not the shared Error", route, code, ctype, mt.Schema.Ref)
			}
		}
	}
	if success == 0 {
		t.Errorf("%s: no success response", route)
	}
	if !slices.Contains(admitted[route], "public") && (op.Responses.Status(401) == nil || op.Responses.Status(403) == nil) {
		t.Errorf("%s: needs a token, but says nothing of 401 and 403", route)
	}
}

// untyped returns where in a schema an object says nothing of what it holds: no
// properties, and no additionalProperties to say it is a free-form map. "" when every
// object in it is typed.
func untyped(ref *openapi3.SchemaRef, at string) string {
	seen := map[*openapi3.Schema]bool{}
	var walk func(*openapi3.SchemaRef, string) string
	walk = func(ref *openapi3.SchemaRef, at string) string {
		if ref == nil || ref.Value == nil {
			return at + " (unresolved)"
		}
		s := ref.Value
		if seen[s] {
			return ""
		}
		seen[s] = true
		if s.Type == nil && len(s.AllOf) == 0 && len(s.OneOf) == 0 && len(s.AnyOf) == 0 {
			return at + " (no type)"
		}
		free := s.AdditionalProperties.Has != nil || s.AdditionalProperties.Schema != nil
		if s.Type.Is("object") && len(s.Properties) == 0 && !free {
			return at
		}
		for name, p := range s.Properties {
			if where := walk(p, at+"."+name); where != "" {
				return where
			}
		}
		for _, sub := range slices.Concat(s.AllOf, s.OneOf, s.AnyOf) {
			if where := walk(sub, at); where != "" {
				return where
			}
		}
		if s.Items != nil {
			return walk(s.Items, at+"[]")
		}
		return ""
	}
	return walk(ref, at)
}

// remarshal decodes a loaded extension's value into out.
func remarshal(v any, out any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, out)
}

// On a server that runs a demo and public prices, a request without a token is
// answered by exactly the routes the document says need none there.
func TestOpenAPISaysWhichRoutesNeedAToken(t *testing.T) {
	s, drID := authServer(t, func(s *jhttp.Server, _ *sqlite.DB) {
		s.PublicPrices, s.PublicMetrics = true, true
		s.Demo = &jhttp.Demo{Speed: 60}
	})
	doc := servedOpenAPI(t, s)
	for _, route := range s.Routes() {
		op := operation(doc, route)
		if op == nil {
			continue // TestOpenAPITypesEveryOperation says so
		}
		_, when := op.Extensions["x-joule-public-when"]
		needsToken := op.Security == nil || len(*op.Security) > 0
		method, _, _ := strings.Cut(route, " ")
		st, _, data := call(t, method, s.URL()+path(route, "", drID), "", "", nil)
		switch {
		case needsToken && !when && st != 401:
			t.Errorf("%s without a token: %d, but the document says it needs one: %.200s", route, st, data)
		case (!needsToken || when) && st == 401:
			t.Errorf("%s without a token: 401, but the document says it needs none here", route)
		}
	}
}

// openAPIRig is a server with every service a route may need, on a real store, and
// the document's router and schemas to check its answers against.
type openAPIRig struct {
	t      *testing.T
	srv    *jhttp.Server
	doc    *openapi3.T
	router routers.Router
	ok     map[string]bool // routes answered with a validated success
	seen   map[string]map[int]bool
}

var registerDecoders sync.Once

// newOpenAPIRig opens a server on a fresh SQLite file with live operations, a market,
// a demo, reports drawn by the real renderer, the exchange with its billing, and the
// example site applied and planned.
func newOpenAPIRig(t *testing.T) *openAPIRig {
	t.Helper()
	registerDecoders.Do(func() {
		openapi3filter.RegisterBodyDecoder("image/png", openapi3filter.FileBodyDecoder)
		openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
		openapi3filter.RegisterBodyDecoder("text/yaml", openapi3filter.YamlBodyDecoder)
	})
	now := exchangeT0 // a Sunday noon before the blocks the tests order
	market := fixedMarket{hashprice: 50, energy: 30, gpu: 2, util: 0.85, btc: 95_000}
	s := openServer(t, func(s *jhttp.Server, db *sqlite.DB) {
		s.Now = func() time.Time { return now }
		s.RateLimit = 10_000
		s.Prices = market
		s.Demo = &jhttp.Demo{Speed: 60, Start: now, OperatorToken: "demo-token", Tenants: []jhttp.DemoTenant{{ID: "acme", Name: "Acme AI", Token: "t"}}}
		s.Reports = reports.NewService(reports.Config{Sites: joule.SiteLoader{Sites: s.Sites, Fleets: s.Fleets, Models: s.Models},
			BacktestCharts: render.BacktestCharts, PivotCharts: render.PivotCharts, Running: 1})
		s.Billing = &billing.Service{Store: sqlite.NewLeasingStore(db)}
	})
	withDelivery(s, func() time.Time { return now })
	doc := servedOpenAPI(t, s)
	doc.Servers = openapi3.Servers{{URL: s.URL()}} // the test's port, not the document's default
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &openAPIRig{t: t, srv: s, doc: doc, router: router, ok: map[string]bool{}, seen: map[string]map[int]bool{}}
}

// req is one request of the walk: the route it is meant for, what is sent, and the
// status it should get. A request that is meant to be refused (bad, or without its
// right) is not itself checked against the document; its answer is.
type req struct {
	route   string // "METHOD /pattern", as Server.Routes names it
	path    string // with its query
	token   string
	body    string
	ctype   string // default application/json when there is a body
	header  map[string]string
	status  int
	refused bool
}

// do sends r, checks that the document's router finds r.route for it, that the
// request (unless refused) and the answer match the document, and that the answer
// holds no field the document does not describe; it returns the body.
func (g *openAPIRig) do(r req) []byte {
	t := g.t
	t.Helper()
	method, _, _ := strings.Cut(r.route, " ")
	hr, err := http.NewRequest(method, g.srv.URL()+r.path, strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.body != "" {
		hr.Header.Set("Content-Type", cmp.Or(r.ctype, "application/json"))
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	route, params, err := g.router.FindRoute(hr)
	if err != nil {
		t.Errorf("%s %s: the document has no route for it: %v", method, r.path, err)
		return nil
	}
	if got := strings.ToUpper(route.Method) + " " + route.Path; got != method+" "+docPath(strings.TrimPrefix(r.route, method+" ")) {
		t.Errorf("%s %s: the document routes it to %s, the server to %s", method, r.path, got, r.route)
	}
	in := &openapi3filter.RequestValidationInput{Request: hr, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if !r.refused {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Errorf("%s %s: the request does not match the document: %v", method, r.path, err)
		}
		hr.Body = http.NoBody // validation read it
		if r.body != "" {
			hr.Body = io.NopCloser(strings.NewReader(r.body))
		}
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != r.status {
		t.Errorf("%s %s: %d, want %d: %.300s", method, r.path, resp.StatusCode, r.status, data)
		return data
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	out.SetBodyBytes(data)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("%s %s: the %d answer does not match the document: %v\n%.600s", method, r.path, resp.StatusCode, err, data)
		return data
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		g.undocumented(route, resp.StatusCode, r.path, data)
	}
	if g.seen[r.route] == nil {
		g.seen[r.route] = map[int]bool{}
	}
	g.seen[r.route][resp.StatusCode] = true
	if resp.StatusCode < 300 {
		g.ok[r.route] = true
	}
	return data
}

// undocumented fails the test for every field of a JSON answer its schema does not
// describe: a typed client would drop it.
func (g *openAPIRig) undocumented(route *routers.Route, status int, path string, data []byte) {
	g.t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		g.t.Errorf("%s: %v", path, err)
		return
	}
	resp := route.Operation.Responses.Status(status)
	sch := resp.Value.Content.Get("application/json").Schema
	for _, f := range extraFields(sch, v, "") {
		g.t.Errorf("%s %s: the answer has %s, which the document does not describe", route.Method, path, f)
	}
}

// extraFields returns the paths of the fields of v that sch does not describe, where
// it does not allow any (additionalProperties).
func extraFields(sch *openapi3.SchemaRef, v any, at string) []string {
	if sch == nil || sch.Value == nil {
		return nil
	}
	var out []string
	switch v := v.(type) {
	case map[string]any:
		props, free := map[string]*openapi3.SchemaRef{}, false
		var collect func(*openapi3.Schema)
		collect = func(s *openapi3.Schema) {
			for k, p := range s.Properties {
				props[k] = p
			}
			free = free || s.AdditionalProperties.Schema != nil || (s.AdditionalProperties.Has != nil && *s.AdditionalProperties.Has)
			for _, sub := range s.AllOf {
				collect(sub.Value)
			}
		}
		collect(sch.Value)
		for k, x := range v {
			switch p, ok := props[k]; {
			case ok:
				out = append(out, extraFields(p, x, at+"."+k)...)
			case !free:
				out = append(out, at+"."+k)
			}
		}
	case []any:
		for i, x := range v {
			out = append(out, extraFields(sch.Value.Items, x, fmt.Sprintf("%s[%d]", at, i))...)
		}
	}
	return out
}

// The server's real answers to real requests, to every route, match the document:
// their statuses are documented, their bodies validate against the schemas, and they
// hold no field the schemas leave out. The requests themselves match it too.
//
// Not exercised: 429 and 503, which depend on time (a token bucket refilling, a
// report running while another is asked for), and 500, which needs a store that
// fails; the document declares them from the handlers' code.
func TestOpenAPIMatchesTheServersAnswers(t *testing.T) {
	g := newOpenAPIRig(t)
	s, ctx := g.srv, context.Background()
	op, viewer := opToken(s), token(t, s, joule.RoleViewer, "")

	// The control plane: a manifest as YAML and as JSON, the sites, prices and economics.
	g.do(req{route: "POST /api/v1/apply", path: "/api/v1/apply?filename=west-texas.yaml", token: op, body: string(example(t)), ctype: "application/yaml", status: 200})
	east := `{"sites": [{"name": "east-texas", "power_cap_mw": 5, "energy": {"kind": "tou", "timezone": "America/Chicago", "default_usd_per_mwh": 30,
		"periods": [{"name": "peak", "start_hour": 15, "end_hour": 20, "weekdays": ["mon", "tue", "wed", "thu", "fri"], "months": [6, 7, 8], "usd_per_mwh": 90}]},
		"fleets": [{"name": "s21s", "model": "s21", "count": 10}]}]}`
	g.do(req{route: "POST /api/v1/apply", path: "/api/v1/apply", token: op, body: east, status: 200})
	g.do(req{route: "POST /api/v1/apply", path: "/api/v1/apply?filename=empty.yaml", token: op, ctype: "text/yaml", status: 200,
		body: "sites:\n  - {name: empty, power_cap_mw: 1, energy: {kind: fixed, usd_per_mwh: 40}}\n"})
	agent := token(t, s, joule.RoleAgent, "west-texas")
	svc := s.Leasing.(*leasing.Service)
	if err := svc.SyncListings(ctx); err != nil {
		t.Fatal(err)
	}
	g.do(req{route: "GET /healthz", path: "/healthz", status: 200})
	g.do(req{route: "GET /api/v1/openapi.json", path: "/api/v1/openapi.json", status: 200})
	g.do(req{route: "GET /metrics", path: "/metrics", token: viewer, status: 200})
	g.do(req{route: "GET /api/v1/whoami", path: "/api/v1/whoami", token: viewer, status: 200})
	g.do(req{route: "GET /api/v1/sites", path: "/api/v1/sites", token: viewer, status: 200})
	g.do(req{route: "GET /api/v1/sites/{name}", path: "/api/v1/sites/west-texas", token: agent, status: 200})
	g.do(req{route: "GET /api/v1/sites/{name}", path: "/api/v1/sites/east-texas", token: op, status: 200})
	g.do(req{route: "GET /api/v1/models", path: "/api/v1/models", token: viewer, status: 200})
	g.do(req{route: "GET /api/v1/econ", path: "/api/v1/econ?date=2024-12-23&pool_fee=0.02", token: viewer, status: 200})
	g.do(req{route: "GET /api/v1/econ", path: "/api/v1/econ?date=2024-12-23&fees_btc_per_block=0.2", token: viewer, status: 200})
	g.do(req{route: "GET /api/v1/compare", path: "/api/v1/compare?date=2024-12-23&mw=10&asic=s21&gpu=h100-sxm&gpu_usd_hour=2&energy_usd_mwh=45", token: viewer, status: 200})
	g.do(req{route: "GET /api/v1/compare", path: "/api/v1/compare?date=2024-12-23&mw=10&asic=s21&gpu=h100-sxm&gpu_usd_hour=0.5&energy_usd_mwh=45&site_owns_asics=true&install_lag_months=3", token: viewer, status: 200})
	g.do(req{route: "GET /api/v1/demo", path: "/api/v1/demo", status: 200})

	// Imported market data: made-up series, imported, listed, read and deleted.
	g.do(req{route: "POST /api/v1/data", path: "/api/v1/data", token: op, status: 201,
		body: `{"kind": "energy", "name": "TEST:NODE", "source": "made-up test prices", "csv": "time,usd_per_mwh\n2026-03-01T00:00:00-06:00,21.5\n2026-03-01T01:00:00-06:00,-3\n"}`})
	g.do(req{route: "POST /api/v1/data", path: "/api/v1/data", token: op, status: 201,
		body: `{"kind": "btc-price", "source": "made-up test prices", "csv": "date,value\n2026-09-01,60000\n"}`})
	g.do(req{route: "GET /api/v1/data", path: "/api/v1/data", token: viewer, status: 200})
	g.do(req{route: "GET /api/v1/data/{kind}/{name}", path: "/api/v1/data/energy/TEST:NODE", token: viewer, status: 200})
	g.do(req{route: "GET /api/v1/data/{kind}/{name}", path: "/api/v1/data/btc-price/btc-price", token: viewer, status: 200})
	g.do(req{route: "DELETE /api/v1/data/{kind}/{name}", path: "/api/v1/data/btc-price/btc-price", token: op, status: 200})

	// The exchange: a tenant, credit, accounts, an owner's ask, orders of every kind.
	created := g.do(req{route: "POST /api/v1/tenants", path: "/api/v1/tenants", token: op, body: `{"id": "acme", "name": "Acme AI", "credit_micro_usd": 50000000000}`, status: 201})
	var acct jhttp.CreatedAccount
	if err := json.Unmarshal(created, &acct); err != nil {
		t.Fatal(err)
	}
	acme := acct.Token
	var poorAcct jhttp.CreatedAccount
	if err := json.Unmarshal(g.do(req{route: "POST /api/v1/accounts", path: "/api/v1/accounts", token: op, body: `{"id": "poor", "role": "tenant", "credit_micro_usd": 1}`, status: 201}), &poorAcct); err != nil {
		t.Fatal(err)
	}
	poor := poorAcct.Token
	g.do(req{route: "POST /api/v1/tenants/{id}/credit", path: "/api/v1/tenants/acme/credit", token: op, body: `{"amount_micro_usd": 1000000, "key": "top-up"}`, status: 200})
	g.do(req{route: "POST /api/v1/accounts", path: "/api/v1/accounts", token: op, body: `{"id": "west-agent", "role": "agent", "site": "west-texas"}`, status: 201})
	g.do(req{route: "GET /api/v1/accounts", path: "/api/v1/accounts", token: op, status: 200})
	var issued struct{ Token string }
	if err := json.Unmarshal(g.do(req{route: "POST /api/v1/accounts/{id}/token", path: "/api/v1/accounts/northwind-capital/token", token: op, status: 200}), &issued); err != nil {
		t.Fatal(err)
	}
	owner := issued.Token
	var named struct{ ID, Token string }
	if err := json.Unmarshal(g.do(req{route: "POST /api/v1/accounts/{id}/tokens", path: "/api/v1/accounts/northwind-capital/tokens", token: owner,
		body: `{"name": "laptop", "expires_in_s": 86400}`, status: 201}), &named); err != nil {
		t.Fatal(err)
	}
	g.do(req{route: "GET /api/v1/accounts/{id}/tokens", path: "/api/v1/accounts/northwind-capital/tokens", token: owner, status: 200})
	g.do(req{route: "GET /api/v1/tokens", path: "/api/v1/tokens", token: op, status: 200})
	g.do(req{route: "POST /api/v1/tokens/{id}/revoke", path: "/api/v1/tokens/" + named.ID + "/revoke", token: owner, status: 200})
	g.do(req{route: "POST /api/v1/tokens/{id}/revoke", path: "/api/v1/tokens/" + named.ID + "/revoke", token: owner, status: 409, refused: true})
	g.do(req{route: "POST /api/v1/accounts/{id}/tokens", path: "/api/v1/accounts/northwind-capital/tokens", token: owner,
		body: `{"name": "forever", "never_expires": true}`, status: 403, refused: true})
	g.do(req{route: "GET /api/v1/audit", path: "/api/v1/audit?after=0&limit=50", token: op, status: 200})
	g.do(req{route: "GET /api/v1/whoami", path: "/api/v1/whoami", token: owner, status: 200})
	g.do(req{route: "GET /api/v1/products", path: "/api/v1/products", token: owner, status: 200})
	g.do(req{route: "PUT /api/v1/listings", path: "/api/v1/listings", token: owner, body: `{"product": "h100-sxm/west-texas", "ask_micro_usd_per_gpu_hour": 2100000}`, status: 200})
	g.do(req{route: "PUT /api/v1/listings", path: "/api/v1/listings", token: op, body: `{"product": "h100-sxm/west-texas", "seller": "operator", "ask_micro_usd_per_gpu_hour": 1900000}`, status: 200})

	block := `{"product": "h100-sxm/west-texas", "kind": "reserved", "gpus": 16, "start": "2025-01-06T00:00:00Z", "end": "2025-01-07T00:00:00Z", "limit_micro_usd_per_gpu_hour": 2500000}`
	var filled leasing.OrderResult
	if err := json.Unmarshal(g.do(req{route: "POST /api/v1/orders", path: "/api/v1/orders", token: acme, body: block, header: map[string]string{"Idempotency-Key": "block"}, status: 201}), &filled); err != nil {
		t.Fatal(err)
	}
	if len(filled.Leases) != 1 {
		t.Fatalf("the block filled %+v", filled)
	}
	g.do(req{route: "POST /api/v1/orders", path: "/api/v1/orders", token: acme, body: block, header: map[string]string{"Idempotency-Key": "block"}, status: 200})
	g.do(req{route: "GET /api/v1/leases/{id}/access", path: "/api/v1/leases/" + filled.Leases[0].ID + "/access", token: acme, status: 200})
	g.do(req{route: "GET /api/v1/leases/{id}/usage", path: "/api/v1/leases/" + filled.Leases[0].ID + "/usage", token: op, status: 200})
	g.do(req{route: "GET /api/v1/leases/{id}/access", path: "/api/v1/leases/" + filled.Leases[0].ID + "/access", token: owner, status: 403, refused: true})
	var resting leasing.OrderResult
	if err := json.Unmarshal(g.do(req{route: "POST /api/v1/orders", path: "/api/v1/orders", token: acme, status: 201,
		body: `{"idempotency_key": "low", "product": "h100-sxm/west-texas", "kind": "reserved", "gpus": 8, "start": "2025-01-08T00:00:00Z", "end": "2025-01-08T06:00:00Z", "limit_micro_usd_per_gpu_hour": 1000000, "all_or_none": false, "expires_at": "2025-01-07T00:00:00Z"}`}), &resting); err != nil {
		t.Fatal(err)
	}
	var onDemand leasing.OrderResult
	if err := json.Unmarshal(g.do(req{route: "POST /api/v1/orders", path: "/api/v1/orders", token: acme, header: map[string]string{"Idempotency-Key": "now"}, status: 201,
		body: `{"product": "h100-sxm/west-texas", "kind": "on_demand", "gpus": 8, "limit_micro_usd_per_gpu_hour": 3000000}`}), &onDemand); err != nil || len(onDemand.Leases) != 1 {
		t.Fatalf("on demand: %+v, %v", onDemand, err)
	}
	g.do(req{route: "POST /api/v1/orders", path: "/api/v1/orders", token: acme, header: map[string]string{"Idempotency-Key": "spot"}, status: 201,
		body: `{"product": "h100-sxm/west-texas", "kind": "spot", "gpus": 8, "limit_micro_usd_per_gpu_hour": 2500000}`})
	g.do(req{route: "GET /api/v1/orders", path: "/api/v1/orders?resting=true&limit=10", token: acme, status: 200})
	g.do(req{route: "GET /api/v1/orders", path: "/api/v1/orders?account=acme", token: op, status: 200})
	g.do(req{route: "GET /api/v1/orders/{id}", path: "/api/v1/orders/" + filled.Order.ID, token: acme, status: 200})
	g.do(req{route: "DELETE /api/v1/orders/{id}", path: "/api/v1/orders/" + resting.Order.ID, token: acme, status: 200})
	g.do(req{route: "GET /api/v1/book/{product...}", path: "/api/v1/book/" + url.PathEscape("h100-sxm/west-texas") + "?from=2025-01-06T00:00:00Z&hours=24", token: viewer, status: 200})
	// A product's id holds a slash, which an OpenAPI path parameter cannot: clients built
	// from the document send it as %2F, and the server takes that as it takes "/".
	g.do(req{route: "GET /api/v1/book/{product...}", path: "/api/v1/book/h100-sxm%2Fwest-texas", token: acme, status: 200})
	g.do(req{route: "POST /api/v1/leases/{id}/resell", path: "/api/v1/leases/" + filled.Leases[0].ID + "/resell", token: acme, header: map[string]string{"Idempotency-Key": "resell"},
		body: `{"from": "2025-01-06T12:00:00Z", "gpus": 8, "limit_micro_usd_per_gpu_hour": 3000000}`, status: 201})
	g.do(req{route: "POST /api/v1/leases/{id}/resell", path: "/api/v1/leases/" + filled.Leases[0].ID + "/resell", token: acme,
		body: `{"idempotency_key": "resell", "from": "2025-01-06T12:00:00Z", "gpus": 8, "limit_micro_usd_per_gpu_hour": 3000000}`, status: 200})
	// A block that buys the resold hours, so that the statement and invoice show a resale.
	g.do(req{route: "POST /api/v1/orders", path: "/api/v1/orders", token: acme, header: map[string]string{"Idempotency-Key": "late"}, status: 201,
		body: `{"product": "h100-sxm/west-texas", "kind": "reserved", "gpus": 256, "start": "2025-01-06T12:00:00Z", "end": "2025-01-06T13:00:00Z", "limit_micro_usd_per_gpu_hour": 3000000, "all_or_none": false}`})
	g.do(req{route: "POST /api/v1/leases/{id}/stop", path: "/api/v1/leases/" + onDemand.Leases[0].ID + "/stop", token: acme, status: 200})
	g.do(req{route: "GET /api/v1/leases", path: "/api/v1/leases?limit=10", token: acme, status: 200})
	g.do(req{route: "GET /api/v1/leases", path: "/api/v1/leases", token: owner, status: 200})
	if err := svc.Tick(ctx); err != nil { // bills what the stopped lease used
		t.Fatal(err)
	}
	g.do(req{route: "GET /api/v1/invoices/{tenant}", path: "/api/v1/invoices/acme?month=2025-01", token: acme, status: 200})
	g.do(req{route: "GET /api/v1/invoices/{tenant}", path: "/api/v1/invoices/acme?month=2025-01&format=html", token: acme, status: 200})
	g.do(req{route: "GET /api/v1/invoices/{tenant}", path: "/api/v1/invoices/acme?month=2024-12", token: op, status: 200})
	g.do(req{route: "GET /api/v1/statements/{account}", path: "/api/v1/statements/northwind-capital?month=2025-01", token: owner, status: 200})
	g.do(req{route: "GET /api/v1/statements/{account}", path: "/api/v1/statements/operator?month=2025-01", token: op, status: 200})
	g.do(req{route: "GET /api/v1/owners/{id}", path: "/api/v1/owners/northwind-capital?days=3", token: owner, status: 200})
	g.do(req{route: "POST /api/v1/owners/{id}/payouts", path: "/api/v1/owners/northwind-capital/payouts", token: op, body: `{"amount_micro_usd": 1000000, "key": "wire-1"}`, status: 200})
	g.do(req{route: "GET /api/v1/fill-priorities", path: "/api/v1/fill-priorities", token: owner, status: 200})
	g.do(req{route: "PUT /api/v1/fill-priorities", path: "/api/v1/fill-priorities", token: op, body: `{"product": "h100-sxm/west-texas", "fill_priority": "owners-first"}`, status: 200})
	g.do(req{route: "GET /api/v1/cap-terms", path: "/api/v1/cap-terms", token: owner, status: 200})
	g.do(req{route: "PUT /api/v1/cap-terms", path: "/api/v1/cap-terms", token: op, body: `{"product": "h100-sxm/west-texas", "cap_frac": 0.65, "capped_price_bps": 8000}`, status: 200})

	// Live operations: the real dispatch loop plans the site, with the exchange's leases.
	loop := &live.Loop{Sites: s.Sites, Fleets: s.Fleets, Models: s.Models, Live: s.Live, Prices: fixedMarket{hashprice: 50, energy: 30, gpu: 2, util: 0.85, btc: 95_000},
		Leases: svc.DispatchLeases, Now: s.Now}
	if _, err := loop.PlanSite(ctx, "west-texas", "interval"); err != nil {
		t.Fatal(err)
	}
	g.do(req{route: "GET /api/v1/sites/{name}/plan", path: "/api/v1/sites/west-texas/plan", token: agent, status: 200})
	if _, err := loop.PlanSite(ctx, "empty", "interval"); err != nil {
		t.Fatal(err)
	}
	g.do(req{route: "GET /api/v1/sites/{name}/plan", path: "/api/v1/sites/empty/plan", token: viewer, status: 200}) // no fleets: null
	g.do(req{route: "PUT /api/v1/sites/{name}/devices", path: "/api/v1/sites/west-texas/devices", token: agent, body: `{}`, status: 200})
	g.do(req{route: "GET /api/v1/sites/{name}/devices", path: "/api/v1/sites/west-texas/devices", token: viewer, status: 200}) // [], not null
	g.do(req{route: "PUT /api/v1/sites/{name}/devices", path: "/api/v1/sites/west-texas/devices", token: agent, status: 200,
		body: `{"at": "2025-01-05T11:59:00Z", "fleets": [{"fleet": "hall-a-s21", "kind": "asic", "machines": 6000, "found": 5990, "running": 5000, "sleeping": 980, "ramping": 0, "off": 0, "unknown": 10, "power_w": 17500000, "reporting": 5980}],
			"problems": [{"address": "10.0.0.7:4028", "fleet": "hall-a-s21", "state": "unknown", "healthy": false, "detail": "no answer"}],
			"meter": {"at": "2025-01-05T11:59:00Z", "power_w": 18000000, "check": {"at": "2025-01-05T11:58:00Z", "seq": 1, "meter_delta_w": -1000000, "reported_delta_w": -1100000, "devices": 300, "judged": true, "mismatch": false, "detail": "the meter fell as the devices said"}}}`})
	g.do(req{route: "GET /api/v1/sites/{name}/devices", path: "/api/v1/sites/west-texas/devices", token: viewer, status: 200})
	g.do(req{route: "POST /api/v1/sites/{name}/telemetry", path: "/api/v1/sites/west-texas/telemetry", token: agent, status: 200,
		body: `{"samples": [{"address": "10.0.0.7:4028", "fleet": "hall-a-s21", "at": "2025-01-05T11:59:00Z", "state": "running", "power_w": 3500, "hashrate_ths": 200.5, "expected_hashrate_ths": 210, "temp_c": 71.5, "chip_temp_c": 80, "fan_min_rpm": 4000, "fan_max_rpm": 4200, "hardware_errors": 3, "pool": "stratum+tcp://pool:3333", "pool_state": "Alive", "firmware": "braiins", "firmware_version": "24.09"},
			{"address": "10.0.0.8:4028", "fleet": "hall-a-s21", "at": "2025-01-05T11:59:00Z", "state": "sleeping"}]}`})
	g.do(req{route: "POST /api/v1/sites/{name}/telemetry", path: "/api/v1/sites/west-texas/telemetry", token: agent, status: 400, body: `{"samples": [{"address": "", "at": "2025-01-05T11:59:00Z", "state": "running"}]}`})
	g.do(req{route: "GET /api/v1/sites/{name}/telemetry", path: "/api/v1/sites/west-texas/telemetry?sort=temp&order=desc&q=10.0&limit=10", token: viewer, status: 200})
	g.do(req{route: "GET /api/v1/sites/{name}/telemetry", path: "/api/v1/sites/west-texas/telemetry?q=" + strings.Repeat("x", 300), token: viewer, status: 400})
	g.do(req{route: "GET /api/v1/sites/{name}/devices/{address}/history", path: "/api/v1/sites/west-texas/devices/10.0.0.7:4028/history?from=2025-01-05T00:00:00Z&to=2025-01-06T00:00:00Z", token: viewer, status: 200})
	// Device tags and bulk actions: tagged by address and by the table's search, shown
	// and filtered on; an action asked by filter, fetched and reported by the agent.
	g.do(req{route: "PUT /api/v1/sites/{name}/tags", path: "/api/v1/sites/west-texas/tags", token: op, status: 200, body: `{"addresses": ["10.0.0.7:4028", "10.0.0.8:4028"], "tags": {"rack": "A12", "row": "3"}}`})
	g.do(req{route: "PUT /api/v1/sites/{name}/tags", path: "/api/v1/sites/west-texas/tags", token: op, status: 200, body: `{"filter": {"q": "10.0.0.8"}, "tags": {"container": "c-7"}}`})
	g.do(req{route: "PUT /api/v1/sites/{name}/tags", path: "/api/v1/sites/west-texas/tags", token: op, status: 400, body: `{"addresses": ["10.0.0.7:4028"], "tags": {"Rack": "A12"}}`})
	g.do(req{route: "PUT /api/v1/sites/{name}/devices/{address}/tags", path: "/api/v1/sites/west-texas/devices/10.0.0.7:4028/tags", token: op, status: 200, body: `{"tags": {"shelf": "2"}}`})
	g.do(req{route: "DELETE /api/v1/sites/{name}/devices/{address}/tags", path: "/api/v1/sites/west-texas/devices/10.0.0.7:4028/tags?key=shelf", token: op, status: 200})
	g.do(req{route: "DELETE /api/v1/sites/{name}/tags", path: "/api/v1/sites/west-texas/tags", token: op, status: 200, body: `{"addresses": ["10.0.0.8:4028"], "keys": ["row"]}`})
	g.do(req{route: "GET /api/v1/sites/{name}/telemetry", path: "/api/v1/sites/west-texas/telemetry?q=tag:rack=A12", token: viewer, status: 200})
	g.do(req{route: "POST /api/v1/sites/{name}/actions", path: "/api/v1/sites/west-texas/actions", token: op, status: 201, body: `{"action": "power", "limit_w": 2800, "filter": {"q": "tag:rack=A12", "state": "running"}}`})
	g.do(req{route: "POST /api/v1/sites/{name}/actions", path: "/api/v1/sites/west-texas/actions", token: op, status: 400, body: `{"action": "pool", "addresses": ["10.0.0.7:4028"]}`})
	g.do(req{route: "GET /api/v1/sites/{name}/actions/pending", path: "/api/v1/sites/west-texas/actions/pending", token: agent, status: 200})
	g.do(req{route: "POST /api/v1/sites/{name}/actions/{id}/result", path: "/api/v1/sites/west-texas/actions/1/result", token: agent, status: 200, body: `{"sent": 1, "verified": 0, "failed": 1, "failures": [{"address": "10.0.0.7:4028", "error": "not verified"}]}`})
	g.do(req{route: "POST /api/v1/sites/{name}/actions/{id}/result", path: "/api/v1/sites/west-texas/actions/1/result", token: agent, status: 409, body: `{"sent": 1, "verified": 1, "failed": 0}`})
	g.do(req{route: "GET /api/v1/sites/{name}/actions", path: "/api/v1/sites/west-texas/actions?limit=5", token: viewer, status: 200})
	g.do(req{route: "GET /api/v1/sites/{name}/actions/{id}", path: "/api/v1/sites/west-texas/actions/1", token: viewer, status: 200})
	g.do(req{route: "GET /api/v1/sites/{name}/actions/{id}", path: "/api/v1/sites/west-texas/actions/9", token: viewer, status: 404})
	g.do(req{route: "GET /api/v1/sites/{name}/devices/{address}/history", path: "/api/v1/sites/west-texas/devices/10.0.0.9:4028/history?from=2025-01-05T00:00:00Z", token: viewer, status: 404})
	g.do(req{route: "GET /api/v1/sites/{name}/devices/{address}/history", path: "/api/v1/sites/west-texas/devices/10.0.0.7:4028/history?from=2025-01-06T00:00:00Z&to=2025-01-05T00:00:00Z", token: viewer, status: 400})
	// The alerts: a miner reported overheating fires one; an operator acknowledges it.
	g.do(req{route: "POST /api/v1/sites/{name}/telemetry", path: "/api/v1/sites/west-texas/telemetry", token: agent, status: 200,
		body: `{"samples": [{"address": "10.0.0.9:4028", "fleet": "hall-a-s21", "at": "2025-01-05T11:59:00Z", "state": "running", "power_w": 3500, "hashrate_ths": 200, "chip_temp_c": 104, "firmware": "LuxOS", "reply_shape": "5d41402abc4b2a76"}]}`})
	var firing jhttp.AlertList
	if err := json.Unmarshal(g.do(req{route: "GET /api/v1/sites/{name}/alerts", path: "/api/v1/sites/west-texas/alerts?state=firing", token: viewer, status: 200}), &firing); err != nil || len(firing.Alerts) != 1 {
		t.Fatalf("firing alerts %+v, %v", firing, err)
	}
	g.do(req{route: "GET /api/v1/sites/{name}/alerts", path: "/api/v1/sites/nowhere/alerts", token: viewer, status: 404})
	g.do(req{route: "POST /api/v1/sites/{name}/alerts/{id}/ack", path: fmt.Sprintf("/api/v1/sites/west-texas/alerts/%d/ack", firing.Alerts[0].ID), token: op, body: `{}`, status: 200})
	g.do(req{route: "POST /api/v1/sites/{name}/alerts/{id}/ack", path: "/api/v1/sites/west-texas/alerts/999/ack", token: op, body: `{}`, status: 404})
	g.do(req{route: "GET /api/v1/sites/{name}/alerts", path: "/api/v1/sites/west-texas/alerts", token: viewer, status: 200})
	g.do(req{route: "POST /api/v1/sites/{name}/audit", path: "/api/v1/sites/west-texas/audit", token: agent, status: 200,
		body: `[{"kind": "command", "seq": 1, "device": "10.0.0.7:4028", "outcome": "ok", "actor": "agent", "detail": "sleep"}, {"kind": "verify", "seq": 1, "device": "10.0.0.7:4028", "outcome": "failed", "reason": "no answer", "detail": "still hashing"}]`})
	var dr joule.DemandResponse
	if err := json.Unmarshal(g.do(req{route: "POST /api/v1/sites/{name}/dr", path: "/api/v1/sites/west-texas/dr", token: op, body: `{"reduce_to_w": 20000000, "within_s": 600, "for_s": 3600}`, status: 201}), &dr); err != nil {
		t.Fatal(err)
	}
	g.do(req{route: "POST /api/v1/sites/{name}/dr", path: "/api/v1/sites/west-texas/dr", token: op, body: `{"reduce_to_w": 30000000, "deadline": "2025-01-05T13:00:00Z", "for_s": 3600}`, status: 201})
	if _, err := loop.PlanSite(ctx, "west-texas", "demand response"); err != nil {
		t.Fatal(err)
	}
	g.do(req{route: "GET /api/v1/sites/{name}/dr", path: "/api/v1/sites/west-texas/dr", token: viewer, status: 200})
	g.do(req{route: "POST /api/v1/sites/{name}/dr/{id}/cancel", path: fmt.Sprintf("/api/v1/sites/west-texas/dr/%d/cancel", dr.ID), token: op, status: 200})
	report := fmt.Sprintf("/api/v1/sites/west-texas/dr/%d/report", dr.ID)
	g.do(req{route: "GET /api/v1/sites/{name}/dr/{id}/report", path: report, token: viewer, status: 200})
	g.do(req{route: "GET /api/v1/sites/{name}/dr/{id}/report", path: report + "?format=csv&baseline=30m", token: op, status: 200})
	g.do(req{route: "GET /api/v1/sites/{name}/plans", path: "/api/v1/sites/west-texas/plans?since=2025-01-05T00:00:00Z&limit=10", token: viewer, status: 200})
	g.do(req{route: "GET /api/v1/sites/{name}/audit", path: "/api/v1/sites/west-texas/audit?after=0&limit=100", token: viewer, status: 200})
	g.do(req{route: "GET /api/v1/sites/{name}/audit", path: "/api/v1/sites/west-texas/audit?tail=3", token: viewer, status: 200})
	g.do(req{route: "GET /api/v1/sites/{name}/next-mw", path: "/api/v1/sites/west-texas/next-mw", token: viewer, status: 200})
	g.do(req{route: "GET /api/v1/overview", path: "/api/v1/overview", token: viewer, status: 200})

	// Reports, and their charts drawn by the real renderer.
	bt := "?from=2023-01-01&to=2023-01-02"
	g.do(req{route: "GET /api/v1/sites/{name}/backtest", path: "/api/v1/sites/west-texas/backtest" + bt, token: viewer, status: 200})
	g.do(req{route: "GET /api/v1/sites/{name}/backtest/{chart}", path: "/api/v1/sites/west-texas/backtest/power.png" + bt, token: viewer, status: 200})
	g.do(req{route: "GET /api/v1/sites/{name}/backtest/{chart}", path: "/api/v1/sites/west-texas/backtest/margin.png" + bt, token: viewer, status: 200})
	pl := "?convert_mw=2&gpu=h100-sxm&at=2024-06-01&years=1&paths=20"
	g.do(req{route: "GET /api/v1/sites/{name}/planreport", path: "/api/v1/sites/west-texas/planreport" + pl, token: viewer, status: 200})
	g.do(req{route: "GET /api/v1/sites/{name}/planreport/{chart}", path: "/api/v1/sites/west-texas/planreport/npv.png" + pl, token: viewer, status: 200})

	// Refusals, in the shared Error shape with a documented status.
	for _, r := range []req{
		{route: "GET /api/v1/econ", path: "/api/v1/econ?date=23/12/2024", token: viewer, status: 400},
		{route: "POST /api/v1/data", path: "/api/v1/data", token: op, status: 400,
			body: `{"kind": "fees", "source": "made-up", "csv": "date,value\n2026-09-01,-1\n"}`},
		{route: "POST /api/v1/data", path: "/api/v1/data", token: viewer, status: 403,
			body: `{"kind": "fees", "source": "made-up", "csv": "date,value\n2026-09-01,1\n"}`},
		{route: "GET /api/v1/data/{kind}/{name}", path: "/api/v1/data/gas/henry-hub", token: viewer, status: 400},
		{route: "DELETE /api/v1/data/{kind}/{name}", path: "/api/v1/data/btc-price/btc-price", token: op, status: 404},

		{route: "GET /api/v1/compare", path: "/api/v1/compare?date=2024-12-23&mw=10&asic=nope&gpu=h100-sxm&gpu_usd_hour=2&energy_usd_mwh=45", token: viewer, status: 404},
		{route: "POST /api/v1/apply", path: "/api/v1/apply", token: op, body: "sites: [", ctype: "application/yaml", status: 400},
		{route: "GET /api/v1/sites/{name}", path: "/api/v1/sites/nowhere", token: op, status: 404},
		{route: "GET /api/v1/sites/{name}", path: "/api/v1/sites/east-texas", token: agent, status: 403},
		{route: "POST /api/v1/sites/{name}/dr", path: "/api/v1/sites/west-texas/dr", token: op, body: `{"reduce_to_w": 1000, "within": 60}`, status: 400},
		{route: "POST /api/v1/sites/{name}/dr", path: "/api/v1/sites/west-texas/dr", token: op, body: `{"reduce_to_w": 1000}`, ctype: "text/plain", status: 415},
		{route: "POST /api/v1/sites/{name}/dr", path: "/api/v1/sites/west-texas/dr", token: viewer, body: `{"reduce_to_w": 1000}`, status: 403},
		{route: "POST /api/v1/sites/{name}/dr/{id}/cancel", path: fmt.Sprintf("/api/v1/sites/west-texas/dr/%d/cancel", dr.ID), token: op, status: 409},
		{route: "GET /api/v1/sites/{name}/audit", path: "/api/v1/sites/west-texas/audit?tail=0", token: viewer, status: 400},
		{route: "GET /api/v1/sites/{name}/dr/{id}/report", path: fmt.Sprintf("/api/v1/sites/west-texas/dr/%d/report?baseline=1s", dr.ID), token: viewer, status: 400},
		{route: "GET /api/v1/sites/{name}/dr/{id}/report", path: "/api/v1/sites/west-texas/dr/999999/report", token: viewer, status: 404},
		{route: "GET /api/v1/sites/{name}/dr/{id}/report", path: fmt.Sprintf("/api/v1/sites/west-texas/dr/%d/report", dr.ID), token: acme, status: 403},
		{route: "GET /api/v1/sites/{name}/plans", path: "/api/v1/sites/west-texas/plans?since=yesterday", token: viewer, status: 400},
		{route: "GET /api/v1/sites/{name}/backtest", path: "/api/v1/sites/west-texas/backtest?from=2023-01-01&to=nope", token: viewer, status: 400},
		{route: "GET /api/v1/sites/{name}/planreport/{chart}", path: "/api/v1/sites/west-texas/planreport/cashflow.png" + pl, token: viewer, status: 200},
		{route: "POST /api/v1/tenants", path: "/api/v1/tenants", token: op, body: `{"id": "acme"}`, status: 409},
		{route: "PUT /api/v1/listings", path: "/api/v1/listings", token: owner, body: `{"product": "h100-sxm/west-texas", "ask_micro_usd_per_gpu_hour": 1, "opportunity_cost": true}`, status: 400},
		{route: "POST /api/v1/tenants/{id}/credit", path: "/api/v1/tenants/acme/credit", token: op, body: `{"amount_micro_usd": 9223372036854775807}`, status: 400},
		{route: "POST /api/v1/orders", path: "/api/v1/orders", token: acme, body: block, status: 400}, // no Idempotency-Key
		{route: "POST /api/v1/orders", path: "/api/v1/orders", token: acme, header: map[string]string{"Idempotency-Key": "huge"}, status: 409,
			body: `{"product": "h100-sxm/west-texas", "kind": "on_demand", "gpus": 300, "limit_micro_usd_per_gpu_hour": 3000000}`},
		{route: "GET /api/v1/orders/{id}", path: "/api/v1/orders/o999", token: acme, status: 404},
		{route: "POST /api/v1/orders", path: "/api/v1/orders", token: poor, body: block, header: map[string]string{"Idempotency-Key": "poor"}, status: 403}, // insufficient credit
		{route: "DELETE /api/v1/orders/{id}", path: "/api/v1/orders/" + resting.Order.ID, token: acme, status: 409},
		{route: "POST /api/v1/leases/{id}/stop", path: "/api/v1/leases/" + onDemand.Leases[0].ID + "/stop", token: acme, status: 404}, // ended
		{route: "POST /api/v1/accounts", path: "/api/v1/accounts", token: op, body: `{"id": "lost-agent", "role": "agent"}`, status: 400},
		{route: "GET /api/v1/book/{product...}", path: "/api/v1/book/h100-sxm%2Fwest-texas?from=monday", token: acme, status: 400},
		{route: "GET /api/v1/book/{product...}", path: "/api/v1/book/a100%2Fnowhere", token: acme, status: 404},
		{route: "GET /api/v1/invoices/{tenant}", path: "/api/v1/invoices/acme?month=January", token: acme, status: 400},
		{route: "GET /api/v1/statements/{account}", path: "/api/v1/statements/northwind-capital?month=2025-01", token: acme, status: 403},
		{route: "POST /api/v1/owners/{id}/payouts", path: "/api/v1/owners/northwind-capital/payouts", token: op, body: `{"amount_micro_usd": 9000000000000}`, status: 403},
		{route: "POST /api/v1/owners/{id}/payouts", path: "/api/v1/owners/acme/payouts", token: op, body: `{"amount_micro_usd": 1}`, status: 400},
		{route: "GET /api/v1/owners/{id}", path: "/api/v1/owners/operator", token: owner, status: 403},
		{route: "PUT /api/v1/fill-priorities", path: "/api/v1/fill-priorities", token: op, body: `{"product": "h100-sxm/west-texas", "fill_priority": "pro-rata"}`, status: 400},
		{route: "PUT /api/v1/cap-terms", path: "/api/v1/cap-terms", token: op, body: `{"product": "h100-sxm/west-texas", "cap_frac": 1.5, "capped_price_bps": 8000}`, status: 400},
	} {
		r.refused = r.status >= 400
		g.do(r)
	}
	// Without a token, every route that needs one says so.
	for _, route := range s.Routes() {
		if op := operation(g.doc, route); op != nil && (op.Security == nil || len(*op.Security) > 0) && op.Extensions["x-joule-public-when"] == nil {
			g.do(req{route: route, path: path(route, "", dr.ID), status: 401, refused: true})
		}
	}

	for _, route := range s.Routes() {
		if !g.ok[route] {
			t.Errorf("%s: no success answer was checked against the document", route)
		}
	}
	if t.Failed() {
		return
	}
	var b bytes.Buffer
	for _, route := range s.Routes() {
		fmt.Fprintf(&b, "\n%s %v", route, g.seen[route])
	}
	t.Logf("statuses checked:%s", b.String())
}

// TestMoneyFieldsSayTheirUnit holds the API to one money convention: a field that
// carries money says its unit in its name — `_micro_usd` (an integer, what the ledger
// keeps) or `_usd` (a float, for display and analytics), per whatever follows — and
// its type agrees; fields named like money that are not amounts are listed here with
// what they are.
func TestMoneyFieldsSayTheirUnit(t *testing.T) {
	notAmounts := map[string]string{
		"asks": "a list of asks", "bids": "a list of bids", "gpu_price_path": "how a price path was made, in words",
		"hashprice_fresh": "whether the reading is fresh", "never_paid_back": "a flag", "opportunity_cost": "a flag",
		"pool_fee": "a fraction", "prob_npv_positive": "a probability", "resale_of": "a lease ID", "resale_order": "an order ID",
		"network_hashrate_ehs": "hashrate", "fee_share": "a fraction",
		"better_by_npv": "which option, by name", "costs": "a set of cost figures, each named with its unit",
		"value": "an assumption's value, in the unit its unit field names", "asic_resale_fraction": "a fraction",
		"network_storage_fraction": "a fraction", "market_price_source": "where a price came from, in words",
		"feed_stale_minutes": "a feed's age, in minutes",
	}
	money := regexp.MustCompile(`price|cost|credit|fee|revenue|margin|amount|balance|paid|payout|deposit|npv|capex|opex|charge|value|ask|bid|limit|hosting|resale|usage|gross|net`)
	unit := regexp.MustCompile(`(^|_)(micro_usd|usd|btc|bps|w|s|gpus|hours|at|count)(_|$)`)
	var doc map[string]any
	if err := json.Unmarshal(openAPIDocument(t), &doc); err != nil {
		t.Fatal(err)
	}
	seen := 0
	var walk func(where string, v any)
	walk = func(where string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if props, ok := v["properties"].(map[string]any); ok {
				for name, p := range props {
					schema, _ := p.(map[string]any)
					typ, _ := schema["type"].(string)
					if items, ok := schema["items"].(map[string]any); ok && typ == "array" {
						typ, _ = items["type"].(string) // a series of amounts
					}
					if money.MatchString(name) && !unit.MatchString(name) && notAmounts[name] == "" {
						t.Errorf("%s.%s sounds like money but its name gives no unit (_micro_usd, _usd…)", where, name)
					}
					switch {
					case typ == "" || typ == "object": // a reference or a set of figures, checked where it is defined
					case strings.Contains(name, "micro_usd") && typ != "integer":
						t.Errorf("%s.%s: micro-dollars are an integer, not %q", where, name, typ)
					case strings.Contains(name, "_usd") && !strings.Contains(name, "micro_usd") && typ != "number":
						t.Errorf("%s.%s: dollars are a number, not %q", where, name, typ)
					}
					seen++
					walk(where+"."+name, p)
				}
			}
			for k, x := range v {
				if k != "properties" {
					walk(where, x)
				}
			}
		case []any:
			for _, x := range v {
				walk(where, x)
			}
		}
	}
	walk("", doc)
	if seen < 200 {
		t.Fatalf("checked %d properties; the document has more", seen)
	}
}

// openAPIDocument is the document as the repository holds it.
func openAPIDocument(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	return data
}
