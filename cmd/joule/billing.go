package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/billing"
	jhttp "github.com/joule-site/joule/http"
)

func newInvoiceCmd(g *globals) *cobra.Command {
	var month string
	var html bool
	cmd := &cobra.Command{
		Use:   "invoice TENANT [--month YYYY-MM]",
		Short: "A tenant's monthly invoice from the ledger: GPU time, resales, credit",
		Long: `invoice prints what a tenant's month came to: every block when it filled, on-demand
and spot use as metered, hours it resold, credit added, and its credit before and after.
--html prints a page to save or print; --json the invoice's fields.`,
		Example: "  joule invoice acme\n  joule invoice acme --month 2025-01 --html > acme-2025-01.html",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withExchange(cmd.Context(), g, func(c *jhttp.Client) error {
				if html {
					page, err := c.Page(cmd.Context(), "invoices", args[0], month)
					if err != nil {
						return err
					}
					_, err = cmd.OutOrStdout().Write(page)
					return err
				}
				inv, err := c.Invoice(cmd.Context(), args[0], month)
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), inv)
				}
				out := cmd.OutOrStdout()
				fmt.Fprintf(out, "Invoice %s (%s), %s, UTC\n\n", inv.Tenant, inv.Name, inv.Month)
				if err := printLines(out, inv.Lines, false); err != nil {
					return err
				}
				return printTotals(out, [][2]any{
					{"GPU time", inv.UsageMicroUSD},
					{"Resold hours (net of fee)", inv.ResaleMicroUSD},
					{"Credit added", inv.DepositsMicroUSD},
					{"Credit paid out", inv.PayoutsMicroUSD},
					{"Credit at the start", inv.OpeningCreditMicroUSD},
					{"Held for open orders at the end", inv.ClosingHeldMicroUSD},
					{"Credit at the end", inv.ClosingCreditMicroUSD},
				})
			})
		},
	}
	cmd.Flags().StringVar(&month, "month", "", "the month, YYYY-MM (UTC); default: the month it is now (the server's clock)")
	cmd.Flags().BoolVar(&html, "html", false, "print a printable HTML page")
	addJSONFlag(cmd, g)
	return cmd
}

func newStatementCmd(g *globals) *cobra.Command {
	var month string
	var html bool
	cmd := &cobra.Command{
		Use:     "statement ACCOUNT [--month YYYY-MM]",
		Short:   "A GPU owner's or the operator's monthly statement: sales, fees, hosting",
		Example: "  joule statement northwind-capital\n  joule statement northwind-capital --month 2025-01",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withExchange(cmd.Context(), g, func(c *jhttp.Client) error {
				if html {
					page, err := c.Page(cmd.Context(), "statements", args[0], month)
					if err != nil {
						return err
					}
					_, err = cmd.OutOrStdout().Write(page)
					return err
				}
				st, err := c.Statement(cmd.Context(), args[0], month)
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), st)
				}
				out := cmd.OutOrStdout()
				fmt.Fprintf(out, "Statement %s (%s, %s), %s, UTC\n\n", st.Account, st.Name, st.Role, st.Month)
				if err := printLines(out, st.Lines, true); err != nil {
					return err
				}
				totals := [][2]any{
					{"Sales, gross", st.GrossMicroUSD},
					{"Platform fees", st.FeesMicroUSD},
					{"Sales, net", st.NetMicroUSD},
					{"Hosting", st.HostingMicroUSD},
					{"Energy", st.EnergyMicroUSD},
					{"Paid out", st.PayoutsMicroUSD},
				}
				if st.Role == joule.RoleOperator {
					totals = append(totals, [2]any{"Platform fees collected", st.PlatformFeesMicroUSD})
				}
				return printTotals(out, append(totals, [2]any{"Balance at the start", st.OpeningBalanceMicroUSD}, [2]any{"Balance at the end", st.ClosingBalanceMicroUSD}))
			})
		},
	}
	cmd.Flags().StringVar(&month, "month", "", "the month, YYYY-MM (UTC); default: the month it is now (the server's clock)")
	cmd.Flags().BoolVar(&html, "html", false, "print a printable HTML page")
	addJSONFlag(cmd, g)
	return cmd
}

// printLines prints invoice or statement lines; gross adds the gross and fee columns.
func printLines(out io.Writer, lines []billing.Line, gross bool) error {
	if len(lines) == 0 {
		fmt.Fprintln(out, "Nothing this month.")
		fmt.Fprintln(out)
		return nil
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	if gross {
		fmt.Fprintf(w, "DATE\tKIND\tLEASE\t%12s\t%10s\t%12s\tDESCRIPTION\n", "GROSS", "FEE", "AMOUNT")
	} else {
		fmt.Fprintf(w, "DATE\tKIND\tLEASE\t%12s\tDESCRIPTION\n", "AMOUNT")
	}
	for _, l := range lines {
		at := l.At.UTC().Format("2006-01-02 15:04")
		if gross {
			fmt.Fprintf(w, "%s\t%s\t%s\t%12s\t%10s\t%12s\t%s\n", at, l.Kind, l.Lease, l.Gross, l.Fee, l.Amount, l.Memo)
		} else {
			fmt.Fprintf(w, "%s\t%s\t%s\t%12s\t%s\n", at, l.Kind, l.Lease, l.Amount, l.Memo)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(out)
	return nil
}

// printTotals prints labelled amounts, right-aligned.
func printTotals(out io.Writer, rows [][2]any) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%14s\n", r[0], r[1].(joule.MicroUSD).String())
	}
	return w.Flush()
}
