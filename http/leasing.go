package http

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/billing"
	"github.com/joule-site/joule/leasing"
)

// Leasing is the GPU exchange the API serves (leasing.Service). Every call names the
// account it acts for, and the exchange scopes what it shows and allows to it.
type Leasing interface {
	Authenticate(ctx context.Context, token string) (*joule.Account, error)
	Principal(ctx context.Context, id string) (*joule.Account, error)
	CreateAccount(ctx context.Context, who *joule.Account, req leasing.NewAccountRequest) (*joule.Account, string, error)
	Accounts(ctx context.Context, who *joule.Account) ([]*joule.Account, error)
	Deposit(ctx context.Context, who *joule.Account, tenant, key string, amount joule.MicroUSD) (joule.MicroUSD, error)
	IssueToken(ctx context.Context, who *joule.Account, account string, req leasing.TokenRequest) (*leasing.IssuedToken, error)
	Tokens(ctx context.Context, who *joule.Account, account string) ([]*joule.APIToken, error)
	RevokeToken(ctx context.Context, who *joule.Account, id string) (*joule.APIToken, error)
	Products(ctx context.Context, who *joule.Account) ([]leasing.ProductInfo, error)
	SetAsk(ctx context.Context, who *joule.Account, product, seller string, ask joule.MicroUSD, opportunityCost bool) (*joule.Listing, error)
	SubmitOrder(ctx context.Context, who *joule.Account, o joule.Order) (*leasing.OrderResult, error)
	Cancel(ctx context.Context, who *joule.Account, order string) (*joule.Order, error)
	Orders(ctx context.Context, who *joule.Account, f joule.OrderFilter) ([]*joule.Order, error)
	Book(ctx context.Context, who *joule.Account, product string, from time.Time, hours int) (*leasing.Book, error)
	Leases(ctx context.Context, who *joule.Account, f joule.LeaseFilter) ([]joule.Lease, error)
	Resell(ctx context.Context, who *joule.Account, lease string, req leasing.ResellRequest) (*leasing.OrderResult, error)
	Stop(ctx context.Context, who *joule.Account, lease string) (*joule.Lease, error)
	Owner(ctx context.Context, who *joule.Account, owner string, days int) (*leasing.OwnerReport, error)
	Payout(ctx context.Context, who *joule.Account, owner, key string, amount joule.MicroUSD) (*leasing.PayoutResult, error)
	FillPriorities(ctx context.Context, who *joule.Account) ([]joule.ProductFillPriority, error)
	SetFillPriority(ctx context.Context, who *joule.Account, product string, p joule.FillPriority) (*joule.ProductFillPriority, error)
	CapTerms(ctx context.Context, who *joule.Account) ([]joule.CapTerms, error)
	SetCapTerms(ctx context.Context, who *joule.Account, terms joule.CapTerms) (*joule.CapTerms, error)
}

// Billing is what the invoice and statement routes ask: the billing service over the
// exchange's store.
type Billing interface {
	Invoice(ctx context.Context, who *joule.Account, tenant, month string) (*billing.Invoice, error)
	Statement(ctx context.Context, who *joule.Account, account, month string) (*billing.Statement, error)
}

// DefaultRateLimit is how many exchange requests per second one token may make when
// the server sets no RateLimit.
const DefaultRateLimit = 50

// principalKey carries, in an in-process request's context, the account the local CLI
// acts as. A request from the network never carries it: its context is the server's.
type principalKey struct{}

// AsPrincipal returns a context in which an in-process request acts as the account
// id, or as the operator when id is empty. Only NewLocalClient uses it.
func AsPrincipal(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, principalKey{}, id)
}

// leasingRoutes registers the exchange's routes. The exchange scopes each further to
// what the account may see: a tenant's own orders, an owner's own listings.
func (s *Server) leasingRoutes() {
	tenant, owner, viewer := joule.RoleTenant, joule.RoleOwner, joule.RoleViewer
	s.handle("POST /api/v1/tenants", admits(), s.authed(s.handleCreateTenant))
	s.handle("POST /api/v1/tenants/{id}/credit", admits(), s.authed(s.handleDeposit))
	s.handle("POST /api/v1/accounts", admits(), s.authed(s.handleCreateAccount))
	s.handle("GET /api/v1/accounts", admits(), s.authed(s.handleAccounts))
	s.handle("POST /api/v1/accounts/{id}/token", admits(tenant, owner), s.authed(s.handleIssueDefaultToken))
	s.handle("POST /api/v1/accounts/{id}/tokens", admits(tenant, owner), s.authed(s.handleIssueToken))
	s.handle("GET /api/v1/accounts/{id}/tokens", admits(tenant, owner, viewer), s.authed(s.handleAccountTokens))
	s.handle("GET /api/v1/tokens", admits(tenant, owner, viewer), s.authed(s.handleTokens))
	s.handle("POST /api/v1/tokens/{id}/revoke", admits(tenant, owner), s.authed(s.handleRevokeToken))
	s.handle("GET /api/v1/audit", admits(), s.handleExchangeAudit)
	s.handle("GET /api/v1/products", admits(tenant, owner, viewer), s.authed(s.handleProducts))
	s.handle("PUT /api/v1/listings", admits(owner), s.authed(s.handleSetAsk))
	s.handle("POST /api/v1/orders", admits(tenant), s.authed(s.handleSubmitOrder))
	s.handle("GET /api/v1/orders", admits(tenant), s.authed(s.handleOrders))
	s.handle("GET /api/v1/orders/{id}", admits(tenant), s.authed(s.handleOrder))
	s.handle("DELETE /api/v1/orders/{id}", admits(tenant), s.authed(s.handleCancelOrder))
	s.handle("GET /api/v1/book/{product...}", admits(tenant, owner, viewer), s.authed(s.handleBook))
	s.handle("GET /api/v1/leases", admits(tenant, owner), s.authed(s.handleLeases))
	s.handle("POST /api/v1/leases/{id}/resell", admits(tenant), s.authed(s.handleResell))
	s.handle("POST /api/v1/leases/{id}/stop", admits(tenant), s.authed(s.handleStopLease))
	s.handle("GET /api/v1/leases/{id}/access", admits(tenant), s.authed(s.handleLeaseAccess))
	s.handle("GET /api/v1/leases/{id}/usage", admits(tenant), s.authed(s.handleLeaseUsage))
	s.handle("GET /api/v1/invoices/{tenant}", admits(tenant), s.authed(s.handleInvoice))
	s.handle("GET /api/v1/statements/{account}", admits(tenant, owner), s.authed(s.handleStatement))
	s.ownerRoutes()
}

// bearerToken returns the token of an "Authorization: Bearer TOKEN" header.
func bearerToken(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// limiters holds a token bucket per principal.
type limiters struct {
	mu sync.Mutex
	m  map[string]*rate.Limiter
}

func (s *Server) limiter() *limiters {
	s.limitsOnce.Do(func() { s.limits = &limiters{m: map[string]*rate.Limiter{}} })
	return s.limits
}

// reserve takes one request from key's bucket and returns 0, or, when the bucket is
// empty, how long until it would have one (and takes nothing).
func (l *limiters) reserve(key string, perSec float64, burst int) time.Duration {
	if perSec <= 0 {
		perSec = DefaultRateLimit
	}
	if burst <= 0 {
		burst = int(2 * perSec)
	}
	l.mu.Lock()
	lim := l.m[key]
	if lim == nil {
		lim = rate.NewLimiter(rate.Limit(perSec), burst)
		l.m[key] = lim
	}
	l.mu.Unlock()
	res := lim.Reserve()
	if d := res.Delay(); d > 0 {
		res.Cancel()
		return d
	}
	return 0
}
