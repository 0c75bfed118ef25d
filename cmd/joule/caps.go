package main

import (
	"fmt"
	"math"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
	jhttp "github.com/joule-site/joule/http"
)

// newCapTermsCmd shows every product's cap terms, or sets one's.
func newCapTermsCmd(g *globals) *cobra.Command {
	var capFrac, pricePct float64
	cmd := &cobra.Command{
		Use:   "caps [PRODUCT --cap-frac F --capped-price-pct P]",
		Short: "Show every product's cap terms, or set one's (operator): how far spot and curtailable leases may be capped before they are stopped",
		Long: `A product's cap terms let dispatch hold the servers of its spot leases (and of its
curtailable leases during a demand-response event, once their notice has run) to a
share of their nameplate power before it stops any of them, and bill a capped
GPU-hour at a share of the lease's price. Firm leases are never capped. By default a
product has none: its leases are never capped, only stopped. --cap-frac 0 and
--capped-price-pct 0 lift the terms.`,
		Example: "  joule listing caps h100-sxm/west-texas --cap-frac 0.65 --capped-price-pct 80",
		Args:    cobra.RangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			set := cmd.Flags().Changed("cap-frac") || cmd.Flags().Changed("capped-price-pct")
			if set && len(args) == 0 {
				return joule.Errorf(joule.EINVALID, "name the product whose cap terms to set")
			}
			if len(args) == 1 && !set {
				return joule.Errorf(joule.EINVALID, "give the product's --cap-frac and --capped-price-pct, or name no product to list them")
			}
			return withExchange(cmd.Context(), g, func(c *jhttp.Client) error {
				if len(args) == 1 {
					terms := joule.CapTerms{Product: args[0], CapFrac: capFrac, CappedPriceBPS: int(math.Round(pricePct * 100))}
					out, err := c.SetCapTerms(cmd.Context(), terms)
					if err != nil {
						return err
					}
					if g.json {
						return printJSON(cmd.OutOrStdout(), out)
					}
					fmt.Fprintln(cmd.OutOrStdout(), capTermsText(*out))
					return nil
				}
				cs, err := c.CapTerms(cmd.Context())
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"cap_terms": cs})
				}
				for _, ct := range cs {
					fmt.Fprintln(cmd.OutOrStdout(), capTermsText(ct))
				}
				return nil
			})
		},
	}
	cmd.Flags().Float64Var(&capFrac, "cap-frac", 0, "a capped server's power limit as a fraction of its nameplate, above 0 and below 1 (0: never capped)")
	cmd.Flags().Float64Var(&pricePct, "capped-price-pct", 0, "a capped GPU-hour's price, percent of the lease's price")
	addJSONFlag(cmd, g)
	return cmd
}

// capTermsText is a product's cap terms in words.
func capTermsText(c joule.CapTerms) string {
	if !c.Capped() {
		return c.Product + ": never capped"
	}
	return fmt.Sprintf("%s: spot and curtailable leases may be capped to %.0f%% of power, billed at %g%% while capped",
		c.Product, c.CapFrac*100, float64(c.CappedPriceBPS)/100)
}
