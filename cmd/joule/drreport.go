package main

import (
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/drreport"
	jhttp "github.com/joule-site/joule/http"
)

func newDRReportCmd(g *globals) *cobra.Command {
	var (
		site     string
		csv      bool
		baseline time.Duration
	)
	cmd := &cobra.Command{
		Use:   "report --site NAME ID [--csv|--json] [--baseline 10m]",
		Short: "A demand-response event's evidence: baseline, steps, time to target, shortfall, and the meter's and the devices' series",
		Long: `report prints the evidence of a demand-response event (its ID is in joule dr ls
--history N): the baseline the site drew before notice (the mean metered power over
--baseline before it: the "Meter Before / Meter After" method of NAESB WEQ-015; the
window's default of 10m is an assumption), when the plan was made and the commands
were sent, acknowledged and verified (by fleet), when the site reached its target
and how long after notice, and how far and for how long it drew above the target
from the deadline to the end (the shortfall, in MW and MWh).

--json prints the whole report, with the meter's and the devices' series and the
audit rows of every command; --csv prints the series (at, meter_w, devices_w,
baseline_w, target_w) for a spreadsheet or a settlement tool. The Site page links each
event to the same report as a printable page.`,
		Example: "  joule dr report --site west-texas 3\n  joule dr report --site west-texas 3 --csv > dr-3.csv",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return joule.Errorf(joule.EINVALID, "event %q: an event's ID is a positive whole number (joule dr ls --site %s --history 20)", args[0], site)
			}
			if csv && g.json {
				return joule.Errorf(joule.EINVALID, "--csv and --json: one or the other")
			}
			return withClient(cmd.Context(), g, func(c *jhttp.Client) error {
				if csv {
					data, err := c.DemandResponseReportCSV(cmd.Context(), site, id, baseline)
					if err != nil {
						return err
					}
					_, err = cmd.OutOrStdout().Write(data)
					return err
				}
				rep, err := c.DemandResponseReport(cmd.Context(), site, id, baseline)
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), rep)
				}
				return drreport.WriteText(cmd.OutOrStdout(), rep)
			})
		},
	}
	cmd.Flags().StringVar(&site, "site", "", "the site")
	cmd.Flags().BoolVar(&csv, "csv", false, "print the meter's and the devices' series as CSV")
	cmd.Flags().DurationVar(&baseline, "baseline", 0, "the baseline's window before notice (default 10m, an assumption)")
	_ = cmd.MarkFlagRequired("site")
	addJSONFlag(cmd, g)
	return cmd
}
