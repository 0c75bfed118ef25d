package http

import (
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/leasing"
)

// TenantRequest is the body of POST /api/v1/tenants.
type TenantRequest struct {
	ID             string         `json:"id"`
	Name           string         `json:"name,omitempty"`
	CreditMicroUSD joule.MicroUSD `json:"credit_micro_usd,omitempty"`
}

// CreatedAccount is an account with its API token, shown once.
type CreatedAccount struct {
	Account *joule.Account `json:"account"`
	Token   string         `json:"token"`
}

// OrderRequest is the body of POST /api/v1/orders: a joule.Order without what the
// exchange sets. AllOrNone defaults to true; the Idempotency-Key header (or
// idempotency_key) is required.
type OrderRequest struct {
	IdempotencyKey          string           `json:"idempotency_key,omitempty"`
	Account                 string           `json:"account,omitempty"` // the tenant; the operator may name any
	Product                 string           `json:"product"`
	Kind                    joule.OrderKind  `json:"kind"`
	GPUs                    int              `json:"gpus"`
	Start                   time.Time        `json:"start,omitzero"`
	End                     time.Time        `json:"end,omitzero"`
	LimitMicroUSDPerGPUHour joule.MicroUSD   `json:"limit_micro_usd_per_gpu_hour"`
	AllOrNone               *bool            `json:"all_or_none,omitempty"`
	Class                   joule.LeaseClass `json:"class,omitempty"`
	NoticeSec               int64            `json:"notice_sec,omitempty"`
	ResaleOf                string           `json:"resale_of,omitempty"`
	ExpiresAt               time.Time        `json:"expires_at,omitzero"`
}

// AskRequest is the body of PUT /api/v1/listings: a seller's new ask in a product.
type AskRequest struct {
	Product               string         `json:"product"`
	Seller                string         `json:"seller,omitempty"` // default: the caller
	AskMicroUSDPerGPUHour joule.MicroUSD `json:"ask_micro_usd_per_gpu_hour"`
	// OpportunityCost makes the ask follow the mining the GPUs' power gives up, with
	// AskMicroUSDPerGPUHour as the floor.
	OpportunityCost bool `json:"opportunity_cost,omitempty"`
}

// DepositRequest is the body of POST /api/v1/tenants/{id}/credit.
type DepositRequest struct {
	AmountMicroUSD joule.MicroUSD `json:"amount_micro_usd"`
	Key            string         `json:"key,omitempty"` // makes a retry harmless
}

func (s *Server) handleCreateTenant(w http.ResponseWriter, r *http.Request, who *joule.Account) {
	var req TenantRequest
	if !decodeBody(w, r, s, &req) || !s.moneyInRange(w, r, "credit_micro_usd", req.CreditMicroUSD) {
		return
	}
	a, token, err := s.Leasing.CreateAccount(r.Context(), who, leasing.NewAccountRequest{ID: req.ID, Name: req.Name, Role: joule.RoleTenant, CreditMicroUSD: req.CreditMicroUSD})
	s.reply(w, r, http.StatusCreated, CreatedAccount{Account: a, Token: token}, err)
}

func (s *Server) handleDeposit(w http.ResponseWriter, r *http.Request, who *joule.Account) {
	var req DepositRequest
	if !decodeBody(w, r, s, &req) || !s.moneyInRange(w, r, "amount_micro_usd", req.AmountMicroUSD) {
		return
	}
	credit, err := s.Leasing.Deposit(r.Context(), who, r.PathValue("id"), req.Key, req.AmountMicroUSD)
	s.reply(w, r, http.StatusOK, map[string]any{"tenant": r.PathValue("id"), "credit_micro_usd": credit}, err)
}

// handleCreateAccount creates an account of any role (a viewer, a site's agent, …)
// and answers its token, shown once.
func (s *Server) handleCreateAccount(w http.ResponseWriter, r *http.Request, who *joule.Account) {
	var req leasing.NewAccountRequest
	if !decodeBody(w, r, s, &req) || !s.moneyInRange(w, r, "credit_micro_usd", req.CreditMicroUSD) {
		return
	}
	a, token, err := s.Leasing.CreateAccount(r.Context(), who, req)
	s.reply(w, r, http.StatusCreated, CreatedAccount{Account: a, Token: token}, err)
}

func (s *Server) handleAccounts(w http.ResponseWriter, r *http.Request, who *joule.Account) {
	accounts, err := s.Leasing.Accounts(r.Context(), who)
	s.reply(w, r, http.StatusOK, map[string]any{"accounts": accounts}, err)
}

func (s *Server) handleProducts(w http.ResponseWriter, r *http.Request, who *joule.Account) {
	products, err := s.Leasing.Products(r.Context(), who)
	s.reply(w, r, http.StatusOK, map[string]any{"products": products}, err)
}

func (s *Server) handleSetAsk(w http.ResponseWriter, r *http.Request, who *joule.Account) {
	var req AskRequest
	if !decodeBody(w, r, s, &req) || !s.moneyInRange(w, r, "ask_micro_usd_per_gpu_hour", req.AskMicroUSDPerGPUHour) {
		return
	}
	l, err := s.Leasing.SetAsk(r.Context(), who, req.Product, req.Seller, req.AskMicroUSDPerGPUHour, req.OpportunityCost)
	s.reply(w, r, http.StatusOK, l, err)
}

func (s *Server) handleSubmitOrder(w http.ResponseWriter, r *http.Request, who *joule.Account) {
	var req OrderRequest
	if !decodeBody(w, r, s, &req) || !s.moneyInRange(w, r, "limit_micro_usd_per_gpu_hour", req.LimitMicroUSDPerGPUHour) {
		return
	}
	key, err := idempotencyKey(r, req.IdempotencyKey)
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	o := joule.Order{IdempotencyKey: key, Account: req.Account, Product: req.Product, Kind: req.Kind, GPUs: req.GPUs,
		Start: req.Start, End: req.End, LimitMicroUSDPerGPUHour: req.LimitMicroUSDPerGPUHour, AllOrNone: true,
		Class: req.Class, NoticeSec: req.NoticeSec, ResaleOf: req.ResaleOf, ExpiresAt: req.ExpiresAt}
	if req.AllOrNone != nil {
		o.AllOrNone = *req.AllOrNone
	}
	res, err := s.Leasing.SubmitOrder(r.Context(), who, o)
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	status := http.StatusCreated
	if res.Replayed {
		status = http.StatusOK
	}
	writeJSON(w, status, res)
}

// idempotencyKey is the Idempotency-Key header, or the body's key; both must agree.
func idempotencyKey(r *http.Request, body string) (string, error) {
	h := r.Header.Get("Idempotency-Key")
	switch {
	case h != "" && body != "" && h != body:
		return "", joule.Errorf(joule.EINVALID, "the Idempotency-Key header and idempotency_key differ")
	case h != "":
		return h, nil
	case body != "":
		return body, nil
	}
	return "", joule.Errorf(joule.EINVALID, "an Idempotency-Key header is required, so that a retry cannot order twice")
}

func (s *Server) handleOrders(w http.ResponseWriter, r *http.Request, who *joule.Account) {
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	f := joule.OrderFilter{Account: q.Get("account"), Resting: q.Get("resting") == "true", Limit: limit}
	orders, err := s.Leasing.Orders(r.Context(), who, f)
	s.reply(w, r, http.StatusOK, map[string]any{"orders": orders}, err)
}

func (s *Server) handleOrder(w http.ResponseWriter, r *http.Request, who *joule.Account) {
	orders, err := s.Leasing.Orders(r.Context(), who, joule.OrderFilter{ID: r.PathValue("id")})
	if err == nil && len(orders) == 0 {
		err = joule.Errorf(joule.ENOTFOUND, "order %s not found", r.PathValue("id"))
	}
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	writeJSON(w, http.StatusOK, orders[0])
}

func (s *Server) handleCancelOrder(w http.ResponseWriter, r *http.Request, who *joule.Account) {
	o, err := s.Leasing.Cancel(r.Context(), who, r.PathValue("id"))
	s.reply(w, r, http.StatusOK, o, err)
}

func (s *Server) handleBook(w http.ResponseWriter, r *http.Request, who *joule.Account) {
	q := r.URL.Query()
	var from time.Time
	if v := q.Get("from"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			writeError(w, r, s.Logger, joule.Errorf(joule.EINVALID, "from %q: use RFC 3339, e.g. 2025-01-06T00:00:00Z", v))
			return
		}
		from = t
	}
	hours, _ := strconv.Atoi(q.Get("hours"))
	b, err := s.Leasing.Book(r.Context(), who, r.PathValue("product"), from, hours)
	s.reply(w, r, http.StatusOK, b, err)
}

func (s *Server) handleLeases(w http.ResponseWriter, r *http.Request, who *joule.Account) {
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	leases, err := s.Leasing.Leases(r.Context(), who, joule.LeaseFilter{Tenant: q.Get("tenant"), Order: q.Get("order"), Limit: limit})
	s.reply(w, r, http.StatusOK, map[string]any{"leases": leases}, err)
}

func (s *Server) handleResell(w http.ResponseWriter, r *http.Request, who *joule.Account) {
	var req leasing.ResellRequest
	if !decodeBody(w, r, s, &req) || !s.moneyInRange(w, r, "limit_micro_usd_per_gpu_hour", req.LimitMicroUSDPerGPUHour) {
		return
	}
	key, err := idempotencyKey(r, req.IdempotencyKey)
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	req.IdempotencyKey = key
	res, err := s.Leasing.Resell(r.Context(), who, r.PathValue("id"), req)
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	status := http.StatusCreated
	if res.Replayed {
		status = http.StatusOK
	}
	writeJSON(w, status, res)
}

func (s *Server) handleStopLease(w http.ResponseWriter, r *http.Request, who *joule.Account) {
	l, err := s.Leasing.Stop(r.Context(), who, r.PathValue("id"))
	s.reply(w, r, http.StatusOK, l, err)
}

// billing is the billing service, or an error when this server runs none.
func (s *Server) billing() (Billing, error) {
	if s.Billing == nil {
		return nil, joule.Errorf(joule.ENOTFOUND, "this server does not bill")
	}
	return s.Billing, nil
}

func (s *Server) handleInvoice(w http.ResponseWriter, r *http.Request, who *joule.Account) {
	b, err := s.billing()
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	inv, err := b.Invoice(r.Context(), who, r.PathValue("tenant"), s.month(r))
	s.replyDocument(w, r, invoicePage, inv, err)
}

func (s *Server) handleStatement(w http.ResponseWriter, r *http.Request, who *joule.Account) {
	b, err := s.billing()
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	st, err := b.Statement(r.Context(), who, r.PathValue("account"), s.month(r))
	s.replyDocument(w, r, statementPage, st, err)
}

// month is the month a bill asks for: its month parameter, or the month of the
// server's clock (a demo's replayed month on a demo server).
func (s *Server) month(r *http.Request) string {
	if m := r.URL.Query().Get("month"); m != "" {
		return m
	}
	return s.now().UTC().Format("2006-01")
}

// replyDocument writes v as a printable page when the client asks for one (see
// wantsHTML), else as JSON, or err when there is one.
func (s *Server) replyDocument(w http.ResponseWriter, r *http.Request, page *template.Template, v any, err error) {
	if err == nil && wantsHTML(r) {
		writePage(w, r, s, page, v)
		return
	}
	s.reply(w, r, http.StatusOK, v, err)
}

// wantsHTML reports whether the client asked for a page: ?format=html, or an Accept
// header that prefers text/html.
func wantsHTML(r *http.Request) bool {
	if f := r.URL.Query().Get("format"); f != "" {
		return f == "html"
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// moneyInRange refuses a request whose money field is negative or above
// joule.MaxMicroUSD, naming the field, before the exchange sees it; it writes the error
// and returns false.
func (s *Server) moneyInRange(w http.ResponseWriter, r *http.Request, field string, m joule.MicroUSD) bool {
	if err := joule.CheckMicroUSD(field, m); err != nil {
		writeError(w, r, s.Logger, err)
		return false
	}
	return true
}

// decodeBody decodes a JSON body into v, refusing unknown fields; on error it writes
// the error and returns false.
func decodeBody(w http.ResponseWriter, r *http.Request, s *Server, v any) bool {
	dec := json.NewDecoder(r.Body) // the guard limits the body
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if errors.Is(err, io.EOF) {
		err = errors.New("the body is empty")
	}
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	if err != nil {
		writeError(w, r, s.Logger, bodyError(r, "bad JSON body", err))
		return false
	}
	return true
}
