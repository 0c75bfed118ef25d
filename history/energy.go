package history

import (
	"encoding/csv"
	"fmt"
	"io"
	"io/fs"
	"math"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // ERCOT prices are in Central time; machines may lack zoneinfo
)

// EnergySeries is an hourly wholesale energy price series at one node, in USD per MWh,
// indexed by UTC hour. Hours the source does not have are gaps, not zeros.
type EnergySeries struct {
	Node     string
	Location *time.Location // the market's local time, in which its days are counted
	First    time.Time      // first hour, UTC
	vals     []float64
	has      []bool
}

// PriceAt returns the price of the hour that contains t.
func (s *EnergySeries) PriceAt(t time.Time) (usdPerMWh float64, ok bool) {
	i := s.index(t)
	if i < 0 || i >= len(s.vals) || !s.has[i] {
		return 0, false
	}
	return s.vals[i], true
}

// Last returns the last hour of the series.
func (s *EnergySeries) Last() time.Time { return s.First.Add(time.Duration(len(s.vals)-1) * time.Hour) }

// Hours returns the number of hours with a price.
func (s *EnergySeries) Hours() int {
	n := 0
	for _, ok := range s.has {
		if ok {
			n++
		}
	}
	return n
}

func (s *EnergySeries) index(t time.Time) int {
	if t.Before(s.First) {
		return -1
	}
	return int(t.Sub(s.First) / time.Hour)
}

type energyFile struct {
	name, node, tz string
}

// energyFiles are the embedded hourly series; files of one node are merged.
var energyFiles = []energyFile{
	{"ercot_lz_west_rt_hourly_2019.csv", "ERCOT:LZ_WEST", "America/Chicago"},
	{"ercot_lz_west_rt_hourly_2023.csv", "ERCOT:LZ_WEST", "America/Chicago"},
}

// readEnergy reads an ERCOT-style hourly file: `date` as "1/2/2023 3:00:00 PM", hour
// beginning, in the node's local time; `usd_per_mwh`.
func readEnergy(fsys fs.FS, e energyFile) (*EnergySeries, error) {
	loc, err := time.LoadLocation(e.tz)
	if err != nil {
		return nil, fmt.Errorf("energy %s: %w", e.name, err)
	}
	f, err := fsys.Open(e.name)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", e.name, err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	if _, err := r.Read(); err != nil {
		return nil, fmt.Errorf("read %s: %w", e.name, err)
	}
	s := &EnergySeries{Node: e.node, Location: loc}
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", e.name, err)
		}
		t, err := time.ParseInLocation("1/2/2006 3:04:05 PM", rec[0], loc)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: date: %w", e.name, line, err)
		}
		v, err := strconv.ParseFloat(rec[1], 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%s:%d: price: not a number: %q", e.name, line, rec[1])
		}
		s.set(t.UTC(), v)
	}
	if len(s.vals) == 0 {
		return nil, fmt.Errorf("read %s: no rows", e.name)
	}
	return s, nil
}

// set stores v at hour t, growing the series; the series must grow forward.
func (s *EnergySeries) set(t time.Time, v float64) {
	if len(s.vals) == 0 {
		s.First = t.Truncate(time.Hour)
	}
	i := s.index(t)
	if i < 0 {
		return
	}
	for len(s.vals) <= i {
		s.vals, s.has = append(s.vals, 0), append(s.has, false)
	}
	s.vals[i], s.has[i] = v, true
}

// mergeEnergy returns a series holding both a's and b's hours; b must start after a.
func mergeEnergy(a, b *EnergySeries) *EnergySeries {
	out := &EnergySeries{Node: a.Node, Location: a.Location}
	for _, s := range []*EnergySeries{a, b} {
		for i, ok := range s.has {
			if ok {
				out.set(s.First.Add(time.Duration(i)*time.Hour), s.vals[i])
			}
		}
	}
	return out
}

// Coverage lists the spans of days the series covers, ignoring lone missing hours,
// e.g. "2019-01-01..2019-12-31, 2023-01-01..2023-12-31".
func (s *EnergySeries) Coverage() string {
	var parts []string
	start := -1
	for i := 0; i <= len(s.has); i++ {
		on := i < len(s.has) && (s.has[i] || (i+1 < len(s.has) && s.has[i+1] && i > 0 && s.has[i-1]))
		switch {
		case on && start < 0:
			start = i
		case !on && start >= 0:
			a := s.First.Add(time.Duration(start) * time.Hour).In(s.Location).Format(time.DateOnly)
			b := s.First.Add(time.Duration(i-1) * time.Hour).In(s.Location).Format(time.DateOnly)
			parts = append(parts, a+".."+b)
			start = -1
		}
	}
	return strings.Join(parts, ", ")
}
