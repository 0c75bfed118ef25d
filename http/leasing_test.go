package http_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/billing"
	"github.com/joule-site/joule/catalog"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/leasing"
	"github.com/joule-site/joule/sqlite"
)

// exchangeT0 is the exchange's clock in these tests: a Sunday noon before the blocks
// they order.
var exchangeT0 = time.Date(2025, 1, 5, 12, 0, 0, 0, time.UTC)

// exchange is a server with the GPU exchange on a fresh SQLite file holding the
// example site, and the operator's token.
type exchange struct {
	srv     *jhttp.Server
	svc     *leasing.Service
	opToken string
}

func openExchange(t testing.TB, limit float64) *exchange {
	t.Helper()
	return openExchangeOn(t, sqliteKit(t), limit)
}

// storeKit is the services of one store that an exchange server runs on.
type storeKit struct {
	leasing   joule.LeasingStore
	sites     joule.SiteService
	fleets    joule.FleetService
	models    joule.HardwareService
	manifests joule.ManifestService
	wal       string // the write-ahead log's file, on SQLite
}

// sqliteKit opens a fresh SQLite file, closed when t ends.
func sqliteKit(t testing.TB) storeKit {
	t.Helper()
	db := sqlite.NewDB(t.TempDir() + "/joule.db")
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return storeKit{leasing: sqlite.NewLeasingStore(db), sites: sqlite.NewSiteService(db), fleets: sqlite.NewFleetService(db),
		models: sqlite.NewHardwareService(db), manifests: sqlite.NewManifestService(db), wal: db.DSN + "-wal"}
}

// openExchangeOn is openExchange on the store of kit.
func openExchangeOn(t testing.TB, kit storeKit, limit float64) *exchange {
	t.Helper()
	ctx := context.Background()
	m := &joule.Manifest{
		Sites: []*joule.Site{{Name: "west-texas", PowerCapW: 50_000_000, PUE: 1.05, Energy: joule.EnergyPriceModel{Kind: joule.EnergyFixed, FixedUSDPerMWh: 45}}},
		Fleets: []*joule.Fleet{
			{Site: "west-texas", Name: "h100-pod-1", Model: "h100-sxm", Kind: joule.KindGPUServer, Count: 16},
			{Site: "west-texas", Name: "h100-pod-2", Model: "h100-sxm", Kind: joule.KindGPUServer, Count: 16, Owner: "northwind-capital"},
		},
	}
	if _, err := kit.manifests.Apply(ctx, m); err != nil {
		t.Fatal(err)
	}
	models := catalog.Models{User: kit.models}
	svc, err := leasing.Open(ctx, kit.leasing, leasing.Config{
		Now: func() time.Time { return exchangeT0 }, FeeBPS: 1000,
		Sites: kit.sites, Fleets: kit.fleets, Models: models,
	})
	if err != nil {
		t.Fatal(err)
	}
	op, err := svc.Principal(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	issued, err := svc.IssueToken(ctx, op, op.ID, leasing.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	token := issued.Token
	s := jhttp.NewServer()
	s.Addr = "127.0.0.1:0"
	s.Logger = slog.New(slog.DiscardHandler)
	s.Leasing = svc
	s.Billing = &billing.Service{Store: kit.leasing}
	s.Sites, s.Fleets, s.Models = kit.sites, kit.fleets, models
	s.RateLimit = limit
	if limit >= 1e9 {
		s.GlobalRateLimit = -1 // no limit at all: the load benchmarks measure the path, not the server's shield
	}
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &exchange{srv: s, svc: svc, opToken: token}
}

// client returns a client of the server with a token.
func (x *exchange) client(token string) *jhttp.Client {
	c := jhttp.NewClient(x.srv.URL())
	c.Token = token
	return c
}

// tenant creates a tenant through the API and returns its client.
func (x *exchange) tenant(t testing.TB, id string, credit joule.MicroUSD) *jhttp.Client {
	t.Helper()
	created, err := x.client(x.opToken).CreateTenant(context.Background(), jhttp.TenantRequest{ID: id, CreditMicroUSD: credit})
	if err != nil {
		t.Fatalf("create tenant %s: %v", id, err)
	}
	if created.Token == "" || created.Account.Role != joule.RoleTenant {
		t.Fatalf("created %+v", created)
	}
	return x.client(created.Token)
}

func block(key string, gpus int, startHour, hours int, limitUSD float64) jhttp.OrderRequest {
	day := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	return jhttp.OrderRequest{IdempotencyKey: key, Product: "h100-sxm/west-texas", Kind: joule.OrderReserved, GPUs: gpus,
		Start: day.Add(time.Duration(startHour) * time.Hour), End: day.Add(time.Duration(startHour+hours) * time.Hour),
		LimitMicroUSDPerGPUHour: joule.MicroUSDFromUSD(limitUSD)}
}

// call sends a raw request and returns the status, the error code (if any) and the body.
func call(t testing.TB, method, url, token string, body string, header map[string]string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(data, &e)
	return resp.StatusCode, e.Error.Code, data
}

func TestExchangeOverHTTP(t *testing.T) {
	x := openExchange(t, 1000)
	ctx := context.Background()
	acme := x.tenant(t, "acme", joule.MicroUSDFromUSD(50_000))
	r, err := acme.SubmitOrder(ctx, block("k1", 16, 0, 168, 2.10))
	if err != nil {
		t.Fatal(err)
	}
	if r.Order.Status != joule.OrderFilled || len(r.Leases) != 1 || r.Leases[0].GPUs != 16 {
		t.Fatalf("order: %+v", r)
	}
	again, err := acme.SubmitOrder(ctx, block("k1", 16, 0, 168, 2.10))
	if err != nil || !again.Replayed || again.Order.ID != r.Order.ID {
		t.Errorf("replay: %+v, %v", again, err)
	}
	b, err := acme.Book(ctx, "h100-sxm/west-texas", time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC), 0)
	if err != nil {
		t.Fatal(err)
	}
	if b.CapacityGPUs != 256 || len(b.Slots) != 168 || b.Slots[0].LeasedGPUs != 16 || b.Slots[0].FreeGPUs != 240 ||
		len(b.RecentFills) != 1 || b.Slots[0].ClearingPriceMicroUSDPerGPUHour != 2_000_000 {
		t.Errorf("book: capacity %d, %d slots, first %+v, fills %+v", b.CapacityGPUs, len(b.Slots), b.Slots[0], b.RecentFills)
	}
	leases, err := acme.Leases(ctx, "", 0)
	if err != nil || len(leases) != 1 {
		t.Errorf("leases: %+v, %v", leases, err)
	}
	inv, err := acme.Invoice(ctx, "acme", "2025-01")
	if err != nil || inv.UsageMicroUSD != joule.MicroUSDFromUSD(16*168*2) {
		t.Errorf("invoice: %+v, %v", inv, err)
	}
	page, err := acme.Page(ctx, "invoices", "acme", "2025-01")
	if err != nil || !strings.Contains(string(page), "Invoice") || !strings.Contains(string(page), "$5,376.00") {
		t.Errorf("invoice page: %v\n%s", err, page)
	}
	// Not enough GPUs for an on-demand order is capacity: 409.
	_, err = acme.SubmitOrder(ctx, jhttp.OrderRequest{IdempotencyKey: "big", Product: "h100-sxm/west-texas", Kind: joule.OrderOnDemand, GPUs: 300, LimitMicroUSDPerGPUHour: 3_000_000})
	if joule.ErrorCode(err) != joule.ECAPACITY {
		t.Errorf("300 GPUs on demand: %v", err)
	}
	st, code, _ := call(t, "POST", x.srv.URL()+"/api/v1/orders", "", `{}`, nil)
	if st != 401 || code != joule.EUNAUTHORIZED {
		t.Errorf("no token: %d %s", st, code)
	}
	body, _ := json.Marshal(block("", 8, 0, 24, 2.10))
	if st, code, _ := call(t, "POST", x.srv.URL()+"/api/v1/orders", acme.Token, string(body), nil); st != 400 || code != joule.EINVALID {
		t.Errorf("no Idempotency-Key: %d %s", st, code)
	}
	if st, _, data := call(t, "POST", x.srv.URL()+"/api/v1/orders", acme.Token, string(body), map[string]string{"Idempotency-Key": "raw"}); st != 201 {
		t.Errorf("with Idempotency-Key: %d %s", st, data)
	}
	if st, _, _ := call(t, "POST", x.srv.URL()+"/api/v1/orders", acme.Token, string(body), map[string]string{"Idempotency-Key": "raw"}); st != 200 {
		t.Errorf("replayed: %d, want 200", st)
	}
	if st, code, _ := call(t, "POST", x.srv.URL()+"/api/v1/orders", acme.Token, `{"product": "x", "colour": "red"}`, map[string]string{"Idempotency-Key": "u"}); st != 400 || code != joule.EINVALID {
		t.Errorf("unknown field: %d %s", st, code)
	}
}

// TestTenantsCannotReachEachOther tries, through the API, everything one tenant might
// do to another's orders, leases and invoices.
func TestTenantsCannotReachEachOther(t *testing.T) {
	x := openExchange(t, 1000)
	ctx := context.Background()
	acme, bob := x.tenant(t, "acme", joule.MicroUSDFromUSD(50_000)), x.tenant(t, "bob", joule.MicroUSDFromUSD(50_000))
	resting, err := acme.SubmitOrder(ctx, block("r", 8, 0, 24, 1.00)) // below every ask: rests
	if err != nil {
		t.Fatal(err)
	}
	filled, err := acme.SubmitOrder(ctx, block("f", 8, 0, 24, 2.10))
	if err != nil {
		t.Fatal(err)
	}
	lease := filled.Leases[0].ID
	u := x.srv.URL() + "/api/v1"
	tests := []struct {
		method, path, body string
		status             int
	}{
		{"GET", "/orders/" + resting.Order.ID, "", 404},
		{"DELETE", "/orders/" + resting.Order.ID, "", 404},
		{"POST", "/leases/" + lease + "/resell", `{"from": "2025-01-06T12:00:00Z", "limit_micro_usd_per_gpu_hour": 1, "idempotency_key": "steal"}`, 404},
		{"POST", "/leases/" + lease + "/stop", "{}", 404},
		{"GET", "/invoices/acme?month=2025-01", "", 403},
		{"GET", "/invoices/acme?month=2025-01&format=html", "", 403},
		{"GET", "/statements/northwind-capital?month=2025-01", "", 403},
		{"POST", "/orders", `{"account": "acme", "product": "h100-sxm/west-texas", "kind": "on_demand", "gpus": 1, "limit_micro_usd_per_gpu_hour": 3000000, "idempotency_key": "on-acme"}`, 403},
		{"POST", "/tenants", `{"id": "mallory", "credit_micro_usd": 1000000000000}`, 403},
		{"POST", "/tenants/bob/credit", `{"amount_micro_usd": 1000000000000}`, 403},
		{"POST", "/accounts/acme/token", "{}", 403},
		{"GET", "/accounts", "", 403},
		{"PUT", "/listings", `{"product": "h100-sxm/west-texas", "seller": "operator", "ask_micro_usd_per_gpu_hour": 1}`, 403},
		{"GET", "/owners/northwind-capital", "", 403},
		{"POST", "/owners/northwind-capital/payouts", `{"amount_micro_usd": 1}`, 403},
		{"PUT", "/fill-priorities", `{"product": "h100-sxm/west-texas", "fill_priority": "operator-first"}`, 403},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			st, code, data := call(t, tt.method, u+tt.path, bob.Token, tt.body, nil)
			if st != tt.status || strings.Contains(string(data), `"acme"`) && st != 403 {
				t.Errorf("bob: %d %s %s, want %d", st, code, data, tt.status)
			}
		})
	}
	// Lists show bob only his own, whatever he asks for.
	for _, path := range []string{"/orders", "/orders?account=acme", "/leases", "/leases?tenant=acme"} {
		if st, _, data := call(t, "GET", u+path, bob.Token, "", nil); st != 200 || regexp.MustCompile(`"(o|l)\d+"`).Match(data) {
			t.Errorf("bob lists %s: %d %s", path, st, data)
		}
	}
	// Acme still has its orders and lease, untouched.
	if orders, err := acme.Orders(ctx, jhttp.OrderQuery{}); err != nil || len(orders) != 2 || orders[1].Status != joule.OrderOpen {
		t.Errorf("acme's orders: %+v, %v", orders, err)
	}
	// A wrong token is unauthorized, not another account.
	if st, code, _ := call(t, "GET", u+"/leases", "jl_not-a-token", "", nil); st != 401 || code != joule.EUNAUTHORIZED {
		t.Errorf("bad token: %d %s", st, code)
	}
}

func TestRateLimitPerToken(t *testing.T) {
	x := openExchange(t, 1) // one request a second, bursts of two
	acme := x.tenant(t, "acme", joule.MicroUSDFromUSD(1000))
	u := x.srv.URL() + "/api/v1/leases"
	for i := range 2 {
		if st, _, _ := call(t, "GET", u, acme.Token, "", nil); st != 200 {
			t.Fatalf("request %d: %d", i, st)
		}
	}
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Authorization", "Bearer "+acme.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("third request: %d, Retry-After %q; want 429 and 1", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Another token has its own budget.
	if st, _, _ := call(t, "GET", u, x.opToken, "", nil); st != 200 {
		t.Errorf("the operator is limited by acme's requests: %d", st)
	}
}

func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	s := jhttp.NewServer()
	s.Addr = "127.0.0.1:0"
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, _, data := call(t, "GET", s.URL()+"/api/v1/openapi.json", "", "", nil)
	if st != 200 {
		t.Fatalf("openapi.json: %d", st)
	}
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(data, &doc); err != nil || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("not an OpenAPI 3 document: %v", err)
	}
	wild := regexp.MustCompile(`\{(\w+)\.\.\.\}`)
	described := map[string]bool{}
	for _, route := range s.Routes() {
		method, path, _ := strings.Cut(route, " ")
		path = wild.ReplaceAllString(path, "{$1}")
		described[strings.ToLower(method)+" "+path] = true
		op, ok := doc.Paths[path][strings.ToLower(method)]
		if !ok {
			t.Errorf("route %s has no entry in openapi.json", route)
			continue
		}
		if _, ok := op["responses"]; !ok {
			t.Errorf("%s: no responses", route)
		}
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			if !described[method+" "+path] {
				t.Errorf("openapi.json describes %s %s, which is not a route", method, path)
			}
		}
	}
}

// An order for more GPUs than the product has in all (two pods of 16 servers, 256
// GPUs) is refused with 409 and the product's size, and holds nothing.
func TestOrderBeyondTheProductIsRefused(t *testing.T) {
	x := openExchange(t, 1000)
	ctx := context.Background()
	acme := x.tenant(t, "acme", joule.MicroUSDFromUSD(50_000))
	for _, kind := range []joule.OrderKind{joule.OrderReserved, joule.OrderSpot} {
		o := block("big-"+string(kind), 257, 0, 24, 2.10)
		if kind != joule.OrderReserved {
			o.Kind, o.Start, o.End = kind, time.Time{}, time.Time{}
		}
		body, _ := json.Marshal(o)
		st, code, data := call(t, "POST", x.srv.URL()+"/api/v1/orders", acme.Token, string(body), nil)
		if st != 409 || code != joule.ECAPACITY || !strings.Contains(string(data), "256 GPUs") {
			t.Errorf("%s order for 257 GPUs: %d %s %s", kind, st, code, data)
		}
	}
	orders, err := acme.Orders(ctx, jhttp.OrderQuery{})
	if err != nil || len(orders) != 0 {
		t.Errorf("orders after the refusals: %+v, %v", orders, err)
	}
	inv, err := acme.Invoice(ctx, "acme", "2025-01")
	if err != nil || inv.ClosingHeldMicroUSD != 0 || inv.ClosingCreditMicroUSD != joule.MicroUSDFromUSD(50_000) {
		t.Errorf("invoice after the refusals: %+v, %v", inv, err)
	}
	if _, err := acme.SubmitOrder(ctx, block("all", 256, 0, 24, 2.10)); err != nil {
		t.Errorf("256 GPUs: %v", err)
	}
}

// A tenant short of credit is refused with 403 and a code of its own, so a client can
// tell it apart from other refusals without reading the message.
func TestInsufficientCreditHasItsOwnCode(t *testing.T) {
	x := openExchange(t, 1000)
	bob := x.tenant(t, "bob", joule.MicroUSDFromUSD(10))
	body, _ := json.Marshal(block("k", 8, 0, 24, 2.10))
	if st, code, data := call(t, "POST", x.srv.URL()+"/api/v1/orders", bob.Token, string(body), map[string]string{"Idempotency-Key": "k"}); st != 403 || code != joule.ECREDIT {
		t.Errorf("order beyond credit: %d %s %s", st, code, data)
	}
	_, err := bob.SubmitOrder(context.Background(), block("k2", 8, 0, 24, 2.10))
	if joule.ErrorCode(err) != joule.ECREDIT {
		t.Errorf("through the client: %v has code %q, want %q", err, joule.ErrorCode(err), joule.ECREDIT)
	}
}

// An owner reads its own report but cannot pay itself out or set the fill priority:
// 403, and its balance and the priority stay as they were.
func TestOwnerCannotPayItselfOut(t *testing.T) {
	x := openExchange(t, 1000)
	ctx := context.Background()
	acme := x.tenant(t, "acme", joule.MicroUSDFromUSD(50_000))
	if _, err := acme.SubmitOrder(ctx, block("f", 16, 0, 24, 2.10)); err != nil { // northwind-capital's, the older ask
		t.Fatal(err)
	}
	op, err := x.svc.Principal(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	issued, err := x.svc.IssueToken(ctx, op, "northwind-capital", leasing.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	owner := x.client(issued.Token)
	before, err := owner.Owner(ctx, "northwind-capital", 0)
	if err != nil {
		t.Fatal(err)
	}
	if before.BalanceMicroUSD != joule.MicroUSDFromUSD(16*24*2*0.9) {
		t.Fatalf("balance %s, want $691.20", before.BalanceMicroUSD)
	}
	_, err = owner.Payout(ctx, "northwind-capital", "self", joule.MicroUSDFromUSD(100))
	if joule.ErrorCode(err) != joule.EFORBIDDEN {
		t.Errorf("an owner paying itself out: %v, want forbidden", err)
	}
	_, err = owner.SetFillPriority(ctx, "h100-sxm/west-texas", joule.FillOwnersFirst)
	if joule.ErrorCode(err) != joule.EFORBIDDEN {
		t.Errorf("an owner setting the fill priority: %v, want forbidden", err)
	}
	after, err := owner.Owner(ctx, "northwind-capital", 0)
	if err != nil {
		t.Fatal(err)
	}
	if after.BalanceMicroUSD != before.BalanceMicroUSD || after.Listings[0].FillPriority != joule.FillByTime {
		t.Errorf("after refusals: balance %s, priority %s; want %s and time", after.BalanceMicroUSD, after.Listings[0].FillPriority, before.BalanceMicroUSD)
	}
	// The operator pays it out; more than the balance is refused and pays nothing.
	opc := x.client(x.opToken)
	if _, err := opc.Payout(ctx, "northwind-capital", "wire-1", joule.MicroUSDFromUSD(700)); joule.ErrorCode(err) != joule.EFORBIDDEN {
		t.Errorf("more than the balance: %v, want forbidden", err)
	}
	p, err := opc.Payout(ctx, "northwind-capital", "wire-1", joule.MicroUSDFromUSD(600))
	if err != nil || p.BalanceMicroUSD != joule.MicroUSDFromUSD(91.20) {
		t.Fatalf("payout %+v, %v; want a balance of $91.20 left", p, err)
	}
}
