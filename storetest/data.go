package storetest

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/joule-site/joule"
)

// dailySeries is a made-up daily series of kind: n days from 2026-03-01, given at
// midnight of a zone east of UTC's day boundary only in name (the same instants).
func dailySeries(kind joule.DataKind, source string, n int, value float64) *joule.DataSeries {
	s := &joule.DataSeries{DataSeriesInfo: joule.DataSeriesInfo{Kind: kind, Name: string(kind), Source: source}}
	zone := time.FixedZone("UTC+2", 2*60*60)
	for i := range n {
		day := time.Date(2026, time.March, 1+i, 0, 0, 0, 0, time.UTC)
		s.Points = append(s.Points, joule.DataPoint{Time: day.In(zone), Value: value + float64(i)})
	}
	return s
}

// energySeries is a made-up hourly price series of a node, with a gap and a negative
// price, at times given with an offset.
func energySeries(node, source string) *joule.DataSeries {
	s := &joule.DataSeries{DataSeriesInfo: joule.DataSeriesInfo{Kind: joule.DataEnergy, Name: node, Source: source}}
	zone := time.FixedZone("CST", -6*60*60)
	start := time.Date(2026, time.March, 1, 0, 0, 0, 0, zone)
	for _, h := range []int{0, 1, 2, 5, 6} {
		s.Points = append(s.Points, joule.DataPoint{Time: start.Add(time.Duration(h) * time.Hour), Value: 20.5 - 10*float64(h)})
	}
	return s
}

// importData imports s and fails the test on error.
func (e *env) importData(t *testing.T, s *joule.DataSeries) {
	t.Helper()
	if err := e.Data.ImportData(e.ctx, s); err != nil {
		t.Fatalf("ImportData %s %s: %v", s.Kind, s.Name, err)
	}
}

// readData reads a series and fails the test on error.
func (e *env) readData(t *testing.T, kind joule.DataKind, name string) *joule.DataSeries {
	t.Helper()
	s, err := e.Data.DataSeries(e.ctx, kind, name)
	if err != nil {
		t.Fatalf("DataSeries %s %s: %v", kind, name, err)
	}
	return s
}

// listData lists the series and fails the test on error.
func (e *env) listData(t *testing.T) []*joule.DataSeriesInfo {
	t.Helper()
	l, err := e.Data.DataSeriesList(e.ctx)
	if err != nil {
		t.Fatalf("DataSeriesList: %v", err)
	}
	return l
}

// wantPoints fails the test unless got holds want's instants, in UTC, and values.
func wantPoints(t *testing.T, got, want []joule.DataPoint) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d points, want %d", len(got), len(want))
	}
	for i := range want {
		if !got[i].Time.Equal(want[i].Time) || got[i].Time.Location() != time.UTC || got[i].Value != want[i].Value {
			t.Errorf("point %d: %v %v (%v), want %v %v in UTC", i, got[i].Time, got[i].Value, got[i].Time.Location(), want[i].Time, want[i].Value)
		}
	}
}

// A series comes back as imported, its times in UTC, described by its points and
// stamped with the store's clock.
func testDataRoundTrip(t *testing.T, e *env) {
	for _, s := range []*joule.DataSeries{
		dailySeries(joule.DataBTCPrice, "made-up test prices", 3, 90_000.25),
		energySeries("TEST:NODE", "made-up test prices, hourly"),
	} {
		want := append([]joule.DataPoint(nil), s.Points...)
		e.importData(t, s)
		got := e.readData(t, s.Kind, s.Name)
		wantPoints(t, got.Points, want)
		info := got.DataSeriesInfo
		wantInfo := joule.DataSeriesInfo{Kind: s.Kind, Name: s.Name, Source: s.Source, ImportedAt: e.clock.Now().UTC(),
			Count: len(want), First: want[0].Time.UTC(), Last: want[len(want)-1].Time.UTC()}
		if !reflect.DeepEqual(info, wantInfo) {
			t.Errorf("%s: info %+v, want %+v", s.Kind, info, wantInfo)
		}
		for _, tm := range []time.Time{info.ImportedAt, info.First, info.Last} {
			if tm.Location() != time.UTC {
				t.Errorf("%s: time %v is not in UTC", s.Kind, tm)
			}
		}
		if !reflect.DeepEqual(s.DataSeriesInfo, wantInfo) {
			t.Errorf("%s: ImportData left the series described as %+v, want %+v", s.Kind, s.DataSeriesInfo, wantInfo)
		}
	}
	// A daily series is found by its kind, with or without its name.
	if got := e.readData(t, joule.DataBTCPrice, ""); got.Count != 3 {
		t.Errorf("btc-price without a name: %d points, want 3", got.Count)
	}
}

// An import replaces the series of its kind and name whole: points, source and time.
func testDataReplace(t *testing.T, e *env) {
	e.importData(t, dailySeries(joule.DataFees, "first export", 10, 3))
	at := e.clock.Advance(time.Hour)
	second := dailySeries(joule.DataFees, "second export", 2, 7)
	want := append([]joule.DataPoint(nil), second.Points...)
	e.importData(t, second)
	got := e.readData(t, joule.DataFees, "fees")
	wantPoints(t, got.Points, want)
	if got.Source != "second export" || !got.ImportedAt.Equal(at) || got.Count != 2 {
		t.Errorf("after the second import: %+v; want its source, count 2, imported at %v", got.DataSeriesInfo, at)
	}
	if l := e.listData(t); len(l) != 1 {
		t.Errorf("%d series listed, want 1", len(l))
	}
}

// The listing describes every series, by kind in joule.DataKinds' order, then name.
func testDataList(t *testing.T, e *env) {
	if l := e.listData(t); len(l) != 0 {
		t.Fatalf("an empty store lists %d series", len(l))
	}
	e.importData(t, energySeries("TEST:B", "b"))
	e.importData(t, energySeries("TEST:A", "a"))
	e.importData(t, dailySeries(joule.DataHashrate, "h", 2, 800e6))
	da := energySeries("TEST:A", "a, day-ahead")
	da.Kind = joule.DataEnergyDayAhead
	e.importData(t, da)
	e.importData(t, dailySeries(joule.DataBTCPrice, "p", 4, 95_000))
	var got []string
	for _, info := range e.listData(t) {
		got = append(got, string(info.Kind)+" "+info.Name)
		if info.Count == 0 || info.First.IsZero() || info.Last.Before(info.First) || info.ImportedAt.Location() != time.UTC {
			t.Errorf("%s %s: described as %+v", info.Kind, info.Name, info)
		}
	}
	want := []string{"btc-price btc-price", "hashrate hashrate", "energy TEST:A", "energy TEST:B", "energy-day-ahead TEST:A"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("listed %q, want %q", got, want)
	}
}

// A deleted series is gone, and the others stay.
func testDataDelete(t *testing.T, e *env) {
	e.importData(t, energySeries("TEST:A", "a"))
	e.importData(t, energySeries("TEST:B", "b"))
	if err := e.Data.DeleteData(e.ctx, joule.DataEnergy, "TEST:A"); err != nil {
		t.Fatalf("DeleteData: %v", err)
	}
	if _, err := e.Data.DataSeries(e.ctx, joule.DataEnergy, "TEST:A"); joule.ErrorCode(err) != joule.ENOTFOUND {
		t.Errorf("a deleted series reads %v, want not found", err)
	}
	if l := e.listData(t); len(l) != 1 || l[0].Name != "TEST:B" {
		t.Errorf("after the delete: %+v, want TEST:B alone", l)
	}
}

// Reading or deleting a series that is not there is ENOTFOUND, for every kind and a
// node of another kind.
func testDataNotFound(t *testing.T, e *env) {
	e.importData(t, energySeries("TEST:A", "a"))
	for _, k := range []struct {
		kind joule.DataKind
		name string
	}{{joule.DataBTCPrice, "btc-price"}, {joule.DataEnergyDayAhead, "TEST:A"}, {joule.DataEnergy, "TEST:Z"}} {
		if _, err := e.Data.DataSeries(e.ctx, k.kind, k.name); joule.ErrorCode(err) != joule.ENOTFOUND {
			t.Errorf("DataSeries %s %s: %v, want not found", k.kind, k.name, err)
		}
		if err := e.Data.DeleteData(e.ctx, k.kind, k.name); joule.ErrorCode(err) != joule.ENOTFOUND {
			t.Errorf("DeleteData %s %s: %v, want not found", k.kind, k.name, err)
		}
	}
}

// An import the store refuses changes nothing: the series it would replace stays as
// it was.
func testDataFailedImportWritesNothing(t *testing.T, e *env) {
	e.importData(t, dailySeries(joule.DataDifficulty, "kept", 3, 1.2e14))
	before := e.readData(t, joule.DataDifficulty, "difficulty")
	e.clock.Advance(time.Minute)
	unsorted := dailySeries(joule.DataDifficulty, "bad", 3, 1.3e14)
	unsorted.Points[1], unsorted.Points[2] = unsorted.Points[2], unsorted.Points[1]
	notANumber := dailySeries(joule.DataDifficulty, "bad", 3, 1.3e14)
	notANumber.Points[2].Value = math.NaN()
	noSource := dailySeries(joule.DataDifficulty, " ", 3, 1.3e14)
	noon := dailySeries(joule.DataDifficulty, "bad", 3, 1.3e14)
	noon.Points[0].Time = noon.Points[0].Time.Add(12 * time.Hour)
	badNode := energySeries("no spaces allowed", "bad")
	badKind := energySeries("TEST:A", "bad")
	badKind.Kind = "gas"
	for name, s := range map[string]*joule.DataSeries{
		"unsorted": unsorted, "NaN": notANumber, "no source": noSource, "noon": noon, "bad node": badNode, "bad kind": badKind,
		"no points": {DataSeriesInfo: joule.DataSeriesInfo{Kind: joule.DataDifficulty, Name: "difficulty", Source: "bad"}},
	} {
		if err := e.Data.ImportData(e.ctx, s); joule.ErrorCode(err) != joule.EINVALID {
			t.Errorf("%s: ImportData %v, want invalid", name, err)
		}
	}
	after := e.readData(t, joule.DataDifficulty, "difficulty")
	if !reflect.DeepEqual(after, before) {
		t.Errorf("after refused imports: %+v, want %+v", after.DataSeriesInfo, before.DataSeriesInfo)
	}
	if l := e.listData(t); len(l) != 1 {
		t.Errorf("%d series listed after refused imports, want 1", len(l))
	}
}
