package http

import (
	"math"
	"net/http"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/leasing"
)

// TokenRequest is the body of POST /api/v1/accounts/{id}/tokens: the token's name
// (default "default") and at most one of expires_in_s, expires_at and never_expires;
// none gives the default lifetime (leasing.DefaultTokenTTL).
type TokenRequest struct {
	Name         string    `json:"name,omitempty"`
	ExpiresInS   int64     `json:"expires_in_s,omitempty"`
	ExpiresAt    time.Time `json:"expires_at,omitzero"`
	NeverExpires bool      `json:"never_expires,omitempty"`
}

// handleIssueToken issues a named token with an expiry; the account's other tokens
// keep working.
func (s *Server) handleIssueToken(w http.ResponseWriter, r *http.Request, who *joule.Account) {
	var req TokenRequest
	if !decodeBody(w, r, s, &req) {
		return
	}
	// Seconds beyond what a Duration holds are clamped; the service refuses them.
	ttl := time.Duration(max(min(req.ExpiresInS, math.MaxInt64/int64(time.Second)), math.MinInt64/int64(time.Second))) * time.Second
	t, err := s.Leasing.IssueToken(r.Context(), who, r.PathValue("id"), leasing.TokenRequest{
		Name: req.Name, TTL: ttl, ExpiresAt: req.ExpiresAt, Never: req.NeverExpires})
	s.reply(w, r, http.StatusCreated, t, err)
}

// handleIssueDefaultToken is the route of the days when an account had one token:
// it issues one named "default" with the default lifetime, and revokes none.
func (s *Server) handleIssueDefaultToken(w http.ResponseWriter, r *http.Request, who *joule.Account) {
	t, err := s.Leasing.IssueToken(r.Context(), who, r.PathValue("id"), leasing.TokenRequest{})
	s.reply(w, r, http.StatusOK, t, err)
}

func (s *Server) handleAccountTokens(w http.ResponseWriter, r *http.Request, who *joule.Account) {
	tokens, err := s.Leasing.Tokens(r.Context(), who, r.PathValue("id"))
	s.reply(w, r, http.StatusOK, map[string]any{"tokens": tokens}, err)
}

// handleTokens lists every token the caller may see: all of them for the operator,
// its own for anyone else.
func (s *Server) handleTokens(w http.ResponseWriter, r *http.Request, who *joule.Account) {
	tokens, err := s.Leasing.Tokens(r.Context(), who, "")
	s.reply(w, r, http.StatusOK, map[string]any{"tokens": tokens}, err)
}

func (s *Server) handleRevokeToken(w http.ResponseWriter, r *http.Request, who *joule.Account) {
	t, err := s.Leasing.RevokeToken(r.Context(), who, r.PathValue("id"))
	s.reply(w, r, http.StatusOK, t, err)
}

// handleExchangeAudit answers the exchange's own audit log (site ""): the changes
// that belong to no site, such as tokens issued and revoked, accounts created and
// credit added, each with its actor.
func (s *Server) handleExchangeAudit(w http.ResponseWriter, r *http.Request) {
	if s.Live == nil {
		writeError(w, r, s.Logger, joule.Errorf(joule.ENOTFOUND, "this server keeps no audit log"))
		return
	}
	q, err := parseAuditQuery(r.URL.Query())
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	q.Site = ""
	log, err := s.Live.Audit(r.Context(), q)
	s.reply(w, r, http.StatusOK, map[string]any{"audit": log}, err)
}
