package history

import (
	"compress/gzip"
	"encoding/csv"
	"fmt"
	"io"
	"io/fs"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // ERCOT prices are in Central time; machines may lack zoneinfo

	"github.com/joule-site/joule"
)

// EnergySeries is a site's energy price over time at one node, in USD per MWh: one
// price per Step (an hour, or five minutes for real-time dispatch prices), indexed from
// First in UTC, so that a lookup is an index, not a search. Intervals without a price
// are gaps, not zeros. The backtests read the embedded wholesale history through it
// (History.Energy), and the live loop reads the schedule its energy feed serves (built
// by NewEnergySeries); a series is not changed once built, so readers may share it.
type EnergySeries struct {
	Node     string
	Location *time.Location // the market's local time, in which its days are counted; UTC for a schedule of points
	Step     time.Duration
	First    time.Time // start of the first interval, UTC
	vals     []float64
	has      []bool
	// sparse holds a schedule whose points share no step coarse enough to lay out
	// densely (NewEnergySeries): looked up by binary search, each point lasting until
	// the next, the last until end.
	sparse []EnergyPoint
	end    time.Time
}

// EnergyPoint is the energy price from Start until the next point's start.
type EnergyPoint struct {
	Start     time.Time
	USDPerMWh float64 // may be negative in wholesale markets
}

// MaxScheduleIntervals bounds the intervals NewEnergySeries lays its points on: a year
// of one-minute prices, and 9 MB of memory. Points whose common step would need more
// (a schedule with a start off the minute, say) are kept as points instead.
const MaxScheduleIntervals = 366 * 24 * 60

// NewEnergySeries returns the schedule of points, which must be sorted by start with
// no start twice: each point's price holds until the next point's start, and the
// last's for as long as the one before it (an hour when it is alone). The schedule has
// no gaps between its first point and its end. Its step is the largest on which every
// point starts an interval (an hour for hourly points, two hours for a time-of-use
// schedule that changes at 00:00, 14:00 and 20:00). Points that would need more than
// MaxScheduleIntervals of it are kept as they are and looked up by binary search.
func NewEnergySeries(points []EnergyPoint) (*EnergySeries, error) {
	if len(points) == 0 {
		return nil, joule.Errorf(joule.EINVALID, "energy schedule: no prices")
	}
	first := points[0].Start
	step := time.Hour
	if len(points) > 1 {
		step = 0
		for i := 1; i < len(points); i++ {
			d := points[i].Start.Sub(points[i-1].Start)
			if d <= 0 {
				return nil, joule.Errorf(joule.EINVALID, "energy schedule: %s does not come after %s", points[i].Start.Format(time.RFC3339Nano), points[i-1].Start.Format(time.RFC3339Nano))
			}
			step = gcd(step, d)
		}
	}
	lastLen := time.Hour
	if n := len(points); n > 1 {
		lastLen = points[n-1].Start.Sub(points[n-2].Start)
	}
	last := points[len(points)-1].Start
	span := last.Sub(first)
	// A span too long for a Duration (about 292 years) saturates; such points, and
	// points on too fine a common step, are kept as points.
	if span/step > MaxScheduleIntervals || lastLen/step > MaxScheduleIntervals-span/step || !first.Add(span).Equal(last) {
		return &EnergySeries{Location: time.UTC, Step: step, First: first.UTC(), sparse: slices.Clone(points), end: last.Add(lastLen)}, nil
	}
	n := int(span/step + lastLen/step)
	s := &EnergySeries{Location: time.UTC, Step: step, First: first.UTC(), vals: make([]float64, n), has: make([]bool, n)}
	for i, p := range points {
		from := int(p.Start.Sub(first) / step)
		to := n
		if i+1 < len(points) {
			to = int(points[i+1].Start.Sub(first) / step)
		}
		for k := from; k < to; k++ {
			s.vals[k], s.has[k] = p.USDPerMWh, true
		}
	}
	return s, nil
}

func gcd(a, b time.Duration) time.Duration {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// PriceAt returns the price of the interval that contains t; ok is false in a gap,
// before the first interval, from the end of the last, and for a nil series (a feed
// that has not read one yet).
func (s *EnergySeries) PriceAt(t time.Time) (usdPerMWh float64, ok bool) {
	if s != nil && s.sparse != nil {
		if t.Before(s.First) || !t.Before(s.end) {
			return 0, false
		}
		i, _ := slices.BinarySearchFunc(s.sparse, t, func(p EnergyPoint, t time.Time) int { return p.Start.Compare(t) })
		if i == len(s.sparse) || !s.sparse[i].Start.Equal(t) {
			i-- // the last point that starts before t
		}
		return s.sparse[i].USDPerMWh, true
	}
	if s == nil || len(s.vals) == 0 || t.Before(s.First) {
		return 0, false
	}
	i := int(t.Sub(s.First) / s.Step)
	if i >= len(s.vals) || !s.has[i] {
		return 0, false
	}
	return s.vals[i], true
}

// Points returns one point for each interval with a price, in order; none for a nil
// series.
func (s *EnergySeries) Points() []EnergyPoint {
	if s == nil {
		return nil
	}
	if s.sparse != nil {
		return slices.Clone(s.sparse)
	}
	var out []EnergyPoint
	for i, ok := range s.has {
		if ok {
			out = append(out, EnergyPoint{Start: s.First.Add(time.Duration(i) * s.Step), USDPerMWh: s.vals[i]})
		}
	}
	return out
}

// Last returns the start of the last interval.
func (s *EnergySeries) Last() time.Time {
	if s.sparse != nil {
		return s.sparse[len(s.sparse)-1].Start
	}
	return s.First.Add(time.Duration(len(s.vals)-1) * s.Step)
}

// Intervals returns the number of intervals with a price.
func (s *EnergySeries) Intervals() int {
	if s.sparse != nil {
		return len(s.sparse)
	}
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
	return int(t.Sub(s.First) / s.Step)
}

// energyFile is one embedded price file; files of one node and market are merged.
type energyFile struct {
	name, node, tz string
	format         energyFormat
	dayAhead       bool // day-ahead market prices, not real-time
}

type energyFormat uint8

const (
	// ercotHourly: `date` as "1/2/2023 3:00:00 PM", hour beginning, local time;
	// `usd_per_mwh`. The repeated hour when daylight saving ends appears once.
	ercotHourly energyFormat = iota
	// ercotSCED: gzip CSV of `sced_timestamp` (local, about every five minutes, one
	// row per security-constrained dispatch run), `repeat_hour` (true in the second
	// pass of the hour repeated when daylight saving ends), `usd_per_mwh`. Each run's
	// price holds for the five-minute interval it falls in.
	ercotSCED
	// ercotDAM: ERCOT's day-ahead market report: `deliveryDate` (YYYY-MM-DD),
	// `hourEnding` (01:00..24:00, local), `settlementPoint`, `settlementPointPrice`,
	// `DSTFlag` (True for the second pass of the hour repeated when daylight saving
	// ends). Rows come in any order.
	ercotDAM
)

// energyFiles are the embedded series.
var energyFiles = []energyFile{
	{"ercot_lz_west_rt_hourly_2019.csv", "ERCOT:LZ_WEST", "America/Chicago", ercotHourly, false},
	{"ercot_lz_west_rt_hourly_2023.csv", "ERCOT:LZ_WEST", "America/Chicago", ercotHourly, false},
	{"ercot_hb_west_rt_sced_5min.csv.gz", "ERCOT:HB_WEST", "America/Chicago", ercotSCED, false},
	{"ercot_lz_west_da_hourly_2019.csv", "ERCOT:LZ_WEST", "America/Chicago", ercotHourly, true},
	{"ercot_hb_west_da_hourly.csv", "ERCOT:HB_WEST", "America/Chicago", ercotDAM, true},
}

// loadEnergy reads and merges the files of one node's real-time or day-ahead market.
func loadEnergy(fsys fs.FS, node string, dayAhead bool) (*EnergySeries, error) {
	var out *EnergySeries
	for _, e := range energyFiles {
		if e.node != node || e.dayAhead != dayAhead {
			continue
		}
		s, err := readEnergy(fsys, e)
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = s
			continue
		}
		out = mergeEnergy(out, s)
	}
	return out, nil
}

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
	var in io.Reader = f
	step := time.Hour
	if e.format == ercotSCED {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", e.name, err)
		}
		defer gz.Close()
		in, step = gz, 5*time.Minute
	}
	r := csv.NewReader(in)
	r.ReuseRecord = true
	if _, err := r.Read(); err != nil {
		return nil, fmt.Errorf("read %s: %w", e.name, err)
	}
	type row struct {
		t time.Time
		v float64
	}
	var rows []row
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", e.name, err)
		}
		var t time.Time
		var price string
		switch e.format {
		case ercotHourly:
			t, err = time.ParseInLocation("1/2/2006 3:04:05 PM", rec[0], loc)
			price = rec[1]
		case ercotSCED:
			t, err = time.ParseInLocation("2006-01-02T15:04:05", rec[0], loc)
			if err == nil && rec[1] == "true" {
				t = t.Add(time.Hour) // the second pass of the repeated hour; Go reads the first
			}
			price = rec[2]
		case ercotDAM:
			if len(rec) < 5 {
				return nil, fmt.Errorf("%s:%d: want 5 columns, got %d", e.name, line, len(rec))
			}
			var he int
			he, err = strconv.Atoi(strings.TrimSuffix(rec[1], ":00"))
			if err == nil && (he < 1 || he > 24) {
				err = fmt.Errorf("hour ending %q out of 01:00..24:00", rec[1])
			}
			if err == nil {
				t, err = time.ParseInLocation(time.DateOnly, rec[0], loc)
				// The hour begins an hour before it ends; on the day daylight saving
				// ends, the flagged row is the second pass of the repeated hour.
				t = time.Date(t.Year(), t.Month(), t.Day(), he-1, 0, 0, 0, loc)
				if rec[4] == "True" {
					t = t.Add(time.Hour)
				}
			}
			price = rec[3]
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: date: %w", e.name, line, err)
		}
		v, err := strconv.ParseFloat(price, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%s:%d: price: not a number: %q", e.name, line, price)
		}
		rows = append(rows, row{t.UTC(), v})
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("read %s: no rows", e.name)
	}
	// Files in time order keep it (a later row in one interval replaces an earlier
	// one); others are sorted first.
	slices.SortStableFunc(rows, func(a, b row) int { return a.t.Compare(b.t) })
	s := &EnergySeries{Node: e.node, Location: loc, Step: step}
	for _, r := range rows {
		s.set(r.t, r.v)
	}
	return s, nil
}

// set stores v for the interval holding t, growing the series; a later value in the
// same interval replaces an earlier one (the latest dispatch run holds).
func (s *EnergySeries) set(t time.Time, v float64) {
	if len(s.vals) == 0 {
		s.First = t.Truncate(s.Step)
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

// mergeEnergy returns a series holding both a's and b's intervals; b must start after
// a and have the same step.
func mergeEnergy(a, b *EnergySeries) *EnergySeries {
	out := &EnergySeries{Node: a.Node, Location: a.Location, Step: a.Step}
	for _, s := range []*EnergySeries{a, b} {
		for i, ok := range s.has {
			if ok {
				out.set(s.First.Add(time.Duration(i)*s.Step), s.vals[i])
			}
		}
	}
	return out
}

// Coverage lists the spans of days the series covers, ignoring gaps shorter than an
// hour, e.g. "2019-01-01..2019-12-31, 2023-01-01..2023-12-31".
func (s *EnergySeries) Coverage() string {
	var parts []string
	bridge := int(time.Hour / s.Step)
	start, lastOn := -1, -1
	flush := func() {
		a := s.First.Add(time.Duration(start) * s.Step).In(s.Location).Format(time.DateOnly)
		b := s.First.Add(time.Duration(lastOn) * s.Step).In(s.Location).Format(time.DateOnly)
		parts = append(parts, a+".."+b)
	}
	for i, ok := range s.has {
		if !ok {
			continue
		}
		if start >= 0 && i-lastOn-1 > bridge {
			flush()
			start = -1
		}
		if start < 0 {
			start = i
		}
		lastOn = i
	}
	if start >= 0 {
		flush()
	}
	return strings.Join(parts, ", ")
}
