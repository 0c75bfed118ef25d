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

// marginChart is each strategy's cumulative margin over time, one line each, sampled at
// the end of every stride of intervals so that each point is exact.
func marginChart(r *backtest.Report) (*plot.Plot, error) {
	n := len(r.Times)
	k := stride(n)
	title := "Cumulative margin by strategy"
	if n == 0 || len(r.Strategies) == 0 {
		title += ": no data"
	}
	p := newChart(title)
	p.X.Tick.Marker = dateTicks{}
	p.X.Label.Text = "UTC"
	p.Add(plotter.NewGrid())

	cums := make([][]float64, len(r.Strategies))
	var maxAbs float64
	for i, s := range r.Strategies {
		m := min(n, len(s.Margin))
		cums[i] = make([]float64, m)
		var c float64
		for j := range m {
			c += finite(s.Margin[j])
			cums[i][j] = c
			maxAbs = math.Max(maxAbs, math.Abs(c))
		}
	}
	div, unit := usdUnit(maxAbs)
	p.Y.Label.Text = "Cumulative margin (" + unit + ")"

	// Joule's line is drawn last so that no other line hides it.
	var jouleLine *plotter.Line
	for i, s := range r.Strategies {
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
		line.LineStyle.Color = palette[i%len(palette)]
		line.LineStyle.Width = vg.Points(1.5)
		p.Legend.Add(s.Name, line)
		if s.Name == "joule" {
			line.LineStyle.Width = vg.Points(2.5)
			jouleLine = line
			continue
		}
		p.Add(line)
	}
	if jouleLine != nil {
		p.Add(jouleLine)
	}
	return p, nil
}
