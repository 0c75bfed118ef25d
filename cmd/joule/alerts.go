package main

import (
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
	jhttp "github.com/joule-site/joule/http"
)

func newAlertsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "List and acknowledge a site's alerts",
		Long: `alerts lists a site's alerts (what its manifest's alerts: block watches for: a miner
offline, overheating, hashing under its expected rate, on a pool its fleet does not list,
or replying in a new shape; the meter against the devices; a stale feed; a
demand-response event at risk) and acknowledges them. Firing alerts come first.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newAlertsListCmd(g), newAlertsAckCmd(g))
	return cmd
}

func newAlertsListCmd(g *globals) *cobra.Command {
	var site, state string
	cmd := &cobra.Command{
		Use:     "list --site NAME [--state firing|acknowledged|resolved]",
		Aliases: []string{"ls"},
		Short:   "List a site's alerts: firing first, then acknowledged, then resolved, each newest first",
		Example: "  joule alerts list --site west-texas\n  joule alerts list --site west-texas --state firing --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if st := joule.AlertState(state); st != "" && !st.Valid() {
				return joule.Errorf(joule.EINVALID, "--state: %q is not firing, acknowledged or resolved", state)
			}
			return withClient(cmd.Context(), g, func(c *jhttp.Client) error {
				list, err := c.Alerts(cmd.Context(), site, joule.AlertState(state))
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), jhttp.AlertList{Alerts: list})
				}
				if len(list) == 0 {
					fmt.Fprintf(cmd.OutOrStdout(), "%s has no alerts\n", site)
					return nil
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tSTATE\tRULE\tSUBJECT\tFIRED\tSUMMARY")
				for _, a := range list {
					st := string(a.State)
					if a.State == joule.AlertAcknowledged {
						st += " by " + a.AckedBy
					}
					fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", a.ID, st, a.Rule, a.Subject, a.FiredAt.Local().Format(time.DateTime), a.Summary)
				}
				return w.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&site, "site", "", "the site")
	cmd.Flags().StringVar(&state, "state", "", "only the alerts in this state: firing, acknowledged or resolved")
	_ = cmd.MarkFlagRequired("site")
	addJSONFlag(cmd, g)
	return cmd
}

func newAlertsAckCmd(g *globals) *cobra.Command {
	var site string
	cmd := &cobra.Command{
		Use:   "ack --site NAME ID",
		Short: "Acknowledge a firing alert: it stays open until its condition clears, with who acknowledged it",
		Long: `ack records that a person has seen a firing alert (its ID is in joule alerts list): the
alert keeps firing until its condition clears, and the acknowledgement, with who made it
and when, lands in the alert, the site's audit log and the site's webhooks. It takes an
operator's token against a server.`,
		Example: "  joule alerts ack --site west-texas 12",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return joule.Errorf(joule.EINVALID, "alert %q: an alert's ID is a positive whole number (joule alerts list --site %s)", args[0], site)
			}
			return withClient(cmd.Context(), g, func(c *jhttp.Client) error {
				a, err := c.AckAlert(cmd.Context(), site, id)
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), a)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "alert %d (%s %s) acknowledged by %s at %s\n", a.ID, a.Rule, a.Subject, a.AckedBy, a.AckedAt.Local().Format(time.DateTime))
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&site, "site", "", "the site")
	_ = cmd.MarkFlagRequired("site")
	addJSONFlag(cmd, g)
	return cmd
}
