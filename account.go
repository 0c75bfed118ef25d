package joule

// AccountRole says what an account may do: trade on the GPU exchange (tenant, owner,
// operator), watch the control plane (viewer), or run one site's devices (agent).
type AccountRole string

// Account roles.
const (
	// RoleTenant is an AI team that buys GPU time with prepaid credit.
	RoleTenant AccountRole = "tenant"
	// RoleOwner is an investor whose GPU servers a site hosts: it sells their hours,
	// earns their revenue less the platform fee, and owes the site a hosting fee.
	RoleOwner AccountRole = "owner"
	// RoleOperator runs sites: it sells its own servers' hours, collects the fees, and
	// may do everything.
	RoleOperator AccountRole = "operator"
	// RoleViewer reads the control plane and the dashboards, and changes nothing.
	RoleViewer AccountRole = "viewer"
	// RoleAgent is the agent next to one site's devices (Account.Site): it reads that
	// site's plan and reports its census and audit, and nothing else.
	RoleAgent AccountRole = "agent"
)

// Roles are the account roles, in the order messages list them.
var Roles = []AccountRole{RoleTenant, RoleOwner, RoleOperator, RoleViewer, RoleAgent}

// Account is a party to the exchange and the ledger, or a principal of the control
// plane. Its ID is a slug, so that ledger account names built from it
// ("tenant:<id>:credit") parse without ambiguity.
type Account struct {
	ID   string      `json:"id"`
	Name string      `json:"name"`
	Role AccountRole `json:"role"`
	// Site is the site an agent runs; empty for every other role.
	Site string `json:"site,omitempty"`
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
	case !a.Role.Valid():
		return Errorf(EINVALID, "account %s: role must be one of %q, not %q", a.ID, Roles, a.Role)
	case a.Role == RoleAgent && !ValidSlug(a.Site):
		return Errorf(EINVALID, "account %s: an agent names the site it runs (site %q)", a.ID, a.Site)
	case a.Role != RoleAgent && a.Site != "":
		return Errorf(EINVALID, "account %s: only an agent names a site", a.ID)
	}
	return nil
}

// Valid reports whether r is one of Roles.
func (r AccountRole) Valid() bool {
	for _, x := range Roles {
		if r == x {
			return true
		}
	}
	return false
}

// Sells reports whether the account may list capacity of its own servers.
func (a *Account) Sells() bool { return a.Role == RoleOwner || a.Role == RoleOperator }
