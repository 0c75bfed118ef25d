package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
	jhttp "github.com/joule-site/joule/http"
)

// newPayoutCmd pays an owner's balance out (the operator's bank transfer, recorded).
func newPayoutCmd(g *globals) *cobra.Command {
	var owner, key string
	var amount float64
	cmd := &cobra.Command{
		Use:   "payout --owner ACCOUNT --amount USD [--key K]",
		Short: "Pay an owner's balance out (operator); more than the balance is refused and nothing is paid",
		Long: `Pay part or all of an owner's revenue balance out of the exchange: record the bank
transfer that pays the owner. The operator only; an owner cannot pay itself out. More
than the owner's balance is refused and nothing is posted. --key (the transfer's
reference) makes a retry harmless: the same key pays once.`,
		Example: "  joule payout --owner northwind-capital --amount 1200 --key wire-2025-01-31",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if amount <= 0 {
				return joule.Errorf(joule.EINVALID, "--amount must be a positive number of US dollars")
			}
			return withExchange(cmd.Context(), g, func(c *jhttp.Client) error {
				p, err := c.Payout(cmd.Context(), owner, key, joule.MicroUSDFromUSD(amount))
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), p)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "paid %s to owner %s (transaction %d); its balance is now %s\n", p.AmountMicroUSD, p.Owner, p.Transaction, p.BalanceMicroUSD)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&owner, "owner", "", "the owner's account")
	cmd.Flags().Float64Var(&amount, "amount", 0, "what to pay out, US dollars")
	cmd.Flags().StringVar(&key, "key", "", "a reference that makes a retry harmless (the transfer's ID)")
	_ = cmd.MarkFlagRequired("owner")
	_ = cmd.MarkFlagRequired("amount")
	addJSONFlag(cmd, g)
	return cmd
}

// newOwnerCmd prints an owner's report: servers, listings, utilization and balance.
func newOwnerCmd(g *globals) *cobra.Command {
	var days int
	cmd := &cobra.Command{
		Use:     "owner ID",
		Short:   "Show an owner's servers, listings, GPU-hours offered and sold per day, and balance",
		Example: "  joule owner northwind-capital --days 7",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withExchange(cmd.Context(), g, func(c *jhttp.Client) error {
				rep, err := c.Owner(cmd.Context(), args[0], days)
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), rep)
				}
				out := cmd.OutOrStdout()
				fmt.Fprintf(out, "owner %s: balance %s\n", rep.Owner, rep.BalanceMicroUSD)
				w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "PRODUCT\tSERVERS\tGPUS\tASK $/GPU-H\tFILL PRIORITY")
				for _, l := range rep.Listings {
					fmt.Fprintf(w, "%s\t%d\t%d\t%.2f\t%s\n", l.Product, l.Servers, l.GPUs, l.AskMicroUSDPerGPUHour.USD(), l.FillPriority)
				}
				fmt.Fprintln(w, "\nDAY\tOFFERED GPU-H\tSOLD GPU-H\tUTILIZATION\t")
				for _, d := range rep.Days {
					u := "—"
					if d.OfferedGPUHours > 0 {
						u = fmt.Sprintf("%.1f%%", 100*float64(d.SoldGPUHours)/float64(d.OfferedGPUHours))
					}
					fmt.Fprintf(w, "%s\t%d\t%d\t%s\t\n", d.Day.Format("2006-01-02"), d.OfferedGPUHours, d.SoldGPUHours, u)
				}
				return w.Flush()
			})
		},
	}
	cmd.Flags().IntVar(&days, "days", 0, "UTC days up to today (default 7)")
	addJSONFlag(cmd, g)
	return cmd
}

// newFillPriorityCmd shows or sets, per product, whose listing fills first at one ask.
func newFillPriorityCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "priority [PRODUCT time|owners-first|operator-first]",
		Short: "Show every product's fill priority, or set one's (operator): whose listing fills first at one ask",
		Long: `When the operator's listing and owners' listings ask the same price, a product's
fill priority says which fills first: time (the listing that has held its ask
longest, the default), owners-first (hosted servers earn before the site's own) or
operator-first. A lower ask always fills first.`,
		Example: "  joule listing priority h100-sxm/west-texas owners-first",
		Args:    cobra.RangeArgs(0, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				return joule.Errorf(joule.EINVALID, "name the product and its fill priority (%q), or neither to list them", joule.FillPriorities)
			}
			return withExchange(cmd.Context(), g, func(c *jhttp.Client) error {
				if len(args) == 2 {
					p, err := c.SetFillPriority(cmd.Context(), args[0], joule.FillPriority(args[1]))
					if err != nil {
						return err
					}
					if g.json {
						return printJSON(cmd.OutOrStdout(), p)
					}
					fmt.Fprintf(cmd.OutOrStdout(), "%s: at one ask, %s\n", p.Product, p.Priority)
					return nil
				}
				ps, err := c.FillPriorities(cmd.Context())
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"fill_priorities": ps})
				}
				for _, p := range ps {
					fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\n", p.Product, p.Priority)
				}
				return nil
			})
		},
	}
	addJSONFlag(cmd, g)
	return cmd
}
