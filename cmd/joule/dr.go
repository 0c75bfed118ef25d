package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
	jhttp "github.com/joule-site/joule/http"
)

func newDRCmd(g *globals) *cobra.Command {
	var (
		site        string
		reduceToMW  float64
		within, dur time.Duration
	)
	cmd := &cobra.Command{
		Use:   "dr --site NAME --reduce-to-mw MW --within DURATION",
		Short: "Declare a demand-response event: hold a site at or below a power level by a deadline",
		Long: `dr records a demand-response event. A running server plans the site at once, one
interval ahead of the deadline, and its agent sheds load and verifies it by telemetry;
every step lands in the site's audit log (joule audit --site NAME).`,
		Example: "  joule dr --site west-texas --reduce-to-mw 5 --within 60s --for 2h",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if reduceToMW < 0 || within < 0 || dur < 0 {
				return joule.Errorf(joule.EINVALID, "--reduce-to-mw, --within and --for must not be negative")
			}
			return withClient(cmd.Context(), g, func(c *jhttp.Client) error {
				dr, err := c.DemandResponse(cmd.Context(), site, joule.WattsFromMW(reduceToMW), within, dur)
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), dr)
				}
				end := "until cancelled"
				if !dr.End.IsZero() {
					end = "until " + dr.End.Local().Format(time.DateTime)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "demand response %d: %s at or below %s by %s, %s\n", dr.ID, dr.Site, dr.ReduceToW, dr.Deadline.Local().Format(time.DateTime), end)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&site, "site", "", "the site")
	cmd.Flags().Float64Var(&reduceToMW, "reduce-to-mw", 0, "the most the site may draw, MW")
	cmd.Flags().DurationVar(&within, "within", time.Minute, "time until the deadline")
	cmd.Flags().DurationVar(&dur, "for", 0, "how long the event lasts after its deadline (0: until cancelled)")
	_ = cmd.MarkFlagRequired("site")
	_ = cmd.MarkFlagRequired("reduce-to-mw")
	addJSONFlag(cmd, g)
	return cmd
}

func newAuditCmd(g *globals) *cobra.Command {
	var (
		site  string
		after int64
	)
	cmd := &cobra.Command{
		Use:   "audit --site NAME",
		Short: "Show a site's audit log: events, plans, commands, acknowledgements, verifications",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withClient(cmd.Context(), g, func(c *jhttp.Client) error {
				log, err := c.Audit(cmd.Context(), site, after)
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"audit": log})
				}
				for _, e := range log {
					dev := ""
					if e.Device != "" {
						dev = " " + e.Device
					}
					fmt.Fprintf(cmd.OutOrStdout(), "%6d %s %-7s%s %s\n", e.ID, e.At.Local().Format(time.DateTime), e.Kind, dev, e.Detail)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&site, "site", "", "the site")
	cmd.Flags().Int64Var(&after, "after", 0, "show events after this id")
	_ = cmd.MarkFlagRequired("site")
	addJSONFlag(cmd, g)
	return cmd
}
