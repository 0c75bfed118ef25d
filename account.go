package joule

// AccountRole says what an account does on the GPU exchange.
type AccountRole string

// Account roles.
const (
	// RoleTenant is an AI team that buys GPU time with prepaid credit.
	RoleTenant AccountRole = "tenant"
	// RoleOwner is an investor whose GPU servers a site hosts: it sells their hours,
	// earns their revenue less the platform fee, and owes the site a hosting fee.
	RoleOwner AccountRole = "owner"
	// RoleOperator runs sites: it sells its own servers' hours and collects the fees.
	RoleOperator AccountRole = "operator"
)

// Account is a party to the exchange and the ledger. Its ID is a slug, so that ledger
// account names built from it ("tenant:<id>:credit") parse without ambiguity.
type Account struct {
	ID   string      `json:"id"`
	Name string      `json:"name"`
	Role AccountRole `json:"role"`
}

// Sees reports whether a may see and act on what belongs to account id: its own, or
// anything for the operator. A nil account sees nothing.
func (a *Account) Sees(id string) bool {
	return a != nil && (a.Role == RoleOperator || a.ID == id)
}

// Validate checks the account's own fields.
func (a *Account) Validate() error {
	switch {
	case !ValidSlug(a.ID):
		return Errorf(EINVALID, "account id %q: use lower-case letters, digits, '.', '_' or '-'", a.ID)
	case a.Role != RoleTenant && a.Role != RoleOwner && a.Role != RoleOperator:
		return Errorf(EINVALID, "account %s: role must be %q, %q or %q, not %q", a.ID, RoleTenant, RoleOwner, RoleOperator, a.Role)
	}
	return nil
}

// Sells reports whether the account may list capacity of its own servers.
func (a *Account) Sells() bool { return a.Role == RoleOwner || a.Role == RoleOperator }
