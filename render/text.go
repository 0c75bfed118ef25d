package render

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/joule-site/joule/backtest"
	"github.com/joule-site/joule/econ"
)

// PrintBacktest writes the strategies as a readable table: name, revenue, energy cost,
// margin, curtailed MWh, % of optimum, capex (conversion strategies), plus the report's
// notes and GPU price path label.
func PrintBacktest(w io.Writer, r *backtest.Report) error {
	if r == nil {
		return errors.New("print backtest: no report")
	}
	var b strings.Builder
	b.WriteString(backtestTitle(r) + "\n\n")
	b.WriteString(factsText(backtestFacts(r), "  ") + "\n")
	b.WriteString(strategyTable(r).text("") + "\n")
	if s := listText("Strategies", strategyDescriptions(r)); s != "" {
		b.WriteString(s + "\n")
	}
	if s := listText("Assumptions", assumptionLines(r.Assumptions)); s != "" {
		b.WriteString(s + "\n")
	}
	if s := listText("Notes", r.Notes); s != "" {
		b.WriteString(s + "\n")
	}
	_, err := io.WriteString(w, strings.TrimSuffix(b.String(), "\n"))
	return err
}

// assumptionLines says each assumption's name, value, unit and source on one line.
func assumptionLines(as []econ.Assumption) []string {
	var out []string
	for _, a := range as {
		out = append(out, fmt.Sprintf("%s = %s %s: %s", a.Name, strconv.FormatFloat(a.Value, 'g', 6, 64), a.Unit, a.Source))
	}
	return out
}

// PrintPivot writes the plan's P10/P50/P90 of NPV and payback, probability NPV>0,
// never-paid-back fraction, yearly cash flow quantiles, assumptions and notes.
func PrintPivot(w io.Writer, p *backtest.PivotReport) error {
	if p == nil {
		return errors.New("print plan: no plan report")
	}
	var b strings.Builder
	b.WriteString(planTitle(p) + "\n\n")
	b.WriteString(planHeadline(p) + "\n\n")
	b.WriteString(factsText(planFacts(p), "  ") + "\n")
	b.WriteString(outcomeTable(p).text("") + "\n")
	b.WriteString(factsText(planOdds(p), "") + "\n")
	if len(p.YearlyCashFlowUSD) > 0 {
		b.WriteString("Yearly incremental cash flow of converting (undiscounted)\n")
		b.WriteString(cashFlowTable(p).text("  ") + "\n")
	}
	if s := listText("Assumptions", p.Assumptions); s != "" {
		b.WriteString(s + "\n")
	}
	if s := listText("Inputs and their sources", inputLines(p)); s != "" {
		b.WriteString(s + "\n")
	}
	if s := listText("Notes", p.Notes); s != "" {
		b.WriteString(s + "\n")
	}
	_, err := io.WriteString(w, strings.TrimSuffix(b.String(), "\n"))
	return err
}

// planHeadline is what an investor reads first: the chance of losing money and the
// median NPV, at the GPU-hour price the plan ran on.
func planHeadline(p *backtest.PivotReport) string {
	price := "$" + number(p.GPUUSDPerHour, 2) + "/GPU-hour"
	switch {
	case p.MarketUSDPerHour > 0 && p.MarketUSDPerHour == p.GPUUSDPerHour:
		price += ", today's market price"
	case p.MarketUSDPerHour > 0:
		price += " asked; the market's today is $" + number(p.MarketUSDPerHour, 2)
	}
	return fmt.Sprintf("Chance of a loss (NPV < 0): %s. P50 NPV: %s, at %s.", percent(p.ProbLoss), usd(p.NPVUSD.P50), price)
}

// inputLines are the plan's inputs, one a line: name = value unit (source).
func inputLines(p *backtest.PivotReport) []string {
	var out []string
	for _, in := range p.Inputs {
		out = append(out, fmt.Sprintf("%s = %s %s (%s)", in.Name, strconv.FormatFloat(in.Value, 'g', 6, 64), in.Unit, in.Source))
	}
	return out
}

func backtestTitle(r *backtest.Report) string {
	return fmt.Sprintf("Backtest of %s, %s to %s", orUnknown(r.Site), orUnknown(r.From), orUnknown(r.To))
}

// backtestFacts is the header of a backtest: where, when, and how prices were built.
func backtestFacts(r *backtest.Report) []fact {
	facts := []fact{
		{"Site", orUnknown(r.Site)},
		{"Node", orUnknown(r.Node)},
		{"Period", orUnknown(r.From) + " to " + orUnknown(r.To)},
		{"Intervals", number(float64(r.Intervals), 0) + " × " + duration(r.IntervalSec)},
		{"Pool fee", percent(r.PoolFee)},
	}
	if r.Forecaster != "" {
		facts = append(facts, fact{"Plans decide on", r.Forecaster + " forecast of the energy price, the previous day's hashprice"})
		if fs, ok := r.Strategy(backtest.JouleForesight); ok && fs.MarginUSD != 0 {
			facts = append(facts, fact{"Forecast loss", usd(r.ForecastLossUSD) + " (" + percent(r.ForecastLossUSD/fs.MarginUSD) + " of joule-foresight's margin): what not knowing the real prices cost"})
		}
	}
	if r.GPUModel != "" {
		facts = append(facts, fact{"GPU model", r.GPUModel})
	}
	return append(facts, fact{"GPU price path", orUnknown(r.GPUPrice)})
}

// strategyTable is one row per strategy, in the report's order.
func strategyTable(r *backtest.Report) table {
	t := table{
		head:     []string{"Strategy", "Revenue", "Energy cost", "Margin", "Depreciation", "Opex", "Net margin", "Curtailed MWh", "% of optimum", "Capex"},
		textCols: 1,
	}
	for _, s := range r.Strategies {
		capex, dep, opex := "-", "-", "-"
		if s.CapexUSD != 0 {
			capex, dep, opex = usd(s.CapexUSD), usd(s.DepreciationUSD), usd(s.OpexUSD)
		}
		t.rows = append(t.rows, []string{
			s.Name, usd(s.RevenueUSD), usd(s.EnergyUSD), usd(s.MarginUSD), dep, opex, usd(s.NetMarginUSD),
			number(s.CurtailedMWh, 1), pctOfOptimum(s.PctOfOptimum), capex,
		})
	}
	return t
}

// strategyDescriptions says what each strategy does, for those that say.
func strategyDescriptions(r *backtest.Report) []string {
	var out []string
	for _, s := range r.Strategies {
		if s.Description != "" {
			out = append(out, s.Name+": "+s.Description)
		}
	}
	return out
}

func planTitle(p *backtest.PivotReport) string {
	return fmt.Sprintf("Plan: convert %s MW of miners at %s to GPU servers on %s",
		number(p.ConvertMW, 1), orUnknown(p.Site), orUnknown(p.At))
}

// planFacts is the header of a plan: what is converted, for how much, over what horizon.
func planFacts(p *backtest.PivotReport) []fact {
	sold := "sold as mined"
	if p.Hoard {
		sold = "kept, valued at each path's last price"
	}
	return []fact{
		{"Site", orUnknown(p.Site)},
		{"Conversion date", orUnknown(p.At)},
		{"Converted", number(p.ConvertMW, 1) + " MW"},
		{"GPU servers bought", number(float64(p.GPUServers), 0) + " × " + orUnknown(p.GPUModel)},
		{"ASICs retired", number(float64(p.ASICsRetired), 0)},
		{"Capex", usd(p.CapexUSD) + " (servers " + usd(p.ServersUSD) + ", network and storage " + usd(p.NetworkStorageUSD) +
			", conversion " + usd(p.ConversionUSD) + ", less ASIC resale " + usd(p.ASICResaleUSD) + ")"},
		{"Horizon", strconv.Itoa(p.Years) + " years"},
		{"Discount rate", percent(p.DiscountRate) + " a year"},
		{"BTC price model", orUnknown(p.BTCModel) + ", drift " + signed(p.BTCDriftPerYear, 2) + " a year in log"},
		{"Mined BTC", sold},
		{"Monte Carlo paths", number(float64(p.Paths), 0) + " (seed " + strconv.FormatUint(p.Seed, 10) + ")"},
	}
}

// outcomeTable is the P10/P50/P90 of NPV and payback.
func outcomeTable(p *backtest.PivotReport) table {
	return table{
		head: []string{"", "P10", "P50", "P90"},
		rows: [][]string{
			{"NPV", usd(p.NPVUSD.P10), usd(p.NPVUSD.P50), usd(p.NPVUSD.P90)},
			{"Payback (months)", months(p.PaybackMonths.P10), months(p.PaybackMonths.P50), months(p.PaybackMonths.P90)},
		},
		textCols: 1,
	}
}

// planOdds is the chance that converting pays.
func planOdds(p *backtest.PivotReport) []fact {
	return []fact{
		{"Chance of a loss (NPV < 0)", percent(p.ProbLoss)},
		{"Probability NPV > 0", percent(p.ProbPositive)},
		{"Never paid back", percent(p.NeverPaidBack) + " of paths within " + strconv.Itoa(p.Years) + " years"},
	}
}

// cashFlowTable is the yearly incremental cash flow quantiles.
func cashFlowTable(p *backtest.PivotReport) table {
	t := table{head: []string{"Year", "P10", "P50", "P90"}}
	for i, q := range p.YearlyCashFlowUSD {
		t.rows = append(t.rows, []string{strconv.Itoa(i + 1), usd(q.P10), usd(q.P50), usd(q.P90)})
	}
	return t
}

func orUnknown(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

// signed formats a number with its sign: +0.49, -0.10.
func signed(v float64, decimals int) string {
	s := number(v, decimals)
	if v >= 0 {
		s = "+" + s
	}
	return s
}
