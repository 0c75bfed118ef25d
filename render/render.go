// Package render renders backtests and conversion plans for people: tables for the
// terminal, CSV and JSON for spreadsheets and scripts, charts as PNG and SVG, and a
// static HTML page that ties them together. It decides nothing; the figures come from
// package backtest.
package render

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/joule-site/joule/backtest"
	"gonum.org/v1/plot"
)

// WriteBacktest writes into dir (created if missing): summary.json (the Report as
// indented JSON), timeseries.csv (one row per interval: prices, each strategy's margin
// and draw, and power by use under Joule's policy), power.png and margin.png (with SVG
// twins), and index.html, a self-contained page that shows the charts. It returns the
// paths of the files written, including those written before an error.
func WriteBacktest(dir string, r *backtest.Report) ([]string, error) {
	if r == nil {
		return nil, errors.New("write backtest: no report")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("write backtest: %w", err)
	}
	var files []string
	add := func(path string, err error) error {
		if err != nil {
			return fmt.Errorf("write backtest: %w", err)
		}
		files = append(files, path)
		return nil
	}
	path := filepath.Join(dir, "summary.json")
	if err := add(path, writeJSON(path, r)); err != nil {
		return files, err
	}
	path = filepath.Join(dir, "timeseries.csv")
	if err := add(path, writeFile(path, func(w *bufio.Writer) error { return writeTimeseries(w, r) })); err != nil {
		return files, err
	}
	plots, err := backtestPlots(r)
	if err != nil {
		return files, fmt.Errorf("write backtest: %w", err)
	}
	for _, c := range plots {
		written, err := saveChart(c, dir)
		files = append(files, written...)
		if err != nil {
			return files, fmt.Errorf("write backtest: %w", err)
		}
	}
	path = filepath.Join(dir, "index.html")
	err = add(path, writePage(path, backtestPage(r, powerCaption(r))))
	return files, err
}

// WritePivot writes into dir (created if missing): plan.json, npv.png (the histogram of
// every path's NPV with P10, P50 and P90 marked), cashflow.png (each year's P50 cash
// flow with a P10–P90 whisker), SVG twins of both, and index.html. It returns the paths
// of the files written, including those written before an error.
func WritePivot(dir string, p *backtest.PivotReport) ([]string, error) {
	if p == nil {
		return nil, errors.New("write plan: no plan report")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("write plan: %w", err)
	}
	var files []string
	path := filepath.Join(dir, "plan.json")
	if err := writeJSON(path, p); err != nil {
		return files, fmt.Errorf("write plan: %w", err)
	}
	files = append(files, path)
	plots, err := planPlots(p)
	if err != nil {
		return files, fmt.Errorf("write plan: %w", err)
	}
	for _, c := range plots {
		written, err := saveChart(c, dir)
		files = append(files, written...)
		if err != nil {
			return files, fmt.Errorf("write plan: %w", err)
		}
	}
	path = filepath.Join(dir, "index.html")
	if err := writePage(path, planPage(p)); err != nil {
		return files, fmt.Errorf("write plan: %w", err)
	}
	return append(files, path), nil
}

// BacktestCharts draws the backtest's charts as PNG: "power" (facility power by use
// under Joule's policy) and "margin" (each strategy's cumulative margin), the images
// WriteBacktest writes as power.png and margin.png.
func BacktestCharts(r *backtest.Report) (map[string][]byte, error) {
	if r == nil {
		return nil, errors.New("backtest charts: no report")
	}
	plots, err := backtestPlots(r)
	if err != nil {
		return nil, fmt.Errorf("backtest charts: %w", err)
	}
	return chartPNGs(plots)
}

// PivotCharts draws the plan's charts as PNG: "npv" (the histogram of the paths' NPV)
// and "cashflow" (each year's cash flow), the images WritePivot writes.
func PivotCharts(p *backtest.PivotReport) (map[string][]byte, error) {
	if p == nil {
		return nil, errors.New("plan charts: no plan report")
	}
	plots, err := planPlots(p)
	if err != nil {
		return nil, fmt.Errorf("plan charts: %w", err)
	}
	return chartPNGs(plots)
}

func backtestPlots(r *backtest.Report) ([]chart, error) {
	power, err := powerChart(r)
	if err != nil {
		return nil, err
	}
	margin, err := marginPanels(r)
	if err != nil {
		return nil, err
	}
	return []chart{{"power", []*plot.Plot{power}}, {"margin", margin}}, nil
}

func planPlots(p *backtest.PivotReport) ([]chart, error) {
	npv, err := npvChart(p)
	if err != nil {
		return nil, err
	}
	cash, err := cashFlowChart(p)
	if err != nil {
		return nil, err
	}
	return []chart{{"npv", []*plot.Plot{npv}}, {"cashflow", []*plot.Plot{cash}}}, nil
}

// powerCaption explains the power chart, and says when it is averaged.
func powerCaption(r *backtest.Report) string {
	s := "Facility power under Joule's policy by what it ran, stacked, in MW. " +
		"Curtailed is flexible load that could have run and did not."
	if k := stride(len(r.Times)); k > 1 {
		s += fmt.Sprintf(" Downsampled for drawing: each point is the mean of %d intervals (%s); timeseries.csv has every interval.",
			k, duration(int64(k)*r.IntervalSec))
	}
	return s
}

func writeJSON(path string, v any) error {
	return writeFile(path, func(w *bufio.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
}
