package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/leasing"
)

// orderFlags are the flags of `joule order create`.
type orderFlags struct {
	product, start, end, expires, key, tenant string
	gpus                                      int
	limit, bid                                float64
	onDemand, spot, partial                   bool
	notice                                    time.Duration
}

// request builds the order the flags describe.
func (f *orderFlags) request() (jhttp.OrderRequest, error) {
	o := jhttp.OrderRequest{IdempotencyKey: f.key, Account: f.tenant, Product: f.product, GPUs: f.gpus,
		LimitMicroUSDPerGPUHour: joule.MicroUSDFromUSD(f.limit)}
	if o.IdempotencyKey == "" {
		o.IdempotencyKey = randomKey()
	}
	var err error
	switch {
	case f.onDemand && f.spot:
		return o, joule.Errorf(joule.EINVALID, "--on-demand or --spot, not both")
	case f.spot:
		o.Kind, o.LimitMicroUSDPerGPUHour = joule.OrderSpot, joule.MicroUSDFromUSD(f.bid)
		if f.bid <= 0 {
			return o, joule.Errorf(joule.EINVALID, "a spot order needs --bid-usd-gpu-hour")
		}
	case f.onDemand:
		o.Kind = joule.OrderOnDemand
	default:
		o.Kind = joule.OrderReserved
		if f.start == "" || f.end == "" || f.limit <= 0 {
			return o, joule.Errorf(joule.EINVALID, "a reserved block needs --start, --end and --limit-usd-gpu-hour (or use --on-demand or --spot)")
		}
		if o.Start, err = parseWhen("start", f.start); err != nil {
			return o, err
		}
		if f.partial {
			no := false
			o.AllOrNone = &no
		}
		if f.notice > 0 {
			o.Class, o.NoticeSec = joule.LeaseCurtailable, int64(f.notice/time.Second)
		}
	}
	if f.end != "" {
		if o.End, err = parseWhen("end", f.end); err != nil {
			return o, err
		}
	}
	if f.expires != "" {
		if o.ExpiresAt, err = parseWhen("expires", f.expires); err != nil {
			return o, err
		}
	}
	return o, nil
}

func newOrderCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "order", Short: "Place, list and cancel GPU orders"}
	var f orderFlags
	create := &cobra.Command{
		Use:   "create --product P --gpus N (--start T --end T --limit-usd-gpu-hour P | --on-demand | --spot --bid-usd-gpu-hour P)",
		Short: "Order GPU time: a reserved block, on-demand GPUs, or a spot bid",
		Long: `order create places an order on the GPU exchange. A reserved block is GPUs for every hour
of [--start, --end) at no more than --limit-usd-gpu-hour, all or none (--partial lets it
fill fewer GPUs); its most possible cost is held from credit first, the block is billed
when it fills, and the rest of the hold comes back. On-demand GPUs start now and run
until stopped (joule lease stop), billed by the second; without a limit they pay at most
today's cheapest ask. A spot bid runs on leftover GPUs and may be preempted after notice.
--idempotency-key makes a retry safe: the same key returns the first result.`,
		Example: `  joule order create --product h100-sxm/west-texas --gpus 16 --start +1d --end +8d --limit-usd-gpu-hour 2.10
  joule order create --product h100-sxm/west-texas --gpus 16 --start 2025-01-06T00:00Z --end 2025-01-13T00:00Z --limit-usd-gpu-hour 2.10
  joule order create --product h100-sxm/west-texas --gpus 8 --on-demand
  joule order create --product h100-sxm/west-texas --gpus 8 --spot --bid-usd-gpu-hour 0.90`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := f.request()
			if err != nil {
				return err
			}
			return withExchange(cmd.Context(), g, func(c *jhttp.Client) error {
				if o.Kind == joule.OrderOnDemand && o.LimitMicroUSDPerGPUHour <= 0 {
					b, err := c.Book(cmd.Context(), o.Product, time.Time{}, 1)
					if err != nil {
						return err
					}
					if len(b.Slots) == 0 || b.Slots[0].BestAskMicroUSDPerGPUHour == 0 {
						return joule.Errorf(joule.ECAPACITY, "no free %s GPUs now", o.Product)
					}
					o.LimitMicroUSDPerGPUHour = b.Slots[0].BestAskMicroUSDPerGPUHour
				}
				r, err := c.SubmitOrder(cmd.Context(), o)
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
	fl := create.Flags()
	fl.StringVar(&f.product, "product", "", "product: GPU model/site, e.g. h100-sxm/west-texas")
	fl.IntVar(&f.gpus, "gpus", 0, "GPUs")
	fl.StringVar(&f.start, "start", "", "start of a reserved block, on the hour (2025-01-06T00:00Z, or from now: +1d, +2h)")
	fl.StringVar(&f.end, "end", "", "end of a reserved block (exclusive), or when on-demand or spot GPUs stop")
	fl.Float64Var(&f.limit, "limit-usd-gpu-hour", 0, "the most to pay, US dollars per GPU-hour")
	fl.BoolVar(&f.onDemand, "on-demand", false, "firm GPUs from now until stopped")
	fl.BoolVar(&f.spot, "spot", false, "interruptible GPUs from leftover capacity")
	fl.Float64Var(&f.bid, "bid-usd-gpu-hour", 0, "a spot order's bid, US dollars per GPU-hour")
	fl.BoolVar(&f.partial, "partial", false, "a block may fill fewer GPUs (for all its hours) rather than none")
	fl.DurationVar(&f.notice, "curtailable-notice", 0, "make the block curtailable by the site with this notice (priced lower)")
	fl.StringVar(&f.expires, "expires", "", "stop resting in the book at this time")
	fl.StringVar(&f.key, "idempotency-key", "", "a key that makes a retry safe (default: a random one)")
	fl.StringVar(&f.tenant, "for", "", "the tenant the operator orders for")
	_ = create.MarkFlagRequired("product")
	_ = create.MarkFlagRequired("gpus")
	addJSONFlag(create, g)

	var resting bool
	var account string
	ls := &cobra.Command{
		Use:   "ls",
		Short: "List orders: a tenant's own, or everyone's for the operator",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withExchange(cmd.Context(), g, func(c *jhttp.Client) error {
				orders, err := c.Orders(cmd.Context(), jhttp.OrderQuery{Account: account, Resting: resting})
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"orders": orders})
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tACCOUNT\tKIND\tPRODUCT\tGPUS\tSTART\tEND\tLIMIT $/GPU-H\tSTATUS\tFILLED")
				for _, o := range orders {
					filled := fmt.Sprint(o.FilledGPUs)
					if o.Kind == joule.OrderResale {
						filled = fmt.Sprintf("%d GPU-h sold", o.SoldGPUHours)
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%.2f\t%s\t%s\n", o.ID, o.Account, o.Kind, o.Product, o.GPUs,
						hourText(o.Start), hourText(o.End), o.LimitMicroUSDPerGPUHour.USD(), o.Status, filled)
				}
				return w.Flush()
			})
		},
	}
	ls.Flags().BoolVar(&resting, "resting", false, "only orders resting in the book")
	ls.Flags().StringVar(&account, "account", "", "the operator: only this account's orders")
	addJSONFlag(ls, g)

	cancel := &cobra.Command{
		Use:   "cancel ORDER-ID",
		Short: "Cancel a resting order; what is left of its hold returns to credit",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withExchange(cmd.Context(), g, func(c *jhttp.Client) error {
				o, err := c.CancelOrder(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), o)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "order %s %s (%d of %d GPUs had filled)\n", o.ID, o.Status, o.FilledGPUs, o.GPUs)
				return nil
			})
		},
	}
	addJSONFlag(cancel, g)
	cmd.AddCommand(create, ls, cancel)
	return cmd
}

// printOrderResult says what an order did, one line for the order and one per lease.
func printOrderResult(w io.Writer, r *leasing.OrderResult) {
	o := r.Order
	if r.Replayed {
		fmt.Fprintln(w, "(this idempotency key was used before: the first result)")
	}
	what := fmt.Sprintf("%s, %d GPUs of %s", o.Kind, o.GPUs, o.Product)
	if !o.Start.IsZero() {
		what += fmt.Sprintf(", %s to %s", hourText(o.Start), hourText(o.End))
	}
	fmt.Fprintf(w, "order %s %s (%s, limit %s/GPU-hour)\n", o.ID, o.Status, what, o.LimitMicroUSDPerGPUHour)
	for _, l := range r.Leases {
		fmt.Fprintf(w, "lease %s: %s\n", l.ID, leaseText(l))
	}
	switch {
	case o.Kind == joule.OrderResale && o.Status == joule.OrderOpen:
		fmt.Fprintln(w, "its hours are in the book; what they sell for, less the platform fee, goes to your credit")
	case o.Status == joule.OrderOpen || o.Status == joule.OrderPartiallyFilled:
		fmt.Fprintln(w, "the rest rests in the book with its most possible cost held from credit; cancel with joule order cancel", o.ID)
	}
}

// leaseText describes a lease in a line.
func leaseText(l joule.Lease) string {
	when := fmt.Sprintf("%s to %s", hourText(l.Start), hourText(l.End))
	if l.OpenEnded {
		when = fmt.Sprintf("from %s until stopped (held to %s)", hourText(l.Start), hourText(l.End))
	}
	var sellers []string
	for _, s := range l.Sellers {
		sellers = append(sellers, fmt.Sprintf("%s %d", s.Seller, s.GPUs))
	}
	return fmt.Sprintf("%d GPUs %s, %s at %s/GPU-hour (%s)", l.GPUs, l.Class, when, l.PriceMicroUSDPerGPUHour, strings.Join(sellers, ", "))
}

// randomKey is an idempotency key for an order the user gave none.
func randomKey() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "cli-" + hex.EncodeToString(b)
}
