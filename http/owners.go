package http

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/leasing"
)

// ownerRoutes registers what an owner of hosted servers reads (its report) and what the
// operator does for owners: pay their balances out, and set whose listing fills first.
func (s *Server) ownerRoutes() {
	tenant, owner, viewer := joule.RoleTenant, joule.RoleOwner, joule.RoleViewer
	s.handle("GET /api/v1/owners/{id}", admits(owner), s.authed(s.handleOwner))
	s.handle("POST /api/v1/owners/{id}/payouts", admits(), s.authed(s.handlePayout))
	s.handle("GET /api/v1/fill-priorities", admits(tenant, owner, viewer), s.authed(s.handleFillPriorities))
	s.handle("PUT /api/v1/fill-priorities", admits(), s.authed(s.handleSetFillPriority))
	s.handle("GET /api/v1/cap-terms", admits(tenant, owner, viewer), s.authed(s.handleCapTerms))
	s.handle("PUT /api/v1/cap-terms", admits(), s.authed(s.handleSetCapTerms))
}

// PayoutRequest pays an amount of an owner's balance out.
type PayoutRequest struct {
	AmountMicroUSD joule.MicroUSD `json:"amount_micro_usd"`
	Key            string         `json:"key,omitempty"` // makes a retry harmless: the transfer's reference
}

// FillPriorityRequest sets a product's fill priority.
type FillPriorityRequest struct {
	Product      string             `json:"product"`
	FillPriority joule.FillPriority `json:"fill_priority"`
}

func (s *Server) handleOwner(w http.ResponseWriter, r *http.Request, who *joule.Account) {
	days, _ := strconv.Atoi(r.URL.Query().Get("days"))
	rep, err := s.Leasing.Owner(r.Context(), who, r.PathValue("id"), days)
	s.reply(w, r, http.StatusOK, rep, err)
}

func (s *Server) handlePayout(w http.ResponseWriter, r *http.Request, who *joule.Account) {
	var req PayoutRequest
	if !decodeBody(w, r, s, &req) || !s.moneyInRange(w, r, "amount_micro_usd", req.AmountMicroUSD) {
		return
	}
	p, err := s.Leasing.Payout(r.Context(), who, r.PathValue("id"), req.Key, req.AmountMicroUSD)
	s.reply(w, r, http.StatusOK, p, err)
}

func (s *Server) handleFillPriorities(w http.ResponseWriter, r *http.Request, who *joule.Account) {
	ps, err := s.Leasing.FillPriorities(r.Context(), who)
	s.reply(w, r, http.StatusOK, map[string]any{"fill_priorities": ps}, err)
}

func (s *Server) handleSetFillPriority(w http.ResponseWriter, r *http.Request, who *joule.Account) {
	var req FillPriorityRequest
	if !decodeBody(w, r, s, &req) {
		return
	}
	p, err := s.Leasing.SetFillPriority(r.Context(), who, req.Product, req.FillPriority)
	s.reply(w, r, http.StatusOK, p, err)
}

func (s *Server) handleCapTerms(w http.ResponseWriter, r *http.Request, who *joule.Account) {
	cs, err := s.Leasing.CapTerms(r.Context(), who)
	s.reply(w, r, http.StatusOK, map[string]any{"cap_terms": cs}, err)
}

func (s *Server) handleSetCapTerms(w http.ResponseWriter, r *http.Request, who *joule.Account) {
	var req joule.CapTerms
	if !decodeBody(w, r, s, &req) {
		return
	}
	c, err := s.Leasing.SetCapTerms(r.Context(), who, req)
	s.reply(w, r, http.StatusOK, c, err)
}

// Owner returns an owner's report over the last days UTC days (0: a week).
func (c *Client) Owner(ctx context.Context, owner string, days int) (*leasing.OwnerReport, error) {
	var out leasing.OwnerReport
	path := "/api/v1/owners/" + url.PathEscape(owner)
	if days > 0 {
		path += "?days=" + strconv.Itoa(days)
	}
	return &out, c.do(ctx, http.MethodGet, path, nil, nil, &out)
}

// Payout pays amount of an owner's balance out (operator); key makes a retry harmless.
func (c *Client) Payout(ctx context.Context, owner, key string, amount joule.MicroUSD) (*leasing.PayoutResult, error) {
	var out leasing.PayoutResult
	return &out, c.post(ctx, http.MethodPost, "/api/v1/owners/"+url.PathEscape(owner)+"/payouts", PayoutRequest{AmountMicroUSD: amount, Key: key}, nil, &out)
}

// FillPriorities returns every product's fill priority.
func (c *Client) FillPriorities(ctx context.Context) ([]joule.ProductFillPriority, error) {
	var out struct {
		FillPriorities []joule.ProductFillPriority `json:"fill_priorities"`
	}
	return out.FillPriorities, c.do(ctx, http.MethodGet, "/api/v1/fill-priorities", nil, nil, &out)
}

// SetFillPriority sets a product's fill priority (operator).
func (c *Client) SetFillPriority(ctx context.Context, product string, p joule.FillPriority) (*joule.ProductFillPriority, error) {
	var out joule.ProductFillPriority
	return &out, c.post(ctx, http.MethodPut, "/api/v1/fill-priorities", FillPriorityRequest{Product: product, FillPriority: p}, nil, &out)
}

// CapTerms returns every product's cap terms.
func (c *Client) CapTerms(ctx context.Context) ([]joule.CapTerms, error) {
	var out struct {
		CapTerms []joule.CapTerms `json:"cap_terms"`
	}
	return out.CapTerms, c.do(ctx, http.MethodGet, "/api/v1/cap-terms", nil, nil, &out)
}

// SetCapTerms sets a product's cap terms (operator).
func (c *Client) SetCapTerms(ctx context.Context, terms joule.CapTerms) (*joule.CapTerms, error) {
	var out joule.CapTerms
	return &out, c.post(ctx, http.MethodPut, "/api/v1/cap-terms", terms, nil, &out)
}
