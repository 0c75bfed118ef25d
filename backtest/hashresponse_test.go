package backtest

import (
	"math"
	"testing"
	"time"

	"github.com/joule-site/joule/history"
)

func TestDeviationsByHand(t *testing.T) {
	// A log hashprice that steps from 0 to 1: a year later the window is all ones.
	v := make([]float64, hashDevWindowDays+10)
	for i := hashDevWindowDays; i < len(v); i++ {
		v[i] = 1
	}
	dev := deviations(v)
	if !math.IsNaN(dev[hashDevWindowDays-2]) {
		t.Errorf("dev before a whole window: %v", dev[hashDevWindowDays-2])
	}
	if dev[hashDevWindowDays-1] != 0 {
		t.Errorf("dev of a flat year: %v", dev[hashDevWindowDays-1])
	}
	// Day 365: one 1 and 364 zeros in the window; 1 − 1/365.
	if got, want := dev[hashDevWindowDays], 1-1.0/hashDevWindowDays; math.Abs(got-want) > 1e-12 {
		t.Errorf("dev after the step: %v, want %v", got, want)
	}
}

// The fit on the embedded history: more hashprice than the year's mean makes the
// hashrate grow faster, some weeks later.
func TestFitHashResponseOnHistory(t *testing.T) {
	h, err := history.Default()
	if err != nil {
		t.Fatal(err)
	}
	at, _ := time.Parse(time.DateOnly, "2024-06-01")
	r, err := FitHashResponse(h, at)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fit before %s: %s", at.Format(time.DateOnly), r)
	if !(r.Coefficient > 0) || !(r.R2 > 0.01) || r.Observations < 1000 {
		t.Errorf("fit %+v: want a positive response with some explanatory power over years of days", r)
	}
	if !r.To.Before(at) {
		t.Errorf("the fit read growth up to %s, after the conversion date", r.To)
	}
}
