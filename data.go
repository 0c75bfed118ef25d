package joule

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// DataKind is what an imported market series measures: the daily chain and price
// series a day of history is priced on, or a wholesale node's energy prices.
type DataKind string

// The kinds of series an operator may import. Daily kinds hold one value per UTC day
// (its midnight); energy kinds one price per interval start.
const (
	DataBTCPrice       DataKind = "btc-price"        // daily close, USD per BTC
	DataDifficulty     DataKind = "difficulty"       // daily network difficulty
	DataHashrate       DataKind = "hashrate"         // daily network hashrate, TH/s
	DataFees           DataKind = "fees"             // daily total fees paid to miners, BTC
	DataEnergy         DataKind = "energy"           // a wholesale node's real-time prices, USD/MWh
	DataEnergyDayAhead DataKind = "energy-day-ahead" // the node's day-ahead prices, USD/MWh
)

// DataKinds lists every kind, in the order listings show them.
var DataKinds = []DataKind{DataBTCPrice, DataDifficulty, DataHashrate, DataFees, DataEnergy, DataEnergyDayAhead}

// Daily reports whether the kind holds one value per UTC day; its series' name is then
// the kind itself, as there is one such series.
func (k DataKind) Daily() bool {
	switch k {
	case DataBTCPrice, DataDifficulty, DataHashrate, DataFees:
		return true
	}
	return false
}

// Valid reports whether k is one of DataKinds.
func (k DataKind) Valid() bool { return slices.Contains(DataKinds, k) }

// Limits of an imported series: enough for ten years of five-minute prices, and a
// source that says where the numbers came from in a sentence or two.
const (
	MaxDataPoints    = 10 * 366 * 24 * 12
	MaxDataSourceLen = 500
	MaxDataNameLen   = 64
)

// nodeRE is the form of a wholesale node's name: a market and a settlement point, as
// "ERCOT:HB_NORTH".
var nodeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]*$`)

// DataPoint is one value of an imported series: at Time (UTC; a daily series' midnight,
// an energy series' interval start).
type DataPoint struct {
	Time  time.Time `json:"time"`
	Value float64   `json:"value"`
}

// DataSeriesInfo describes an imported series without its points: what a listing shows.
type DataSeriesInfo struct {
	Kind DataKind `json:"kind"`
	// Name is the kind for a daily series, the node ("ERCOT:HB_NORTH") for energy.
	Name string `json:"name"`
	// Source is the provenance the importer gave: where the numbers came from. Reports
	// that use the series name it.
	Source string `json:"source"`
	// ImportedAt is when the store took the series, by its clock.
	ImportedAt time.Time `json:"imported_at"`
	Count      int       `json:"count"` // points
	First      time.Time `json:"first"`
	Last       time.Time `json:"last"`
}

// DataSeries is an imported series with its points, sorted by time, no time twice.
type DataSeries struct {
	DataSeriesInfo
	Points []DataPoint `json:"points"`
}

// DataService stores the market series operators import, beside the embedded ones.
type DataService interface {
	// ImportData stores s in place of the series of the same kind and name, at once:
	// a reader sees the old series or the new, never a mix. It validates s first
	// (Validate) and sets its ImportedAt, Count, First and Last.
	ImportData(ctx context.Context, s *DataSeries) error
	// DataSeries returns a series with its points, or ENOTFOUND.
	DataSeries(ctx context.Context, kind DataKind, name string) (*DataSeries, error)
	// DataSeriesList describes every series, by kind (in DataKinds' order) and name.
	DataSeriesList(ctx context.Context) ([]*DataSeriesInfo, error)
	// DeleteData removes a series, or answers ENOTFOUND.
	DeleteData(ctx context.Context, kind DataKind, name string) error
}

// CheckDataName checks a series' kind and name: a daily kind's name is the kind, an
// energy kind's is a node's name.
func CheckDataName(kind DataKind, name string) error {
	switch {
	case !kind.Valid():
		return Errorf(EINVALID, "data kind %q: want one of %s", kind, joinKinds())
	case kind.Daily() && name != string(kind) && name != "":
		return Errorf(EINVALID, "%s: a daily series has no name but its kind, got %q", kind, name)
	case kind.Daily():
		return nil
	case name == "":
		return Errorf(EINVALID, "%s: the node's name is required (as ERCOT:HB_NORTH)", kind)
	case len(name) > MaxDataNameLen || !nodeRE.MatchString(name):
		return Errorf(EINVALID, "%s: node %q: use at most %d letters, digits, '_', '.', ':' or '-'", kind, name, MaxDataNameLen)
	}
	return nil
}

// DataName is the name a series of kind is stored under: the kind itself for a daily
// kind, name otherwise.
func DataName(kind DataKind, name string) string {
	if kind.Daily() {
		return string(kind)
	}
	return name
}

func joinKinds() string {
	s := make([]string, len(DataKinds))
	for i, k := range DataKinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// Validate checks what every store relies on: a known kind and a name for it, a
// source, 1 to MaxDataPoints finite values at strictly increasing times, a daily
// series' at UTC midnights. The value ranges of each kind and an energy series' step
// are the importer's to check (history.ParseImport), which can name the line.
func (s *DataSeries) Validate() error {
	if err := CheckDataName(s.Kind, s.Name); err != nil {
		return err
	}
	src := strings.TrimSpace(s.Source)
	switch {
	case s.Kind.Daily() && s.Name != string(s.Kind):
		return Errorf(EINVALID, "%s: name must be %q", s.Kind, s.Kind)
	case src == "":
		return Errorf(EINVALID, "%s %s: the source is required: say where the numbers come from", s.Kind, s.Name)
	case utf8.RuneCountInString(src) > MaxDataSourceLen || !utf8.ValidString(src):
		return Errorf(EINVALID, "%s %s: the source is at most %d characters", s.Kind, s.Name, MaxDataSourceLen)
	case len(s.Points) == 0:
		return Errorf(EINVALID, "%s %s: no points", s.Kind, s.Name)
	case len(s.Points) > MaxDataPoints:
		return Errorf(EINVALID, "%s %s: %d points, at most %d", s.Kind, s.Name, len(s.Points), MaxDataPoints)
	}
	for i, p := range s.Points {
		switch {
		case math.IsNaN(p.Value) || math.IsInf(p.Value, 0):
			return Errorf(EINVALID, "%s %s: point %d: not a finite number", s.Kind, s.Name, i+1)
		case i > 0 && !p.Time.After(s.Points[i-1].Time):
			return Errorf(EINVALID, "%s %s: point %d: %s does not come after %s", s.Kind, s.Name, i+1, p.Time.UTC().Format(time.RFC3339), s.Points[i-1].Time.UTC().Format(time.RFC3339))
		case s.Kind.Daily() && !p.Time.UTC().Equal(p.Time.UTC().Truncate(24*time.Hour)):
			return Errorf(EINVALID, "%s: point %d: a daily value is at midnight UTC, got %s", s.Kind, i+1, p.Time.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// Summarize sets Count, First and Last from the points, and the times to UTC.
func (s *DataSeries) Summarize() {
	for i := range s.Points {
		s.Points[i].Time = s.Points[i].Time.UTC()
	}
	s.Count = len(s.Points)
	if s.Count > 0 {
		s.First, s.Last = s.Points[0].Time, s.Points[s.Count-1].Time
	}
	s.Source = strings.TrimSpace(s.Source)
}

// dataPointsVersion is the first byte of EncodeDataPoints' form, for a later one.
const dataPointsVersion = 1

// EncodeDataPoints is the compact form stores keep a series' points in: a version byte,
// then per point its time (Unix nanoseconds) and value (IEEE 754 bits), 8 bytes each,
// little-endian. Sixteen bytes a point: a year of five-minute prices is 1.7 MB.
func EncodeDataPoints(points []DataPoint) []byte {
	b := make([]byte, 1, 1+16*len(points))
	b[0] = dataPointsVersion
	for _, p := range points {
		b = binary.LittleEndian.AppendUint64(b, uint64(p.Time.UnixNano()))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(p.Value))
	}
	return b
}

// DecodeDataPoints reads what EncodeDataPoints wrote; times are UTC.
func DecodeDataPoints(b []byte) ([]DataPoint, error) {
	if len(b) == 0 || b[0] != dataPointsVersion || (len(b)-1)%16 != 0 {
		return nil, fmt.Errorf("stored data points: not in the form of version %d", dataPointsVersion)
	}
	b = b[1:]
	out := make([]DataPoint, len(b)/16)
	for i := range out {
		ns := int64(binary.LittleEndian.Uint64(b[16*i:]))
		out[i] = DataPoint{Time: time.Unix(0, ns).UTC(), Value: math.Float64frombits(binary.LittleEndian.Uint64(b[16*i+8:]))}
	}
	return out, nil
}

// SortDataSeries orders descriptions as listings show them: by kind in DataKinds'
// order, then by name.
func SortDataSeries(s []*DataSeriesInfo) {
	slices.SortFunc(s, func(a, b *DataSeriesInfo) int {
		if c := slices.Index(DataKinds, a.Kind) - slices.Index(DataKinds, b.Kind); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
}
