package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
	jhttp "github.com/joule-site/joule/http"
)

func newModelsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "models",
		Short: "List hardware models: the built-in catalog and your own",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withClient(cmd.Context(), g, func(c *jhttp.Client) error {
				models, err := c.AllModels(cmd.Context())
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(os.Stdout, map[string]any{"models": models})
				}
				w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tKIND\tNAME\tTH/s\tGPUs\tPOWER W\tIDLE W\tJ/TH\tPRICE $\tSOURCE")
				for _, m := range models {
					source := "catalog"
					if !m.Builtin {
						source = "user"
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%.0f\t%s\n", m.ID, m.Kind, m.Name,
						blankZero("%.0f", m.HashrateTHs), blankZero("%.0f", float64(m.GPUs)), m.PowerW, m.IdleW,
						blankZero("%.1f", m.EfficiencyJPerTH()), m.PriceUSD, source)
				}
				return w.Flush()
			})
		},
	}
	addJSONFlag(cmd, g)
	return cmd
}

func blankZero(format string, v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf(format, v)
}

func newSitesCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sites",
		Short: "List sites with their power caps, energy prices and fleets",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withClient(cmd.Context(), g, func(c *jhttp.Client) error {
				sites, err := c.Sites(cmd.Context())
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(os.Stdout, map[string]any{"sites": sites})
				}
				if len(sites) == 0 {
					fmt.Println("No sites yet. Declare one with: joule apply -f examples/west-texas.yaml")
					return nil
				}
				for _, s := range sites {
					fmt.Printf("%s  cap %s  PUE %.2f  energy %s\n", s.Name, s.PowerCapW, s.PUE, energyText(s.Energy))
					w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
					fmt.Fprintln(w, "  FLEET\tMODEL\tKIND\tCOUNT\tOWNER")
					for _, f := range s.Fleets {
						owner := f.Owner
						if owner == "" {
							owner = "operator"
						}
						fmt.Fprintf(w, "  %s\t%s\t%s\t%d\t%s\n", f.Name, f.Model, f.Kind, f.Count, owner)
					}
					w.Flush()
				}
				return nil
			})
		},
	}
	addJSONFlag(cmd, g)
	return cmd
}

func energyText(e joule.EnergyPriceModel) string {
	switch e.Kind {
	case joule.EnergyFixed:
		return fmt.Sprintf("fixed $%.2f/MWh", e.FixedUSDPerMWh)
	case joule.EnergyTimeOfUse:
		return fmt.Sprintf("time-of-use, %d periods, else $%.2f/MWh", len(e.Periods), e.DefaultUSDPerMWh)
	case joule.EnergyWholesale:
		return fmt.Sprintf("wholesale %s + $%.2f/MWh", e.Node, e.AdderUSDPerMWh)
	}
	return string(e.Kind)
}
