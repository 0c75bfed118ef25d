package http_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/leasing"
	"github.com/joule-site/joule/sqlite"
)

// The principals the route table is checked against: no token, each role, and the
// agents of the site the routes name (A) and of another (B).
const (
	asNone     = "none"
	asTenant   = "tenant"
	asOwner    = "owner"
	asViewer   = "viewer"
	asAgentA   = "agent of A"
	asAgentB   = "agent of B"
	asOperator = "operator"
)

var principals = []string{asNone, asTenant, asOwner, asViewer, asAgentA, asAgentB, asOperator}

// admitted is who may call each route besides the operator, written out here rather
// than read from the server, so that a change to the server's table shows as a
// failure. "public" routes take anyone.
var admitted = map[string][]string{
	"GET /healthz":                                       {"public"},
	"GET /api/v1/openapi.json":                           {"public"},
	"GET /metrics":                                       {asViewer}, // public with PublicMetrics
	"GET /api/v1/demo":                                   {asViewer}, // public on a demo server
	"GET /api/v1/models":                                 {asViewer}, // public with PublicPrices
	"GET /api/v1/econ":                                   {asViewer},
	"GET /api/v1/compare":                                {asViewer},
	"GET /api/v1/whoami":                                 {asViewer, asTenant, asOwner},
	"GET /api/v1/sites":                                  {asViewer},
	"GET /api/v1/sites/{name}":                           {asViewer, asAgentA},
	"POST /api/v1/apply":                                 {},
	"POST /api/v1/sites/{name}/dr":                       {},
	"GET /api/v1/sites/{name}/plan":                      {asViewer, asAgentA},
	"GET /api/v1/sites/{name}/audit":                     {asViewer},
	"POST /api/v1/sites/{name}/audit":                    {asAgentA},
	"GET /api/v1/overview":                               {asViewer},
	"GET /api/v1/sites/{name}/plans":                     {asViewer},
	"GET /api/v1/sites/{name}/next-mw":                   {asViewer},
	"GET /api/v1/sites/{name}/dr":                        {asViewer},
	"POST /api/v1/sites/{name}/dr/{id}/cancel":           {},
	"GET /api/v1/sites/{name}/dr/{id}/report":            {asViewer},
	"GET /api/v1/sites/{name}/backtest":                  {asViewer},
	"GET /api/v1/sites/{name}/backtest/{chart}":          {asViewer},
	"GET /api/v1/sites/{name}/planreport":                {asViewer},
	"GET /api/v1/sites/{name}/planreport/{chart}":        {asViewer},
	"GET /api/v1/sites/{name}/devices":                   {asViewer},
	"PUT /api/v1/sites/{name}/devices":                   {asAgentA},
	"POST /api/v1/sites/{name}/telemetry":                {asAgentA},
	"GET /api/v1/sites/{name}/telemetry":                 {asViewer},
	"GET /api/v1/sites/{name}/devices/{address}/history": {asViewer},
	"GET /api/v1/sites/{name}/alerts":                    {asViewer},
	"POST /api/v1/sites/{name}/alerts/{id}/ack":          {},
	"PUT /api/v1/sites/{name}/tags":                      {},
	"DELETE /api/v1/sites/{name}/tags":                   {},
	"PUT /api/v1/sites/{name}/devices/{address}/tags":    {},
	"DELETE /api/v1/sites/{name}/devices/{address}/tags": {},
	"POST /api/v1/sites/{name}/actions":                  {},
	"GET /api/v1/sites/{name}/actions":                   {asViewer},
	"GET /api/v1/sites/{name}/actions/{id}":              {asViewer},
	"GET /api/v1/sites/{name}/actions/pending":           {asAgentA},
	"POST /api/v1/sites/{name}/actions/{id}/result":      {asAgentA},
	"POST /api/v1/tenants":                               {},
	"POST /api/v1/tenants/{id}/credit":                   {},
	"POST /api/v1/accounts":                              {},
	"GET /api/v1/accounts":                               {},
	"POST /api/v1/accounts/{id}/token":                   {asTenant, asOwner},
	"POST /api/v1/accounts/{id}/tokens":                  {asTenant, asOwner},
	"GET /api/v1/accounts/{id}/tokens":                   {asTenant, asOwner, asViewer},
	"GET /api/v1/tokens":                                 {asTenant, asOwner, asViewer},
	"POST /api/v1/tokens/{id}/revoke":                    {asTenant, asOwner},
	"GET /api/v1/audit":                                  {},
	"GET /api/v1/products":                               {asTenant, asOwner, asViewer},
	"PUT /api/v1/listings":                               {asOwner},
	"POST /api/v1/orders":                                {asTenant},
	"GET /api/v1/orders":                                 {asTenant},
	"GET /api/v1/orders/{id}":                            {asTenant},
	"DELETE /api/v1/orders/{id}":                         {asTenant},
	"GET /api/v1/book/{product...}":                      {asTenant, asOwner, asViewer},
	"GET /api/v1/leases":                                 {asTenant, asOwner},
	"POST /api/v1/leases/{id}/resell":                    {asTenant},
	"POST /api/v1/leases/{id}/stop":                      {asTenant},
	"GET /api/v1/leases/{id}/access":                     {asTenant},
	"GET /api/v1/leases/{id}/usage":                      {asTenant},
	"GET /api/v1/invoices/{tenant}":                      {asTenant},
	"GET /api/v1/statements/{account}":                   {asTenant, asOwner},
	"GET /api/v1/owners/{id}":                            {asOwner},
	"POST /api/v1/owners/{id}/payouts":                   {},
	"GET /api/v1/fill-priorities":                        {asTenant, asOwner, asViewer},
	"PUT /api/v1/fill-priorities":                        {},
	"GET /api/v1/cap-terms":                              {asTenant, asOwner, asViewer},
	"PUT /api/v1/cap-terms":                              {},
	"POST /api/v1/data":                                  {},
	"GET /api/v1/data":                                   {asViewer},
	"GET /api/v1/data/{kind}/{name}":                     {asViewer},
	"DELETE /api/v1/data/{kind}/{name}":                  {},
}

// bodies are the JSON bodies the writes are sent with: valid, so that an admitted
// caller's request would change something.
var bodies = map[string]string{
	"POST /api/v1/sites/{name}/dr":     `{"reduce_to_w": 1000, "within_s": 3600, "for_s": 3600}`,
	"POST /api/v1/sites/{name}/audit":  `[{"kind": "event", "outcome": "ok", "detail": "probe"}]`,
	"PUT /api/v1/sites/{name}/devices": `{"fleets": [{"fleet": "hall-a-s21", "kind": "asic", "machines": 1}]}`,
	"POST /api/v1/tenants":             `{"id": "probe-%d", "credit_micro_usd": 1}`,
	"POST /api/v1/tenants/{id}/credit": `{"amount_micro_usd": 1}`,
	"POST /api/v1/accounts":            `{"id": "probe-%d", "role": "viewer"}`,
	"PUT /api/v1/listings":             `{"product": "h100-sxm@west-texas", "ask_micro_usd_per_gpu_hour": 1}`,
	"POST /api/v1/orders":              `{"product": "h100-sxm@west-texas", "kind": "spot", "gpus": 8, "limit_micro_usd_per_gpu_hour": 9000000}`,
	"POST /api/v1/leases/{id}/resell":  `{"limit_micro_usd_per_gpu_hour": 1}`,
	"POST /api/v1/owners/{id}/payouts": `{"amount_micro_usd": 1}`,
	"PUT /api/v1/fill-priorities":      `{"product": "h100-sxm/west-texas", "fill_priority": "operator-first"}`,
	"PUT /api/v1/cap-terms":            `{"product": "h100-sxm/west-texas", "cap_frac": 0.65, "capped_price_bps": 8000}`,

	"POST /api/v1/accounts/{id}/tokens":   `{"name": "probe", "expires_in_s": 3600}`,
	"POST /api/v1/sites/{name}/telemetry": `{"samples": [{"address": "10.0.0.%d:4028", "fleet": "hall-a-s21", "at": "2024-08-20T17:59:00Z", "state": "running", "power_w": 3500, "hashrate_ths": 200}]}`,
	"POST /api/v1/data":                   `{"kind": "energy", "name": "west-texas", "source": "made-up probe", "csv": "time,usd_per_mwh\n2026-03-01T00:00:00Z,%d\n"}`,

	"PUT /api/v1/sites/{name}/tags":                   `{"addresses": ["10.0.0.%d:4028"], "tags": {"rack": "A12"}}`,
	"DELETE /api/v1/sites/{name}/tags":                `{"addresses": ["10.0.0.1:4028"], "keys": ["rack"]}`,
	"PUT /api/v1/sites/{name}/devices/{address}/tags": `{"tags": {"row": "%d"}}`,
	"POST /api/v1/sites/{name}/actions":               `{"action": "sleep", "addresses": ["10.0.0.%d:4028"]}`,
	"POST /api/v1/sites/{name}/actions/{id}/result":   `{"sent": 1, "verified": 1, "failed": 0}`,
}

// authServer is a server on a real store with the example site (A, west-texas), an
// event to cancel, a tenant and an owner with their own things, and a clock that
// stands still, so that what a refused write might have changed can be compared.
func authServer(t testing.TB, configure ...func(*jhttp.Server, *sqlite.DB)) (*jhttp.Server, int64) {
	t.Helper()
	now := time.Date(2024, 8, 20, 18, 0, 0, 0, time.UTC)
	s := openServer(t, append([]func(*jhttp.Server, *sqlite.DB){func(s *jhttp.Server, _ *sqlite.DB) {
		s.Now = func() time.Time { return now }
		s.RateLimit = 10_000
	}}, configure...)...)
	op := client(s)
	if _, err := op.Apply(context.Background(), "west-texas.yaml", example(t)); err != nil {
		t.Fatal(err)
	}
	east := "sites:\n  - name: east-texas\n    power_cap_mw: 5\n    energy: {kind: fixed, usd_per_mwh: 30}\n    fleets:\n      - {name: s21s, model: s21, count: 10}\n"
	if _, err := op.Apply(context.Background(), "east-texas.yaml", []byte(east)); err != nil {
		t.Fatal(err)
	}
	dr, err := op.DemandResponse(context.Background(), "west-texas", 1_000_000, time.Hour, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := op.CreateTenant(context.Background(), jhttp.TenantRequest{ID: "acme", CreditMicroUSD: 1_000_000}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Alerts.RaiseAlert(context.Background(), &joule.Alert{Site: "west-texas", Rule: joule.AlertOffline, Subject: "10.0.0.1:4028", Summary: "probe"}); err != nil {
		t.Fatal(err)
	}
	return s, dr.ID
}

// principalToken makes a fresh account for p (so that a token a route revokes does
// not outlive its test) and returns its ID and token; none has neither.
func principalToken(t testing.TB, s *jhttp.Server, p string) (id, tok string) {
	t.Helper()
	role, site := map[string]joule.AccountRole{asTenant: joule.RoleTenant, asOwner: joule.RoleOwner, asViewer: joule.RoleViewer,
		asAgentA: joule.RoleAgent, asAgentB: joule.RoleAgent, asOperator: joule.RoleOperator}[p], ""
	switch p {
	case asNone:
		return "", ""
	case asAgentA:
		site = "west-texas"
	case asAgentB:
		site = "east-texas"
	}
	ctx := context.Background()
	tok = token(t, s, role, site)
	who, err := s.Leasing.Authenticate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if role == joule.RoleTenant { // credit to buy with, so that an order is not refused for want of it
		op, err := s.Leasing.Principal(ctx, "")
		if err == nil {
			_, err = s.Leasing.Deposit(ctx, op, who.ID, "", 100_000_000_000)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return who.ID, tok
}

// path fills a route's pattern for a caller: its own account where the route names
// one, the site A, the event drID.
func path(pattern, self string, drID int64) string {
	_, p, _ := strings.Cut(pattern, " ")
	account := self
	if account == "" {
		account = "acme"
	}
	r := strings.NewReplacer("{name}", "west-texas", "{kind}", "energy", "{chart}", "power.png", "{product...}", "h100-sxm@west-texas",
		"{tenant}", account, "{account}", account, "{address}", "10.0.0.1:4028")
	p = r.Replace(p)
	switch {
	case strings.Contains(p, "/actions/{id}"):
		p = strings.Replace(p, "{id}", "1", 1) // the first action an admitted caller asks, or none yet
	case strings.Contains(p, "/dr/{id}"):
		p = strings.Replace(p, "{id}", fmt.Sprint(drID), 1)
	case strings.Contains(p, "/alerts/{id}"):
		p = strings.Replace(p, "{id}", "1", 1) // authServer's alert
	case strings.HasPrefix(p, "/api/v1/accounts/"), strings.HasPrefix(p, "/api/v1/tenants/"), strings.HasPrefix(p, "/api/v1/owners/"):
		p = strings.Replace(p, "{id}", account, 1)
	case strings.HasPrefix(p, "/api/v1/orders/"):
		p = strings.Replace(p, "{id}", "o1", 1)
	case strings.HasPrefix(p, "/api/v1/leases/"):
		p = strings.Replace(p, "{id}", "l1", 1)
	case strings.HasPrefix(p, "/api/v1/tokens/"):
		p = strings.Replace(p, "{id}", "tok_0000000000000000", 1) // none: an admitted caller is told so
	}
	return p
}

// state is what a write could change, as the operator reads it in process: the
// site's events, audit rows, census and cap, the accounts, orders and leases, the API
// tokens and the exchange's audit log.
func state(t *testing.T, s *jhttp.Server) string {
	t.Helper()
	var b strings.Builder
	for _, p := range []string{"/api/v1/sites/west-texas", "/api/v1/sites/west-texas/dr", "/api/v1/sites/west-texas/audit?tail=10000",
		"/api/v1/sites/west-texas/devices", "/api/v1/sites/west-texas/telemetry?limit=1000",
		"/api/v1/sites/west-texas/actions?limit=1000", "/api/v1/sites/west-texas/actions/pending", "/api/v1/accounts", "/api/v1/orders", "/api/v1/leases", "/api/v1/products",
		"/api/v1/tokens", "/api/v1/audit?limit=10000", "/api/v1/data", "/api/v1/data/energy/west-texas"} {
		r := httptest.NewRequestWithContext(jhttp.AsPrincipal(context.Background(), ""), "GET", p, nil)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		fmt.Fprintf(&b, "%s %d %s\n", p, w.Code, w.Body.String())
	}
	return b.String()
}

// TestEveryRouteAdmitsOnlyItsRoles calls every route as every principal: those a
// route does not admit are refused (401 without a token, 403 with one) and change
// nothing; those it admits are not refused.
func TestEveryRouteAdmitsOnlyItsRoles(t *testing.T) {
	s, drID := authServer(t)
	// The agent of A's census must not be the first write the refused ones are
	// compared after; the operator's request to a route comes last.
	for _, route := range s.Routes() {
		want, ok := admitted[route]
		if !ok {
			t.Errorf("route %s: the test does not say who may call it", route)
			continue
		}
		method, _, _ := strings.Cut(route, " ")
		write := method != http.MethodGet
		for i, p := range principals {
			name := route + " as " + p
			self, tok := principalToken(t, s, p)
			isPublic := slices.Contains(want, "public")
			ok := isPublic || p == asOperator || slices.Contains(want, p)
			body := bodies[route]
			if strings.Contains(body, "%d") {
				body = fmt.Sprintf(body, i)
			}
			var ctype string
			if body != "" {
				ctype = "application/json"
			}
			if route == "POST /api/v1/apply" {
				body, ctype = strings.Replace(string(example(t)), "power_cap_mw: 50", "power_cap_mw: 40", 1), "application/yaml"
			}
			before := ""
			if write && !ok {
				before = state(t, s)
			}
			req, _ := http.NewRequest(method, s.URL()+path(route, self, drID), strings.NewReader(body))
			if tok != "" {
				req.Header.Set("Authorization", "Bearer "+tok)
			}
			if ctype != "" {
				req.Header.Set("Content-Type", ctype)
			}
			req.Header.Set("Idempotency-Key", fmt.Sprint("k", i))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case ok && (resp.StatusCode == 401 || resp.StatusCode == 403):
				t.Errorf("%s: %d, want it admitted: %s", name, resp.StatusCode, data)
			case !ok && p == asNone && resp.StatusCode != 401:
				t.Errorf("%s: %d, want 401: %s", name, resp.StatusCode, data)
			case !ok && p != asNone && resp.StatusCode != 403:
				t.Errorf("%s: %d, want 403: %s", name, resp.StatusCode, data)
			}
			if before != "" {
				if after := state(t, s); after != before {
					t.Errorf("%s was refused but changed the store:\nbefore %s\nafter  %s", name, before, after)
				}
			}
		}
	}
	if t.Failed() {
		return
	}
	// The table names no route the server does not have.
	for route := range admitted {
		if !slices.Contains(s.Routes(), route) {
			t.Errorf("the test admits callers to %s, which is not a route", route)
		}
	}
}

// The demo's description and, with PublicPrices, the prices answer without a token;
// nothing else does.
func TestPublicRoutesOfDemoAndPrices(t *testing.T) {
	s, _ := authServer(t, func(s *jhttp.Server, _ *sqlite.DB) {
		s.PublicPrices = true
		s.Demo = &jhttp.Demo{Speed: 60}
	})
	for _, p := range []string{"/api/v1/demo", "/api/v1/models", "/api/v1/econ?date=2024-08-01", "/api/v1/compare?date=2024-08-01&mw=1&asic=s21&gpu=h100-sxm&gpu_usd_hour=2&energy_usd_mwh=40"} {
		if st, _, data := call(t, "GET", s.URL()+p, "", "", nil); st != 200 {
			t.Errorf("%s without a token: %d %s", p, st, data)
		}
	}
	for _, p := range []string{"/api/v1/overview", "/api/v1/sites", "/api/v1/sites/west-texas/plan"} {
		if st, _, _ := call(t, "GET", s.URL()+p, "", "", nil); st != 401 {
			t.Errorf("%s without a token on a demo with public prices: %d, want 401", p, st)
		}
	}
}

// A write must come as JSON: a form or text, which a page of another site may post
// without asking, is refused with 415 and changes nothing; a manifest may be YAML.
func TestWritesTakeJSONOnly(t *testing.T) {
	s, drID := authServer(t)
	op := opToken(s)
	dr := s.URL() + "/api/v1/sites/west-texas/dr"
	body := `{"reduce_to_w": 1000, "within_s": 3600, "for_s": 3600}`
	before := state(t, s)
	for _, ctype := range []string{"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx", "application/yaml"} {
		st, code, data := call(t, "POST", dr, op, body, map[string]string{"Content-Type": ctype})
		if st != http.StatusUnsupportedMediaType || code != joule.EMEDIATYPE {
			t.Errorf("a body of type %q: %d %s, want 415", ctype, st, data)
		}
	}
	// Sent without any Content-Type at all (call sets JSON when there is a body).
	req, _ := http.NewRequest("POST", dr, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+op)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("a body with no type: %d, want 415", resp.StatusCode)
	}
	if after := state(t, s); after != before {
		t.Errorf("a refused body changed the store:\nbefore %s\nafter  %s", before, after)
	}
	if st, _, data := call(t, "POST", dr, op, body, map[string]string{"Content-Type": "application/json; charset=utf-8"}); st != http.StatusCreated {
		t.Errorf("JSON with a charset: %d %s", st, data)
	}
	if st, _, data := call(t, "POST", s.URL()+"/api/v1/apply", op, string(example(t)), map[string]string{"Content-Type": "application/yaml"}); st != 200 {
		t.Errorf("a YAML manifest: %d %s", st, data)
	}
	// A write without a body needs no type.
	req, _ = http.NewRequest("POST", fmt.Sprintf("%s/%d/cancel", dr, drID), nil)
	req.Header.Set("Authorization", "Bearer "+op)
	req.Header.Set("Content-Type", "text/plain")
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("a cancel without a body: %d", resp.StatusCode)
	}
}

// A request from a page of another site (its Origin is not the server) is refused
// with 403 and changes nothing, whoever's token it carries; the server's own pages
// and callers that are not browsers pass.
func TestRequestsFromOtherSitesAreRefused(t *testing.T) {
	s, _ := authServer(t)
	op := opToken(s)
	dr := s.URL() + "/api/v1/sites/west-texas/dr"
	body := `{"reduce_to_w": 1000, "within_s": 3600, "for_s": 3600}`
	before := state(t, s)
	host := strings.TrimPrefix(s.URL(), "http://")
	for _, origin := range []string{"http://evil.example", "http://" + host + ".evil.example", "null", "http://127.0.0.1:1", "file://"} {
		for _, m := range []string{"POST", "GET"} {
			st, code, data := call(t, m, dr, op, map[string]string{"POST": body}[m], map[string]string{"Origin": origin})
			if st != 403 || code != joule.EFORBIDDEN {
				t.Errorf("%s from %q: %d %s, want 403", m, origin, st, data)
			}
		}
	}
	if after := state(t, s); after != before {
		t.Errorf("a refused request changed the store:\nbefore %s\nafter  %s", before, after)
	}
	if st, _, data := call(t, "POST", dr, op, body, map[string]string{"Origin": s.URL()}); st != http.StatusCreated {
		t.Errorf("from the server's own page: %d %s", st, data)
	}
	if st, _, data := call(t, "POST", dr, op, body, map[string]string{"Origin": strings.ToUpper(s.URL())}); st != http.StatusCreated {
		t.Errorf("from the server's own page, in capitals: %d %s", st, data)
	}
}

// An operator creates a site's agent through the API, whose token then reaches that
// site's plan and no other site's; a viewer's token writes nothing; an agent needs a
// site and a site needs an agent.
func TestAgentAccountsThroughTheAPI(t *testing.T) {
	s, _ := authServer(t)
	ctx := context.Background()
	created, err := client(s).CreateAccount(ctx, leasing.NewAccountRequest{ID: "west-agent", Role: joule.RoleAgent, Site: "west-texas"})
	if err != nil || created.Token == "" || created.Account.Site != "west-texas" {
		t.Fatalf("create agent: %+v, %v", created, err)
	}
	agent := jhttp.NewClient(s.URL())
	agent.Token = created.Token
	if _, err := agent.Plan(ctx, "west-texas"); joule.ErrorCode(err) == joule.EFORBIDDEN || joule.ErrorCode(err) == joule.EUNAUTHORIZED {
		t.Errorf("the agent reads its site's plan: %v", err)
	}
	if _, err := agent.Plan(ctx, "east-texas"); joule.ErrorCode(err) != joule.EFORBIDDEN {
		t.Errorf("the agent reads another site's plan: %v, want forbidden", err)
	}
	if _, err := agent.CreateAccount(ctx, leasing.NewAccountRequest{ID: "mine", Role: joule.RoleOperator}); joule.ErrorCode(err) != joule.EFORBIDDEN {
		t.Errorf("an agent creates an operator: %v, want forbidden", err)
	}
	for _, req := range []leasing.NewAccountRequest{
		{ID: "lost-agent", Role: joule.RoleAgent},
		{ID: "nowhere-agent", Role: joule.RoleAgent, Site: "nowhere"},
		{ID: "sited-viewer", Role: joule.RoleViewer, Site: "west-texas"},
		{ID: "boss", Role: "root"},
	} {
		if _, err := client(s).CreateAccount(ctx, req); joule.ErrorCode(err) != joule.EINVALID && joule.ErrorCode(err) != joule.ENOTFOUND {
			t.Errorf("create %+v: %v, want it refused", req, err)
		}
	}
	// A token that is not one, in every shape a header may take.
	for _, h := range []string{"Bearer", "Bearer ", "Bearer x", "Basic " + opToken(s), opToken(s), "Bearer " + opToken(s) + "x", "Bearer " + strings.ToUpper(opToken(s))} {
		req, _ := http.NewRequest("GET", s.URL()+"/api/v1/overview", nil)
		req.Header.Set("Authorization", h)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("Authorization %q: %d, want 401", h, resp.StatusCode)
		}
	}
}

// The audit log names the account that declared or cancelled an event.
func TestDemandResponseAuditNamesItsActor(t *testing.T) {
	s, _ := authServer(t)
	ctx := context.Background()
	alice := jhttp.NewClient(s.URL())
	alice.Token = token(t, s, joule.RoleOperator, "")
	who, err := s.Leasing.Authenticate(ctx, alice.Token)
	if err != nil {
		t.Fatal(err)
	}
	dr, err := alice.DemandResponse(ctx, "west-texas", 2_000_000, time.Hour, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if dr.By != who.ID {
		t.Errorf("the event was declared by %q, want %s", dr.By, who.ID)
	}
	if _, err := alice.CancelDemandResponse(ctx, "west-texas", dr.ID); err != nil {
		t.Fatal(err)
	}
	var out struct{ Audit []joule.Audit }
	if code := getJSON(t, s, "/api/v1/sites/west-texas/audit?tail=100", &out); code != 200 {
		t.Fatalf("audit: %d", code)
	}
	var by []string
	for _, e := range out.Audit {
		if strings.Contains(e.Detail, fmt.Sprintf("demand response %d", dr.ID)) {
			by = append(by, e.Actor)
		}
	}
	if !slices.Equal(by, []string{who.ID, who.ID}) {
		t.Errorf("the event's declaration and cancellation were audited as %q, want %s twice", by, who.ID)
	}
}

// TestRequestsByAnotherNameAreRefused: a request whose Host is a DNS name the server
// was not told it has (a page of evil.example rebinding its name to this address) is
// refused before any route, with no token needed to learn why; addresses, localhost
// and the allowed names pass.
func TestRequestsByAnotherNameAreRefused(t *testing.T) {
	s := openServer(t, func(s *jhttp.Server, _ *sqlite.DB) { s.AllowedHosts = []string{"joule.example.com"} })
	_, port, _ := strings.Cut(strings.TrimPrefix(s.URL(), "http://"), ":")
	for host, want := range map[string]int{
		"evil.example:" + port:          http.StatusForbidden,
		"evil.example":                  http.StatusForbidden,
		"127.0.0.1:" + port:             http.StatusOK,
		"[::1]:" + port:                 http.StatusOK,
		"localhost:" + port:             http.StatusOK,
		"app.localhost:" + port:         http.StatusOK,
		"JOULE.example.com.:" + port:    http.StatusOK,
		"joule.example.com.evil.com:80": http.StatusForbidden,
	} {
		for _, path := range []string{"/healthz", "/api/v1/sites"} {
			req, err := http.NewRequest("GET", s.URL()+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = host
			req.Header.Set("Authorization", "Bearer "+opToken(s))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("Host %s %s: %d, want %d: %s", host, path, resp.StatusCode, want, body)
			}
			if want == http.StatusForbidden && !strings.Contains(string(body), "--allowed-host") {
				t.Errorf("Host %s: the refusal does not say how to allow the name: %s", host, body)
			}
		}
	}
	wild := openServer(t, func(s *jhttp.Server, _ *sqlite.DB) { s.AllowedHosts = []string{"*"} })
	req, _ := http.NewRequest("GET", wild.URL()+"/healthz", nil)
	req.Host = "anything.example"
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf(`with "*" allowed, another name: %v %v`, resp, err)
	} else {
		resp.Body.Close()
	}
}
