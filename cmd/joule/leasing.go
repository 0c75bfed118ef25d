package main

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/leasing"
)

// The GPU exchange's account and listing commands. On the local store they act as the
// operator (or --as NAME); against a server, as the account of --token.

func newTenantCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "tenant", Short: "Create tenants of the GPU exchange and add their prepaid credit"}
	var name string
	var credit float64
	create := &cobra.Command{
		Use:     "create ID --credit-usd AMOUNT",
		Short:   "Create a tenant with prepaid credit; prints its API token once",
		Example: "  joule tenant create acme --credit-usd 50000",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if credit < 0 {
				return joule.Errorf(joule.EINVALID, "--credit-usd must not be negative")
			}
			return withExchange(cmd.Context(), g, func(c *jhttp.Client) error {
				created, err := c.CreateTenant(cmd.Context(), jhttp.TenantRequest{ID: args[0], Name: name, CreditMicroUSD: joule.MicroUSDFromUSD(credit)})
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), created)
				}
				out := cmd.OutOrStdout()
				fmt.Fprintf(out, "tenant %s created with %s of credit\n", created.Account.ID, joule.MicroUSDFromUSD(credit))
				fmt.Fprintf(out, "API token (shown once; give it to the tenant for --token or JOULE_TOKEN):\n%s\n", created.Token)
				return nil
			})
		},
	}
	create.Flags().StringVar(&name, "name", "", "display name (default: the ID)")
	create.Flags().Float64Var(&credit, "credit-usd", 0, "opening prepaid credit in US dollars")
	addJSONFlag(create, g)

	var amount float64
	var key string
	credits := &cobra.Command{
		Use:     "credit ID --usd AMOUNT",
		Short:   "Add prepaid credit to a tenant",
		Example: "  joule tenant credit acme --usd 10000 --key wire-2025-01-31",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withExchange(cmd.Context(), g, func(c *jhttp.Client) error {
				balance, err := c.AddCredit(cmd.Context(), args[0], key, joule.MicroUSDFromUSD(amount))
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"tenant": args[0], "credit_micro_usd": balance})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "tenant %s now has %s of credit\n", args[0], balance)
				return nil
			})
		},
	}
	credits.Flags().Float64Var(&amount, "usd", 0, "credit to add, US dollars")
	credits.Flags().StringVar(&key, "key", "", "a reference that makes a retry harmless (a payment's ID)")
	_ = credits.MarkFlagRequired("usd")
	addJSONFlag(credits, g)
	cmd.AddCommand(create, credits)
	return cmd
}

func newAccountCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "account", Short: "Create and list accounts (their API tokens: joule token)"}
	ls := &cobra.Command{
		Use:   "ls",
		Short: "List every account: tenants, owners and operators (operator)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withExchange(cmd.Context(), g, func(c *jhttp.Client) error {
				accounts, err := c.Accounts(cmd.Context())
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"accounts": accounts})
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tROLE\tNAME")
				for _, a := range accounts {
					fmt.Fprintf(w, "%s\t%s\t%s\n", a.ID, a.Role, a.Name)
				}
				return w.Flush()
			})
		},
	}
	addJSONFlag(ls, g)
	// The command of the days when an account had one token; it issues one more.
	token := newTokenCreateCmd(g)
	token.Use = "token ID"
	token.Deprecated = "use 'joule token create ID', which also names the token and sets its expiry"
	cmd.AddCommand(ls, token, newAccountCreateCmd(g))
	return cmd
}

// newAccountCreateCmd creates an account of any role: a viewer's read-only token, a
// site's agent, an owner or another operator.
func newAccountCreateCmd(g *globals) *cobra.Command {
	var role, site, name string
	cmd := &cobra.Command{
		Use:   "create ID --role ROLE [--site SITE]",
		Short: "Create an account (operator): a viewer, a site's agent, an owner, a tenant or an operator; prints its API token once",
		Long: `create makes an account and prints its API token, shown this once. A viewer reads
the control plane and the dashboards and changes nothing; an agent (--site) reads its
site's plan and reports its census and audit, for 'joule agent --token'; owners,
tenants and operators trade on the GPU exchange (a tenant's credit: 'joule tenant
create').`,
		Example: "  joule account create west-agent --role agent --site west-texas\n  joule account create noc --role viewer",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withExchange(cmd.Context(), g, func(c *jhttp.Client) error {
				created, err := c.CreateAccount(cmd.Context(), leasing.NewAccountRequest{ID: args[0], Name: name, Role: joule.AccountRole(role), Site: site})
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), created)
				}
				out := cmd.OutOrStdout()
				fmt.Fprintf(out, "Created %s %s", created.Account.Role, created.Account.ID)
				if created.Account.Site != "" {
					fmt.Fprintf(out, " of site %s", created.Account.Site)
				}
				fmt.Fprintf(out, ".\nAPI token (shown once; give it to the account for --token or JOULE_TOKEN):\n%s\n", created.Token)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&role, "role", "", fmt.Sprintf("the account's role: one of %q", joule.Roles))
	cmd.Flags().StringVar(&site, "site", "", "the site an agent runs (agents only)")
	cmd.Flags().StringVar(&name, "name", "", "a display name (default: the ID)")
	_ = cmd.MarkFlagRequired("role")
	addJSONFlag(cmd, g)
	return cmd
}

func newProductsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "products",
		Short: "List the exchange's products (GPU model at a site) with their capacity and asks",
		Long: `products lists what the GPU exchange sells: one product per GPU server model and
site, made from the sites' gpu_servers fleets (joule apply), with one listing per seller:
the fleet's owner, or the operator for its own servers.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withExchange(cmd.Context(), g, func(c *jhttp.Client) error {
				products, err := c.Products(cmd.Context())
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"products": products})
				}
				if len(products) == 0 {
					fmt.Fprintln(cmd.OutOrStdout(), "No products yet: declare GPU servers with joule apply -f examples/west-texas.yaml")
					return nil
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "PRODUCT\tGPUS\tSELLER\tSERVERS\tASK $/GPU-H")
				for _, p := range products {
					for i, l := range p.Listings {
						id, gpus := p.ID, fmt.Sprint(p.CapacityGPUs)
						if i > 0 {
							id, gpus = "", ""
						}
						fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%.2f\n", id, gpus, l.Seller, l.Servers, l.AskMicroUSDPerGPUHour.USD())
					}
				}
				return w.Flush()
			})
		},
	}
	addJSONFlag(cmd, g)
	return cmd
}

func newListingCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "listing", Short: "Set the asks of listings"}
	var seller string
	var ask float64
	var opportunity bool
	set := &cobra.Command{
		Use:     "ask PRODUCT --usd-gpu-hour PRICE [--seller ID] [--opportunity-cost]",
		Short:   "Set a seller's ask in a product (the operator for anyone, an owner for itself)",
		Example: "  joule listing ask h100-sxm/west-texas --seller northwind-capital --usd-gpu-hour 2.25",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withExchange(cmd.Context(), g, func(c *jhttp.Client) error {
				l, err := c.SetAsk(cmd.Context(), args[0], seller, joule.MicroUSDFromUSD(ask), opportunity)
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), l)
				}
				if l.OpportunityCost {
					fmt.Fprintf(cmd.OutOrStdout(), "%s: %s asks the opportunity cost of its power, at least %s per GPU-hour, for %d servers\n", l.Product, l.Seller, l.AskMicroUSDPerGPUHour, l.Servers)
					return nil
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %s asks %s per GPU-hour for %d servers\n", l.Product, l.Seller, l.AskMicroUSDPerGPUHour, l.Servers)
				return nil
			})
		},
	}
	set.Flags().StringVar(&seller, "seller", "", "the listing's seller (default: the caller)")
	set.Flags().Float64Var(&ask, "usd-gpu-hour", 0, "the ask, US dollars per GPU-hour (with --opportunity-cost: the floor)")
	set.Flags().BoolVar(&opportunity, "opportunity-cost", false, "ask what the site's miners would earn on the GPUs' power (plus the server's --opportunity-margin), never below --usd-gpu-hour")
	_ = set.MarkFlagRequired("usd-gpu-hour")
	addJSONFlag(set, g)
	cmd.AddCommand(set, newFillPriorityCmd(g), newCapTermsCmd(g))
	return cmd
}

// parseWhen reads a time on the command line: RFC 3339 with or without seconds
// (2025-01-06T00:00Z), a date (2025-01-06, midnight UTC), a local-less time taken as
// UTC (2025-01-06T00:00), or one relative to now: "now", or "+" and a duration in
// days, hours and minutes ("+7d", "+2h", "+1d12h"), rounded up to the whole hour so
// that the blocks of hours the exchange trades line up.
func parseWhen(flag, s string) (time.Time, error) {
	return parseWhenAt(flag, s, time.Now())
}

// parseWhenAt is parseWhen with now given.
func parseWhenAt(flag, s string, now time.Time) (time.Time, error) {
	switch {
	case s == "now":
		return now.UTC(), nil
	case strings.HasPrefix(s, "+"):
		d, err := parseDays(s[1:])
		if err != nil || d <= 0 {
			return time.Time{}, joule.Errorf(joule.EINVALID, "--%s %q: a time from now is + and a duration like +7d, +2h or +1d12h", flag, s)
		}
		t := now.UTC().Add(d)
		if h := t.Truncate(time.Hour); !h.Equal(t) {
			t = h.Add(time.Hour)
		}
		return t, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04Z07:00", "2006-01-02T15:04", "2006-01-02T15:04:05", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, joule.Errorf(joule.EINVALID, "--%s %q: use a time like 2025-01-06T00:00Z, a date like 2025-01-06, now, or a time from now like +7d", flag, s)
}

// parseDays reads a duration that may start with whole days ("7d", "1d12h", "90m").
func parseDays(s string) (time.Duration, error) {
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		n, err := strconv.Atoi(s[:i])
		if err != nil || n < 0 || n > 3660 {
			return 0, fmt.Errorf("days %q", s[:i])
		}
		days, s = time.Duration(n)*24*time.Hour, s[i+1:]
	}
	if s == "" {
		return days, nil
	}
	d, err := time.ParseDuration(s)
	return days + d, err
}

// hourText formats an hour-aligned time compactly, in UTC.
func hourText(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return strings.Replace(t.UTC().Format("2006-01-02T15:04Z"), "T", " ", 1)
}
