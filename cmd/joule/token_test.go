package main_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	domain "github.com/joule-site/joule"
)

// issued is what joule token create --json prints.
type issued struct {
	domain.APIToken
	Token string
}

// TestTokenCommands issues, lists and revokes tokens on a local store, as the
// operator and as a tenant, finds each change in the exchange's audit log, and uses
// the operator's token against joule serve, as an operator bootstraps a server.
func TestTokenCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "joule.db")
	if r := run(t, dir, "tenant", "create", "acme", "--credit-usd", "10"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	r := run(t, dir, "token", "create", "operator", "--name", "laptop", "--expires", "30d")
	opToken := strings.TrimSpace(r.stdout)
	if r.code != 0 || !strings.HasPrefix(opToken, "jl_") || strings.Contains(opToken, "\n") || !strings.Contains(r.stderr, `"laptop" of operator, expires `) {
		t.Fatalf("token create operator: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	var ci, forever issued
	jsonRun(t, dir, &ci, "token", "create", "acme", "--name", "ci", "--expires", "12h", "--json")
	if ci.Account != "acme" || ci.Name != "ci" || !domain.ValidTokenID(ci.ID) || !strings.HasPrefix(ci.Token, "jl_") ||
		ci.ExpiresAt.Sub(ci.CreatedAt) != 12*time.Hour || ci.CreatedBy != "operator" {
		t.Errorf("token create acme --json: %+v", ci)
	}
	jsonRun(t, dir, &forever, "token", "create", "acme", "--name", "forever", "--expires", "never", "--json")
	if !forever.ExpiresAt.IsZero() {
		t.Errorf("--expires never: %+v", forever)
	}
	var self issued
	inHalfAYear := time.Now().AddDate(0, 6, 0).Format(time.DateOnly)
	jsonRun(t, dir, &self, "--as", "acme", "token", "create", "acme", "--name", "self", "--expires", inHalfAYear, "--json")
	if self.CreatedBy != "acme" || self.ExpiresAt.Format(time.DateOnly) != inHalfAYear {
		t.Errorf("acme's own token: %+v", self)
	}
	if r := run(t, dir, "--as", "acme", "token", "create", "acme", "--expires", "never"); r.code != 1 || !strings.Contains(r.stderr, "only the operator") {
		t.Errorf("a tenant's token that never expires: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, dir, "--as", "acme", "token", "ls", "operator"); r.code != 1 || !strings.Contains(r.stderr, "only the operator") {
		t.Errorf("a tenant lists the operator's tokens: exit %d %s", r.code, r.stderr)
	}
	// The old command still issues one, and revokes none.
	if r := run(t, dir, "account", "token", "acme"); r.code != 0 || !strings.HasPrefix(r.stdout, "jl_") || !strings.Contains(r.stderr, "deprecated") {
		t.Errorf("account token: exit %d %q %q", r.code, r.stdout, r.stderr)
	}

	var list struct{ Tokens []domain.APIToken }
	jsonRun(t, dir, &list, "token", "ls", "acme", "--json")
	var names []string
	for _, tok := range list.Tokens {
		names = append(names, tok.Name)
	}
	if got := strings.Join(names, " "); got != "default ci forever self default" {
		t.Errorf("acme's tokens: %s", got)
	}
	r = run(t, dir, "token", "ls")
	if r.code != 0 || !strings.Contains(r.stdout, "ID") || !strings.Contains(r.stdout, "laptop") || !strings.Contains(r.stdout, "never") ||
		strings.Contains(r.stdout, ci.Token) || strings.Contains(r.stdout, domain.HashToken(ci.Token)) {
		t.Errorf("token ls: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	var revoked domain.APIToken
	jsonRun(t, dir, &revoked, "token", "revoke", ci.ID, "--json")
	if revoked.ID != ci.ID || revoked.RevokedAt.IsZero() {
		t.Errorf("token revoke: %+v", revoked)
	}
	if r := run(t, dir, "token", "revoke", ci.ID); r.code != 1 || !strings.Contains(r.stderr, "was revoked") {
		t.Errorf("revoked twice: exit %d %s", r.code, r.stderr)
	}

	var log struct{ Audit []domain.Audit }
	jsonRun(t, dir, &log, "audit", "--json")
	var reasons []string
	for _, e := range log.Audit {
		reasons = append(reasons, e.Actor+": "+e.Reason)
	}
	want := "operator: account created, operator: token issued, operator: token issued, operator: token issued, acme: token issued, operator: token issued, operator: token revoked"
	if got := strings.Join(reasons, ", "); got != want {
		t.Errorf("the exchange's audit log:\n got %s\nwant %s", got, want)
	}
	if r := run(t, dir, "audit"); r.code != 0 || !strings.Contains(r.stdout, "token revoked: API token "+ci.ID) {
		t.Errorf("audit: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"a bad expiry", []string{"token", "create", "acme", "--expires", "soon"}, `--expires "soon"`},
		{"an expiry too far", []string{"token", "create", "acme", "--expires", "400d"}, "more than 365 days"},
		{"a lifetime under a second", []string{"token", "create", "acme", "--expires", "10ms"}, "at least a second"},
		{"no account", []string{"token", "create"}, "accepts 1 arg(s)"},
		{"an unknown account", []string{"token", "create", "nobody"}, "not found"},
		{"a bad id", []string{"token", "revoke", "acme"}, "token id"},
		{"two accounts", []string{"token", "ls", "acme", "bob"}, "unexpected argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, dir, tc.args...)
			if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("joule %s: exit %d, stderr %q; want exit 1 saying %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.want)
			}
		})
	}

	// The operator's token, issued on the local store, signs in to the server; acme's
	// revoked one does not.
	_, url := startServe(t, db)
	if r := run(t, dir, "--server", url, "--token", opToken, "token", "ls", "operator"); r.code != 0 || !strings.Contains(r.stdout, "laptop") {
		t.Errorf("the operator's token against the server: exit %d %s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, dir, "--server", url, "--token", ci.Token, "token", "ls"); r.code != 1 || !strings.Contains(r.stderr, "revoked") {
		t.Errorf("a revoked token against the server: exit %d %s", r.code, r.stderr)
	}
	if r := run(t, dir, "--server", url, "--token", self.Token, "audit"); r.code != 1 || !strings.Contains(r.stderr, "only the operator") {
		t.Errorf("a tenant reads the exchange's audit log: exit %d %s", r.code, r.stderr)
	}
}
