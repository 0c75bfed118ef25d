package http_test

import (
	"context"
	"strings"
	"testing"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/leasing"
	"github.com/joule-site/joule/ledger"
)

// Money in a request beyond what one amount may be (joule.MaxMicroUSD), or beyond
// what JSON's number fits in an int64, is refused with 400 naming the field, and
// changes nothing: no credit, no account, no order, no listing.
func TestMoneyBeyondTheBoundIsRefused(t *testing.T) {
	s, _ := authServer(t)
	op, svc, ctx := opToken(s), s.Leasing.(*leasing.Service), context.Background()
	operator, err := svc.Principal(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	issued, err := svc.IssueToken(ctx, operator, "acme", leasing.TokenRequest{Name: "money"})
	if err != nil {
		t.Fatal(err)
	}
	acme := issued.Token
	credit := func() joule.MicroUSD { return svc.Balance(ledger.TenantCredit("acme")) }
	before, was := state(t, s), credit()
	for _, tc := range []struct {
		name, method, path, token, body, field string
	}{
		{"a credit of 1e300", "POST", "/api/v1/tenants/acme/credit", op, `{"amount_micro_usd": 1e300}`, "amount_micro_usd"},
		{"a credit of the largest int64", "POST", "/api/v1/tenants/acme/credit", op, `{"amount_micro_usd": 9223372036854775807}`, "amount_micro_usd"},
		{"a credit beyond the largest int64", "POST", "/api/v1/tenants/acme/credit", op, `{"amount_micro_usd": 9223372036854775808}`, "amount_micro_usd"},
		{"a credit of $1 billion and a micro-dollar", "POST", "/api/v1/tenants/acme/credit", op, `{"amount_micro_usd": 1000000000000001}`, "amount_micro_usd"},
		{"a negative credit", "POST", "/api/v1/tenants/acme/credit", op, `{"amount_micro_usd": -9223372036854775808}`, "amount_micro_usd"},
		{"a new tenant's credit", "POST", "/api/v1/tenants", op, `{"id": "rich", "credit_micro_usd": 9223372036854775807}`, "credit_micro_usd"},
		{"a new account's credit", "POST", "/api/v1/accounts", op, `{"id": "rich", "role": "tenant", "credit_micro_usd": 1e300}`, "credit_micro_usd"},
		{"an ask", "PUT", "/api/v1/listings", op, `{"product": "h100-sxm/west-texas", "seller": "operator", "ask_micro_usd_per_gpu_hour": 9223372036854775807}`, "ask_micro_usd_per_gpu_hour"},
		{"an order's limit", "POST", "/api/v1/orders", acme, `{"idempotency_key": "rich", "product": "h100-sxm/west-texas", "kind": "on_demand", "gpus": 8, "limit_micro_usd_per_gpu_hour": 9223372036854775807}`, "limit_micro_usd_per_gpu_hour"},
		{"a resale's limit", "POST", "/api/v1/leases/l1/resell", acme, `{"idempotency_key": "rich", "from": "2024-08-21T00:00:00Z", "limit_micro_usd_per_gpu_hour": 1000000000000001}`, "limit_micro_usd_per_gpu_hour"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, code, data := call(t, tc.method, s.URL()+tc.path, tc.token, tc.body, nil)
			if st != 400 || code != joule.EINVALID || !strings.Contains(string(data), tc.field) {
				t.Errorf("%d %s %s, want 400 invalid naming %s", st, code, data, tc.field)
			}
		})
	}
	if after := state(t, s); after != before {
		t.Errorf("a refused amount changed the store:\nbefore %s\nafter  %s", before, after)
	}
	if now := credit(); now != was {
		t.Errorf("acme's credit went from %d to %d", was, now)
	}
	// The largest amount itself is taken.
	if st, _, data := call(t, "POST", s.URL()+"/api/v1/tenants/acme/credit", op, `{"amount_micro_usd": 1000000000000000}`, nil); st != 200 {
		t.Errorf("a credit of $1 billion: %d %s", st, data)
	}
	if now := credit(); now != was+joule.MaxMicroUSD {
		t.Errorf("acme's credit is %d after $1 billion more, want %d", now, was+joule.MaxMicroUSD)
	}
	if err := svc.Check(); err != nil {
		t.Errorf("the exchange's ledger: %v", err)
	}
}
