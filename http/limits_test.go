package http_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/leasing"
	"github.com/joule-site/joule/sqlite"
)

// reply is an answer of the server, read whole.
type reply struct {
	status int
	header http.Header
	code   string // the error's, if any
	body   []byte
}

// send makes a request with the token, and a JSON body unless header says otherwise;
// an unknown length (chunked) hides the body's size until it is read.
func send(t testing.TB, method, url, token string, body []byte, chunked bool, header map[string]string) reply {
	t.Helper()
	var r io.Reader = bytes.NewReader(body)
	if chunked {
		r = io.MultiReader(r)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var e struct{ Error struct{ Code string } }
	_ = json.Unmarshal(data, &e)
	return reply{resp.StatusCode, resp.Header, e.Error.Code, data}
}

// snapshot reads what the write routes could change, as the operator sees it.
func snapshot(t *testing.T, s *jhttp.Server) string {
	t.Helper()
	var b strings.Builder
	for _, path := range []string{"/sites", "/sites/west-texas/audit", "/sites/west-texas/dr", "/sites/west-texas/devices", "/accounts", "/products", "/leases", "/data"} {
		r := send(t, "GET", s.URL()+"/api/v1"+path, opToken(s), nil, false, nil)
		fmt.Fprintf(&b, "%s %d %s\n", path, r.status, r.body)
	}
	return b.String()
}

// routeBodyLimits are the routes that take more than jhttp.DefaultMaxBodyBytes.
var routeBodyLimits = map[string]int64{
	"POST /api/v1/apply":                  jhttp.MaxManifestBytes,
	"POST /api/v1/sites/{name}/audit":     8 << 20,
	"PUT /api/v1/sites/{name}/devices":    4 << 20,
	"POST /api/v1/sites/{name}/telemetry": 12 << 20,
	"POST /api/v1/data":                   jhttp.MaxDataImportBytes,
	"PUT /api/v1/sites/{name}/tags":       4 << 20,
	"DELETE /api/v1/sites/{name}/tags":    4 << 20,
	"POST /api/v1/sites/{name}/actions":   4 << 20,
}

// Every route that takes a body refuses one over its limit with 413 before it acts —
// whether the length is declared or not, and whether the handler reads its body or
// not — and nothing changes.
func TestEveryWriteRouteRefusesAnOversizedBody(t *testing.T) {
	s := openServer(t)
	if _, err := client(s).Apply(context.Background(), "west-texas.yaml", example(t)); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, s)
	params := strings.NewReplacer("{name}", "west-texas", "{id}", "1", "{tenant}", "acme", "{account}", "operator", "{product...}", "h100-sxm/west-texas", "{chart}", "npv.png", "{kind}", "energy")
	writes := 0
	for _, route := range s.Routes() {
		method, pattern, _ := strings.Cut(route, " ")
		if method == http.MethodGet {
			continue
		}
		writes++
		limit := cmp.Or(routeBodyLimits[route], jhttp.DefaultMaxBodyBytes)
		body := []byte(`{"pad": "` + strings.Repeat("x", int(limit)) + `"}`) // valid JSON, over the limit
		for _, chunked := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s chunked=%t", route, chunked), func(t *testing.T) {
				r := send(t, method, s.URL()+params.Replace(pattern), opToken(s), body, chunked, nil)
				if r.status != http.StatusRequestEntityTooLarge || r.code != joule.ETOOLARGE || !strings.Contains(string(r.body), strconv.FormatInt(limit, 10)) {
					t.Errorf("%d bytes: %d %s; want 413 naming the limit, %d", len(body), r.status, r.body, limit)
				}
				// Without a token a declared size is refused as it is, and a body of
				// unknown length is not read for a caller that may not call.
				want := map[bool]int{false: http.StatusRequestEntityTooLarge, true: http.StatusUnauthorized}[chunked]
				if r := send(t, method, s.URL()+params.Replace(pattern), "", body, chunked, nil); r.status != want {
					t.Errorf("%d bytes without a token: %d %s; want %d", len(body), r.status, r.body, want)
				}
			})
		}
	}
	if writes < 10 {
		t.Fatalf("only %d write routes", writes)
	}
	if after := snapshot(t, s); after != before {
		t.Errorf("oversized bodies changed the store:\nbefore %s\nafter %s", before, after)
	}
}

// A route's own limit is its, not the default: a manifest of exactly MaxManifestBytes
// is applied, and a request of exactly the default limit is served.
func TestBodyAtTheLimitIsTaken(t *testing.T) {
	s := openServer(t)
	manifest := append(example(t), "\n# "...)
	manifest = append(manifest, bytes.Repeat([]byte("x"), jhttp.MaxManifestBytes-len(manifest)-1)...)
	manifest = append(manifest, '\n')
	r := send(t, "POST", s.URL()+"/api/v1/apply?filename=big.yaml", opToken(s), manifest, false, map[string]string{"Content-Type": "application/yaml"})
	if r.status != http.StatusOK || len(manifest) != jhttp.MaxManifestBytes {
		t.Fatalf("a manifest of %d bytes: %d %s", len(manifest), r.status, r.body)
	}
	dr := []byte(`{"reduce_to_w": 1000000, "within_s": 600, "for_s": 600}`)
	dr = append(dr, bytes.Repeat([]byte(" "), jhttp.DefaultMaxBodyBytes-len(dr))...)
	for _, chunked := range []bool{false, true} {
		if r := send(t, "POST", s.URL()+"/api/v1/sites/west-texas/dr", opToken(s), dr, chunked, nil); r.status != http.StatusCreated {
			t.Errorf("a demand response of %d bytes (chunked %t): %d %s", len(dr), chunked, r.status, r.body)
		}
	}
}

// Network requests share one budget beside each token's: beyond it, 429 with
// Retry-After for every token alike, while health checks and the in-process CLI go on.
func TestGlobalRateLimit(t *testing.T) {
	s := openServer(t, func(s *jhttp.Server, _ *sqlite.DB) { s.GlobalRateLimit, s.GlobalRateBurst = 0.001, 2 })
	u := s.URL() + "/api/v1/sites"
	viewer := token(t, s, joule.RoleViewer, "")
	for i, tok := range []string{opToken(s), viewer} {
		if r := send(t, "GET", u, tok, nil, false, nil); r.status != http.StatusOK {
			t.Fatalf("request %d within the burst: %d %s", i, r.status, r.body)
		}
	}
	for _, tok := range []string{opToken(s), viewer, ""} {
		r := send(t, "GET", u, tok, nil, false, nil)
		if ra, _ := strconv.Atoi(r.header.Get("Retry-After")); r.status != http.StatusTooManyRequests || r.code != joule.ERATELIMIT || ra < 1 {
			t.Errorf("beyond the global budget: %d, Retry-After %q, %s", r.status, r.header.Get("Retry-After"), r.body)
		}
	}
	for range 5 {
		if r := send(t, "GET", s.URL()+"/healthz", "", nil, false, nil); r.status != http.StatusOK {
			t.Errorf("/healthz beyond the global budget: %d", r.status)
		}
	}
	if _, err := jhttp.NewLocalClient(s).Sites(context.Background()); err != nil {
		t.Errorf("the in-process client beyond the global budget: %v", err)
	}
}

// A store with no room left answers a write with 503 and Retry-After, writes none of
// it, and takes the same write once there is room again: an order (the exchange's
// transaction of order, lease, fills and journal) and an apply.
func TestFullStoreAnswers503(t *testing.T) {
	var db *sqlite.DB
	s := openServer(t, func(s *jhttp.Server, d *sqlite.DB) {
		db = d
		s.Now = func() time.Time { return exchangeT0 }
		m := &joule.Manifest{
			Sites:  []*joule.Site{{Name: "west-texas", PowerCapW: 50_000_000, PUE: 1.05, Energy: joule.EnergyPriceModel{Kind: joule.EnergyFixed, FixedUSDPerMWh: 45}}},
			Fleets: []*joule.Fleet{{Site: "west-texas", Name: "h100-pod-1", Model: "h100-sxm", Kind: joule.KindGPUServer, Count: 16}},
		}
		if _, err := sqlite.NewManifestService(d).Apply(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	})
	ctx := context.Background()
	acme, err := client(s).CreateTenant(ctx, jhttp.TenantRequest{ID: "acme", CreditMicroUSD: joule.MicroUSDFromUSD(1e7)})
	if err != nil {
		t.Fatal(err)
	}
	order := func(i int) []byte {
		data, _ := json.Marshal(block("", 8, i, 1, 3))
		return data
	}
	orderKey := func(i int) map[string]string { return map[string]string{"Idempotency-Key": fmt.Sprintf("fill-%d", i)} }

	db.LimitPages(1) // no more pages than the store has now
	full, placed := -1, 0
	for i := 0; i < 5000 && full < 0; i++ {
		switch r := send(t, "POST", s.URL()+"/api/v1/orders", acme.Token, order(i), false, orderKey(i)); r.status {
		case http.StatusCreated:
			placed++
		case http.StatusServiceUnavailable:
			if r.code != joule.EUNAVAILABLE || r.header.Get("Retry-After") == "" || !strings.Contains(string(r.body), "full") {
				t.Fatalf("order %d on a full store: Retry-After %q, %s", i, r.header.Get("Retry-After"), r.body)
			}
			full = i
		default:
			t.Fatalf("order %d: %d %s", i, r.status, r.body)
		}
	}
	if full < 0 {
		t.Fatal("5000 orders fit in a store held at its size")
	}
	t.Logf("%d orders fit in the store held at its size", placed)
	tenant := jhttp.NewClient(s.URL())
	tenant.Token = acme.Token
	orders, err := tenant.Orders(ctx, jhttp.OrderQuery{Limit: 10_000})
	if err != nil || len(orders) != placed {
		t.Fatalf("%d orders stored after %d placed and one refused (%v)", len(orders), placed, err)
	}
	if err := s.Leasing.(*leasing.Service).Check(); err != nil {
		t.Errorf("the exchange after a refused save: %v", err)
	}
	// The refused order is stored once there is room, as if new.
	db.LimitPages(0)
	if r := send(t, "POST", s.URL()+"/api/v1/orders", acme.Token, order(full), false, orderKey(full)); r.status != http.StatusCreated {
		t.Fatalf("the refused order once there is room: %d %s", r.status, r.body)
	}

	// An apply: sites until one does not fit.
	db.LimitPages(1)
	site := func(i int) []byte {
		return fmt.Appendf(nil, "sites:\n  - {name: spare-%04d, power_cap_mw: 1, pue: 1.1, energy: {kind: fixed, usd_per_mwh: 40}}\n", i)
	}
	yaml := map[string]string{"Content-Type": "application/yaml"}
	full = -1
	for i := 0; i < 5000 && full < 0; i++ {
		switch r := send(t, "POST", s.URL()+"/api/v1/apply", opToken(s), site(i), false, yaml); r.status {
		case http.StatusOK:
		case http.StatusServiceUnavailable:
			if r.code != joule.EUNAVAILABLE || r.header.Get("Retry-After") == "" {
				t.Fatalf("apply %d on a full store: Retry-After %q, %s", i, r.header.Get("Retry-After"), r.body)
			}
			full = i
		default:
			t.Fatalf("apply %d: %d %s", i, r.status, r.body)
		}
	}
	if full < 0 {
		t.Fatal("5000 sites fit in a store held at its size")
	}
	missing := fmt.Sprintf("/api/v1/sites/spare-%04d", full)
	if r := send(t, "GET", s.URL()+missing, opToken(s), nil, false, nil); r.status != http.StatusNotFound {
		t.Errorf("the site whose apply was refused: %d %s", r.status, r.body)
	}
	db.LimitPages(0)
	if r := send(t, "POST", s.URL()+"/api/v1/apply", opToken(s), site(full), false, yaml); r.status != http.StatusOK {
		t.Fatalf("the refused apply once there is room: %d %s", r.status, r.body)
	}
	if r := send(t, "GET", s.URL()+missing, opToken(s), nil, false, nil); r.status != http.StatusOK {
		t.Errorf("the site once applied: %d %s", r.status, r.body)
	}
}
