package history

import (
	"encoding/csv"
	"fmt"
	"io"
	"io/fs"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/joule-site/joule/econ"
)

// daily is a series with at most one value per UTC day, stored densely from its first day.
type daily struct {
	first time.Time
	vals  []float64
	has   []bool
}

const day = 24 * time.Hour

func (s *daily) index(t time.Time) (int, bool) {
	if len(s.vals) == 0 || t.Before(s.first) {
		return 0, false
	}
	i := int(t.Sub(s.first) / day)
	return i, i < len(s.vals)
}

func (s *daily) at(t time.Time) (float64, bool) {
	i, ok := s.index(t)
	if !ok || !s.has[i] {
		return 0, false
	}
	return s.vals[i], true
}

// carry returns the latest value on or before t, looking back at most maxDays days.
func (s *daily) carry(t time.Time, maxDays int) (time.Time, float64, bool) {
	if t.After(s.last()) {
		return time.Time{}, 0, false // past the end is missing data, not a gap
	}
	for k := 0; k <= maxDays; k++ {
		d := t.AddDate(0, 0, -k)
		if v, ok := s.at(d); ok {
			return d, v, true
		}
	}
	return time.Time{}, 0, false
}

func (s *daily) last() time.Time { return s.first.AddDate(0, 0, len(s.vals)-1) }

func (s *daily) span() Coverage { return Coverage{First: s.first, Last: s.last()} }

// readDaily reads a CSV with a `date` (YYYY-MM-DD) column and the named value column.
func readDaily(fsys fs.FS, name, column string) (daily, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return daily{}, fmt.Errorf("open %s: %w", name, err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		return daily{}, fmt.Errorf("read %s: %w", name, err)
	}
	dateCol, valCol := slices.Index(header, "date"), slices.Index(header, column)
	if dateCol < 0 || valCol < 0 {
		return daily{}, fmt.Errorf("read %s: need columns date and %s, have %v", name, column, header)
	}
	var s daily
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return daily{}, fmt.Errorf("read %s: %w", name, err)
		}
		t, err := time.Parse(time.DateOnly, rec[dateCol])
		if err != nil {
			return daily{}, fmt.Errorf("%s:%d: date: %w", name, line, err)
		}
		v, err := strconv.ParseFloat(rec[valCol], 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return daily{}, fmt.Errorf("%s:%d: %s: not a number: %q", name, line, column, rec[valCol])
		}
		if len(s.vals) == 0 {
			s.first = t
		}
		i := int(t.Sub(s.first) / day)
		if i < len(s.vals) {
			return daily{}, fmt.Errorf("%s:%d: date %s is not after the previous row", name, line, rec[dateCol])
		}
		for len(s.vals) < i {
			s.vals, s.has = append(s.vals, 0), append(s.has, false)
		}
		s.vals, s.has = append(s.vals, v), append(s.has, true)
	}
	if len(s.vals) == 0 {
		return daily{}, fmt.Errorf("read %s: no rows", name)
	}
	return s, nil
}

// cumulativeHeights turns issued subsidy per day into block heights: result[i] is the
// number of blocks mined before day i (the height of its first block), and result[n] the
// height after the last day. A day that spans a halving is split at the halving height.
func cumulativeHeights(subsidy daily) []int64 {
	heights := make([]int64, len(subsidy.vals)+1)
	var h int64
	for i, issued := range subsidy.vals {
		heights[i] = h
		remaining := issued
		for remaining > 1e-9 {
			rate := econ.Subsidy(h).BTC()
			if rate == 0 {
				break
			}
			nextHalving := (h/econ.HalvingInterval + 1) * econ.HalvingInterval
			n := int64(math.Round(remaining / rate))
			if n == 0 {
				break // a fraction of a block: rounding in the source
			}
			if h+n > nextHalving {
				n = nextHalving - h
			}
			remaining -= float64(n) * rate
			h += n
		}
	}
	heights[len(subsidy.vals)] = h
	return heights
}
