package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	jhttp "github.com/joule-site/joule/http"
)

// exchangeAudit prints the exchange's own audit log, of the changes that belong to no
// site: API tokens issued and revoked, accounts created, credit added. Each row names
// the account that made the change.
func exchangeAudit(cmd *cobra.Command, g *globals, after int64) error {
	return withClient(cmd.Context(), g, func(c *jhttp.Client) error {
		log, err := c.ExchangeAudit(cmd.Context(), after, 0)
		if err != nil {
			return err
		}
		if g.json {
			return printJSON(cmd.OutOrStdout(), map[string]any{"audit": log})
		}
		w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tAT\tACTOR\tCHANGE")
		for _, e := range log {
			fmt.Fprintf(w, "%d\t%s\t%s\t%s: %s\n", e.ID, e.At.Local().Format(time.DateTime), e.Actor, e.Reason, e.Detail)
		}
		return w.Flush()
	})
}
