package leasing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/joule-site/joule"
)

// API tokens. An account holds any number, each named by its holder and shown once
// when issued; issuing one revokes none of the others.
//
// Lifetimes: a token expires DefaultTokenTTL after its issue unless the request says
// otherwise, and never later than MaxTokenTTL after it. Only the operator issues
// tokens that never expire; an agent's token never expires unless asked to, because an
// agent runs unattended next to its site's devices and cannot renew its own token (a
// lapsed one would leave the site in its safe state).
const (
	DefaultTokenTTL = 90 * 24 * time.Hour
	MaxTokenTTL     = 365 * 24 * time.Hour
)

// DefaultTokenName is the name of a token issued without one, as every account's
// single token was called before accounts held several.
const DefaultTokenName = "default"

// TokenRequest asks for an API token: its name (DefaultTokenName when empty) and when
// it stops working: TTL after now, at ExpiresAt, or Never, at most one of them; none
// gives the default lifetime.
type TokenRequest struct {
	Name      string
	TTL       time.Duration
	ExpiresAt time.Time
	Never     bool
}

// IssuedToken is a new API token, shown this once, with its record.
type IssuedToken struct {
	joule.APIToken
	Token string `json:"token"`
}

// IssueToken gives an account a new API token and returns it; the account's other
// tokens keep working. The operator issues tokens for anyone; an account for itself.
func (s *Service) IssueToken(ctx context.Context, who *joule.Account, account string, req TokenRequest) (*IssuedToken, error) {
	if who == nil {
		return nil, joule.Errorf(joule.EUNAUTHORIZED, "sign in to issue API tokens")
	}
	if !who.Sees(account) {
		return nil, joule.Errorf(joule.EFORBIDDEN, "only the operator issues tokens for other accounts; %s is a %s", who.ID, who.Role)
	}
	holder, err := s.store.Account(ctx, account)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	expires, err := tokenExpiry(who, holder.Role, req, now)
	if err != nil {
		return nil, err
	}
	secret, t, err := s.newToken(who, holder.ID, req.Name, now, expires)
	if err != nil {
		return nil, err
	}
	rec := changeAudit(who, now, "", "token issued", "API token "+tokenText(&t.APIToken))
	if err := s.store.CreateToken(ctx, t, &rec); err != nil {
		return nil, err
	}
	return &IssuedToken{APIToken: t.APIToken, Token: secret}, nil
}

// Tokens lists an account's API tokens, expired and revoked ones too, without their
// secrets: the operator's for any account (every account's for ""), an account's for
// itself (its own for "").
func (s *Service) Tokens(ctx context.Context, who *joule.Account, account string) ([]*joule.APIToken, error) {
	switch {
	case who == nil:
		return nil, joule.Errorf(joule.EUNAUTHORIZED, "sign in to list API tokens")
	case account == "" && who.Role != joule.RoleOperator:
		account = who.ID
	case account != "" && !who.Sees(account):
		return nil, joule.Errorf(joule.EFORBIDDEN, "only the operator lists other accounts' tokens; %s is a %s", who.ID, who.Role)
	}
	if account != "" {
		if _, err := s.store.Account(ctx, account); err != nil {
			return nil, err
		}
	}
	return s.store.Tokens(ctx, account)
}

// RevokeToken revokes an API token at once and returns it as revoked: the operator
// any, an account its own. A token revoked before is a conflict.
func (s *Service) RevokeToken(ctx context.Context, who *joule.Account, id string) (*joule.APIToken, error) {
	if who == nil {
		return nil, joule.Errorf(joule.EUNAUTHORIZED, "sign in to revoke API tokens")
	}
	if !joule.ValidTokenID(id) {
		return nil, joule.Errorf(joule.EINVALID, "token id %q: want tok_ and 16 hex digits, as joule token ls lists them", id)
	}
	t, err := s.store.Token(ctx, id)
	if err != nil {
		return nil, err
	}
	if !who.Sees(t.Account) {
		return nil, joule.Errorf(joule.EFORBIDDEN, "only the operator revokes other accounts' tokens; %s is a %s", who.ID, who.Role)
	}
	now := s.cfg.Now()
	rec := changeAudit(who, now, "", "token revoked", "API token "+tokenText(t))
	return s.store.RevokeToken(ctx, id, now, &rec)
}

// Authenticate returns the account an API token belongs to, or EUNAUTHORIZED saying
// whether the token is unknown, expired or revoked.
func (s *Service) Authenticate(ctx context.Context, token string) (*joule.Account, error) {
	if token == "" {
		return nil, joule.Errorf(joule.EUNAUTHORIZED, "an API token is required (Authorization: Bearer TOKEN)")
	}
	a, err := s.store.AccountByTokenHash(ctx, joule.HashToken(token), s.cfg.Now())
	if joule.ErrorCode(err) == joule.ENOTFOUND {
		return nil, joule.Errorf(joule.EUNAUTHORIZED, "invalid API token")
	}
	return a, err
}

// tokenExpiry is when a token that who asks for an account of role holder expires,
// issued at now; the zero time for never. Its errors name the field that was given.
func tokenExpiry(who *joule.Account, holder joule.AccountRole, req TokenRequest, now time.Time) (time.Time, error) {
	asked := 0
	for _, given := range []bool{req.TTL != 0, !req.ExpiresAt.IsZero(), req.Never} {
		if given {
			asked++
		}
	}
	maxDays := int64(MaxTokenTTL / (24 * time.Hour))
	var at time.Time
	var field string
	switch {
	case asked > 1:
		return time.Time{}, joule.Errorf(joule.EINVALID, "give one of expires_in_s, expires_at and never_expires, not several")
	case req.Never && who.Role != joule.RoleOperator:
		return time.Time{}, joule.Errorf(joule.EFORBIDDEN, "never_expires: only the operator issues tokens that never expire; ask for one that expires within %d days", maxDays)
	case req.Never:
		return time.Time{}, nil
	case req.TTL < 0:
		return time.Time{}, joule.Errorf(joule.EINVALID, "expires_in_s must be positive")
	case req.TTL > 0:
		at, field = now.Add(req.TTL), "expires_in_s"
	case !req.ExpiresAt.IsZero():
		at, field = req.ExpiresAt, "expires_at"
	case holder == joule.RoleAgent:
		return time.Time{}, nil
	default:
		return now.Add(DefaultTokenTTL).UTC(), nil
	}
	switch {
	case !at.After(now):
		return time.Time{}, joule.Errorf(joule.EINVALID, "%s: the expiry %s has passed", field, at.UTC().Format(time.RFC3339))
	case at.After(now.Add(MaxTokenTTL)):
		return time.Time{}, joule.Errorf(joule.EINVALID, "%s: the expiry %s is more than %d days away; a token expires within %d days, or (the operator's choice) never",
			field, at.UTC().Format(time.RFC3339), maxDays, maxDays)
	}
	return at.UTC(), nil
}

// newToken makes a token for account, issued by who at now, and returns its secret
// and the record to store with its hash.
func (s *Service) newToken(who *joule.Account, account, name string, now, expires time.Time) (string, *joule.NewToken, error) {
	if name == "" {
		name = DefaultTokenName
	}
	if err := joule.ValidTokenName(name); err != nil {
		return "", nil, err
	}
	secret, err := s.cfg.NewToken()
	if err != nil {
		return "", nil, fmt.Errorf("leasing: new token: %w", err)
	}
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		return "", nil, fmt.Errorf("leasing: new token id: %w", err)
	}
	t := &joule.NewToken{Hash: joule.HashToken(secret), APIToken: joule.APIToken{
		ID: "tok_" + hex.EncodeToString(id), Account: account, Name: name,
		CreatedAt: now.UTC(), CreatedBy: who.ID, ExpiresAt: expires,
	}}
	return secret, t, nil
}

// tokenText describes a token for the audit log: its ID, name, holder and expiry.
func tokenText(t *joule.APIToken) string {
	expires := "never expires"
	if !t.ExpiresAt.IsZero() {
		expires = "expires " + t.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("%s %q of %s, %s", t.ID, t.Name, t.Account, expires)
}
