package http_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/joule-site/joule"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/leasing"
)

// fuzzedRoutes names the fuzz target of every route that changes something: a test
// fails when a new write route has none. `make fuzz` runs each for FUZZTIME.
var fuzzedRoutes = map[string]string{
	"POST /api/v1/apply":                        "FuzzApplyBody",
	"POST /api/v1/sites/{name}/dr":              "FuzzDemandResponseBody",
	"POST /api/v1/sites/{name}/dr/{id}/cancel":  "FuzzWritePaths",
	"POST /api/v1/sites/{name}/audit":           "FuzzAuditBody",
	"PUT /api/v1/sites/{name}/devices":          "FuzzDevicesBody",
	"POST /api/v1/sites/{name}/telemetry":       "FuzzTelemetryBody",
	"POST /api/v1/tenants":                      "FuzzTenantBody",
	"POST /api/v1/tenants/{id}/credit":          "FuzzCreditBody",
	"POST /api/v1/accounts":                     "FuzzAccountBody",
	"POST /api/v1/accounts/{id}/token":          "FuzzWritePaths",
	"POST /api/v1/accounts/{id}/tokens":         "FuzzTokenBody",
	"POST /api/v1/tokens/{id}/revoke":           "FuzzWritePaths",
	"PUT /api/v1/listings":                      "FuzzListingBody",
	"POST /api/v1/orders":                       "FuzzOrderBody",
	"DELETE /api/v1/orders/{id}":                "FuzzWritePaths",
	"POST /api/v1/leases/{id}/resell":           "FuzzResellBody",
	"POST /api/v1/leases/{id}/stop":             "FuzzWritePaths",
	"POST /api/v1/data":                         "FuzzDataBody",
	"DELETE /api/v1/data/{kind}/{name}":         "FuzzWritePaths",
	"POST /api/v1/owners/{id}/payouts":          "FuzzPayoutBody",
	"PUT /api/v1/fill-priorities":               "FuzzFillPriorityBody",
	"PUT /api/v1/cap-terms":                     "FuzzCapTermsBody",
	"POST /api/v1/sites/{name}/alerts/{id}/ack": "FuzzWritePaths",

	"PUT /api/v1/sites/{name}/tags":                      "FuzzTagsBody",
	"DELETE /api/v1/sites/{name}/tags":                   "FuzzUntagBody",
	"PUT /api/v1/sites/{name}/devices/{address}/tags":    "FuzzDeviceTagsBody",
	"DELETE /api/v1/sites/{name}/devices/{address}/tags": "FuzzWritePaths",
	"POST /api/v1/sites/{name}/actions":                  "FuzzActionBody",
	"POST /api/v1/sites/{name}/actions/{id}/result":      "FuzzActionResultBody",
}

// TestEveryWriteRouteIsFuzzed fails when a route that takes POST, PUT or DELETE has no
// fuzz target in fuzzedRoutes, or fuzzedRoutes names a route that is gone.
func TestEveryWriteRouteIsFuzzed(t *testing.T) {
	routes := jhttp.NewServer().Routes()
	for _, r := range routes {
		method, _, _ := strings.Cut(r, " ")
		if method != http.MethodGet && fuzzedRoutes[r] == "" {
			t.Errorf("%s changes something and has no fuzz target in fuzzedRoutes", r)
		}
	}
	for r := range fuzzedRoutes {
		if !slices.Contains(routes, r) {
			t.Errorf("fuzzedRoutes names %s, which is not a route", r)
		}
	}
}

// fuzzRig is a server with a site, an exchange, a tenant with credit and a lease, an
// owner and an agent, for fuzz targets to send bodies to as the principal each needs.
type fuzzRig struct {
	srv                   *jhttp.Server
	svc                   *leasing.Service
	op, tenant, owner, ag string
}

func newFuzzRig(f *testing.F) *fuzzRig {
	s, _ := authServer(f)
	g := &fuzzRig{srv: s, svc: s.Leasing.(*leasing.Service), op: opToken(s)}
	_, g.tenant = principalToken(f, s, asTenant)
	_, g.owner = principalToken(f, s, asOwner)
	_, g.ag = principalToken(f, s, asAgentA)
	return g
}

// send posts body to path as token and fails on a server error or broken invariants.
func (g *fuzzRig) send(t *testing.T, method, path, token, ctype, body string) {
	header := map[string]string{}
	if ctype != "" {
		header["Content-Type"] = ctype
	}
	status, code, data := call(t, method, g.srv.URL()+path, token, body, header)
	if status >= 500 || code == joule.EINTERNAL {
		t.Fatalf("%s %s: status %d (%s) for %q: %s", method, path, status, code, body, data)
	}
	if err := g.svc.Check(); err != nil {
		t.Fatalf("after %s %s %q: %v", method, path, body, err)
	}
}

// fuzzBody runs a fuzz target that sends each input as the body of method path.
func fuzzBody(f *testing.F, method, path string, who func(*fuzzRig) string, seeds ...string) {
	for _, s := range append(seeds, `{`, `[]`, `null`, `""`, `{"":{}}`, "\x00", `{"a":1e999}`) {
		f.Add(s)
	}
	g := newFuzzRig(f)
	f.Fuzz(func(t *testing.T, body string) {
		g.send(t, method, path, who(g), "application/json", body)
	})
}

func asOp(g *fuzzRig) string     { return g.op }
func asAcme(g *fuzzRig) string   { return g.tenant }
func asSeller(g *fuzzRig) string { return g.owner }
func asAgent(g *fuzzRig) string  { return g.ag }

func FuzzApplyBody(f *testing.F) {
	for _, s := range []string{
		"sites:\n  - name: west-texas\n    power_cap_mw: 0.001\n",
		"sites:\n  - name: a\n    power_cap_mw: 5\n    energy: {kind: fixed, usd_per_mwh: 30}\n    fleets:\n      - {name: s, model: s21, count: 10}\n",
		"models:\n  - {id: x, kind: asic, hashrate_ths: -1}\n", "sites: [", "\t\t:", "sites:\n  - &a [*a]\n",
	} {
		f.Add(s)
	}
	g := newFuzzRig(f)
	f.Fuzz(func(t *testing.T, body string) {
		ctype := "application/yaml"
		if strings.HasPrefix(strings.TrimSpace(body), "{") {
			ctype = "application/json"
		}
		g.send(t, http.MethodPost, "/api/v1/apply?filename=fuzz.yaml", g.op, ctype, body)
	})
}

func FuzzDemandResponseBody(f *testing.F) {
	fuzzBody(f, http.MethodPost, "/api/v1/sites/west-texas/dr", asOp,
		`{"reduce_to_w": 1000000, "within_s": 60, "for_s": 3600}`,
		`{"reduce_to_w": 0, "within_s": 0, "for_s": 1, "shed_firm": true}`,
		`{"reduce_to_w": -1, "within_s": -5}`, `{"reduce_to_w": 9223372036854775807, "for_s": 9223372036854775807}`, `{"reduce_to_w": 1, "end": "2024-08-20T17:00:00Z"}`,
		`{"reduce_to_w": "5 MW"}`, `{"bogus": 1}`)
}

func FuzzAuditBody(f *testing.F) {
	fuzzBody(f, http.MethodPost, "/api/v1/sites/west-texas/audit", asAgent,
		`[{"kind": "command", "device": "127.0.0.2:4028", "outcome": "ok", "detail": "sleep"}]`,
		`[{"kind": "plan", "detail": "forged"}]`, `[{"kind": "event", "at": "1970-01-01T00:00:00Z", "site": "east-texas"}]`,
		`[{"kind": "verify", "outcome": "bogus"}]`, `[{"kind": "report", "at": "9999-12-31T23:59:59Z"}]`, `[null]`)
}

func FuzzDevicesBody(f *testing.F) {
	fuzzBody(f, http.MethodPut, "/api/v1/sites/west-texas/devices", asAgent,
		`{"at": "2024-08-20T18:00:00Z", "miners": 10, "awake": 5, "problems": [{"address": "127.0.0.2:4028", "detail": "no answer"}]}`,
		`{"miners": -1, "awake": 1e30}`, `{"problems": [null, {}]}`, `{"site": "east-texas"}`)
}

func FuzzTelemetryBody(f *testing.F) {
	fuzzBody(f, http.MethodPost, "/api/v1/sites/west-texas/telemetry", asAgent,
		`{"samples": [{"address": "10.0.0.7:4028", "fleet": "hall-a-s21", "at": "2024-08-20T18:00:00Z", "state": "running", "power_w": 3500, "hashrate_ths": 200.5, "expected_hashrate_ths": 210, "temp_c": 71.5, "fan_min_rpm": 4000, "fan_max_rpm": 4200, "pool": "stratum+tcp://pool:3333"}]}`,
		`{"samples": [{"address": "", "at": "2024-08-20T18:00:00Z", "state": "running"}]}`, `{"samples": [{"address": "a", "at": "0001-01-01T00:00:00Z", "state": "x", "temp_c": -1e300}]}`,
		`{"samples": [null, {}]}`, `{"samples": [{"site": "east-texas", "address": "a", "at": "2024-08-20T18:00:00Z", "state": "off"}]}`)
}

func FuzzTagsBody(f *testing.F) {
	fuzzBody(f, http.MethodPut, "/api/v1/sites/west-texas/tags", asOp,
		`{"addresses": ["10.0.0.1:4028", "10.0.0.2:4028"], "tags": {"rack": "A12", "row": "3"}}`,
		`{"filter": {"q": "tag:rack=A12", "state": "running"}, "tags": {"container": "c-7"}}`,
		`{"addresses": ["10.0.0.1:4028"], "filter": {}, "tags": {"a": "b"}}`, `{"addresses": [""], "tags": {"Rack": "\u0000"}}`,
		`{"filter": {"q": "tag:"}, "tags": {}}`, `{"addresses": null, "tags": null}`)
}

func FuzzUntagBody(f *testing.F) {
	fuzzBody(f, http.MethodDelete, "/api/v1/sites/west-texas/tags", asOp,
		`{"addresses": ["10.0.0.1:4028"], "keys": ["rack"]}`, `{"filter": {"q": "10.0"}}`, `{"addresses": ["a b"], "keys": ["../x"]}`)
}

func FuzzDeviceTagsBody(f *testing.F) {
	fuzzBody(f, http.MethodPut, "/api/v1/sites/west-texas/devices/10.0.0.1:4028/tags", asOp,
		`{"tags": {"rack": "A12"}}`, `{"tags": {"": "x"}}`, `{"tags": {"k": 1}}`)
}

func FuzzActionBody(f *testing.F) {
	fuzzBody(f, http.MethodPost, "/api/v1/sites/west-texas/actions", asOp,
		`{"action": "sleep", "addresses": ["10.0.0.1:4028"]}`, `{"action": "power", "limit_w": 2800, "filter": {"state": "running"}}`,
		`{"action": "pool", "pool_url": "stratum+tcp://pool:3333", "pool_user": "w", "addresses": ["10.0.0.1:4028"]}`,
		`{"action": "pool", "pool_url": "a,b|c", "addresses": ["x:1"]}`, `{"action": "power", "limit_w": -1, "addresses": ["x:1"]}`,
		`{"action": "reboot", "filter": {"q": "tag:rack=nowhere"}}`, `{"action": "explode"}`)
}

func FuzzActionResultBody(f *testing.F) {
	fuzzBody(f, http.MethodPost, "/api/v1/sites/west-texas/actions/1/result", asAgent,
		`{"sent": 1, "verified": 1, "failed": 0}`, `{"sent": -1}`, `{"sent": 1, "failed": 1, "failures": [{"address": "10.0.0.1:4028", "error": "no answer"}]}`,
		`{"sent": 9223372036854775807, "verified": 9223372036854775807}`)
}

func FuzzTenantBody(f *testing.F) {
	fuzzBody(f, http.MethodPost, "/api/v1/tenants", asOp,
		`{"id": "beta", "name": "Beta", "credit_micro_usd": 1000000}`, `{"id": "Bad ID!"}`,
		`{"id": "gamma", "credit_micro_usd": -5}`, `{"id": "delta", "credit_micro_usd": 1e300}`)
}

func FuzzCreditBody(f *testing.F) {
	fuzzBody(f, http.MethodPost, "/api/v1/tenants/acme/credit", asOp,
		`{"amount_micro_usd": 1000000, "key": "wire-1"}`, `{"amount_micro_usd": 9223372036854775807}`,
		`{"amount_micro_usd": -1}`, `{"amount_micro_usd": 0.5}`)
}

func FuzzPayoutBody(f *testing.F) {
	fuzzBody(f, http.MethodPost, "/api/v1/owners/northwind-capital/payouts", asOp,
		`{"amount_micro_usd": 1000000, "key": "wire-1"}`, `{"amount_micro_usd": 9223372036854775807}`,
		`{"amount_micro_usd": -1}`, `{"amount_micro_usd": 0.5}`, `{"key": ""}`)
}

func FuzzFillPriorityBody(f *testing.F) {
	fuzzBody(f, http.MethodPut, "/api/v1/fill-priorities", asOp,
		`{"product": "h100-sxm/west-texas", "fill_priority": "owners-first"}`,
		`{"product": "h100-sxm/west-texas", "fill_priority": "pro-rata"}`, `{"product": "../x", "fill_priority": "time"}`)
}

func FuzzCapTermsBody(f *testing.F) {
	fuzzBody(f, http.MethodPut, "/api/v1/cap-terms", asOp,
		`{"product": "h100-sxm/west-texas", "cap_frac": 0.65, "capped_price_bps": 8000}`,
		`{"product": "h100-sxm/west-texas", "cap_frac": 1, "capped_price_bps": 8000}`,
		`{"product": "h100-sxm/west-texas", "cap_frac": 0.5, "capped_price_bps": 0}`,
		`{"product": "h100-sxm/west-texas", "cap_frac": 0, "capped_price_bps": 0}`,
		`{"product": "../x", "cap_frac": 0.5, "capped_price_bps": 9000}`)
}

func FuzzAccountBody(f *testing.F) {
	fuzzBody(f, http.MethodPost, "/api/v1/accounts", asOp,
		`{"id": "owner-2", "role": "owner"}`, `{"id": "agent-x", "role": "agent", "site": "west-texas"}`,
		`{"id": "agent-y", "role": "agent"}`, `{"id": "v", "role": "god"}`, `{"id": "t", "role": "tenant", "site": "west-texas"}`)
}

func FuzzTokenBody(f *testing.F) {
	fuzzBody(f, http.MethodPost, "/api/v1/accounts/operator/tokens", asOp,
		`{"name": "laptop", "expires_in_s": 86400}`, `{"name": "", "never_expires": true}`,
		`{"expires_at": "2020-01-01T00:00:00Z"}`, `{"expires_in_s": -1}`, `{"expires_in_s": 9223372036854775807}`,
		`{"name": "a", "expires_in_s": 60, "never_expires": true}`)
}

func FuzzListingBody(f *testing.F) {
	fuzzBody(f, http.MethodPut, "/api/v1/listings", asSeller,
		`{"product": "h100-sxm/west-texas", "ask_micro_usd_per_gpu_hour": 2100000}`,
		`{"product": "h100-sxm/west-texas", "ask_micro_usd_per_gpu_hour": -1}`,
		`{"product": "h100-sxm/west-texas", "seller": "operator", "ask_micro_usd_per_gpu_hour": 1}`,
		`{"product": "../../etc", "opportunity_cost": true}`)
}

func FuzzResellBody(f *testing.F) {
	fuzzBody(f, http.MethodPost, "/api/v1/leases/l1/resell", asAcme,
		`{"from": "2025-01-06T02:00:00Z", "limit_micro_usd_per_gpu_hour": 2300000}`,
		`{"from": "1999-01-01T00:00:00Z"}`, `{"limit_micro_usd_per_gpu_hour": -3}`)
}

// FuzzDataBody imports fuzzed series: a CSV the server cannot take is refused as
// invalid, never a server error.
func FuzzDataBody(f *testing.F) {
	fuzzBody(f, http.MethodPost, "/api/v1/data", asOp,
		`{"kind": "energy", "name": "TEST:NODE", "source": "made-up", "csv": "time,usd_per_mwh\n2026-03-01T00:00:00Z,1\n2026-03-01T01:00:00Z,-2.5\n"}`,
		`{"kind": "btc-price", "source": "made-up", "csv": "date,value\n2026-09-01,60000\n2026-09-02,61000\n"}`,
		`{"kind": "fees", "source": "made-up", "csv": "date,value\n2026-09-01,-1\n"}`,
		`{"kind": "energy-day-ahead", "name": "A:B", "source": "made-up", "csv": "time,usd_per_mwh\n2026-03-01T00:00:00+05:30,1e308\n"}`,
		`{"kind": "difficulty", "source": "", "csv": ""}`, `{"kind": "energy", "name": "../x", "source": "s", "csv": "time,usd_per_mwh\n\"2026"}`,
		`{"kind": "hashrate", "source": "s", "csv": "date,value\n9999-12-31,1\n0001-01-01,1\n"}`)
}

// FuzzWritePaths sends the writes that take no body to paths with fuzzed IDs: an event
// to cancel, an alert to acknowledge, a token to issue or revoke, an order to cancel, a lease to stop, market
// data to delete.
func FuzzWritePaths(f *testing.F) {
	for _, s := range []string{"1", "0", "-1", "9223372036854775808", "o1", "l1", "tok_0000000000000000", "acme", "..", "%2e%2e", "a/b", "%00"} {
		f.Add(s)
	}
	g := newFuzzRig(f)
	f.Fuzz(func(t *testing.T, id string) {
		if !utf8.ValidString(id) {
			return // a request line carries no such path
		}
		seg := url.PathEscape(id)
		for _, w := range []struct{ method, path, token string }{
			{http.MethodPost, "/api/v1/sites/west-texas/dr/" + seg + "/cancel", g.op},
			{http.MethodPost, "/api/v1/sites/west-texas/alerts/" + seg + "/ack", g.op},
			{http.MethodPost, "/api/v1/accounts/" + seg + "/token", g.op},
			{http.MethodPost, "/api/v1/tokens/" + seg + "/revoke", g.tenant},
			{http.MethodDelete, "/api/v1/orders/" + seg, g.tenant},
			{http.MethodPost, "/api/v1/leases/" + seg + "/stop", g.tenant},
			{http.MethodDelete, "/api/v1/data/energy/" + seg, g.op},
			{http.MethodDelete, "/api/v1/data/" + seg + "/" + seg, g.op},
			{http.MethodDelete, "/api/v1/sites/west-texas/devices/" + seg + "/tags?key=" + url.QueryEscape(id), g.op},
		} {
			g.send(t, w.method, w.path, w.token, "", "")
		}
	})
}
