package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/econ"
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
	d, dc := jhttp.DefaultAssumptions, jhttp.DefaultCosts
	cmd := &cobra.Command{
		Use:   "compare --mw MW --energy-usd-mwh P --asic MODEL --gpu MODEL --gpu-usd-hour P --date YYYY-MM-DD",
		Short: "Should these megawatts mine or lease GPUs? Margins, payback, NPV, IRR, profitability index and the crossover GPU-hour prices",
		Long: `Should these megawatts mine or lease GPUs? Both options are priced on the day's
hashprice: margins, payback, NPV at the cost of capital (--discount-rate), IRR and
profitability index from the same monthly cash flows, and the GPU-hour prices at which
leasing's margin equals mining's, its NPV equals mining's, and its NPV is zero.

Leasing's capex is the servers, their network and storage, and the hall's conversion,
less the miners' resale when the site owns them (--site-owns-asics); its revenue starts
after --install-lag-months. Every default below is listed with its source under
"Assumptions" in the output ("assumption" where none is known).`,
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
	fl.Float64Var(&q.Utilization, "utilization", d.Utilization, "fraction of GPU-hours sold (assumption)")
	fl.Float64Var(&q.PUE, "pue", d.PUE, "facility power ÷ IT power of the mining site (assumption: air-cooled, fans in the miners)")
	gpuPUEFlag(cmd, &q.GPUPUE)
	fl.Float64Var(&q.DiscountRate, "discount-rate", d.DiscountRate, "annual cost of capital, for NPV, profitability index and crossovers (assumption)")
	fl.Float64Var(&q.ASICLifeYears, "asic-life-years", d.ASICLifeYears, "economic life of a miner, years (assumption)")
	fl.Float64Var(&q.GPULifeYears, "gpu-life-years", d.GPULifeYears, "economic life of a GPU server from first revenue, years (CoreWeave 6, Nebius 4: midpoint)")
	costFlags(cmd, &q.Costs, "months from order to first GPU revenue", "share of a new miner's price a used one sells for, counted with --site-owns-asics")
	fl.BoolVar(&q.SiteOwnsASICs, "site-owns-asics", dc.SiteOwnsASICs, "the site already owns the miners: mining has no outlay, leasing sells them")
	fl.Float64Var(&q.ASICPriceUSD, "asic-price-usd", 0, "price of one miner (default: the model's)")
	fl.Float64Var(&q.GPUPriceUSD, "gpu-price-usd", 0, "price of one GPU server (default: the model's)")
	for _, name := range []string{"mw", "energy-usd-mwh", "asic", "gpu", "gpu-usd-hour"} {
		_ = cmd.MarkFlagRequired(name)
	}
	addJSONFlag(cmd, g)
	return cmd
}

func printCompareReport(r *pricing.CompareReport) {
	fmt.Printf("%.4g MW on %s: hashprice $%.2f/PH/day, energy $%.2f/MWh, GPUs at $%.2f/GPU-hour, %.0f%% utilized, PUE %.2f mining, %.2f GPUs\n\n",
		r.MW, r.Date, r.HashpriceUSDPerPHDay, r.EnergyUSDPerMWh, r.GPUUSDPerHour, r.Utilization*100, r.PUE, r.GPUPUE)
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
		{"other opex /day", dollars(0), r.Mining.OpexUSDDay, r.Leasing.OpexUSDDay},
		{"margin /day", dollars(0), r.Mining.MarginUSDDay, r.Leasing.MarginUSDDay},
		{"revenue /MWh", dollars(2), r.Mining.ValueUSDPerMWh, r.Leasing.ValueUSDPerMWh},
		{"hardware", dollars(0), r.Mining.HardwareUSD, r.Leasing.HardwareUSD},
		{"network, storage", dollars(0), r.Mining.NetworkStorageUSD, r.Leasing.NetworkStorageUSD},
		{"conversion", dollars(0), r.Mining.ConversionUSD, r.Leasing.ConversionUSD},
		{"miners sold", dollars(0), -r.Mining.ResaleCreditUSD, -r.Leasing.ResaleCreditUSD},
		{"capex", dollars(0), r.Mining.CapexUSD, r.Leasing.CapexUSD},
		{"depreciation /year", dollars(0), r.Mining.DepreciationUSD, r.Leasing.DepreciationUSD},
		{"first revenue, month", number("%.1f"), r.Mining.StartMonths, r.Leasing.StartMonths},
		{"life years", number("%.1f"), r.Mining.LifeYears, r.Leasing.LifeYears},
		{fmt.Sprintf("NPV at %s", percent(r.DiscountRate)), dollars(0), r.Mining.NPVUSD, r.Leasing.NPVUSD},
	}
	for _, l := range lines {
		fmt.Fprintf(w, "%s\t%s\t%s\t\n", l.name, l.format(l.m), l.format(l.l))
	}
	fmt.Fprintf(w, "IRR\t%s\t%s\t\n", irr(r.Mining), irr(r.Leasing))
	fmt.Fprintf(w, "profitability index\t%s\t%s\t\n", ratio(r.Mining.ProfitabilityIndex), ratio(r.Leasing.ProfitabilityIndex))
	fmt.Fprintf(w, "payback months\t%s\t%s\t\n", payback(r.Mining.PaybackMonths), payback(r.Leasing.PaybackMonths))
	w.Flush()
	fmt.Printf("\n%s earns more per day; %s has the larger NPV.\n", capitalize(r.Better), r.BetterByNPV)
	fmt.Printf("Leasing beats mining on these megawatts above $%.2f/GPU-hour with the machines bought (capex sunk),\n", r.CrossoverUSDPerGPUHour)
	fmt.Printf("and above $%.2f/GPU-hour on NPV at a %s cost of capital; it breaks even (NPV 0) at $%.2f/GPU-hour.\n",
		r.CrossoverNPVUSDPerGPUHour, percent(r.DiscountRate), r.BreakevenUSDPerGPUHour)
	fmt.Printf("(Spreading each outlay evenly over its life, without the cost of capital, gives $%.2f/GPU-hour.)\n", r.CrossoverWithCapexUSDPerGPUHour)
	fmt.Println("\nAssumptions:")
	for _, a := range r.Assumptions {
		fmt.Printf("  %s = %s (%s): %s\n", a.Name, strconv.FormatFloat(a.Value, 'f', -1, 64), a.Unit, a.Source)
	}
	printNotes(r.Notes)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func percent(f float64) string { return strconv.FormatFloat(f*100, 'f', -1, 64) + "%" }

func irr(o econ.Option) string {
	if o.IRR == nil {
		return "none (" + o.NoIRR + ")"
	}
	return fmt.Sprintf("%.1f%%", *o.IRR*100)
}

func ratio(pi *float64) string {
	if pi == nil {
		return "— (no outlay)"
	}
	return fmt.Sprintf("%.2f", *pi)
}

// plainFloat is a float flag whose default the help writes out in full (4000000, not
// 4e+06).
type plainFloat float64

func (f *plainFloat) String() string { return strconv.FormatFloat(float64(*f), 'f', -1, 64) }
func (f *plainFloat) Type() string   { return "float" }
func (f *plainFloat) Set(s string) error {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return err
	}
	*f = plainFloat(v)
	return nil
}

func payback(m float64) string {
	if m < 0 {
		return "never"
	}
	return fmt.Sprintf("%.1f", m)
}

// costFlags defines the conversion-cost flags on cmd, bound to c and set to its
// defaults, each help naming its default's source: opex, network and storage,
// conversion; and the install lag and ASIC resale where lag and resale describe them
// ("": the command takes neither).
func costFlags(cmd *cobra.Command, c *econ.Costs, lag, resale string) {
	fl, dc := cmd.Flags(), econ.DefaultCosts()
	fl.Float64Var(&c.GPUOpexUSDPerServerHour, "gpu-opex-usd-server-hour", dc.GPUOpexUSDPerServerHour, "non-energy GPU opex, USD per server-hour: staff, maintenance, transit, insurance (assumption)")
	fl.Float64Var(&c.NetworkStorageFraction, "network-storage-fraction", dc.NetworkStorageFraction, "network and storage capex as a fraction of the servers' price (H100 cluster BoM, Aug 2024: 4.9% network; 10% assumed with storage)")
	c.ConversionUSDPerMW = dc.ConversionUSDPerMW
	fl.Var((*plainFloat)(&c.ConversionUSDPerMW), "conversion-usd-mw", "capex to convert a MW of mining site into a GPU hall (Sabre56 CEO, Sept 2024: $3-5M per MW)")
	if lag != "" {
		fl.Float64Var(&c.InstallLagMonths, "install-lag-months", dc.InstallLagMonths, lag+" (server lead time 8-12 weeks, Apr 2024, plus 3 months assumed)")
	}
	if resale != "" {
		fl.Float64Var(&c.ASICResaleFraction, "asic-resale-fraction", dc.ASICResaleFraction, resale+" (assumption)")
	}
}

// gpuPUEFlag defines --gpu-pue on cmd, bound to pue and set to its sourced default: the
// facility ÷ IT power of a GPU hall, which compare, backtest and plan all price GPUs at.
func gpuPUEFlag(cmd *cobra.Command, pue *float64) {
	cmd.Flags().Float64Var(pue, "gpu-pue", econ.DefaultAssumptions().GPUPUE, "facility power ÷ IT power of the GPU hall (Uptime Institute 2024: new facilities 1.3 or better)")
}
