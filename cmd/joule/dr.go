package main

import (
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/live"
)

func newDRCmd(g *globals) *cobra.Command {
	var (
		site        string
		reduceToMW  float64
		within, dur time.Duration
		shedFirm    bool
	)
	cmd := &cobra.Command{
		Use:   "dr --site NAME --reduce-to-mw MW --within DURATION --for DURATION [--shed-firm]",
		Short: "Declare a demand-response event: hold a site at or below a power level by a deadline",
		Long: `dr records a demand-response event. A running server plans the site at once, one
interval ahead of the deadline, and its agent sheds load and verifies it by telemetry;
every step lands in the site's audit log (joule audit --site NAME).

The level is at most the site's cap; --within is at most 48h and --for, which every
event needs, at most 7 days (168h). An event that would hold the site below what its
firm GPU leases draw while it holds is refused, naming that load in watts, unless
--shed-firm says to cut it; such an event is audited as shedding firm load.`,
		Example: "  joule dr --site west-texas --reduce-to-mw 5 --within 60s --for 2h",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if reduceToMW < 0 || within < 0 || dur <= 0 {
				return joule.Errorf(joule.EINVALID, "--reduce-to-mw and --within must not be negative, and --for must be positive")
			}
			// The exchange is opened on a local store too: its firm leases bound the level.
			return withExchange(cmd.Context(), g, func(c *jhttp.Client) error {
				dr, err := c.DeclareDemandResponse(cmd.Context(), site, live.DemandResponseRequest{
					ReduceToW: joule.WattsFromMW(reduceToMW), Within: within, For: dur, ShedFirm: shedFirm})
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
				shed := ""
				if dr.ShedFirm {
					shed = ", firm load may be shed"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "demand response %d: %s at or below %s by %s, %s%s\n", dr.ID, dr.Site, dr.ReduceToW, dr.Deadline.Local().Format(time.DateTime), end, shed)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&site, "site", "", "the site")
	cmd.Flags().Float64Var(&reduceToMW, "reduce-to-mw", 0, "the most the site may draw, MW")
	cmd.Flags().DurationVar(&within, "within", time.Minute, "time until the deadline")
	cmd.Flags().DurationVar(&dur, "for", 0, "how long the event lasts after its deadline, at most 168h")
	cmd.Flags().BoolVar(&shedFirm, "shed-firm", false, "let the event hold the site below what its firm GPU leases draw")
	_ = cmd.MarkFlagRequired("site")
	_ = cmd.MarkFlagRequired("reduce-to-mw")
	_ = cmd.MarkFlagRequired("for")
	addJSONFlag(cmd, g)
	cmd.AddCommand(newDRListCmd(g), newDRCancelCmd(g), newDRReportCmd(g))
	return cmd
}

func newDRListCmd(g *globals) *cobra.Command {
	var site string
	var history int
	cmd := &cobra.Command{
		Use:     "ls --site NAME [--history N]",
		Short:   "List a site's demand-response events that have not ended, or with --history its newest N, ended or not",
		Example: "  joule dr ls --site west-texas\n  joule dr ls --site west-texas --history 20",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withClient(cmd.Context(), g, func(c *jhttp.Client) error {
				var events []*joule.DemandResponse
				var err error
				if cmd.Flags().Changed("history") {
					if history < 1 || history > joule.MaxAuditQuery {
						return joule.Errorf(joule.EINVALID, "--history: from 1 to %d events, not %d", joule.MaxAuditQuery, history)
					}
					events, err = c.DemandResponseHistory(cmd.Context(), site, history)
				} else {
					events, err = c.DemandResponses(cmd.Context(), site)
				}
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"events": events})
				}
				if len(events) == 0 {
					fmt.Fprintf(cmd.OutOrStdout(), "%s has no demand-response event\n", site)
					return nil
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tAT MOST\tBY\tUNTIL\tDECLARED BY\tFIRM LOAD")
				for _, dr := range events {
					firm := "kept"
					if dr.ShedFirm {
						firm = "may be shed"
					}
					fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", dr.ID, dr.ReduceToW, dr.Deadline.Local().Format(time.DateTime), drUntil(dr), drBy(dr), firm)
				}
				return w.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&site, "site", "", "the site")
	cmd.Flags().IntVar(&history, "history", 0, "list the newest N events, those that ended or were cancelled too")
	_ = cmd.MarkFlagRequired("site")
	addJSONFlag(cmd, g)
	return cmd
}

func newDRCancelCmd(g *globals) *cobra.Command {
	var site string
	cmd := &cobra.Command{
		Use:   "cancel --site NAME ID",
		Short: "Cancel a demand-response event: it ends now and a running server plans the site again",
		Long: `cancel calls off a demand-response event (its ID is in joule dr ls): it ends now, the
cancellation lands in the site's audit log, and a running server plans the site at once
without it.`,
		Example: "  joule dr cancel --site west-texas 3",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return joule.Errorf(joule.EINVALID, "event %q: an event's ID is a positive whole number (joule dr ls --site %s)", args[0], site)
			}
			return withClient(cmd.Context(), g, func(c *jhttp.Client) error {
				dr, err := c.CancelDemandResponse(cmd.Context(), site, id)
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), dr)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "demand response %d: %s no longer held at or below %s, cancelled at %s\n", dr.ID, dr.Site, dr.ReduceToW, dr.CancelledAt.Local().Format(time.DateTime))
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&site, "site", "", "the site")
	_ = cmd.MarkFlagRequired("site")
	addJSONFlag(cmd, g)
	return cmd
}

// drBy says who declared an event.
func drBy(dr *joule.DemandResponse) string {
	if dr.By == "" {
		return "-" // declared before events recorded it
	}
	return dr.By
}

// drUntil says when an event ends.
func drUntil(dr *joule.DemandResponse) string {
	switch {
	case dr.End.IsZero():
		return "until cancelled"
	case !dr.CancelledAt.IsZero():
		return dr.End.Local().Format(time.DateTime) + " (cancelled)"
	}
	return dr.End.Local().Format(time.DateTime)
}
