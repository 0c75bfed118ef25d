package http_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/joule-site/joule"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/leasing"
	"github.com/joule-site/joule/sqlite"
)

// testClock is a clock that moves only when a test moves it.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// tokenServer is a server on a real store with the example site, the tenants acme and
// bob, and a clock that the test moves.
func tokenServer(t *testing.T) (*jhttp.Server, *testClock) {
	t.Helper()
	clock := &testClock{t: time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)}
	s := openServer(t, func(s *jhttp.Server, _ *sqlite.DB) {
		s.Now = clock.Now
		s.RateLimit = 10_000
	})
	ctx := context.Background()
	if _, err := client(s).Apply(ctx, "west-texas.yaml", example(t)); err != nil {
		t.Fatal(err)
	}
	// The exchange lists the example's GPU servers, as its first tick would.
	if err := s.Leasing.(*leasing.Service).SyncListings(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"acme", "bob"} {
		if _, err := client(s).CreateTenant(ctx, jhttp.TenantRequest{ID: id, CreditMicroUSD: 1_000_000}); err != nil {
			t.Fatal(err)
		}
	}
	return s, clock
}

// as is a client of s with token.
func as(s *jhttp.Server, token string) *jhttp.Client {
	c := jhttp.NewClient(s.URL())
	c.Token = token
	return c
}

// whoami calls GET /api/v1/whoami with token and returns the status, the error code
// and the body.
func whoami(t *testing.T, s *jhttp.Server, token string) (int, string, string) {
	t.Helper()
	st, code, data := call(t, "GET", s.URL()+"/api/v1/whoami", token, "", nil)
	return st, code, string(data)
}

// exchangeLog reads the exchange's own audit log as the operator.
func exchangeLog(t *testing.T, s *jhttp.Server) []*joule.Audit {
	t.Helper()
	log, err := client(s).Audit(context.Background(), joule.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	return log
}

// A token with an expiry works until then and is refused from then on with 401 and a
// message saying it expired; the account's other tokens keep working.
func TestExpiredTokenIsRefused(t *testing.T) {
	s, clock := tokenServer(t)
	ctx := context.Background()
	hour, err := client(s).IssueToken(ctx, "acme", jhttp.TokenRequest{Name: "an hour", ExpiresInS: 3600})
	if err != nil {
		t.Fatal(err)
	}
	if !hour.ExpiresAt.Equal(clock.Now().Add(time.Hour)) || hour.Account != "acme" || hour.Name != "an hour" || hour.CreatedBy != "operator" {
		t.Errorf("issued %+v, want acme's token expiring at %s", hour, clock.Now().Add(time.Hour))
	}
	lasting, err := client(s).IssueToken(ctx, "acme", jhttp.TokenRequest{Name: "lasting"})
	if err != nil {
		t.Fatal(err)
	}
	if st, _, body := whoami(t, s, hour.Token); st != 200 || !strings.Contains(body, `"acme"`) {
		t.Fatalf("before its expiry: %d %s", st, body)
	}
	clock.Advance(time.Hour)
	st, code, body := whoami(t, s, hour.Token)
	if st != 401 || code != joule.EUNAUTHORIZED || !strings.Contains(body, "expired at 2025-03-03T10:00:00Z") {
		t.Errorf("at its expiry: %d %s, want 401 saying it expired", st, body)
	}
	if st, _, body := whoami(t, s, lasting.Token); st != 200 {
		t.Errorf("acme's other token: %d %s", st, body)
	}
	// The default lifetime is 90 days.
	if want := hour.CreatedAt.Add(leasing.DefaultTokenTTL); !lasting.ExpiresAt.Equal(want) {
		t.Errorf("a token without an expiry expires %s, want %s", lasting.ExpiresAt, want)
	}
	clock.Advance(leasing.DefaultTokenTTL)
	if st, _, body := whoami(t, s, lasting.Token); st != 401 || !strings.Contains(body, "expired") {
		t.Errorf("after 90 days: %d %s, want 401 saying it expired", st, body)
	}
}

// A revoked token is refused at once with 401 saying so, and its account's other
// tokens, and the operator's first, keep working: issuing a token revokes none.
func TestRevokedTokenIsRefused(t *testing.T) {
	s, _ := tokenServer(t)
	ctx := context.Background()
	first := opToken(s)
	second, err := client(s).IssueToken(ctx, "operator", jhttp.TokenRequest{Name: "laptop", NeverExpires: true})
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"first": first, "second": second.Token} {
		if st, _, body := whoami(t, s, tok); st != 200 {
			t.Errorf("the operator's %s token after the second was issued: %d %s", name, st, body)
		}
	}
	revoked, err := as(s, second.Token).RevokeToken(ctx, second.ID)
	if err != nil || revoked.RevokedAt.IsZero() || revoked.ID != second.ID {
		t.Fatalf("revoke: %+v, %v", revoked, err)
	}
	st, code, body := whoami(t, s, second.Token)
	if st != 401 || code != joule.EUNAUTHORIZED || !strings.Contains(body, "revoked") {
		t.Errorf("the revoked token: %d %s, want 401 saying it was revoked", st, body)
	}
	if st, _, body := whoami(t, s, first); st != 200 {
		t.Errorf("the operator's first token after the second was revoked: %d %s", st, body)
	}
	if _, err := client(s).RevokeToken(ctx, second.ID); joule.ErrorCode(err) != joule.ECONFLICT {
		t.Errorf("revoked twice: %v, want a conflict", err)
	}
	// The old route issues one more token, named default, and revokes none.
	st, _, data := call(t, "POST", s.URL()+"/api/v1/accounts/operator/token", first, "{}", nil)
	var old leasing.IssuedToken
	if err := json.Unmarshal(data, &old); st != 200 || err != nil || old.Name != "default" || old.Account != "operator" || !strings.HasPrefix(old.Token, "jl_") {
		t.Errorf("POST …/token: %d %s", st, data)
	}
	if st, _, body := whoami(t, s, first); st != 200 {
		t.Errorf("the first token after POST …/token: %d %s", st, body)
	}
}

// A tenant lists, issues and revokes its own tokens and no one else's: another's are
// forbidden and stay as they were, in the store and in the audit log.
func TestTenantsKeepToTheirOwnTokens(t *testing.T) {
	s, _ := tokenServer(t)
	ctx := context.Background()
	acmeTok, err := client(s).IssueToken(ctx, "acme", jhttp.TokenRequest{Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	bobTok, err := client(s).IssueToken(ctx, "bob", jhttp.TokenRequest{Name: "bob's"})
	if err != nil {
		t.Fatal(err)
	}
	bob := as(s, bobTok.Token)
	before := state(t, s)
	u := s.URL() + "/api/v1"
	for _, tt := range []struct{ method, path, body string }{
		{"GET", "/accounts/acme/tokens", ""},
		{"POST", "/accounts/acme/tokens", `{"name": "mine now"}`},
		{"POST", "/accounts/acme/token", "{}"},
		{"POST", "/tokens/" + acmeTok.ID + "/revoke", "{}"},
		{"GET", "/audit", ""},
	} {
		if st, code, data := call(t, tt.method, u+tt.path, bobTok.Token, tt.body, nil); st != 403 || code != joule.EFORBIDDEN {
			t.Errorf("bob %s %s: %d %s, want 403", tt.method, tt.path, st, data)
		}
	}
	if after := state(t, s); after != before {
		t.Errorf("bob's refused requests changed the store:\nbefore %s\nafter  %s", before, after)
	}
	if st, _, body := whoami(t, s, acmeTok.Token); st != 200 {
		t.Errorf("acme's token after bob's tries: %d %s", st, body)
	}
	// Bob's own: he sees only his, and may add and revoke them.
	mine, err := bob.Tokens(ctx, "")
	if err != nil || len(mine) != 2 || mine[0].Account != "bob" || mine[1].ID != bobTok.ID {
		t.Errorf("bob's list of every token he may see: %+v, %v", mine, err)
	}
	if strings.Contains(fmt.Sprint(mine), joule.HashToken(bobTok.Token)) {
		t.Error("the list shows a token's hash")
	}
	spare, err := bob.IssueToken(ctx, "bob", jhttp.TokenRequest{Name: "spare", ExpiresInS: 86400})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.RevokeToken(ctx, spare.ID); err != nil {
		t.Errorf("bob revokes his own token: %v", err)
	}
	// Only the operator issues a token that never expires or outlasts 365 days.
	if _, err := bob.IssueToken(ctx, "bob", jhttp.TokenRequest{NeverExpires: true}); joule.ErrorCode(err) != joule.EFORBIDDEN {
		t.Errorf("bob asks for a token that never expires: %v, want forbidden", err)
	}
	if _, err := bob.IssueToken(ctx, "bob", jhttp.TokenRequest{ExpiresInS: 366 * 86400}); joule.ErrorCode(err) != joule.EINVALID || !strings.Contains(err.Error(), "expires_in_s") {
		t.Errorf("bob asks for a token of 366 days: %v, want invalid, naming expires_in_s", err)
	}
}

// A request for a token that names no valid name or expiry, or a revocation of an ID
// that is not one, is refused with 400 naming the field, and changes nothing.
func TestBadTokenRequestsChangeNothing(t *testing.T) {
	s, clock := tokenServer(t)
	u := s.URL() + "/api/v1"
	before := state(t, s)
	for _, tt := range []struct {
		path, body, want string
	}{
		{"/accounts/acme/tokens", `{"expires_in_s": 3600, "never_expires": true}`, "not several"},
		{"/accounts/acme/tokens", `{"expires_in_s": -5}`, "expires_in_s must be positive"},
		{"/accounts/acme/tokens", `{"expires_in_s": 9223372036854775807}`, "expires_in_s"},
		{"/accounts/acme/tokens", `{"expires_at": "` + clock.Now().Add(-time.Minute).Format(time.RFC3339) + `"}`, "expires_at: the expiry"},
		{"/accounts/acme/tokens", `{"expires_at": "next week"}`, "bad JSON body"},
		{"/accounts/acme/tokens", `{"name": "` + strings.Repeat("n", 65) + `"}`, "API token name"},
		{"/accounts/acme/tokens", `{"name": "tab\there"}`, "printable"},
		{"/accounts/acme/tokens", `{"nmae": "typo"}`, "unknown field"},
		{"/accounts/acme/tokens", ``, "body is empty"},
		{"/tokens/acme/revoke", `{}`, "token id"},
	} {
		st, code, data := call(t, "POST", u+tt.path, opToken(s), tt.body, nil)
		if st != 400 || code != joule.EINVALID || !strings.Contains(string(data), tt.want) {
			t.Errorf("POST %s %s: %d %s, want 400 saying %q", tt.path, tt.body, st, data, tt.want)
		}
	}
	if st, _, data := call(t, "POST", u+"/accounts/nobody/tokens", opToken(s), `{}`, nil); st != 404 {
		t.Errorf("a token for no account: %d %s, want 404", st, data)
	}
	if st, _, data := call(t, "POST", u+"/tokens/tok_0123456789abcdef/revoke", opToken(s), `{}`, nil); st != 404 {
		t.Errorf("revoke an unknown token: %d %s, want 404", st, data)
	}
	for _, q := range []string{"after=-1", "after=x", "limit=0", "limit=10001"} {
		if st, _, data := call(t, "GET", u+"/audit?"+q, opToken(s), "", nil); st != 400 {
			t.Errorf("GET /audit?%s: %d %s, want 400", q, st, data)
		}
	}
	if after := state(t, s); after != before {
		t.Errorf("refused requests changed the store:\nbefore %s\nafter  %s", before, after)
	}
}

// Every change made through the exchange and the manifests is audited with the
// account that made it and the server's time: tokens issued and revoked, tenants and
// accounts created, credit added, in the exchange's own log; an ask and a manifest
// applied, in the site's.
func TestChangesAreAuditedWithTheirActor(t *testing.T) {
	s, clock := tokenServer(t)
	ctx := context.Background()
	alice := as(s, token(t, s, joule.RoleOperator, ""))
	who, err := s.Leasing.Authenticate(ctx, alice.Token)
	if err != nil {
		t.Fatal(err)
	}
	start := exchangeLog(t, s)
	at := clock.Advance(time.Minute)

	tok, err := alice.IssueToken(ctx, "acme", jhttp.TokenRequest{Name: "ci", ExpiresInS: 86400})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.RevokeToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.CreateTenant(ctx, jhttp.TenantRequest{ID: "carol", CreditMicroUSD: 5_000_000}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.CreateAccount(ctx, leasing.NewAccountRequest{ID: "noc", Role: joule.RoleViewer}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the retry with the same key deposits, and is audited, once
		if _, err := alice.AddCredit(ctx, "acme", "wire-7", 2_500_000); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := alice.SetAsk(ctx, "h100-sxm/west-texas", "operator", 2_250_000, false); err != nil {
		t.Fatal(err)
	}
	manifest := strings.Replace(string(example(t)), "power_cap_mw: 50", "power_cap_mw: 45", 1)
	if _, err := alice.Apply(ctx, "west-texas.yaml", []byte(manifest)); err != nil {
		t.Fatal(err)
	}
	// A tenant's own token is audited as the tenant's.
	acmeTok, err := client(s).IssueToken(ctx, "acme", jhttp.TokenRequest{Name: "acme's"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := as(s, acmeTok.Token).IssueToken(ctx, "acme", jhttp.TokenRequest{Name: "self-issued"}); err != nil {
		t.Fatal(err)
	}

	type row struct{ actor, reason, detail string }
	var got []row
	for _, e := range exchangeLog(t, s)[len(start):] {
		if e.Kind != joule.AuditChange || e.Site != "" || e.Outcome != joule.OutcomeOK || !e.At.Equal(at) {
			t.Errorf("exchange row %+v: want a change in the exchange's log at the server's %s", e, at)
		}
		got = append(got, row{e.Actor, e.Reason, e.Detail})
	}
	want := []struct{ actor, reason, detail string }{
		{who.ID, "token issued", tok.ID + ` "ci" of acme, expires 2025-03-04T09:01:00Z`},
		{who.ID, "token revoked", tok.ID},
		{who.ID, "account created", "account carol (tenant) created with API token"},
		{who.ID, "account created", "account noc (viewer) created"},
		{who.ID, "credit added", "$2.50 of credit added to tenant acme (key wire-7)"},
		{"operator", "token issued", `"acme's" of acme`},
		{"acme", "token issued", `"self-issued" of acme`},
	}
	if len(got) != len(want) {
		t.Fatalf("the exchange's log has %d new rows, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if got[i].actor != w.actor || got[i].reason != w.reason || !strings.Contains(got[i].detail, w.detail) {
			t.Errorf("row %d: %+v, want actor %s, %q, with %q", i, got[i], w.actor, w.reason, w.detail)
		}
	}
	if !strings.Contains(got[2].detail, "$5.00 of credit") {
		t.Errorf("the tenant's creation does not say its credit: %q", got[2].detail)
	}

	var site struct{ Audit []joule.Audit }
	if code := getJSON(t, s, "/api/v1/sites/west-texas/audit?tail=100", &site); code != 200 {
		t.Fatalf("site audit: %d", code)
	}
	var changes []row
	for _, e := range site.Audit {
		if e.Kind == joule.AuditChange {
			changes = append(changes, row{e.Actor, e.Reason, e.Detail})
		}
	}
	if len(changes) != 3 { // the test server's own apply, then alice's ask and manifest
		t.Fatalf("the site's changes: %+v", changes)
	}
	if c := changes[1]; c.actor != who.ID || c.reason != "ask set" || !strings.Contains(c.detail, "h100-sxm/west-texas: operator asks $2.25 per GPU-hour") {
		t.Errorf("the ask in the site's log: %+v", c)
	}
	if c := changes[2]; c.actor != who.ID || c.reason != "manifest applied" || c.detail != "west-texas.yaml: site west-texas updated" {
		t.Errorf("the manifest in the site's log: %+v", c)
	}
	if c := changes[0]; c.actor != "operator" || !strings.Contains(c.detail, "site west-texas created, fleet ") {
		t.Errorf("the first manifest in the site's log: %+v", c)
	}
}
