package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
	jhttp "github.com/joule-site/joule/http"
)

// The API token commands. On the local store they act as the operator (or --as NAME);
// against a server, as the account of --token.

func newTokenCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Issue, list and revoke API tokens",
		Long: `An account holds any number of API tokens, each with a name and an expiry; issuing
one revokes none of the others. A token is printed once when issued and stored only as
a hash. The operator manages every account's tokens, an account its own.`,
	}
	cmd.AddCommand(newTokenCreateCmd(g), newTokenLsCmd(g), newTokenRevokeCmd(g))
	return cmd
}

func newTokenCreateCmd(g *globals) *cobra.Command {
	var name, expires string
	cmd := &cobra.Command{
		Use:   "create ACCOUNT [--name NAME] [--expires 30d|never|TIME]",
		Short: "Issue an API token for an account; prints it once",
		Long: `create issues a new API token for the account and prints it once on standard output
(what it is, on standard error); the account's other tokens keep working.

--expires is a lifetime (30d, 12h), a time (2025-06-30, 2025-06-30T00:00Z) or never.
Without it a token expires in 90 days, an agent's never. No token expires more than
365 days after its issue; only the operator issues tokens that never expire.

On the local store the CLI acts as the operator, so 'joule token create operator' is
how an operator gets its first token for a server.`,
		Example: "  joule token create operator --name laptop --expires 30d\n  joule token create west-agent --name agent --expires never",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := tokenRequest(name, expires)
			if err != nil {
				return err
			}
			return withExchange(cmd.Context(), g, func(c *jhttp.Client) error {
				t, err := c.IssueToken(cmd.Context(), args[0], req)
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), t)
				}
				fmt.Fprintln(cmd.OutOrStdout(), t.Token)
				expires := "never expires"
				if !t.ExpiresAt.IsZero() {
					expires = "expires " + hourText(t.ExpiresAt)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "API token %s %q of %s, %s: shown this once, stored only as a hash\n", t.ID, t.Name, t.Account, expires)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "what the token is for, to tell it apart (default \"default\")")
	cmd.Flags().StringVar(&expires, "expires", "", "a lifetime (30d, 12h), a time (2025-06-30T00:00Z) or never (default 90d; an agent's never)")
	addJSONFlag(cmd, g)
	return cmd
}

func newTokenLsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ls [ACCOUNT]",
		Short: "List API tokens, never their secrets: an account's, or every one you may see",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			account := ""
			if len(args) == 1 {
				account = args[0]
			}
			return withExchange(cmd.Context(), g, func(c *jhttp.Client) error {
				tokens, err := c.Tokens(cmd.Context(), account)
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"tokens": tokens})
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tACCOUNT\tNAME\tCREATED\tEXPIRES\tREVOKED")
				for _, t := range tokens {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Account, t.Name, hourText(t.CreatedAt), expiryText(t.ExpiresAt), hourText(t.RevokedAt))
				}
				return w.Flush()
			})
		},
	}
	addJSONFlag(cmd, g)
	return cmd
}

func newTokenRevokeCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "revoke ID",
		Short:   "Revoke an API token at once, by its ID (joule token ls lists them)",
		Example: "  joule token revoke tok_3f9a1c0d5e7b2a64",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withExchange(cmd.Context(), g, func(c *jhttp.Client) error {
				t, err := c.RevokeToken(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), t)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "API token %s %q of %s revoked at %s\n", t.ID, t.Name, t.Account, hourText(t.RevokedAt))
				return nil
			})
		},
	}
	addJSONFlag(cmd, g)
	return cmd
}

// tokenRequest reads create's flags into the API's request.
func tokenRequest(name, expires string) (jhttp.TokenRequest, error) {
	req := jhttp.TokenRequest{Name: name}
	switch {
	case expires == "":
	case expires == "never":
		req.NeverExpires = true
	default:
		if d, ok := parseLifetime(expires); ok {
			if d < time.Second {
				return req, joule.Errorf(joule.EINVALID, "--expires %q: a lifetime is at least a second", expires)
			}
			req.ExpiresInS = int64(d / time.Second)
			return req, nil
		}
		t, err := parseWhen("expires", expires)
		if err != nil {
			return req, joule.Errorf(joule.EINVALID, "--expires %q: use a lifetime like 30d or 12h, a time like 2025-06-30T00:00Z, or never", expires)
		}
		req.ExpiresAt = t
	}
	return req, nil
}

// parseLifetime reads a lifetime: whole days (30d) or a Go duration (12h, 90m).
func parseLifetime(s string) (time.Duration, bool) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n > math.MaxInt64/int64(24*time.Hour) {
			return 0, false
		}
		return time.Duration(n) * 24 * time.Hour, true
	}
	d, err := time.ParseDuration(s)
	return d, err == nil
}

// expiryText says when a token expires: its time, or never.
func expiryText(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return hourText(t)
}
