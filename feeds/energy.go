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

	"github.com/joule-site/joule/history"
)

// ParseEnergyCSV reads a schedule of energy prices: rows of "time,usd_per_mwh" with
// RFC 3339 times (2024-07-10T15:00:00-05:00) and prices in USD per MWh, under an
// optional header naming those two columns. Lines that start with # are comments. Rows
// may come in any order; two rows for the same time are an error. Each row's price
// holds until the next row's time (history.NewEnergySeries).
func ParseEnergyCSV(r io.Reader) (*history.EnergySeries, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	var points []history.EnergyPoint
	for record := 1; ; record++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("energy csv: %w", err)
		}
		row, _ := cr.FieldPos(0)
		if len(rec) != 2 {
			return nil, fmt.Errorf("energy csv: line %d: %d fields, want time,usd_per_mwh", row, len(rec))
		}
		when, price := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		if record == 1 && strings.EqualFold(when, "time") {
			if !strings.EqualFold(price, "usd_per_mwh") {
				return nil, fmt.Errorf("energy csv: header %q,%q, want time,usd_per_mwh", when, price)
			}
			continue
		}
		t, err := time.Parse(time.RFC3339, when)
		if err != nil {
			return nil, fmt.Errorf("energy csv: line %d: time %q is not RFC 3339", row, when)
		}
		p, err := strconv.ParseFloat(price, 64)
		if err != nil || math.IsNaN(p) || math.IsInf(p, 0) {
			return nil, fmt.Errorf("energy csv: line %d: price %q is not a finite number", row, price)
		}
		points = append(points, history.EnergyPoint{Start: t, USDPerMWh: p})
	}
	if len(points) == 0 {
		return nil, errors.New("energy csv: no prices")
	}
	slices.SortStableFunc(points, func(a, b history.EnergyPoint) int { return a.Start.Compare(b.Start) })
	for i := 1; i < len(points); i++ {
		if points[i].Start.Equal(points[i-1].Start) {
			return nil, fmt.Errorf("energy csv: two prices for %s", points[i].Start.Format(time.RFC3339))
		}
	}
	s, err := history.NewEnergySeries(points)
	if err != nil {
		return nil, fmt.Errorf("energy csv: %w", err)
	}
	return s, nil
}

// HTTPEnergy reads an energy price schedule from an HTTP endpoint that answers CSV in
// ParseEnergyCSV's format.
type HTTPEnergy struct {
	URL    string
	Client *http.Client // http.DefaultClient when nil
}

// Fetch reads the schedule once.
func (e HTTPEnergy) Fetch(ctx context.Context) (*history.EnergySeries, time.Time, error) {
	body, err := get(ctx, e.Client, e.URL)
	if err != nil {
		return nil, time.Time{}, err
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
func (e FileEnergy) Fetch(context.Context) (*history.EnergySeries, time.Time, error) {
	body, _, err := readFile(e.File)
	if err != nil {
		return nil, time.Time{}, err
	}
	s, err := ParseEnergyCSV(bytes.NewReader(body))
	return s, time.Time{}, err
}

// NewEnergyFeed returns the energy price feed over fetch (an HTTPEnergy's or
// FileEnergy's Fetch).
func NewEnergyFeed(fetch Fetch[*history.EnergySeries], interval time.Duration, now func() time.Time) *Feed[*history.EnergySeries] {
	return NewFeed(FeedEnergy, interval, now, fetch)
}
