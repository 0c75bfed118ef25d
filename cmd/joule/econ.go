package main

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/pricing"
)

// dayFlags are the flags that pick and read a day of history.
type dayFlags struct {
	date         string
	poolFee      float64
	feesPerBlock float64
}

func (f *dayFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.date, "date", "", "day of market history, YYYY-MM-DD (UTC); default: the newest day with every series")
	cmd.Flags().Float64Var(&f.poolFee, "pool-fee", 0, "pool fee as a fraction (0.02 for a typical FPPS pool); hashprice is shown gross and net")
	cmd.Flags().Float64Var(&f.feesPerBlock, "fees-btc-per-block", 0, "transaction fees per block in BTC, for days the fee data does not cover")
}

func (f *dayFlags) query(cmd *cobra.Command) (pricing.DayQuery, error) {
	q := pricing.DayQuery{PoolFee: f.poolFee}
	if f.date != "" {
		d, err := time.Parse(time.DateOnly, f.date)
		if err != nil {
			return pricing.DayQuery{}, joule.Errorf(joule.EINVALID, "--date: want YYYY-MM-DD, got %q", f.date)
		}
		q.Date = d
	}
	if cmd.Flags().Changed("fees-btc-per-block") {
		q.FeesPerBlockBTC = &f.feesPerBlock
	}
	return q, nil
}

func newEconCmd(g *globals) *cobra.Command {
	var f dayFlags
	cmd := &cobra.Command{
		Use:   "econ [--date YYYY-MM-DD]",
		Short: "Hashprice on a day and the breakeven energy price of every ASIC model",
		Example: `  joule econ
  joule econ --date 2024-12-23
  joule econ --date 2024-12-23 --pool-fee 0.02 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			q, err := f.query(cmd)
			if err != nil {
				return err
			}
			return withClient(cmd.Context(), g, func(c *jhttp.Client) error {
				r, err := c.Day(cmd.Context(), q)
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(os.Stdout, r)
				}
				printDayReport(r)
				return nil
			})
		},
	}
	f.add(cmd)
	addJSONFlag(cmd, g)
	return cmd
}

func printDayReport(r *pricing.DayReport) {
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "Day\t%s\n", r.Date)
	fmt.Fprintf(w, "BTC price\t%s\n", joule.FormatUSD(r.BTCPriceUSD, 2))
	fmt.Fprintf(w, "Difficulty\t%.4g (≈ %.0f EH/s)\n", r.Difficulty, r.NetworkHashrateEHs)
	fmt.Fprintf(w, "Block height\t%d (subsidy %g BTC)\n", r.Height, r.SubsidyBTC)
	fmt.Fprintf(w, "Fees per block\t%.4f BTC (%.1f%% of reward)\n", r.FeesPerBlockBTC, r.FeeShare*100)
	fmt.Fprintf(w, "Hashprice\t$%.2f /PH/day (%.8f BTC)\n", r.HashpriceUSDPerPHDay, r.HashpriceBTCPerPHDay)
	if r.PoolFee > 0 {
		fmt.Fprintf(w, "Net of %.1f%% pool fee\t$%.2f /PH/day\n", r.PoolFee*100, r.HashpriceNetUSDPerPHDay)
	}
	w.Flush()
	fmt.Println()
	w = tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "MODEL\tTH/s\tPOWER W\tJ/TH\tREVENUE $/DAY\tBREAKEVEN $/MWh\t")
	for _, b := range r.Breakevens {
		fmt.Fprintf(w, "%s\t%.0f\t%d\t%.1f\t%.2f\t%.2f\t\n", b.Model, b.HashrateTHs, b.PowerW, b.EfficiencyJPerTH, b.RevenueUSDPerDay, b.BreakevenUSDPerMWh)
	}
	w.Flush()
	printNotes(r.Notes)
}

func printNotes(notes []string) {
	if len(notes) == 0 {
		return
	}
	fmt.Println("\nNotes:")
	for _, n := range notes {
		fmt.Println("  - " + n)
	}
}

func newCompareCmd(g *globals) *cobra.Command {
	var (
		f dayFlags
		q pricing.CompareQuery
	)
	d := jhttp.DefaultAssumptions
	cmd := &cobra.Command{
		Use:   "compare --mw MW --energy-usd-mwh P --asic MODEL --gpu MODEL --gpu-usd-hour P --date YYYY-MM-DD",
		Short: "Should these megawatts mine or lease GPUs? Margins, payback, NPV and the crossover GPU-hour price",
		Example: `  joule compare --mw 10 --energy-usd-mwh 45 --asic s21 --gpu h100-sxm \
    --gpu-usd-hour 2.00 --utilization 0.85 --date 2024-12-23`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			day, err := f.query(cmd)
			if err != nil {
				return err
			}
			q.DayQuery = day
			q.Assumptions.PoolFee = f.poolFee
			return withClient(cmd.Context(), g, func(c *jhttp.Client) error {
				r, err := c.Compare(cmd.Context(), q)
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(os.Stdout, r)
				}
				printCompareReport(r)
				return nil
			})
		},
	}
	f.add(cmd)
	fl := cmd.Flags()
	fl.Float64Var(&q.MW, "mw", 0, "megawatts of site power to price")
	fl.Float64Var(&q.EnergyUSDPerMWh, "energy-usd-mwh", 0, "energy price, USD per MWh")
	fl.StringVar(&q.ASIC, "asic", "", "ASIC model id (see joule models)")
	fl.StringVar(&q.GPU, "gpu", "", "GPU server model id (see joule models)")
	fl.Float64Var(&q.GPUUSDPerHour, "gpu-usd-hour", 0, "lease price, USD per GPU-hour")
	fl.Float64Var(&q.Utilization, "utilization", d.Utilization, "fraction of GPU-hours sold")
	fl.Float64Var(&q.PUE, "pue", d.PUE, "facility power ÷ IT power, for both uses")
	fl.Float64Var(&q.DiscountRate, "discount-rate", d.DiscountRate, "annual discount rate for NPV")
	fl.Float64Var(&q.ASICLifeYears, "asic-life-years", d.ASICLifeYears, "economic life of a miner, years")
	fl.Float64Var(&q.GPULifeYears, "gpu-life-years", d.GPULifeYears, "economic life of a GPU server, years")
	fl.Float64Var(&q.ASICPriceUSD, "asic-price-usd", 0, "price of one miner (default: the model's)")
	fl.Float64Var(&q.GPUPriceUSD, "gpu-price-usd", 0, "price of one GPU server (default: the model's)")
	for _, name := range []string{"mw", "energy-usd-mwh", "asic", "gpu", "gpu-usd-hour"} {
		_ = cmd.MarkFlagRequired(name)
	}
	addJSONFlag(cmd, g)
	return cmd
}

func printCompareReport(r *pricing.CompareReport) {
	fmt.Printf("%.4g MW on %s: hashprice $%.2f/PH/day, energy $%.2f/MWh, GPUs at $%.2f/GPU-hour, %.0f%% utilized, PUE %.2f\n\n",
		r.MW, r.Date, r.HashpriceUSDPerPHDay, r.EnergyUSDPerMWh, r.GPUUSDPerHour, r.Utilization*100, r.PUE)
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "\tMINING (%s)\tLEASING (%s)\t\n", r.Mining.Model, r.Leasing.Model)
	number := func(format string) func(float64) string {
		return func(v float64) string { return fmt.Sprintf(format, v) }
	}
	dollars := func(decimals int) func(float64) string {
		return func(v float64) string { return joule.FormatUSD(v, decimals) }
	}
	lines := []struct {
		name   string
		format func(float64) string
		m, l   float64
	}{
		{"machines", number("%.0f"), float64(r.Mining.Units), float64(r.Leasing.Units)},
		{"energy MWh/day", number("%.1f"), r.Mining.EnergyMWhPerDay, r.Leasing.EnergyMWhPerDay},
		{"revenue /day", dollars(0), r.Mining.RevenueUSDDay, r.Leasing.RevenueUSDDay},
		{"energy cost /day", dollars(0), r.Mining.EnergyUSDDay, r.Leasing.EnergyUSDDay},
		{"margin /day", dollars(0), r.Mining.MarginUSDDay, r.Leasing.MarginUSDDay},
		{"revenue /MWh", dollars(2), r.Mining.ValueUSDPerMWh, r.Leasing.ValueUSDPerMWh},
		{"capex", dollars(0), r.Mining.CapexUSD, r.Leasing.CapexUSD},
		{"depreciation /year", dollars(0), r.Mining.DepreciationUSD, r.Leasing.DepreciationUSD},
		{"life years", number("%.1f"), r.Mining.LifeYears, r.Leasing.LifeYears},
		{"NPV", dollars(0), r.Mining.NPVUSD, r.Leasing.NPVUSD},
	}
	for _, l := range lines {
		fmt.Fprintf(w, "%s\t%s\t%s\t\n", l.name, l.format(l.m), l.format(l.l))
	}
	fmt.Fprintf(w, "payback months\t%s\t%s\t\n", payback(r.Mining.PaybackMonths), payback(r.Leasing.PaybackMonths))
	w.Flush()
	fmt.Printf("\n%s earns more per day.\n", strings.ToUpper(r.Better[:1])+r.Better[1:])
	fmt.Printf("Leasing beats mining on these megawatts above $%.2f/GPU-hour (capex sunk), or $%.2f/GPU-hour counting capex over each life.\n",
		r.CrossoverUSDPerGPUHour, r.CrossoverWithCapexUSDPerGPUHour)
	printNotes(r.Notes)
}

func payback(m float64) string {
	if m < 0 {
		return "never"
	}
	return fmt.Sprintf("%.1f", m)
}
