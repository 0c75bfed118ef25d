package forecast_test

import (
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/forecast"
	"github.com/joule-site/joule/history"
)

var central, _ = time.LoadLocation("America/Chicago")

// hourly returns a schedule of hourly prices from start: prices[i] for hour i (the
// last holds for an hour more, as NewEnergySeries lays a schedule).
func hourly(t *testing.T, start time.Time, prices ...float64) *history.EnergySeries {
	t.Helper()
	var ps []history.EnergyPoint
	for i, p := range prices {
		ps = append(ps, history.EnergyPoint{Start: start.Add(time.Duration(i) * time.Hour), USDPerMWh: p})
	}
	s, err := history.NewEnergySeries(ps)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A replay shows only what had been published: the real-time price of an interval
// once it has ended, a day-ahead price from 13:30 Central time the day before.
func TestReplayHidesWhatWasNotPublished(t *testing.T) {
	day := time.Date(2024, 7, 10, 0, 0, 0, 0, central) // hour-beginning prices of July 10, local
	rt := hourly(t, day, 20, 30, 40, 50, 60)
	da := hourly(t, day.AddDate(0, 0, -1), make([]float64, 24+5)...) // July 9 and the first hours of July 10
	r := &forecast.Replay{RealTime: rt, DayAheadSeries: da, Published: forecast.ERCOTDayAheadPublished, AdderUSDPerMWh: 4.5}

	r.At(day) // 00:00: no real-time interval has ended
	if p, _, ok := r.LastSettled(); ok {
		t.Errorf("at the first interval's start a settled price %v is known", p)
	}
	r.At(day.Add(2 * time.Hour)) // 02:00: hours 0 and 1 have ended
	if p, at, ok := r.LastSettled(); !ok || p != 30+4.5 || !at.Equal(day.Add(time.Hour)) {
		t.Errorf("at 02:00: %v at %s, %v; want 34.5 (hour 1 plus the adder)", p, at, ok)
	}
	r.At(day.Add(2*time.Hour + 59*time.Minute)) // hour 2 has not ended
	if p, _, _ := r.LastSettled(); p != 30+4.5 {
		t.Errorf("at 02:59: %v, want the hour before's 34.5: the hour in progress is not settled", p)
	}

	// July 10's day-ahead prices are published at 13:30 on July 9.
	hour := day.Add(3 * time.Hour)
	r.At(time.Date(2024, 7, 9, 13, 29, 59, 0, central))
	if p, ok := r.DayAhead(hour); ok {
		t.Errorf("a day-ahead price %v before its auction was published", p)
	}
	r.At(time.Date(2024, 7, 9, 13, 30, 0, 0, central))
	if p, ok := r.DayAhead(hour); !ok || p != 4.5 {
		t.Errorf("at 13:30 the day before: %v, %v; want the published 0 plus the adder", p, ok)
	}
	if got := forecast.ERCOTDayAheadPublished(time.Date(2024, 11, 3, 1, 0, 0, 0, central)); !got.Equal(time.Date(2024, 11, 2, 13, 30, 0, 0, central)) {
		t.Errorf("published %s", got)
	}
}

// A settled price older than MaxAge (counted from its interval's start) is not used:
// a feed that stopped is not a forecast.
func TestLastSettledHasAnAge(t *testing.T) {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	r := &forecast.Replay{RealTime: hourly(t, start, 10, 11, 12)}
	r.At(start.Add(2*time.Hour + 45*time.Minute)) // hour 1 (11) is the newest that ended
	if p, at, ok := r.LastSettled(); !ok || p != 11 || !at.Equal(start.Add(time.Hour)) {
		t.Errorf("at 02:45: %v at %s, %v; want 11 from 01:00", p, at, ok)
	}
	r.MaxAge = 90 * time.Minute // 01:00 is 1h45m before 02:45
	if p, _, ok := r.LastSettled(); ok {
		t.Errorf("with a 90-minute age limit: %v; want none", p)
	}
	r.At(start.Add(8 * time.Hour)) // after the series ends (hours 0..2)
	r.MaxAge = 0                   // the default, six hours
	if p, _, ok := r.LastSettled(); !ok || p != 12 {
		t.Errorf("at 08:00: %v, %v; want 12, the last hour's, begun six hours before", p, ok)
	}
	r.At(start.Add(9 * time.Hour))
	if p, _, ok := r.LastSettled(); ok {
		t.Errorf("at 09:00: %v; want none: the last settled hour began 7 hours before", p)
	}
}

// The forecasters' arithmetic, by hand.
func TestForecasters(t *testing.T) {
	day := time.Date(2024, 7, 10, 0, 0, 0, 0, central)
	rt := hourly(t, day, 20, 30, 40)
	da := hourly(t, day, 25, 28, 45)
	r := &forecast.Replay{RealTime: rt, DayAheadSeries: da, Published: forecast.ERCOTDayAheadPublished}
	r.At(day.Add(2 * time.Hour)) // plan hour 2; hour 1 (30) settled
	if p, ok := (forecast.Persistence{}).Price(r); !ok || p != 30 {
		t.Errorf("persistence %v, %v; want 30", p, ok)
	}
	// Day-ahead expected hour 2 at 45 after hour 1 at 28: +17 on the settled 30.
	if p, ok := (forecast.DayAhead{}).Price(r); !ok || p != 30+45-28 {
		t.Errorf("day-ahead %v, %v; want 47", p, ok)
	}
	// Without day-ahead prices it is persistence.
	r.DayAheadSeries = nil
	if p, ok := (forecast.DayAhead{}).Price(r); !ok || p != 30 {
		t.Errorf("day-ahead with no day-ahead market %v, %v; want 30", p, ok)
	}
	r.At(day)
	if _, ok := (forecast.DayAhead{}).Price(r); ok {
		t.Error("a forecast with nothing published")
	}
	for _, name := range forecast.Names() {
		if f, err := forecast.ByName(name); err != nil || f.Name() != name {
			t.Errorf("ByName(%q) = %v, %v", name, f, err)
		}
	}
	if _, err := forecast.ByName("oracle"); joule.ErrorCode(err) != joule.EINVALID {
		t.Errorf("an unknown forecaster: %v", err)
	}
}
