package render

import (
	"math"
	"time"

	"gonum.org/v1/plot"
)

// dateTicks labels a time axis in Unix seconds at whole UTC minutes, hours, days,
// months or years, choosing the finest step that gives at most maxDateTicks labels.
type dateTicks struct{}

const maxDateTicks = 8

// dateStep is a tick spacing: a fixed number of seconds, or of calendar months.
type dateStep struct {
	sec    int64
	months int
	format string
}

var dateSteps = []dateStep{
	{sec: 5 * 60, format: "15:04"},
	{sec: 15 * 60, format: "15:04"},
	{sec: 30 * 60, format: "15:04"},
	{sec: 3600, format: "01-02 15:04"},
	{sec: 3 * 3600, format: "01-02 15:04"},
	{sec: 6 * 3600, format: "01-02 15:04"},
	{sec: 12 * 3600, format: "01-02 15:04"},
	{sec: 86400, format: "2006-01-02"},
	{sec: 2 * 86400, format: "2006-01-02"},
	{sec: 7 * 86400, format: "2006-01-02"},
	{sec: 14 * 86400, format: "2006-01-02"},
	{months: 1, format: "2006-01"},
	{months: 2, format: "2006-01"},
	{months: 3, format: "2006-01"},
	{months: 6, format: "2006-01"},
	{months: 12, format: "2006"},
	{months: 24, format: "2006"},
	{months: 60, format: "2006"},
}

// Ticks implements plot.Ticker.
func (dateTicks) Ticks(lo, hi float64) []plot.Tick {
	span := hi - lo
	step := dateSteps[len(dateSteps)-1]
	for _, s := range dateSteps {
		sec := float64(s.sec)
		if s.months > 0 {
			sec = float64(s.months) * 30.44 * 86400
		}
		if span/sec <= maxDateTicks {
			step = s
			break
		}
	}
	var ticks []plot.Tick
	if step.months == 0 {
		first := (int64(lo) + step.sec - 1) / step.sec * step.sec
		for t := first; float64(t) <= hi; t += step.sec {
			ticks = append(ticks, plot.Tick{Value: float64(t), Label: time.Unix(t, 0).UTC().Format(step.format)})
		}
		return ticks
	}
	start := time.Unix(int64(lo), 0).UTC()
	t := time.Date(start.Year(), start.Month(), 1, 0, 0, 0, 0, time.UTC)
	for (int(t.Month())-1)%min(step.months, 12) != 0 || t.Before(start) {
		t = t.AddDate(0, 1, 0)
	}
	for ; float64(t.Unix()) <= hi; t = t.AddDate(0, step.months, 0) {
		ticks = append(ticks, plot.Tick{Value: float64(t.Unix()), Label: t.Format(step.format)})
	}
	return ticks
}

// numberTicks labels a linear axis at 1, 2, 2.5 or 5 times a power of ten, with about
// six labels, thousands separators, no more decimals than the step needs, and an
// unlabelled minor tick between labels. gonum's default gives as few as two labels.
type numberTicks struct{}

// Ticks implements plot.Ticker.
func (numberTicks) Ticks(lo, hi float64) []plot.Tick {
	span := hi - lo
	if !(span > 0) || math.IsInf(span, 0) {
		return []plot.Tick{{Value: lo, Label: number(lo, 2)}}
	}
	raw := span / 6
	exp := math.Floor(math.Log10(raw))
	mag := math.Pow(10, exp)
	step, decimals := 10*mag, max(0, -int(exp)-1)
	for _, m := range []float64{1, 2, 2.5, 5} {
		if m*mag >= raw {
			step, decimals = m*mag, max(0, -int(exp))
			if m == 2.5 {
				decimals++
			}
			break
		}
	}
	var ticks []plot.Tick
	first := math.Ceil(lo/step - 1e-9)
	for i := 0.0; ; i++ {
		v := (first + i) * step
		if v > hi+step*1e-9 {
			break
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: number(v, decimals)})
		if minor := v + step/2; minor <= hi {
			ticks = append(ticks, plot.Tick{Value: minor})
		}
	}
	if minor := first*step - step/2; minor >= lo {
		ticks = append(ticks, plot.Tick{Value: minor})
	}
	return ticks
}
