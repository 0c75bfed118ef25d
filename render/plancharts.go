package render

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/joule-site/joule/backtest"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// npvChart is the histogram of every path's NPV with the reported P10, P50 and P90
// drawn as vertical lines.
func npvChart(p *backtest.PivotReport) (*plot.Plot, error) {
	var all []float64
	for _, v := range p.NPVs {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			all = append(all, v)
		}
	}
	slices.Sort(all)
	lo, hi := npvRange(all, p.NPVUSD)
	var vals plotter.Values
	var maxAbs float64
	for _, v := range all {
		if v >= lo && v <= hi {
			vals = append(vals, v)
			maxAbs = math.Max(maxAbs, math.Abs(v))
		}
	}
	title := fmt.Sprintf("NPV of converting over %s paths; P(NPV > 0) = %s", number(float64(len(all)), 0), percent(p.ProbPositive))
	if off := len(all) - len(vals); off > 0 {
		title += fmt.Sprintf(" (%d outlying paths off the axis)", off)
	}
	if len(vals) == 0 {
		title = "NPV of converting: no paths"
	}
	c := newChart(title)
	c.Add(plotter.NewGrid())
	c.Y.Label.Text = "Paths"
	c.Y.Min = 0
	div, unit := usdUnit(maxAbs)
	c.X.Label.Text = "NPV (" + unit + ")"
	if len(vals) == 0 {
		return c, nil
	}
	for i := range vals {
		vals[i] /= div
	}
	// About the square root of the path count, kept between 10 and 60 bins.
	bins := min(60, max(10, int(math.Sqrt(float64(len(vals))))))
	h, err := plotter.NewHist(vals, bins)
	if err != nil {
		return nil, fmt.Errorf("npv chart: %w", err)
	}
	h.FillColor = rgb(0x9ecae9)
	h.LineStyle.Color = rgb(0x4e79a7)
	h.LineStyle.Width = vg.Points(0.5)
	c.Add(h)
	var top float64
	for _, b := range h.Bins {
		top = math.Max(top, b.Weight)
	}
	marks := []struct {
		name string
		usd  float64
		dash []vg.Length
	}{
		{"P10", p.NPVUSD.P10, []vg.Length{vg.Points(4), vg.Points(3)}},
		{"P50", p.NPVUSD.P50, nil},
		{"P90", p.NPVUSD.P90, []vg.Length{vg.Points(4), vg.Points(3)}},
	}
	for i, m := range marks {
		if math.IsNaN(m.usd) || math.IsInf(m.usd, 0) {
			continue
		}
		x := m.usd / div
		line, err := plotter.NewLine(plotter.XYs{{X: x, Y: 0}, {X: x, Y: top * 1.05}})
		if err != nil {
			return nil, fmt.Errorf("npv chart: %w", err)
		}
		line.LineStyle = draw.LineStyle{Color: palette[[]int{2, 0, 4}[i]], Width: vg.Points(2), Dashes: m.dash}
		c.Add(line)
		c.Legend.Add(m.name+" "+usd(m.usd), line)
	}
	if lo < 0 && hi > 0 {
		zero, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 0, Y: top * 1.05}})
		if err != nil {
			return nil, fmt.Errorf("npv chart: %w", err)
		}
		zero.LineStyle.Color = rgb(0x333333)
		zero.LineStyle.Width = vg.Points(0.75)
		c.Add(zero)
	}
	c.Y.Max = top * 1.35 // room for the legend
	return c, nil
}

// npvRange is the span of NPVs the histogram shows: the 1st to 99th percentile widened
// by a tenth on each side, within the data and always including P10 to P90. A few
// extreme paths would otherwise squeeze every other path into one or two bars.
func npvRange(sorted []float64, q backtest.Quantiles) (lo, hi float64) {
	if len(sorted) == 0 {
		return 0, 0
	}
	at := func(f float64) float64 { return sorted[int(math.Round(f*float64(len(sorted)-1)))] }
	p01, p99 := at(0.01), at(0.99)
	pad := (p99 - p01) / 10
	lo = math.Max(sorted[0], p01-pad)
	hi = math.Min(sorted[len(sorted)-1], p99+pad)
	for _, v := range []float64{q.P10, q.P50, q.P90} {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	return lo, hi
}

// cashFlowChart is the yearly incremental cash flow of converting: a bar at the P50 of
// each year and a whisker from its P10 to its P90.
func cashFlowChart(p *backtest.PivotReport) (*plot.Plot, error) {
	years := p.YearlyCashFlowUSD
	title := "Yearly incremental cash flow of converting (undiscounted)"
	if len(years) == 0 {
		title += ": no years"
	}
	c := newChart(title)
	c.Add(plotter.NewGrid())
	c.X.Label.Text = "Year"
	var maxAbs float64
	for _, q := range years {
		maxAbs = math.Max(maxAbs, math.Max(math.Abs(finite(q.P10)), math.Abs(finite(q.P90))))
	}
	div, unit := usdUnit(maxAbs)
	c.Y.Label.Text = "Cash flow (" + unit + ")"
	if len(years) == 0 {
		return c, nil
	}

	p50 := make(plotter.Values, len(years))
	whiskers := struct {
		plotter.XYs
		plotter.YErrors
	}{make(plotter.XYs, len(years)), make(plotter.YErrors, len(years))}
	names := make([]string, len(years))
	for i, q := range years {
		mid := finite(q.P50) / div
		p50[i] = mid
		whiskers.XYs[i] = plotter.XY{X: float64(i), Y: mid}
		whiskers.YErrors[i].Low = mid - finite(q.P10)/div
		whiskers.YErrors[i].High = finite(q.P90)/div - mid
		names[i] = strconv.Itoa(i + 1)
	}
	// Bars fill about 60% of the width the years share.
	width := min(vg.Points(48), chartWidth*0.8*0.6/vg.Length(len(years)))
	bars, err := plotter.NewBarChart(p50, width)
	if err != nil {
		return nil, fmt.Errorf("cash flow chart: %w", err)
	}
	bars.Color = rgb(0x4e79a7)
	bars.LineStyle.Width = 0
	errs, err := plotter.NewYErrorBars(whiskers)
	if err != nil {
		return nil, fmt.Errorf("cash flow chart: %w", err)
	}
	errs.LineStyle.Color = rgb(0x333333)
	errs.LineStyle.Width = vg.Points(1.5)
	errs.CapWidth = width / 2
	zero, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: 0}, {X: float64(len(years)) - 0.5, Y: 0}})
	if err != nil {
		return nil, fmt.Errorf("cash flow chart: %w", err)
	}
	zero.LineStyle.Color = rgb(0x666666)
	c.Add(bars, errs, zero)
	c.NominalX(names...)
	whiskerKey, err := plotter.NewLine(plotter.XYs{{}})
	if err != nil {
		return nil, fmt.Errorf("cash flow chart: %w", err)
	}
	whiskerKey.LineStyle = errs.LineStyle
	c.Legend.Add("P50", bars)
	c.Legend.Add("P10 to P90", whiskerKey)
	c.Y.Max += (c.Y.Max - math.Min(c.Y.Min, 0)) * 0.3 // room for the legend
	return c, nil
}
