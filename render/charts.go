package render

import (
	"bufio"
	"bytes"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Charts are 10 by 4.5 inches, or 3.75 inches a panel where panels are stacked; PNGs
// are drawn at 144 dpi so they stay sharp when a browser scales them to the page.
const (
	chartWidth  = 10 * vg.Inch
	chartHeight = 4.5 * vg.Inch
	panelHeight = 3.75 * vg.Inch
	pngDPI      = 144
)

// maxPoints bounds the points drawn per series: a year of five-minute intervals is
// 105,120 points, more than a chart 1,440 pixels wide can show.
const maxPoints = 2000

// palette holds distinguishable colours for one line per strategy (Tableau 10).
var palette = []color.Color{
	rgb(0x4e79a7), rgb(0xf28e2b), rgb(0xe15759), rgb(0x76b7b2), rgb(0x59a14f),
	rgb(0xedc948), rgb(0xb07aa1), rgb(0xff9da7), rgb(0x9c755f), rgb(0xbab0ac),
}

func rgb(hex uint32) color.RGBA {
	return color.RGBA{R: uint8(hex >> 16), G: uint8(hex >> 8), B: uint8(hex), A: 0xff}
}

// chart is one image: a plot, or panels stacked top to bottom whose plotting areas
// line up (they share the time axis), named by the base name of its files ("power"
// for power.png).
type chart struct {
	name   string
	panels []*plot.Plot
}

// height is the chart's height: one plot's, or a panel's for each panel.
func (c chart) height() vg.Length {
	if len(c.panels) == 1 {
		return chartHeight
	}
	return panelHeight * vg.Length(len(c.panels))
}

// draw draws the chart's panels on dc, the first at the top.
func (c chart) draw(dc draw.Canvas) {
	if len(c.panels) == 1 {
		c.panels[0].Draw(dc)
		return
	}
	rows := make([][]*plot.Plot, len(c.panels))
	for i, p := range c.panels {
		rows[i] = []*plot.Plot{p}
	}
	tiles := draw.Tiles{Rows: len(rows), Cols: 1, PadY: vg.Points(10)}
	for i, canvases := range plot.Align(rows, tiles, dc) {
		c.panels[i].Draw(canvases[0])
	}
}

// chartPNGs draws each chart as PNG, by name.
func chartPNGs(charts []chart) (map[string][]byte, error) {
	out := make(map[string][]byte, len(charts))
	for _, c := range charts {
		png, err := chartPNG(c)
		if err != nil {
			return nil, fmt.Errorf("draw %s.png: %w", c.name, err)
		}
		out[c.name] = png
	}
	return out, nil
}

// chartPNG draws the chart as a PNG image.
func chartPNG(c chart) ([]byte, error) {
	png := vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(chartWidth, c.height()), vgimg.UseDPI(pngDPI))}
	c.draw(draw.New(png))
	var buf bytes.Buffer
	if _, err := png.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// saveChart writes the chart as dir/NAME.png and dir/NAME.svg and returns their paths.
func saveChart(c chart, dir string) ([]string, error) {
	base := c.name
	png, err := chartPNG(c)
	if err != nil {
		return nil, fmt.Errorf("draw %s.png: %w", base, err)
	}
	pngPath := filepath.Join(dir, base+".png")
	if err := writeFile(pngPath, func(f *bufio.Writer) error { _, err := f.Write(png); return err }); err != nil {
		return nil, err
	}
	svg, err := draw.NewFormattedCanvas(chartWidth, c.height(), "svg")
	if err != nil {
		return []string{pngPath}, fmt.Errorf("draw %s.svg: %w", base, err)
	}
	c.draw(draw.New(svg))
	svgPath := filepath.Join(dir, base+".svg")
	if err := writeFile(svgPath, func(f *bufio.Writer) error { _, err := svg.WriteTo(f); return err }); err != nil {
		return []string{pngPath}, err
	}
	return []string{pngPath, svgPath}, nil
}

// writeFile creates path and lets write fill it through a buffer.
func writeFile(path string, write func(*bufio.Writer) error) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("write %s: %w", path, cerr)
		}
	}()
	w := bufio.NewWriter(f)
	if err := write(w); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// newChart is a plot in the house style: sans-serif text, legend at the top left.
func newChart(title string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.Padding = vg.Points(8)
	p.Title.TextStyle.Font.Size = vg.Points(13)
	for _, s := range []*text.Style{&p.Title.TextStyle, &p.X.Label.TextStyle, &p.Y.Label.TextStyle,
		&p.X.Tick.Label, &p.Y.Tick.Label, &p.Legend.TextStyle} {
		s.Font.Variant = "Sans" // Liberation Sans, embedded in gonum/plot; reads like the page
	}
	p.X.Tick.Marker = numberTicks{}
	p.Y.Tick.Marker = numberTicks{}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.Padding = vg.Points(2)
	return p
}

// stride is how many intervals one chart point covers so that n intervals make at
// most maxPoints points.
func stride(n int) int {
	return max(1, (n+maxPoints-1)/maxPoints)
}

// usdUnit picks a unit for a money axis whose values reach maxAbs dollars, so that tick
// labels stay short: it returns what to divide by and the unit's name.
func usdUnit(maxAbs float64) (float64, string) {
	switch {
	case maxAbs >= 1e6:
		return 1e6, "million USD"
	case maxAbs >= 1e4:
		return 1e3, "thousand USD"
	}
	return 1, "USD"
}

// finite is v, or 0 when v is NaN or infinite; gonum refuses non-finite points.
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}
