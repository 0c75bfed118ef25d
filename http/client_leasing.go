package http

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/billing"
	"github.com/joule-site/joule/leasing"
)

// CreateTenant creates a tenant with opening credit and returns it with its API token.
func (c *Client) CreateTenant(ctx context.Context, req TenantRequest) (*CreatedAccount, error) {
	var out CreatedAccount
	return &out, c.post(ctx, http.MethodPost, "/api/v1/tenants", req, nil, &out)
}

// CreateAccount creates an account of any role (a viewer, a site's agent, …) and
// returns it with its API token, shown once. Only the operator creates accounts.
func (c *Client) CreateAccount(ctx context.Context, req leasing.NewAccountRequest) (*CreatedAccount, error) {
	var out CreatedAccount
	return &out, c.post(ctx, http.MethodPost, "/api/v1/accounts", req, nil, &out)
}

// AddCredit deposits prepaid credit; key makes a retry harmless. It returns the
// tenant's credit after the deposit.
func (c *Client) AddCredit(ctx context.Context, tenant, key string, amount joule.MicroUSD) (joule.MicroUSD, error) {
	var out struct {
		Credit joule.MicroUSD `json:"credit_micro_usd"`
	}
	err := c.post(ctx, http.MethodPost, "/api/v1/tenants/"+url.PathEscape(tenant)+"/credit", DepositRequest{AmountMicroUSD: amount, Key: key}, nil, &out)
	return out.Credit, err
}

// Accounts lists every account (operator).
func (c *Client) Accounts(ctx context.Context) ([]*joule.Account, error) {
	var out struct {
		Accounts []*joule.Account `json:"accounts"`
	}
	return out.Accounts, c.do(ctx, http.MethodGet, "/api/v1/accounts", nil, nil, &out)
}

// IssueToken gives an account a new API token, shown once in the reply; its other
// tokens keep working.
func (c *Client) IssueToken(ctx context.Context, account string, req TokenRequest) (*leasing.IssuedToken, error) {
	var out leasing.IssuedToken
	return &out, c.post(ctx, http.MethodPost, "/api/v1/accounts/"+url.PathEscape(account)+"/tokens", req, nil, &out)
}

// Tokens lists an account's API tokens without their secrets; for "", every token the
// caller may see (all of them for the operator).
func (c *Client) Tokens(ctx context.Context, account string) ([]*joule.APIToken, error) {
	var out struct {
		Tokens []*joule.APIToken `json:"tokens"`
	}
	path := "/api/v1/tokens"
	if account != "" {
		path = "/api/v1/accounts/" + url.PathEscape(account) + "/tokens"
	}
	return out.Tokens, c.do(ctx, http.MethodGet, path, nil, nil, &out)
}

// RevokeToken revokes an API token by its ID and returns it as revoked.
func (c *Client) RevokeToken(ctx context.Context, id string) (*joule.APIToken, error) {
	var out joule.APIToken
	return &out, c.post(ctx, http.MethodPost, "/api/v1/tokens/"+url.PathEscape(id)+"/revoke", struct{}{}, nil, &out)
}

// Products lists the exchange's products with their listings.
func (c *Client) Products(ctx context.Context) ([]leasing.ProductInfo, error) {
	var out struct {
		Products []leasing.ProductInfo `json:"products"`
	}
	return out.Products, c.do(ctx, http.MethodGet, "/api/v1/products", nil, nil, &out)
}

// SetAsk sets a seller's ask in a product (seller empty: the caller); with
// opportunityCost the ask follows the mining the power gives up, ask as its floor.
func (c *Client) SetAsk(ctx context.Context, product, seller string, ask joule.MicroUSD, opportunityCost bool) (*joule.Listing, error) {
	var out joule.Listing
	req := AskRequest{Product: product, Seller: seller, AskMicroUSDPerGPUHour: ask, OpportunityCost: opportunityCost}
	return &out, c.post(ctx, http.MethodPut, "/api/v1/listings", req, nil, &out)
}

// SubmitOrder places an order; its IdempotencyKey goes in the Idempotency-Key header.
func (c *Client) SubmitOrder(ctx context.Context, o OrderRequest) (*leasing.OrderResult, error) {
	var out leasing.OrderResult
	key := o.IdempotencyKey
	o.IdempotencyKey = ""
	return &out, c.post(ctx, http.MethodPost, "/api/v1/orders", o, http.Header{"Idempotency-Key": {key}}, &out)
}

// OrderQuery selects orders to list.
type OrderQuery struct {
	Account string // operator: one account's
	Resting bool
	Limit   int
}

// Orders lists orders the caller may see, newest first.
func (c *Client) Orders(ctx context.Context, q OrderQuery) ([]*joule.Order, error) {
	var out struct {
		Orders []*joule.Order `json:"orders"`
	}
	v := url.Values{}
	if q.Account != "" {
		v.Set("account", q.Account)
	}
	if q.Resting {
		v.Set("resting", "true")
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return out.Orders, c.do(ctx, http.MethodGet, "/api/v1/orders", v, nil, &out)
}

// CancelOrder cancels a resting order.
func (c *Client) CancelOrder(ctx context.Context, id string) (*joule.Order, error) {
	var out joule.Order
	return &out, c.do(ctx, http.MethodDelete, "/api/v1/orders/"+url.PathEscape(id), nil, nil, &out)
}

// Book returns a product's book for hours slots from the hour of from (zero: now).
func (c *Client) Book(ctx context.Context, product string, from time.Time, hours int) (*leasing.Book, error) {
	var out leasing.Book
	v := url.Values{}
	if !from.IsZero() {
		v.Set("from", from.UTC().Format(time.RFC3339))
	}
	if hours > 0 {
		v.Set("hours", strconv.Itoa(hours))
	}
	return &out, c.do(ctx, http.MethodGet, "/api/v1/book/"+product, v, nil, &out)
}

// Leases lists the leases the caller may see, newest first.
func (c *Client) Leases(ctx context.Context, tenant string, limit int) ([]joule.Lease, error) {
	var out struct {
		Leases []joule.Lease `json:"leases"`
	}
	v := url.Values{}
	if tenant != "" {
		v.Set("tenant", tenant)
	}
	if limit > 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	return out.Leases, c.do(ctx, http.MethodGet, "/api/v1/leases", v, nil, &out)
}

// Resell offers future hours of a reserved lease back to the book.
func (c *Client) Resell(ctx context.Context, lease string, req leasing.ResellRequest) (*leasing.OrderResult, error) {
	var out leasing.OrderResult
	key := req.IdempotencyKey
	req.IdempotencyKey = ""
	return &out, c.post(ctx, http.MethodPost, "/api/v1/leases/"+url.PathEscape(lease)+"/resell", req, http.Header{"Idempotency-Key": {key}}, &out)
}

// StopLease stops an on-demand or spot lease now.
func (c *Client) StopLease(ctx context.Context, lease string) (*joule.Lease, error) {
	var out joule.Lease
	return &out, c.post(ctx, http.MethodPost, "/api/v1/leases/"+url.PathEscape(lease)+"/stop", struct{}{}, nil, &out)
}

// Invoice returns a tenant's invoice for a month (YYYY-MM).
func (c *Client) Invoice(ctx context.Context, tenant, month string) (*billing.Invoice, error) {
	var out billing.Invoice
	return &out, c.do(ctx, http.MethodGet, "/api/v1/invoices/"+url.PathEscape(tenant), url.Values{"month": {month}}, nil, &out)
}

// Statement returns an owner's or the operator's statement for a month.
func (c *Client) Statement(ctx context.Context, account, month string) (*billing.Statement, error) {
	var out billing.Statement
	return &out, c.do(ctx, http.MethodGet, "/api/v1/statements/"+url.PathEscape(account), url.Values{"month": {month}}, nil, &out)
}

// Page returns the printable HTML of an invoice ("invoices") or a statement
// ("statements").
func (c *Client) Page(ctx context.Context, kind, account, month string) ([]byte, error) {
	return c.send(ctx, http.MethodGet, "/api/v1/"+kind+"/"+url.PathEscape(account), url.Values{"month": {month}, "format": {"html"}}, nil, http.Header{"Accept": {"text/html"}})
}

// post sends v as a JSON body and decodes the JSON reply into out.
func (c *Client) post(ctx context.Context, method, path string, v any, header http.Header, out any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	data, err := c.send(ctx, method, path, nil, body, header)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, out)
}
