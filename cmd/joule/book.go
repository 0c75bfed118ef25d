package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/leasing"
)

func newBookCmd(g *globals) *cobra.Command {
	var from string
	var hours int
	cmd := &cobra.Command{
		Use:   "book PRODUCT",
		Short: "Show a product's order book: depth per hour slot, recent fills, clearing prices",
		Long: `book shows a product's capacity and, for every hour slot from --from (default: now) for
--hours (default a week), what is listed, leased, free, the best ask and bid, and the price
the hour last cleared at. The table joins consecutive hours whose depth is the same;
--json lists every hour slot.`,
		Example: "  joule book h100-sxm/west-texas\n  joule book h100-sxm/west-texas --from +1d --hours 48 --json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var start time.Time
			if from != "" {
				var err error
				if start, err = parseWhen("from", from); err != nil {
					return err
				}
			}
			return withExchange(cmd.Context(), g, func(c *jhttp.Client) error {
				b, err := c.Book(cmd.Context(), args[0], start, hours)
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), b)
				}
				return printBook(cmd.OutOrStdout(), b)
			})
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "first hour (default: the current hour)")
	cmd.Flags().IntVar(&hours, "hours", 0, "hour slots to show (default 168)")
	addJSONFlag(cmd, g)
	return cmd
}

// printBook prints the book as a table of hour ranges of equal depth and the fills.
func printBook(out io.Writer, b *leasing.Book) error {
	fmt.Fprintf(out, "%s: %d GPUs (%d per server), %s to %s\n", b.Product.ID, b.CapacityGPUs, b.Product.GPUsPerNode, hourText(b.From), hourText(b.To))
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "FROM\tTO\tCAPACITY\tLEASED\tSPOT\tRESALE\tFREE\tBEST ASK\tBEST BID\tCLEARED")
	key := func(s leasing.Slot) string {
		return fmt.Sprintf("%d %d %d %d %d %d %d %d", s.CapacityGPUs, s.LeasedGPUs+s.ResoldGPUs, s.InterruptibleGPUs, s.ResaleGPUs,
			s.FreeGPUs, s.BestAskMicroUSDPerGPUHour, s.BestBidMicroUSDPerGPUHour, s.ClearingPriceMicroUSDPerGPUHour)
	}
	for i := 0; i < len(b.Slots); {
		s, j := b.Slots[i], i+1
		for j < len(b.Slots) && key(b.Slots[j]) == key(s) {
			j++
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n", hourText(s.Start), hourText(b.Slots[j-1].Start.Add(time.Hour)),
			s.CapacityGPUs, s.LeasedGPUs+s.ResoldGPUs, s.InterruptibleGPUs, s.ResaleGPUs, s.FreeGPUs,
			price(s.BestAskMicroUSDPerGPUHour), price(s.BestBidMicroUSDPerGPUHour), price(s.ClearingPriceMicroUSDPerGPUHour))
		i = j
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(b.RecentFills) == 0 {
		fmt.Fprintln(out, "No fills yet.")
		return nil
	}
	fmt.Fprintln(out, "Recent fills:")
	w = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "AT\tGPUS\tFROM\tTO\t$/GPU-H")
	for _, f := range b.RecentFills {
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%.2f\n", f.At.UTC().Format("2006-01-02 15:04:05Z"), f.GPUs, hourText(f.Start), hourText(f.End), f.PriceMicroUSDPerGPUHour.USD())
	}
	return w.Flush()
}

// price is a per-GPU-hour price in dollars, "-" for none.
func price(m joule.MicroUSD) string {
	if m == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", m.USD())
}

func newLeaseCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "lease", Short: "List and stop GPU leases, and see how to use them"}
	var limit int
	ls := &cobra.Command{
		Use:   "ls",
		Short: "List leases: a tenant's own, those on an owner's servers, or all for the operator",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withExchange(cmd.Context(), g, func(c *jhttp.Client) error {
				leases, err := c.Leases(cmd.Context(), "", limit)
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"leases": leases})
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tTENANT\tPRODUCT\tCLASS\tGPUS\tSTART\tEND\t$/GPU-H\tSTATUS\tWHY IT ENDS")
				for _, l := range leases {
					end := hourText(l.End)
					if l.OpenEnded {
						end = "running"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%.2f\t%s\t%s\n", l.ID, l.Tenant, l.Product, l.Class, l.GPUs,
						hourText(l.Start), end, l.PriceMicroUSDPerGPUHour.USD(), l.Status, l.EndReason.Describe(l.EndedBy))
				}
				return w.Flush()
			})
		},
	}
	ls.Flags().IntVar(&limit, "limit", 0, "at most this many, newest first")
	addJSONFlag(ls, g)
	stop := &cobra.Command{
		Use:   "stop LEASE-ID",
		Short: "Stop an on-demand or spot lease now; it is billed to this second",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withExchange(cmd.Context(), g, func(c *jhttp.Client) error {
				l, err := c.StopLease(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), l)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "lease %s %s at %s: %s\n", l.ID, l.Status, l.End.UTC().Format(time.RFC3339), l.EndReason.Describe(l.EndedBy))
				return nil
			})
		},
	}
	addJSONFlag(stop, g)
	cmd.AddCommand(ls, stop, newLeaseAccessCmd(g), newLeaseUsageCmd(g))
	return cmd
}

func newResellCmd(g *globals) *cobra.Command {
	var from, to, key string
	var gpus int
	var limit float64
	cmd := &cobra.Command{
		Use:   "resell LEASE-ID --from T --limit-usd-gpu-hour P",
		Short: "Offer the unused future hours of a reserved lease back to the book",
		Long: `resell puts hours of a reserved block you hold, from --from to --to (default the lease's
end), back in the book at no less than --limit-usd-gpu-hour. Reserved bids may buy them;
what they pay, less the platform fee, goes to your credit. Until they sell, the hours
stay yours.`,
		Example: "  joule resell l1 --from +4d --limit-usd-gpu-hour 2.30",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := leasing.ResellRequest{IdempotencyKey: key, GPUs: gpus, LimitMicroUSDPerGPUHour: joule.MicroUSDFromUSD(limit)}
			var err error
			if req.From, err = parseWhen("from", from); err != nil {
				return err
			}
			if to != "" {
				if req.To, err = parseWhen("to", to); err != nil {
					return err
				}
			}
			if req.IdempotencyKey == "" {
				req.IdempotencyKey = randomKey()
			}
			return withExchange(cmd.Context(), g, func(c *jhttp.Client) error {
				r, err := c.Resell(cmd.Context(), args[0], req)
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), r)
				}
				printOrderResult(cmd.OutOrStdout(), r)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "first hour to resell, on the hour")
	cmd.Flags().StringVar(&to, "to", "", "end of the hours to resell (default: the lease's end)")
	cmd.Flags().IntVar(&gpus, "gpus", 0, "GPUs to resell (default: all the lease's)")
	cmd.Flags().Float64Var(&limit, "limit-usd-gpu-hour", 0, "the least to accept, US dollars per GPU-hour")
	cmd.Flags().StringVar(&key, "idempotency-key", "", "a key that makes a retry safe (default: a random one)")
	_ = cmd.MarkFlagRequired("from")
	_ = cmd.MarkFlagRequired("limit-usd-gpu-hour")
	addJSONFlag(cmd, g)
	return cmd
}
