package leasing

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"

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

// CreateAccount creates an account and returns it with its first API token, named
// DefaultTokenName with the default lifetime, which is shown this once: the store keeps
// only its hash. Only the operator creates accounts.
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
	var token string
	err := s.op(ctx, func(ch *change) error {
		expires, err := tokenExpiry(who, a.Role, TokenRequest{}, ch.At)
		if err != nil {
			return err
		}
		secret, t, err := s.newToken(who, a.ID, "", ch.At, expires)
		if err != nil {
			return err
		}
		token = secret
		ch.Accounts = append(ch.Accounts, joule.NewAccount{Account: a, Token: t})
		detail := fmt.Sprintf("account %s (%s) created with API token %s", a.ID, a.Role, tokenText(&t.APIToken))
		if a.Site != "" {
			detail = fmt.Sprintf("account %s (agent of site %s) created with API token %s", a.ID, a.Site, tokenText(&t.APIToken))
		}
		if req.CreditMicroUSD > 0 {
			if _, err := s.ledger.Deposit("deposit:"+a.ID+":opening", a.ID, req.CreditMicroUSD); err != nil {
				return err
			}
			detail += fmt.Sprintf(" and %s of credit", req.CreditMicroUSD)
		}
		ch.Audit = append(ch.Audit, changeAudit(who, ch.At, "", "account created", detail))
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
		if _, err := s.ledger.Deposit(key, tenant, amount); err != nil {
			return err
		}
		detail := fmt.Sprintf("%s of credit added to tenant %s", amount, tenant)
		if key != "" {
			detail += " (key " + strings.TrimPrefix(key, "deposit:"+tenant+":") + ")"
		}
		ch.Audit = append(ch.Audit, changeAudit(who, ch.At, "", "credit added", detail))
		return nil
	})
	if err != nil {
		return 0, err
	}
	return s.Balance(ledger.TenantCredit(tenant)), nil
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
