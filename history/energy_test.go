package history_test

import (
	"math"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/history"
)

func TestNewEnergySeries(t *testing.T) {
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	points := func(starts ...string) []history.EnergyPoint {
		var ps []history.EnergyPoint
		for i, s := range starts {
			ps = append(ps, history.EnergyPoint{Start: at(s), USDPerMWh: float64(10 * (i + 1))})
		}
		return ps
	}
	type lookup struct {
		at   string
		want float64 // 0: no price
	}
	tests := []struct {
		name    string
		points  []history.EnergyPoint
		step    time.Duration
		lookups []lookup
	}{
		{"hourly", points("2024-07-10T19:00:00Z", "2024-07-10T20:00:00Z", "2024-07-10T21:00:00Z"), time.Hour, []lookup{
			{"2024-07-10T18:59:59Z", 0}, {"2024-07-10T19:00:00Z", 10}, {"2024-07-10T20:59:59Z", 20}, {"2024-07-10T21:59:59Z", 30}, {"2024-07-10T22:00:00Z", 0},
		}},
		{"time of use: each price holds until the next, the last as long as the one before", points("2024-07-10T00:00:00-05:00", "2024-07-10T14:00:00-05:00", "2024-07-10T20:00:00-05:00"), 2 * time.Hour, []lookup{
			{"2024-07-10T13:59:00-05:00", 10}, {"2024-07-10T14:00:00-05:00", 20}, {"2024-07-10T19:59:00-05:00", 20}, {"2024-07-11T01:59:00-05:00", 30}, {"2024-07-11T02:00:00-05:00", 0},
		}},
		{"a single point lasts an hour", points("2024-07-10T19:00:00Z"), time.Hour, []lookup{{"2024-07-10T19:59:59Z", 10}, {"2024-07-10T20:00:00Z", 0}}},
		{"fractional seconds", points("2024-07-10T19:00:00.5Z", "2024-07-10T20:00:00Z"), time.Hour - 500*time.Millisecond, []lookup{{"2024-07-10T19:00:00Z", 0}, {"2024-07-10T19:00:00.5Z", 10}, {"2024-07-10T20:59:59Z", 20}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := history.NewEnergySeries(tt.points)
			if err != nil {
				t.Fatal(err)
			}
			if s.Step != tt.step {
				t.Errorf("step %v; want %v", s.Step, tt.step)
			}
			for _, l := range tt.lookups {
				got, ok := s.PriceAt(at(l.at))
				if got != l.want || ok != (l.want != 0) {
					t.Errorf("PriceAt(%s) = %v, %v; want %v", l.at, got, ok, l.want)
				}
			}
			if ps := s.Points(); ps[0] != (history.EnergyPoint{Start: tt.points[0].Start.UTC(), USDPerMWh: tt.points[0].USDPerMWh}) {
				t.Errorf("first point %+v; want %+v", ps[0], tt.points[0])
			}
		})
	}

	bad := []struct {
		name   string
		points []history.EnergyPoint
	}{
		{"no points", nil},
		{"out of order", points("2024-07-10T20:00:00Z", "2024-07-10T19:00:00Z")},
		{"the same start twice", points("2024-07-10T19:00:00Z", "2024-07-10T14:00:00-05:00")},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := history.NewEnergySeries(tt.points); joule.ErrorCode(err) != joule.EINVALID {
				t.Errorf("NewEnergySeries: %v; want an %s error", err, joule.EINVALID)
			}
		})
	}
	// Points on no coarse common step — a week of hours with one start seven seconds
	// off the hour, a nanosecond apart, or longer than a duration holds — are kept as
	// points: each price holds until the next start, the last for the gap before it.
	var week []string
	for h := range 7 * 24 {
		week = append(week, time.Date(2024, 7, 10, 0, 0, 0, 0, time.UTC).Add(time.Duration(h)*time.Hour).Format(time.RFC3339Nano))
	}
	week[15] = "2024-07-10T15:00:07Z"
	for _, tt := range []struct {
		name    string
		points  []history.EnergyPoint
		at      []string
		want    []float64 // a price per at; NaN: none
		nPoints int
	}{
		{"a start off the hour", points(week...), []string{"2024-07-10T14:59:59Z", "2024-07-10T15:00:06Z", "2024-07-10T15:00:07Z", "2024-07-16T23:59:59Z", "2024-07-17T00:00:00Z"}, []float64{150, 150, 160, 1680, math.NaN()}, 168},
		{"a nanosecond apart over a year", points("2024-07-10T19:00:00Z", "2024-07-10T19:00:00.000000001Z", "2025-07-10T19:00:00Z"), []string{"2024-07-10T19:00:00Z", "2024-12-01T00:00:00Z", "2026-07-10T18:00:00Z", "2026-07-10T19:00:01Z"}, []float64{10, 20, 30, math.NaN()}, 3},
		{"longer than a duration holds", points("2000-01-01T00:00:00Z", "2200-01-01T00:00:00Z", "2400-01-01T00:00:00Z"), []string{"1999-12-31T23:00:00Z", "2100-01-01T00:00:00Z", "2300-01-01T00:00:00Z"}, []float64{math.NaN(), 10, 20}, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, err := history.NewEnergySeries(tt.points)
			if err != nil {
				t.Fatal(err)
			}
			for i, when := range tt.at {
				got, ok := s.PriceAt(at(when))
				if want := tt.want[i]; ok != !math.IsNaN(want) || (ok && got != want) {
					t.Errorf("PriceAt(%s) = %v, %v; want %v", when, got, ok, want)
				}
			}
			if ps := s.Points(); len(ps) != tt.nPoints || s.Intervals() != tt.nPoints || !s.Last().Equal(tt.points[len(tt.points)-1].Start) {
				t.Errorf("%d points, %d intervals, last %v", len(ps), s.Intervals(), s.Last())
			}
		})
	}

	var none *history.EnergySeries
	if _, ok := none.PriceAt(at("2024-07-10T19:00:00Z")); ok || none.Points() != nil {
		t.Error("a nil series has prices")
	}
}

// TestDayAhead reads rows of the embedded day-ahead files, copied here from the files,
// at the hours they begin: hour ending 08:00 begins at 07:00 local; on the day daylight
// saving ends, the flagged row is the second pass of the repeated hour.
func TestDayAhead(t *testing.T) {
	h, err := history.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		node, at string
		want     float64
	}{
		{"ERCOT:HB_WEST", "2024-01-01T13:00:00Z", 34.28}, // 2024-01-01,08:00 (CST)
		{"ERCOT:HB_WEST", "2024-11-03T06:00:00Z", 8.15},  // 2024-11-03,02:00,False: 01:00 CDT
		{"ERCOT:HB_WEST", "2024-11-03T07:00:00Z", 12.1},  // 2024-11-03,02:00,True: 01:00 CST
		{"ERCOT:LZ_WEST", "2019-01-01T06:00:00Z", 27.56}, // 1/1/2019 12:00:00 AM
	} {
		s, err := h.DayAhead(c.node)
		if err != nil {
			t.Fatal(err)
		}
		at, _ := time.Parse(time.RFC3339, c.at)
		if got, ok := s.PriceAt(at); !ok || got != c.want {
			t.Errorf("%s day-ahead at %s = %v, %v; want %v", c.node, c.at, got, ok, c.want)
		}
	}
	s, _ := h.DayAhead("ERCOT:HB_WEST")
	if n := s.Intervals(); n != 10128 {
		t.Errorf("HB_WEST day-ahead has %d hours, want the file's 10128 rows", n)
	}
	if _, err := h.DayAhead("ERCOT:LZ_HOUSTON"); joule.ErrorCode(err) != joule.ENOTFOUND {
		t.Errorf("a node without day-ahead prices: %v, want ENOTFOUND", err)
	}
	rt, _ := h.Energy("ERCOT:LZ_WEST")
	at, _ := time.Parse(time.RFC3339, "2019-01-01T06:00:00Z")
	if got, _ := rt.PriceAt(at); got != 12.57 { // 1/1/2019 12:00:00 AM,12.570000
		t.Errorf("LZ_WEST real-time at %s = %v, want 12.57: the day-ahead file must not merge into it", at, got)
	}
}
