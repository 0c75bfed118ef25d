package feeds

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// EnergyPoint is the energy price from Start until the next point's start.
type EnergyPoint struct {
	Start     time.Time
	USDPerMWh float64 // may be negative in wholesale markets
}

// EnergySeries is a schedule of energy prices, sorted by start, at least one point.
// Each point's interval ends where the next begins; the last lasts as long as the one
// before it (an hour when the series has a single point).
type EnergySeries struct {
	Points []EnergyPoint
}

// End returns the end of the series' last interval; zero for an empty series.
func (s EnergySeries) End() time.Time {
	n := len(s.Points)
	switch n {
	case 0:
		return time.Time{}
	case 1:
		return s.Points[0].Start.Add(time.Hour)
	}
	return s.Points[n-1].Start.Add(s.Points[n-1].Start.Sub(s.Points[n-2].Start))
}

// PriceAt returns the price of the interval that contains t; ok is false when t is
// before the first point or at or after End.
func (s EnergySeries) PriceAt(t time.Time) (usdPerMWh float64, ok bool) {
	i, _ := slices.BinarySearchFunc(s.Points, t, func(p EnergyPoint, t time.Time) int { return p.Start.Compare(t) })
	switch {
	case i < len(s.Points) && s.Points[i].Start.Equal(t):
		return s.Points[i].USDPerMWh, true
	case i == 0 || !t.Before(s.End()):
		return 0, false
	}
	return s.Points[i-1].USDPerMWh, true
}

// ParseEnergyCSV reads a schedule of energy prices: rows of "time,usd_per_mwh" with
// RFC 3339 times (2024-07-10T15:00:00-05:00) and prices in USD per MWh, under an
// optional header naming those two columns. Lines that start with # are comments. Rows
// may come in any order; two rows for the same time are an error.
func ParseEnergyCSV(r io.Reader) (EnergySeries, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	var points []EnergyPoint
	for record := 1; ; record++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return EnergySeries{}, fmt.Errorf("energy csv: %w", err)
		}
		row, _ := cr.FieldPos(0)
		if len(rec) != 2 {
			return EnergySeries{}, fmt.Errorf("energy csv: line %d: %d fields, want time,usd_per_mwh", row, len(rec))
		}
		when, price := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		if record == 1 && strings.EqualFold(when, "time") {
			if !strings.EqualFold(price, "usd_per_mwh") {
				return EnergySeries{}, fmt.Errorf("energy csv: header %q,%q, want time,usd_per_mwh", when, price)
			}
			continue
		}
		t, err := time.Parse(time.RFC3339, when)
		if err != nil {
			return EnergySeries{}, fmt.Errorf("energy csv: line %d: time %q is not RFC 3339", row, when)
		}
		p, err := strconv.ParseFloat(price, 64)
		if err != nil || math.IsNaN(p) || math.IsInf(p, 0) {
			return EnergySeries{}, fmt.Errorf("energy csv: line %d: price %q is not a finite number", row, price)
		}
		points = append(points, EnergyPoint{Start: t, USDPerMWh: p})
	}
	if len(points) == 0 {
		return EnergySeries{}, errors.New("energy csv: no prices")
	}
	slices.SortStableFunc(points, func(a, b EnergyPoint) int { return a.Start.Compare(b.Start) })
	for i := 1; i < len(points); i++ {
		if points[i].Start.Equal(points[i-1].Start) {
			return EnergySeries{}, fmt.Errorf("energy csv: two prices for %s", points[i].Start.Format(time.RFC3339))
		}
	}
	return EnergySeries{Points: points}, nil
}

// HTTPEnergy reads an energy price schedule from an HTTP endpoint that answers CSV in
// ParseEnergyCSV's format.
type HTTPEnergy struct {
	URL    string
	Client *http.Client // http.DefaultClient when nil
}

// Fetch reads the schedule once.
func (e HTTPEnergy) Fetch(ctx context.Context) (EnergySeries, time.Time, error) {
	body, err := get(ctx, e.Client, e.URL)
	if err != nil {
		return EnergySeries{}, time.Time{}, err
	}
	s, err := ParseEnergyCSV(bytes.NewReader(body))
	return s, time.Time{}, err
}

// FileEnergy reads an energy price schedule from a CSV file in ParseEnergyCSV's format.
// A schedule is good for as long as it covers the moment, however old the file.
type FileEnergy struct {
	File string
}

// Fetch reads the schedule once.
func (e FileEnergy) Fetch(context.Context) (EnergySeries, time.Time, error) {
	body, _, err := readFile(e.File)
	if err != nil {
		return EnergySeries{}, time.Time{}, err
	}
	s, err := ParseEnergyCSV(bytes.NewReader(body))
	return s, time.Time{}, err
}

// NewEnergyFeed returns the energy price feed over fetch (an HTTPEnergy's or
// FileEnergy's Fetch).
func NewEnergyFeed(fetch Fetch[EnergySeries], interval time.Duration, now func() time.Time) *Feed[EnergySeries] {
	return NewFeed(FeedEnergy, interval, now, fetch)
}
