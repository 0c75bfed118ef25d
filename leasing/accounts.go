package leasing

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/ledger"
)

// NewAccountRequest asks for an account: a tenant with its first prepaid credit, an
// owner, another operator, a viewer, or the agent of a site.
type NewAccountRequest struct {
	ID   string            `json:"id"`
	Name string            `json:"name,omitempty"`
	Role joule.AccountRole `json:"role"`
	// Site is the site an agent runs; only agents name one.
	Site string `json:"site,omitempty"`
	// CreditMicroUSD is deposited into a new tenant's credit.
	CreditMicroUSD joule.MicroUSD `json:"credit_micro_usd,omitempty"`
}

// CreateAccount creates an account and returns it with its API token, which is shown
// this once: the store keeps only its hash. Only the operator creates accounts.
func (s *Service) CreateAccount(ctx context.Context, who *joule.Account, req NewAccountRequest) (*joule.Account, string, error) {
	if err := mustBe(who, joule.RoleOperator, "create accounts"); err != nil {
		return nil, "", err
	}
	a := joule.Account{ID: req.ID, Name: req.Name, Role: req.Role, Site: req.Site}
	if a.Name == "" {
		a.Name = a.ID
	}
	if err := a.Validate(); err != nil {
		return nil, "", err
	}
	switch {
	case req.CreditMicroUSD < 0:
		return nil, "", joule.Errorf(joule.EINVALID, "account %s: credit must not be negative", a.ID)
	case req.CreditMicroUSD > 0 && a.Role != joule.RoleTenant:
		return nil, "", joule.Errorf(joule.EINVALID, "account %s: only tenants have prepaid credit", a.ID)
	}
	if a.Role == joule.RoleAgent && s.cfg.Sites != nil {
		if _, err := s.cfg.Sites.Site(ctx, a.Site); err != nil {
			return nil, "", fmt.Errorf("agent %s: %w", a.ID, err)
		}
	}
	if _, err := s.store.Account(ctx, a.ID); err == nil {
		return nil, "", joule.Errorf(joule.ECONFLICT, "account %q exists", a.ID)
	} else if joule.ErrorCode(err) != joule.ENOTFOUND {
		return nil, "", err
	}
	token, err := s.cfg.NewToken()
	if err != nil {
		return nil, "", fmt.Errorf("leasing: new token: %w", err)
	}
	err = s.op(ctx, func(ch *change) error {
		ch.Accounts = append(ch.Accounts, joule.NewAccount{Account: a, TokenHash: joule.HashToken(token)})
		if req.CreditMicroUSD > 0 {
			if _, err := s.ledger.Deposit("deposit:"+a.ID+":opening", a.ID, req.CreditMicroUSD); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return &a, token, nil
}

// Deposit adds prepaid credit to a tenant; only the operator takes money in. The key
// makes a retry harmless; empty, every call deposits.
func (s *Service) Deposit(ctx context.Context, who *joule.Account, tenant, key string, amount joule.MicroUSD) (joule.MicroUSD, error) {
	if err := mustBe(who, joule.RoleOperator, "add credit"); err != nil {
		return 0, err
	}
	if err := s.mustBeTenant(ctx, tenant); err != nil {
		return 0, err
	}
	if key != "" {
		key = "deposit:" + tenant + ":" + key
	}
	err := s.op(ctx, func(ch *change) error {
		_, err := s.ledger.Deposit(key, tenant, amount)
		return err
	})
	if err != nil {
		return 0, err
	}
	return s.Balance(ledger.TenantCredit(tenant)), nil
}

// IssueToken gives an account a new API token, revoking the old one, and returns it.
// The operator issues tokens for anyone; an account may replace its own.
func (s *Service) IssueToken(ctx context.Context, who *joule.Account, account string) (string, error) {
	if who == nil || (who.Role != joule.RoleOperator && who.ID != account) {
		return "", joule.Errorf(joule.EFORBIDDEN, "only the operator issues tokens for other accounts")
	}
	token, err := s.cfg.NewToken()
	if err != nil {
		return "", fmt.Errorf("leasing: new token: %w", err)
	}
	if err := s.store.SetTokenHash(ctx, account, joule.HashToken(token)); err != nil {
		return "", err
	}
	return token, nil
}

// Authenticate returns the account an API token belongs to, or EUNAUTHORIZED.
func (s *Service) Authenticate(ctx context.Context, token string) (*joule.Account, error) {
	if token == "" {
		return nil, joule.Errorf(joule.EUNAUTHORIZED, "an API token is required (Authorization: Bearer TOKEN)")
	}
	a, err := s.store.AccountByTokenHash(ctx, joule.HashToken(token))
	if joule.ErrorCode(err) == joule.ENOTFOUND {
		return nil, joule.Errorf(joule.EUNAUTHORIZED, "invalid API token")
	}
	return a, err
}

// Principal returns the account with this ID to act as (the local CLI's --as), or,
// for an empty ID, the operator.
func (s *Service) Principal(ctx context.Context, id string) (*joule.Account, error) {
	if id == "" {
		id = s.cfg.Operator
	}
	a, err := s.store.Account(ctx, id)
	if joule.ErrorCode(err) == joule.ENOTFOUND {
		return nil, joule.Errorf(joule.EUNAUTHORIZED, "no account %q to act as", id)
	}
	return a, err
}

// Accounts lists every account; only the operator sees them.
func (s *Service) Accounts(ctx context.Context, who *joule.Account) ([]*joule.Account, error) {
	if err := mustBe(who, joule.RoleOperator, "list accounts"); err != nil {
		return nil, err
	}
	return s.store.Accounts(ctx)
}

// ensureOperator creates the operator's account when the store has none.
func (s *Service) ensureOperator(ctx context.Context) error {
	_, err := s.store.Account(ctx, s.cfg.Operator)
	if joule.ErrorCode(err) != joule.ENOTFOUND {
		return err
	}
	a := joule.Account{ID: s.cfg.Operator, Name: "Site operator", Role: joule.RoleOperator}
	return s.op(ctx, func(ch *change) error {
		ch.Accounts = append(ch.Accounts, joule.NewAccount{Account: a})
		return nil
	})
}

// role returns an account's role, cached: roles never change.
func (s *Service) role(ctx context.Context, id string) (joule.AccountRole, error) {
	s.rolesMu.Lock()
	r, ok := s.roles[id]
	s.rolesMu.Unlock()
	if ok {
		return r, nil
	}
	a, err := s.store.Account(ctx, id)
	if err != nil {
		return "", err
	}
	s.rolesMu.Lock()
	s.roles[id] = a.Role
	s.rolesMu.Unlock()
	return a.Role, nil
}

func (s *Service) mustBeTenant(ctx context.Context, id string) error {
	r, err := s.role(ctx, id)
	if err != nil {
		return err
	}
	if r != joule.RoleTenant {
		return joule.Errorf(joule.EINVALID, "account %s is a %s, not a tenant", id, r)
	}
	return nil
}

// mustBe returns EFORBIDDEN unless who has the role.
func mustBe(who *joule.Account, role joule.AccountRole, what string) error {
	if who == nil {
		return joule.Errorf(joule.EUNAUTHORIZED, "sign in to %s", what)
	}
	if who.Role != role {
		return joule.Errorf(joule.EFORBIDDEN, "only the %s may %s", role, what)
	}
	return nil
}

// randomToken returns 32 random bytes as URL-safe text with a recognizable prefix.
func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "jl_" + base64.RawURLEncoding.EncodeToString(b), nil
}
