package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule"
)

// fixtureToken is a token of account whose secret is secret, issued by the operator
// at now, that never expires.
func fixtureToken(id, account, secret string, now time.Time) *joule.NewToken {
	return &joule.NewToken{Hash: joule.HashToken(secret), APIToken: joule.APIToken{
		ID: id, Account: account, Name: "default", CreatedAt: now, CreatedBy: "operator"}}
}

// tokenAudit is the audit row the exchange writes with a token's issue or revocation.
func tokenAudit(at time.Time, reason, id string) *joule.Audit {
	return &joule.Audit{At: at, Kind: joule.AuditChange, Outcome: joule.OutcomeOK, Reason: reason, Actor: "operator", Detail: "API token " + id}
}

// createToken stores a token with its audit row and fails the test on error.
func (e *env) createToken(t *testing.T, tok *joule.NewToken) {
	t.Helper()
	if err := e.Leasing.CreateToken(e.ctx, tok, tokenAudit(tok.CreatedAt, "token issued", tok.ID)); err != nil {
		t.Fatalf("CreateToken %s: %v", tok.ID, err)
	}
}

// authenticates fails the test unless secret's token is account's at now.
func (e *env) authenticates(t *testing.T, what, secret, account string, now time.Time) {
	t.Helper()
	a, err := e.Leasing.AccountByTokenHash(e.ctx, joule.HashToken(secret), now)
	if err != nil || a.ID != account {
		t.Errorf("%s: account %+v, %v; want %s", what, a, err, account)
	}
}

// refused fails the test unless secret's token is refused at now with EUNAUTHORIZED
// and a message that says why.
func (e *env) refused(t *testing.T, what, secret string, now time.Time, why string) {
	t.Helper()
	_, err := e.Leasing.AccountByTokenHash(e.ctx, joule.HashToken(secret), now)
	if joule.ErrorCode(err) != joule.EUNAUTHORIZED || !strings.Contains(joule.ErrorMessage(err), why) {
		t.Errorf("%s: %v (code %q); want unauthorized, saying %q", what, err, joule.ErrorCode(err), why)
	}
}

// exchangeLog is the exchange's own audit log: the rows of site "".
func (e *env) exchangeLog(t *testing.T) []*joule.Audit {
	t.Helper()
	log, err := e.Live.Audit(e.ctx, joule.AuditQuery{Site: "", After: 0, Limit: 0})
	if err != nil {
		t.Fatal(err)
	}
	return log
}

// An account holds several tokens, each of which authenticates it; a listing gives
// their records, oldest first, never a hash; each issue is in the exchange's log.
func testTokensManyPerAccount(t *testing.T, e *env) {
	t0 := e.clock.Now()
	e.saveLeasing(t, leasingFixture(t0))
	ci := fixtureToken("tok_00000000000000c1", "acme", "acme-ci", e.clock.Advance(time.Minute))
	ci.Name, ci.ExpiresAt = "ci", ci.CreatedAt.Add(30*24*time.Hour)
	laptop := fixtureToken("tok_00000000000000c2", "acme", "acme-laptop", e.clock.Advance(time.Minute))
	laptop.Name, laptop.CreatedBy = "laptop", "acme"
	owner := fixtureToken("tok_00000000000000c3", "northwind", "northwind-token", e.clock.Advance(time.Minute))
	for _, tok := range []*joule.NewToken{ci, laptop, owner} {
		e.createToken(t, tok)
	}
	now := e.clock.Now()
	for _, secret := range []string{"acme-token", "acme-ci", "acme-laptop"} {
		e.authenticates(t, "acme's token "+secret, secret, "acme", now)
	}
	e.authenticates(t, "northwind's token", "northwind-token", "northwind", now)

	fixture := leasingFixture(t0)
	want := []*joule.APIToken{utcToken(fixture.Accounts[0].Token.APIToken), utcToken(ci.APIToken), utcToken(laptop.APIToken)}
	got, err := e.Leasing.Tokens(e.ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	checkEqual(t, "acme's tokens, oldest first", got, want)
	all, err := e.Leasing.Tokens(e.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, tok := range all {
		ids = append(ids, tok.ID)
	}
	checkEqual(t, "every token, oldest first", strings.Join(ids, " "),
		"tok_00000000000000ac tok_000000000000000f tok_00000000000000c1 tok_00000000000000c2 tok_00000000000000c3")
	for _, secret := range []string{"acme-token", "op-token", "acme-ci", "acme-laptop", "northwind-token"} {
		if text := jsonText(all); strings.Contains(text, joule.HashToken(secret)) {
			t.Errorf("the listing of tokens shows the hash of %s: %s", secret, text)
		}
	}
	if got, err := e.Leasing.Token(e.ctx, laptop.ID); err != nil {
		t.Error(err)
	} else {
		checkEqual(t, "token by id", got, utcToken(laptop.APIToken))
	}
	_, err = e.Leasing.Token(e.ctx, "tok_ffffffffffffffff")
	checkCode(t, "unknown token id", err, joule.ENOTFOUND)

	log := e.exchangeLog(t)
	if len(log) != 3 || log[0].Detail != "API token "+ci.ID || log[2].Detail != "API token "+owner.ID ||
		log[0].Actor != "operator" || log[0].Kind != joule.AuditChange || !log[1].At.Equal(laptop.CreatedAt) {
		t.Errorf("the exchange's log after three tokens: %s", jsonText(log))
	}
}

// A token works until the instant it expires, and is refused from then on with a
// message that says so; one without an expiry never does.
func testTokenExpiry(t *testing.T, e *env) {
	t0 := e.clock.Now()
	e.saveLeasing(t, leasingFixture(t0))
	hour := fixtureToken("tok_0000000000000001", "acme", "an-hour", t0)
	hour.ExpiresAt = t0.Add(time.Hour)
	e.createToken(t, hour)
	e.authenticates(t, "just before its expiry", "an-hour", "acme", hour.ExpiresAt.Add(-time.Microsecond))
	e.refused(t, "at its expiry", "an-hour", hour.ExpiresAt, "expired at")
	e.refused(t, "a day later", "an-hour", t0.Add(24*time.Hour), "expired at")
	e.authenticates(t, "a token without expiry, a century on", "acme-token", "acme", t0.AddDate(100, 0, 0))
	if got, err := e.Leasing.Token(e.ctx, hour.ID); err != nil || !got.ExpiresAt.Equal(hour.ExpiresAt) || got.ExpiresAt.Location() != time.UTC {
		t.Errorf("the expiring token reads back as %+v, %v", got, err)
	}
}

// A revoked token is refused at once, saying so, and the account's other tokens keep
// working; revoking it again is a conflict that changes nothing.
func testTokenRevoke(t *testing.T, e *env) {
	t0 := e.clock.Now()
	e.saveLeasing(t, leasingFixture(t0))
	laptop := fixtureToken("tok_00000000000000c2", "acme", "acme-laptop", t0)
	e.createToken(t, laptop)
	at := e.clock.Advance(time.Hour)
	got, err := e.Leasing.RevokeToken(e.ctx, laptop.ID, at, tokenAudit(at, "token revoked", laptop.ID))
	if err != nil {
		t.Fatal(err)
	}
	want := utcToken(laptop.APIToken)
	want.RevokedAt = at.UTC()
	checkEqual(t, "the revoked token", got, want)
	if stored, err := e.Leasing.Token(e.ctx, laptop.ID); err != nil {
		t.Error(err)
	} else {
		checkEqual(t, "the revoked token read back", stored, want)
	}
	e.refused(t, "a revoked token", "acme-laptop", at, "revoked")
	e.refused(t, "a revoked token, later", "acme-laptop", at.Add(time.Hour), "revoked")
	e.authenticates(t, "acme's other token", "acme-token", "acme", at)

	later := e.clock.Advance(time.Hour)
	_, err = e.Leasing.RevokeToken(e.ctx, laptop.ID, later, tokenAudit(later, "token revoked", laptop.ID))
	checkCode(t, "revoked twice", err, joule.ECONFLICT)
	_, err = e.Leasing.RevokeToken(e.ctx, "tok_ffffffffffffffff", later, tokenAudit(later, "token revoked", "tok_ffffffffffffffff"))
	checkCode(t, "an unknown token", err, joule.ENOTFOUND)
	if stored, _ := e.Leasing.Token(e.ctx, laptop.ID); stored == nil || !stored.RevokedAt.Equal(at) {
		t.Errorf("a refused revocation moved the time of the first: %+v", stored)
	}
	var reasons []string
	for _, row := range e.exchangeLog(t) {
		reasons = append(reasons, row.Reason)
	}
	checkEqual(t, "the exchange's log", strings.Join(reasons, ", "), "token issued, token revoked")
}

// A token that is not valid, of an unknown account, or whose ID or hash is taken is
// refused, and stores neither it nor its audit row.
func testTokenRefusals(t *testing.T, e *env) {
	t0 := e.clock.Now()
	e.saveLeasing(t, leasingFixture(t0))
	bad := map[string]struct {
		token *joule.NewToken
		code  string
	}{
		"unknown account": {fixtureToken("tok_0000000000000001", "nobody", "x1", t0), joule.ENOTFOUND},
		"id taken":        {fixtureToken("tok_00000000000000ac", "acme", "x2", t0), joule.ECONFLICT},
		"hash taken":      {fixtureToken("tok_0000000000000003", "northwind", "acme-token", t0), joule.ECONFLICT},
		"bad id":          {fixtureToken("acme-1", "acme", "x4", t0), joule.EINVALID},
		"no name": {func() *joule.NewToken {
			tok := fixtureToken("tok_0000000000000005", "acme", "x5", t0)
			tok.Name = ""
			return tok
		}(), joule.EINVALID},
		"bad hash": {func() *joule.NewToken {
			tok := fixtureToken("tok_0000000000000006", "acme", "x6", t0)
			tok.Hash = "x6"
			return tok
		}(), joule.EINVALID},
		"expired at birth": {func() *joule.NewToken {
			tok := fixtureToken("tok_0000000000000007", "acme", "x7", t0)
			tok.ExpiresAt = t0
			return tok
		}(), joule.EINVALID},
	}
	before, err := e.Leasing.Tokens(e.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for name, tt := range bad {
		t.Run(name, func(t *testing.T) {
			err := e.Leasing.CreateToken(e.ctx, tt.token, tokenAudit(t0, "token issued", tt.token.ID))
			checkCode(t, name, err, tt.code)
			after, err := e.Leasing.Tokens(e.ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, "tokens after a refused one", after, before)
			if log := e.exchangeLog(t); len(log) != 0 {
				t.Errorf("a refused token was audited: %s", jsonText(log))
			}
		})
	}
}

// The audit rows of an exchange operation are saved with it, in the exchange's log
// (site "") or a site's; a change that is refused saves none of them.
func testExchangeAudit(t *testing.T, e *env) {
	t0 := e.clock.Now()
	ch := leasingFixture(t0)
	ch.Audit = []joule.Audit{
		{At: t0, Kind: joule.AuditChange, Outcome: joule.OutcomeOK, Reason: "account created", Actor: "operator", Detail: "account acme (tenant) created"},
		{Site: "west", At: t0, Kind: joule.AuditChange, Outcome: joule.OutcomeOK, Reason: "ask set", Actor: "operator", Detail: "h100/west: operator asks $2.10 per GPU-hour"},
	}
	v := e.saveLeasing(t, ch)
	log := e.exchangeLog(t)
	if len(log) != 1 || log[0].Reason != "account created" || log[0].Actor != "operator" || !log[0].At.Equal(t0) || log[0].ID == 0 {
		t.Errorf("the exchange's log: %s", jsonText(log))
	}
	site, err := e.Live.Audit(e.ctx, joule.AuditQuery{Site: "west", After: 0, Limit: 0})
	if err != nil || len(site) != 1 || site[0].Reason != "ask set" || site[0].Kind != joule.AuditChange {
		t.Errorf("the site's log: %s, %v", jsonText(site), err)
	}

	later := e.clock.Advance(time.Minute)
	refused := &joule.LeasingChange{BaseVersion: v - 1, At: later, // stale: refused
		Journal: []joule.LedgerTransaction{{ID: 4, Key: "deposit:acme:2", Kind: "deposit", At: later, Tenant: "acme",
			Postings: []joule.LedgerPosting{{Account: "external:cash", Amount: -1}, {Account: "tenant:acme:credit", Amount: 1}}}},
		Audit: []joule.Audit{{At: later, Kind: joule.AuditChange, Outcome: joule.OutcomeOK, Reason: "credit added", Actor: "operator", Detail: "$0.00"}},
	}
	_, err = e.Leasing.SaveLeasing(e.ctx, refused)
	checkCode(t, "a stale change", err, joule.ECONFLICT)
	if after := e.exchangeLog(t); len(after) != 1 {
		t.Errorf("a refused change left audit rows: %s", jsonText(after))
	}
}

// utcToken is t with its times in UTC, as a store reads them back.
func utcToken(t joule.APIToken) *joule.APIToken {
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = utc(t.CreatedAt), utc(t.ExpiresAt), utc(t.RevokedAt)
	return &t
}
