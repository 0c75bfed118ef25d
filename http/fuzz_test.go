package http_test

import (
	"net/http"
	"testing"

	"github.com/joule-site/joule"
)

// FuzzOrderBody posts arbitrary bodies to the order endpoint of a real exchange: the
// server answers every one with a client error or a success, never an internal error,
// and the book keeps its invariants.
func FuzzOrderBody(f *testing.F) {
	seeds := []string{
		`{"product":"h100-sxm/west-texas","kind":"reserved","gpus":8,"start":"2025-01-06T00:00:00Z","end":"2025-01-06T04:00:00Z","limit_micro_usd_per_gpu_hour":3000000}`,
		`{"product":"h100-sxm/west-texas","kind":"on_demand","gpus":8,"limit_micro_usd_per_gpu_hour":2500000}`,
		`{"product":"h100-sxm/west-texas","kind":"spot","gpus":16,"limit_micro_usd_per_gpu_hour":900000}`,
		`{"product":"h100-sxm/west-texas","kind":"reserved","gpus":-3}`,
		`{"product":"nope","kind":"resale","gpus":1e30}`,
		`{"gpus":"eight"}`, `[]`, `{`, `null`, ``,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	x := openExchange(f, 1e9)
	tenant := x.tenant(f, "fuzzer", joule.MicroUSDFromUSD(1_000_000))
	f.Fuzz(func(t *testing.T, body string) {
		status, code, data := call(t, http.MethodPost, x.srv.URL()+"/api/v1/orders", tenant.Token, body, map[string]string{"Content-Type": "application/json"})
		if status >= 500 || code == joule.EINTERNAL {
			t.Fatalf("status %d (%s) for %q: %s", status, code, body, data)
		}
		if err := x.svc.Check(); err != nil {
			t.Fatalf("after %q: %v", body, err)
		}
	})
}
