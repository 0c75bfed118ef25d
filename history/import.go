package history

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/joule-site/joule"
)

// Limits on imported energy prices, USD per MWh: wider than any wholesale market's
// offer cap and floor (ERCOT's is $5,000 since 2023, it was $9,000; price floors lie
// near -$250), so that a real price passes and a unit slip (cents, $/kWh × 1000 twice)
// does not.
const (
	MinImportUSDPerMWh = -10_000
	MaxImportUSDPerMWh = 100_000
)

// ImportSteps are the intervals an imported energy series may have: five-minute
// real-time dispatch, fifteen-minute settlement and hourly prices.
var ImportSteps = []time.Duration{5 * time.Minute, 15 * time.Minute, time.Hour}

// The header of an import's CSV, by kind.
const (
	DailyCSVHeader  = "date,value"
	EnergyCSVHeader = "time,usd_per_mwh"
)

// ParseImport reads an operator's CSV of one series, with a header: `date,value` (one
// row per UTC day, YYYY-MM-DD, none twice) for the daily kinds, `time,usd_per_mwh`
// (RFC 3339 times with an explicit offset, on a regular step of ImportSteps, gaps
// allowed) for energy. BTC price, difficulty and hashrate must be positive, fees not
// negative, prices within [MinImportUSDPerMWh, MaxImportUSDPerMWh]. Rows may come in
// any order. Any error is EINVALID and names the line and what is wrong with it; the
// series is not returned then, so nothing of a bad file is stored. source, where the
// numbers come from, is required: reports that use the series name it.
func ParseImport(kind joule.DataKind, name, source string, data []byte) (*joule.DataSeries, error) {
	if err := joule.CheckDataName(kind, name); err != nil {
		return nil, err
	}
	name = joule.DataName(kind, name)
	if strings.TrimSpace(source) == "" {
		return nil, joule.Errorf(joule.EINVALID, "%s %s: the source is required: say where the numbers come from", kind, name)
	}
	p := importParser{kind: kind, name: name}
	points, err := p.parse(data)
	if err != nil {
		return nil, err
	}
	s := &joule.DataSeries{DataSeriesInfo: joule.DataSeriesInfo{Kind: kind, Name: name, Source: source}, Points: points}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	s.Summarize()
	return s, nil
}

type importParser struct {
	kind joule.DataKind
	name string
}

// errorf is an EINVALID error about line of the CSV.
func (p importParser) errorf(line int, format string, args ...any) error {
	return joule.Errorf(joule.EINVALID, "%s CSV line %d: %s", p.kind, line, fmt.Sprintf(format, args...))
}

// row is a point and the line it came from.
type row struct {
	joule.DataPoint
	line int
}

func (p importParser) parse(data []byte) ([]joule.DataPoint, error) {
	header := DailyCSVHeader
	if !p.kind.Daily() {
		header = EnergyCSVHeader
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))) // a spreadsheet's byte-order mark
	r.FieldsPerRecord = 2
	r.ReuseRecord = true
	rec, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, p.errorf(1, "the file is empty: want the header %s", header)
	} else if err != nil {
		return nil, p.csvError(err)
	}
	if got := strings.ToLower(strings.TrimSpace(rec[0]) + "," + strings.TrimSpace(rec[1])); got != header {
		return nil, p.errorf(1, "header %q: want %s", strings.Join(rec, ","), header)
	}
	var rows []row
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, p.csvError(err)
		}
		line, _ := r.FieldPos(0)
		if len(rows) == joule.MaxDataPoints {
			return nil, p.errorf(line, "more than %d rows", joule.MaxDataPoints)
		}
		pt, err := p.point(line, strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1]))
		if err != nil {
			return nil, err
		}
		rows = append(rows, row{pt, line})
	}
	if len(rows) == 0 {
		return nil, p.errorf(2, "no rows after the header")
	}
	slices.SortStableFunc(rows, func(a, b row) int { return a.Time.Compare(b.Time) })
	for i := 1; i < len(rows); i++ {
		if rows[i].Time.Equal(rows[i-1].Time) {
			a, b := min(rows[i].line, rows[i-1].line), max(rows[i].line, rows[i-1].line)
			return nil, p.errorf(b, "%s is on line %d already", p.format(rows[i].Time), a)
		}
	}
	if !p.kind.Daily() {
		if err := p.checkStep(rows); err != nil {
			return nil, err
		}
	}
	points := make([]joule.DataPoint, len(rows))
	for i, r := range rows {
		points[i] = r.DataPoint
	}
	return points, nil
}

func (p importParser) format(t time.Time) string {
	if p.kind.Daily() {
		return t.Format(time.DateOnly)
	}
	return t.Format(time.RFC3339)
}

// csvError names the line of a malformed CSV record.
func (p importParser) csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return p.errorf(pe.Line, "%v", pe.Err)
	}
	return joule.Errorf(joule.EINVALID, "%s CSV: %v", p.kind, err)
}

// point reads one row.
func (p importParser) point(line int, when, value string) (joule.DataPoint, error) {
	var t time.Time
	var err error
	if p.kind.Daily() {
		if t, err = time.Parse(time.DateOnly, when); err != nil {
			return joule.DataPoint{}, p.errorf(line, "date %q: want YYYY-MM-DD", when)
		}
	} else if t, err = time.Parse(time.RFC3339, when); err != nil {
		return joule.DataPoint{}, p.errorf(line, "time %q: want RFC 3339 with an offset, as 2026-03-01T14:00:00-06:00 or 2026-03-01T20:00:00Z", when)
	}
	v, err := strconv.ParseFloat(value, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return joule.DataPoint{}, p.errorf(line, "value %q: not a number", value)
	}
	switch p.kind {
	case joule.DataBTCPrice, joule.DataDifficulty, joule.DataHashrate:
		if v <= 0 {
			return joule.DataPoint{}, p.errorf(line, "%s %v: must be positive", p.kind, v)
		}
	case joule.DataFees:
		if v < 0 {
			return joule.DataPoint{}, p.errorf(line, "fees %v: must not be negative", v)
		}
	case joule.DataEnergy, joule.DataEnergyDayAhead:
		if v < MinImportUSDPerMWh || v > MaxImportUSDPerMWh {
			return joule.DataPoint{}, p.errorf(line, "price %v USD/MWh: outside [%d, %d]", v, MinImportUSDPerMWh, MaxImportUSDPerMWh)
		}
	}
	return joule.DataPoint{Time: t.UTC(), Value: v}, nil
}

// checkStep checks that sorted energy rows lie on one of ImportSteps: the shortest
// distance between two rows, every row starting a step in UTC (so whole steps apart),
// as the embedded series' intervals do.
func (p importParser) checkStep(rows []row) error {
	step := time.Hour
	if len(rows) > 1 {
		step = rows[1].Time.Sub(rows[0].Time)
		for i := 2; i < len(rows); i++ {
			step = min(step, rows[i].Time.Sub(rows[i-1].Time))
		}
	}
	if !slices.Contains(ImportSteps, step) {
		a, b := rows[0], rows[1]
		for i := 1; i < len(rows); i++ {
			if rows[i].Time.Sub(rows[i-1].Time) == step {
				a, b = rows[i-1], rows[i]
				break
			}
		}
		return p.errorf(b.line, "%s is %s after %s (line %d): the step must be 5 min, 15 min or 1 h", p.format(b.Time), FormatStep(step), p.format(a.Time), a.line)
	}
	for _, r := range rows { // rows that start steps are whole steps apart
		if !r.Time.Truncate(step).Equal(r.Time) {
			return p.errorf(r.line, "%s does not start a %s interval (in UTC)", p.format(r.Time), FormatStep(step))
		}
	}
	return nil
}

// FormatStep writes an interval as people say it: "5 min", "1 h".
func FormatStep(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%d h", d/time.Hour)
	case d >= time.Minute && d%time.Minute == 0:
		return fmt.Sprintf("%d min", d/time.Minute)
	}
	return d.String()
}
