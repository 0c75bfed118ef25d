package render

import (
	"encoding/csv"
	"io"
	"time"

	"github.com/joule-site/joule/backtest"
)

// writeTimeseries writes one CSV row per interval: time, prices (real, and planned on),
// each strategy's margin
// and draw, and power by use under Joule's policy. A series shorter than r.Times leaves
// its cells empty rather than inventing values.
func writeTimeseries(w io.Writer, r *backtest.Report) error {
	cw := csv.NewWriter(w)
	head := []string{"time", "energy_usd_per_mwh", "planned_energy_usd_per_mwh", "hashprice_usd_per_ph_day", "planned_hashprice_usd_per_ph_day", "gpu_usd_per_hour"}
	for _, s := range r.Strategies {
		head = append(head, s.Name+"_margin_usd", s.Name+"_draw_mw")
	}
	head = append(head, "firm_gpu_mw", "interruptible_gpu_mw", "open_gpu_mw", "mining_mw", "curtailed_mw")
	if err := cw.Write(head); err != nil {
		return err
	}
	row := make([]string, 0, len(head))
	for i, t := range r.Times {
		row = append(row[:0],
			time.Unix(t, 0).UTC().Format(time.RFC3339),
			cell(r.EnergyUSDPerMWh, i, 1),
			cell(r.PlannedEnergyUSDPerMWh, i, 1),
			cell(r.HashpriceUSDPerPHDay, i, 1),
			cell(r.PlannedHashpriceUSDPerPHDay, i, 1),
			cell(r.GPUUSDPerHour, i, 1),
		)
		for _, s := range r.Strategies {
			row = append(row, cell(s.Margin, i, 1), cell(s.DrawW, i, 1e6))
		}
		pw := r.Power
		for _, series := range [][]float64{pw.FirmGPUW, pw.InterruptibleGPUW, pw.OpenGPUW, pw.MiningW, pw.CurtailedW} {
			row = append(row, cell(series, i, 1e6))
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// cell is series[i]/div for the CSV, or empty when the series has no value there.
func cell(series []float64, i int, div float64) string {
	if i >= len(series) {
		return ""
	}
	return csvFloat(series[i] / div)
}
