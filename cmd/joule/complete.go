package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
	jhttp "github.com/joule-site/joule/http"
)

// completionTimeout bounds how long the shell waits for a completion's answer from
// the store or the server: a slow server costs a pause, never a hung prompt.
const completionTimeout = 3 * time.Second

// completer lists the names a flag or an argument may take, read from the store or
// the server the command would talk to, and described for shells that show it.
type completer func(ctx context.Context, c *jhttp.Client, cmd *cobra.Command) ([]string, error)

// addCompletions teaches every command of root to complete, from what exists, the
// names its flags and arguments take: sites, products, models, accounts, orders,
// leases and demand-response events. It finds them by flag name and by the argument
// a command's Use line names, so that a new command is completed as its peers are.
func addCompletions(root *cobra.Command, g *globals) {
	flags := map[string]completer{
		"site":    completeSites,
		"product": completeProducts,
		"asic":    completeModels(joule.KindASIC),
		"gpu":     completeModels(joule.KindGPUServer),
		"seller":  completeAccounts(joule.RoleOwner, joule.RoleOperator),
		"tenant":  completeAccounts(joule.RoleTenant),
		"owner":   completeAccounts(joule.RoleOwner),
		"account": completeAccounts(),
	}
	args := map[string]completer{
		"PRODUCT":  completeProducts,
		"LEASE-ID": completeLeases,
		"ORDER-ID": completeOrders,
		"TENANT":   completeAccounts(joule.RoleTenant),
		"ACCOUNT":  completeAccounts(),
	}
	var walk func(*cobra.Command)
	walk = func(cmd *cobra.Command) {
		for name, fn := range flags {
			if cmd.Flags().Lookup(name) != nil {
				_ = cmd.RegisterFlagCompletionFunc(name, g.complete(fn, name == "site" && takesFile(cmd)))
			}
		}
		if fn := argCompleter(cmd, args); fn != nil && cmd.ValidArgsFunction == nil {
			cmd.ValidArgsFunction = func(cmd *cobra.Command, done []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
				if len(done) > 0 { // each of these commands takes one argument
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				return g.complete(fn, false)(cmd, done, prefix)
			}
		}
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// argCompleter is the completer of the first argument cmd's Use line names; the
// `dr cancel` ID, which lives under a site, and the IDs of the account commands are
// found by command.
func argCompleter(cmd *cobra.Command, args map[string]completer) completer {
	switch cmd.CommandPath() {
	case "joule dr cancel":
		return completeDemandResponses
	case "joule tenant credit":
		return completeAccounts(joule.RoleTenant)
	case "joule token revoke":
		return completeTokens
	case "joule token create", "joule token ls":
		return completeAccounts()
	case "joule account token":
		return completeAccounts()
	case "joule owner":
		return completeAccounts(joule.RoleOwner)
	case "joule listing priority":
		return completeProducts
	}
	fields := strings.Fields(cmd.Use)
	if len(fields) < 2 {
		return nil
	}
	return args[fields[1]]
}

// takesFile reports whether cmd's --site may also be a manifest file.
func takesFile(cmd *cobra.Command) bool {
	return strings.Contains(cmd.Flags().Lookup("site").Usage, "file")
}

// complete runs fn against the store or server the command would use, and turns its
// names into the shell's answer. Nothing is completed, and nothing is created, where
// the local store does not exist yet; files are offered too where orFiles says so.
func (g *globals) complete(fn completer, orFiles bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		directive := cobra.ShellCompDirectiveNoFileComp
		if orFiles {
			directive = cobra.ShellCompDirectiveDefault
		}
		if g.server == "" {
			if _, err := os.Stat(g.db); err != nil {
				return nil, directive
			}
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), completionTimeout)
		defer cancel()
		var names []string
		err := runClient(ctx, g, true, func(c *jhttp.Client) (err error) {
			names, err = fn(ctx, c, cmd)
			return err
		})
		if err != nil {
			cobra.CompDebugln(fmt.Sprintf("completion: %v", err), true)
			return nil, directive
		}
		var out []cobra.Completion
		for _, n := range names {
			if strings.HasPrefix(n, prefix) {
				out = append(out, n)
			}
		}
		return out, directive
	}
}

// completion is a name with the description a shell shows beside it.
func completion(name, description string) string {
	if description == "" {
		return name
	}
	return cobra.CompletionWithDesc(name, description)
}

func completeSites(ctx context.Context, c *jhttp.Client, _ *cobra.Command) ([]string, error) {
	sites, err := c.Sites(ctx)
	var out []string
	for _, s := range sites {
		out = append(out, completion(s.Name, fmt.Sprintf("%s cap", s.PowerCapW)))
	}
	return out, err
}

func completeProducts(ctx context.Context, c *jhttp.Client, _ *cobra.Command) ([]string, error) {
	products, err := c.Products(ctx)
	var out []string
	for _, p := range products {
		out = append(out, completion(p.ID, fmt.Sprintf("%d GPUs", p.CapacityGPUs)))
	}
	return out, err
}

func completeModels(kind joule.HardwareKind) completer {
	return func(ctx context.Context, c *jhttp.Client, _ *cobra.Command) ([]string, error) {
		models, err := c.AllModels(ctx)
		var out []string
		for _, m := range models {
			if m.Kind == kind {
				out = append(out, completion(m.ID, m.Name))
			}
		}
		return out, err
	}
}

// completeAccounts lists the accounts of the roles (any role when none is named).
func completeAccounts(roles ...joule.AccountRole) completer {
	return func(ctx context.Context, c *jhttp.Client, _ *cobra.Command) ([]string, error) {
		accounts, err := c.Accounts(ctx)
		var out []string
		for _, a := range accounts {
			if len(roles) == 0 || slices.Contains(roles, a.Role) {
				out = append(out, completion(a.ID, string(a.Role)))
			}
		}
		return out, err
	}
}

// completeOrders lists the orders still resting in the book: the ones to cancel.
func completeOrders(ctx context.Context, c *jhttp.Client, _ *cobra.Command) ([]string, error) {
	orders, err := c.Orders(ctx, jhttp.OrderQuery{Resting: true, Limit: 200})
	var out []string
	for _, o := range orders {
		out = append(out, completion(o.ID, fmt.Sprintf("%s %d GPUs of %s", o.Kind, o.GPUs, o.Product)))
	}
	return out, err
}

// completeLeases lists the leases not yet ended: the ones to stop or resell.
func completeLeases(ctx context.Context, c *jhttp.Client, _ *cobra.Command) ([]string, error) {
	leases, err := c.Leases(ctx, "", 200)
	var out []string
	for _, l := range leases {
		if l.Status != joule.LeaseEnded {
			out = append(out, completion(l.ID, fmt.Sprintf("%d GPUs of %s, %s", l.GPUs, l.Product, l.Status)))
		}
	}
	return out, err
}

// completeDemandResponses lists the events of the site --site names that still stand.
func completeDemandResponses(ctx context.Context, c *jhttp.Client, cmd *cobra.Command) ([]string, error) {
	site, _ := cmd.Flags().GetString("site")
	if site == "" {
		return nil, nil
	}
	events, err := c.DemandResponses(ctx, site)
	var out []string
	for _, e := range events {
		out = append(out, completion(fmt.Sprint(e.ID), fmt.Sprintf("at most %s", e.ReduceToW)))
	}
	return out, err
}

// completeTokens lists the API tokens not yet revoked: the ones to revoke.
func completeTokens(ctx context.Context, c *jhttp.Client, _ *cobra.Command) ([]string, error) {
	tokens, err := c.Tokens(ctx, "")
	var out []string
	for _, tk := range tokens {
		if tk.RevokedAt.IsZero() {
			out = append(out, completion(tk.ID, fmt.Sprintf("%s of %s", tk.Name, tk.Account)))
		}
	}
	return out, err
}
