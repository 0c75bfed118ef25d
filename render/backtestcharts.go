package render

import (
	"fmt"
	"image/color"
	"math"

	"github.com/joule-site/joule/backtest"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// powerLayer is one band of the stacked power chart.
type powerLayer struct {
	name   string
	watts  []float64
	colour color.Color
}

// powerLayers lists the uses of power from the bottom of the stack up: the firmest
// commitments first, curtailed (flexible load not run) on top.
func powerLayers(r *backtest.Report) []powerLayer {
	return []powerLayer{
		{"GPU firm", r.Power.FirmGPUW, rgb(0x1f4e79)},
		{"GPU interruptible", r.Power.InterruptibleGPUW, rgb(0x4e79a7)},
		{"GPU open market", r.Power.OpenGPUW, rgb(0x9ecae9)},
		{"Mining", r.Power.MiningW, rgb(0xf28e2b)},
		{"Curtailed", r.Power.CurtailedW, rgb(0xbab0ac)},
	}
}

// powerChart is facility power by use over time under Joule's policy, stacked, in MW.
// Long series are averaged over buckets of intervals, and the title says so.
func powerChart(r *backtest.Report) (*plot.Plot, error) {
	n := len(r.Times)
	k := stride(n)
	title := "Facility power by use under Joule's policy"
	if k > 1 {
		title += fmt.Sprintf(" (each point averages %d intervals, %s)", k, duration(int64(k)*r.IntervalSec))
	}
	if n == 0 {
		title += ": no intervals"
	}
	p := newChart(title)
	p.X.Tick.Marker = dateTicks{}
	p.X.Label.Text = "UTC"
	p.Y.Label.Text = "MW"
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	layers := powerLayers(r)
	if n == 0 {
		return p, nil
	}

	buckets := (n + k - 1) / k
	xs := make([]float64, buckets)
	for b := range xs {
		lo, hi := b*k, min(n, (b+1)*k)
		xs[b] = float64(r.Times[lo]+r.Times[hi-1]) / 2
	}
	// tops[j] is the top edge of layer j: the sum of layers 0..j.
	tops := make([]plotter.XYs, len(layers))
	sum := make([]float64, buckets)
	for j, l := range layers {
		tops[j] = make(plotter.XYs, buckets)
		for b := range sum {
			sum[b] += bucketMean(l.watts, b*k, min(n, (b+1)*k)) / 1e6
			tops[j][b] = plotter.XY{X: xs[b], Y: sum[b]}
		}
	}
	// Draw the tallest band first: each lower band then paints over the part of it
	// that belongs to the uses below.
	for j := len(layers) - 1; j >= 0; j-- {
		line, err := plotter.NewLine(tops[j])
		if err != nil {
			return nil, fmt.Errorf("power chart: %w", err)
		}
		line.LineStyle.Width = 0
		line.FillColor = layers[j].colour
		p.Add(line)
		// The legend reads top to bottom like the stack.
		p.Legend.Add(layers[j].name, line)
	}
	// Leave room above the stack for the legend.
	p.Y.Max = math.Max(p.Y.Max, 0) * 1.35
	return p, nil
}

// bucketMean is the mean of series[lo:hi], counting missing values as zero.
func bucketMean(series []float64, lo, hi int) float64 {
	if hi <= lo {
		return 0
	}
	var s float64
	for i := lo; i < hi && i < len(series); i++ {
		s += finite(series[i])
	}
	return s / float64(hi-lo)
}

// marginPanels are the panels of the margin chart: each strategy's cumulative margin
// over time, in two panels so that neither comparison an operator makes is squashed by
// the other. A conversion to GPU servers can earn tens of times what the miners earn,
// and the mining strategies differ from one another by a few percent: drawn on one
// axis, the mining strategies are one line at the bottom. So the first panel draws the
// mining strategies (strike-price, Joule's policy, the hindsight bound) as their
// cumulative margin less always-mine's, always-mine being the zero line; the second,
// on its own scale, the conversions (all-gpu, hybrid) beside always-mine, before their
// capex. A report without always-mine draws cumulative margins in the first panel; one
// without conversions has no second panel.
func marginPanels(r *backtest.Report) ([]*plot.Plot, error) {
	var mining, conversions []backtest.Result
	for _, s := range r.Strategies {
		if s.Name == backtest.AllGPU || s.Name == backtest.Hybrid {
			conversions = append(conversions, s)
		} else {
			mining = append(mining, s)
		}
	}
	base, relative := cumulative(r, backtest.AlwaysMine)
	title := "Mining: cumulative margin"
	yLabel := "Cumulative margin"
	var less []float64
	if relative {
		title, yLabel, less = "Mining: cumulative margin over always-mine", "Margin over always-mine", base
	}
	if len(r.Times) == 0 || len(r.Strategies) == 0 {
		title += ": no data"
	}
	top, err := marginPanel(r, title, yLabel, mining, less)
	if err != nil || len(conversions) == 0 {
		return []*plot.Plot{top}, err
	}
	// Always-mine stands beside the conversions: what the miners they replace earn.
	if always, ok := r.Strategy(backtest.AlwaysMine); ok {
		conversions = append([]backtest.Result{*always}, conversions...)
	}
	bottom, err := marginPanel(r, "GPU conversions: cumulative margin, before the servers' capex", "Cumulative margin", conversions, nil)
	if err != nil {
		return nil, err
	}
	return []*plot.Plot{top, bottom}, nil
}

// cumulative is the named strategy's cumulative margin per interval, and whether the
// report has that strategy with a margin series.
func cumulative(r *backtest.Report, name string) ([]float64, bool) {
	s, ok := r.Strategy(name)
	if !ok || len(s.Margin) == 0 {
		return nil, false
	}
	return cumulate(s.Margin, len(r.Times)), true
}

// cumulate is the running sum of the first n (at most) values of margin.
func cumulate(margin []float64, n int) []float64 {
	out := make([]float64, min(n, len(margin)))
	var c float64
	for j := range out {
		c += finite(margin[j])
		out[j] = c
	}
	return out
}

// marginPanel is one panel of cumulative margins, one line per strategy, each less
// the running total less (nil: as they are), sampled at the end of every stride of
// intervals so that each point is exact. Joule's line is the widest, drawn after the
// others so that none hides it; only the hindsight bound, dashed, is drawn over it, as
// it runs close to Joule's.
func marginPanel(r *backtest.Report, title, yLabel string, strategies []backtest.Result, less []float64) (*plot.Plot, error) {
	n := len(r.Times)
	k := stride(n)
	p := newChart(title)
	p.X.Tick.Marker = dateTicks{}
	p.X.Label.Text = "UTC"
	p.Add(plotter.NewGrid())

	cums := make([][]float64, len(strategies))
	var maxAbs float64
	for i, s := range strategies {
		cums[i] = cumulate(s.Margin, n)
		if less != nil {
			cums[i] = cums[i][:min(len(cums[i]), len(less))]
			for j := range cums[i] {
				cums[i][j] -= less[j]
			}
		}
		for _, c := range cums[i] {
			maxAbs = math.Max(maxAbs, math.Abs(c))
		}
	}
	div, unit := usdUnit(maxAbs)
	p.Y.Label.Text = yLabel + " (" + unit + ")"

	var jouleLine, boundLine *plotter.Line
	for i, s := range strategies {
		cum := cums[i]
		if len(cum) == 0 {
			continue
		}
		xys := plotter.XYs{{X: float64(r.Times[0]), Y: 0}}
		for j := k - 1; ; j += k {
			j = min(j, len(cum)-1)
			xys = append(xys, plotter.XY{X: float64(r.Times[j] + r.IntervalSec), Y: cum[j] / div})
			if j == len(cum)-1 {
				break
			}
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("margin chart: %w", err)
		}
		line.LineStyle.Color = strategyColour(s.Name, i)
		line.LineStyle.Width = vg.Points(1.5)
		label := s.Name
		if less != nil && s.Name == backtest.AlwaysMine {
			label += " (the zero line)"
		}
		p.Legend.Add(label, line)
		switch s.Name {
		case backtest.Joule:
			line.LineStyle.Width = vg.Points(2.5)
			jouleLine = line
		case backtest.Optimum:
			line.LineStyle.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			boundLine = line
		default:
			p.Add(line)
		}
	}
	for _, l := range []*plotter.Line{jouleLine, boundLine} {
		if l != nil {
			p.Add(l)
		}
	}
	return p, nil
}

// strategyColours keep a strategy's colour the same in both panels of the margin
// chart; one not named here takes the palette's colour of its place.
var strategyColours = map[string]color.Color{
	backtest.AlwaysMine:     palette[0],
	backtest.StrikePrice:    palette[1],
	backtest.Joule:          palette[2],
	backtest.AllGPU:         palette[3],
	backtest.Hybrid:         palette[4],
	backtest.JouleForesight: palette[6],
	backtest.Optimum:        rgb(0x333333), // a bound, dashed: no strategy of its own
}

func strategyColour(name string, i int) color.Color {
	if c, ok := strategyColours[name]; ok {
		return c
	}
	return palette[i%len(palette)]
}
