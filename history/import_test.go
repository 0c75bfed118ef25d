package history_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/history"
)

// parse parses a CSV and fails the test on error.
func parse(t *testing.T, kind joule.DataKind, name, csv string) *joule.DataSeries {
	t.Helper()
	s, err := history.ParseImport(kind, name, "made-up test data", []byte(csv))
	if err != nil {
		t.Fatalf("ParseImport %s: %v", kind, err)
	}
	return s
}

func TestParseImport(t *testing.T) {
	s := parse(t, joule.DataBTCPrice, "", "date,value\n2026-09-02,61000.5\n2026-09-01,60000\n")
	if s.Name != "btc-price" || s.Count != 2 || !s.First.Equal(date("2026-09-01")) || s.Points[1].Value != 61000.5 {
		t.Errorf("daily: %+v", s)
	}
	e := parse(t, joule.DataEnergy, "TEST:NODE", "\ufefftime,usd_per_mwh\n2026-03-01T00:00:00-06:00,21.5\n2026-03-01T01:00:00-06:00,-3\n2026-03-01T04:00:00-06:00,1500\n")
	if e.Count != 3 || !e.First.Equal(time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)) || e.First.Location() != time.UTC {
		t.Errorf("energy: %+v", e.DataSeriesInfo)
	}
	parse(t, joule.DataEnergyDayAhead, "TEST:NODE", "time,usd_per_mwh\n2026-03-01T00:15:00Z,1\n2026-03-01T00:30:00Z,2\n")
	parse(t, joule.DataFees, "fees", "date,value\n2026-09-01,0\n")
}

// Every refusal is EINVALID and names the line and what is wrong.
func TestParseImportRefuses(t *testing.T) {
	energy := func(rows ...string) string { return "time,usd_per_mwh\n" + strings.Join(rows, "\n") + "\n" }
	daily := func(rows ...string) string { return "date,value\n" + strings.Join(rows, "\n") + "\n" }
	tests := []struct {
		name       string
		kind       joule.DataKind
		node, csv  string
		source     string
		wantInText []string
	}{
		{"no source", joule.DataBTCPrice, "", daily("2026-09-01,1"), " ", []string{"source is required"}},
		{"empty", joule.DataBTCPrice, "", "", "s", []string{"line 1", "empty"}},
		{"header", joule.DataBTCPrice, "", "day,close\n2026-09-01,1\n", "s", []string{"line 1", "date,value"}},
		{"energy header on a daily kind", joule.DataFees, "", energy("2026-03-01T00:00:00Z,1"), "s", []string{"line 1", "header"}},
		{"no rows", joule.DataFees, "", "date,value\n", "s", []string{"no rows"}},
		{"bad date", joule.DataBTCPrice, "", daily("2026-09-01,1", "2026-09-31,2"), "s", []string{"line 3", `"2026-09-31"`, "YYYY-MM-DD"}},
		{"not a number", joule.DataDifficulty, "", daily("2026-09-01,1e14", "2026-09-02,lots"), "s", []string{"line 3", `"lots"`}},
		{"NaN", joule.DataDifficulty, "", daily("2026-09-01,NaN"), "s", []string{"line 2", "not a number"}},
		{"zero price", joule.DataBTCPrice, "", daily("2026-09-01,0"), "s", []string{"line 2", "positive"}},
		{"negative hashrate", joule.DataHashrate, "", daily("2026-09-01,-5"), "s", []string{"line 2", "positive"}},
		{"negative fees", joule.DataFees, "", daily("2026-09-01,3", "2026-09-02,-0.1"), "s", []string{"line 3", "negative"}},
		{"duplicate day", joule.DataFees, "", daily("2026-09-01,3", "2026-09-02,3", "2026-09-01,4"), "s", []string{"line 4", "2026-09-01", "line 2"}},
		{"three fields", joule.DataFees, "", daily("2026-09-01,3,4"), "s", []string{"line 2", "fields"}},
		{"unquoted quote", joule.DataFees, "", daily(`2026-09-01,3"`), "s", []string{"line 2"}},
		{"no node", joule.DataEnergy, "", energy("2026-03-01T00:00:00Z,1"), "s", []string{"node"}},
		{"bad node", joule.DataEnergy, "a node", energy("2026-03-01T00:00:00Z,1"), "s", []string{"node"}},
		{"name on a daily kind", joule.DataFees, "ERCOT:X", daily("2026-09-01,3"), "s", []string{"no name"}},
		{"unknown kind", "gas", "", daily("2026-09-01,3"), "s", []string{"kind", "btc-price"}},
		{"no offset", joule.DataEnergy, "T:N", energy("2026-03-01T00:00:00,1"), "s", []string{"line 2", "offset"}},
		{"a date for a time", joule.DataEnergy, "T:N", energy("2026-03-01T00:00:00Z,1", "2026-03-01,2"), "s", []string{"line 3", "RFC 3339"}},
		{"price too high", joule.DataEnergy, "T:N", energy("2026-03-01T00:00:00Z,100001"), "s", []string{"line 2", "100000"}},
		{"price too low", joule.DataEnergy, "T:N", energy("2026-03-01T00:00:00Z,1", "2026-03-01T01:00:00Z,-10000.5"), "s", []string{"line 3", "-10000"}},
		{"irregular step", joule.DataEnergy, "T:N", energy("2026-03-01T00:00:00Z,1", "2026-03-01T00:30:00Z,2", "2026-03-01T01:00:00Z,3"), "s", []string{"line 3", "30 min", "5 min, 15 min or 1 h"}},
		{"off the step", joule.DataEnergy, "T:N", energy("2026-03-01T00:00:00Z,1", "2026-03-01T01:00:00Z,2", "2026-03-01T02:00:00Z,2", "2026-03-01T03:30:00Z,3"), "s", []string{"line 5", "1 h interval"}},
		{"same time twice", joule.DataEnergy, "T:N", energy("2026-03-01T00:00:00Z,1", "2026-03-01T01:00:00Z,2", "2026-02-28T19:00:00-05:00,3"), "s", []string{"line 4", "line 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := history.ParseImport(tt.kind, tt.node, tt.source, []byte(tt.csv))
			if joule.ErrorCode(err) != joule.EINVALID || s != nil {
				t.Fatalf("got %v, %v; want invalid", s, err)
			}
			for _, want := range tt.wantInText {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%q does not say %q", err, want)
				}
			}
		})
	}
}

// dailyCSV is a made-up daily series from a day, one row a day.
func dailyCSV(from string, values ...float64) string {
	var b strings.Builder
	b.WriteString("date,value\n")
	for i, v := range values {
		fmt.Fprintf(&b, "%s,%v\n", date(from).AddDate(0, 0, i).Format(time.DateOnly), v)
	}
	return b.String()
}

// With imports of all four daily kinds, a day past the embedded data prices, and
// the notes name the source; the embedded history stays as it was.
func TestWithDailyPastTheData(t *testing.T) {
	h := load(t)
	before := h.Coverage()
	day := date("2026-09-05")
	if len(h.Day(day).Missing) == 0 {
		t.Fatalf("the embedded data covers %s: pick a later day for this test", day.Format(time.DateOnly))
	}
	h2, err := h.With(
		parse(t, joule.DataBTCPrice, "", dailyCSV("2026-09-01", 60000, 61000, 62000, 63000, 64000, 65000)),
		parse(t, joule.DataDifficulty, "", dailyCSV("2026-09-01", 1.3e14, 1.3e14, 1.3e14, 1.3e14, 1.3e14, 1.3e14)),
		parse(t, joule.DataHashrate, "", dailyCSV("2026-09-01", 9.3e8, 9.3e8, 9.3e8, 9.3e8, 9.3e8, 9.3e8)),
		parse(t, joule.DataFees, "", dailyCSV("2026-09-01", 3, 3, 3, 3, 3, 3)),
	)
	if err != nil {
		t.Fatal(err)
	}
	d := h2.Day(day)
	if err := d.Err(); err != nil {
		t.Fatalf("Day: %v", err)
	}
	if d.PriceUSD != 64000 || d.Difficulty != 1.3e14 || d.FeesBTC != 3 || !(d.Blocks > 100 && d.Blocks < 200) {
		t.Errorf("day %+v", d)
	}
	for _, want := range []string{"BTC price: imported (made-up test data)", "difficulty: imported (made-up test data)", "fees: imported (made-up test data)", "hashrate: imported (made-up test data)"} {
		if !slices.Contains(d.Notes, want) {
			t.Errorf("notes %q lack %q", d.Notes, want)
		}
	}
	if h2.Latest() != date("2026-09-06") {
		t.Errorf("Latest %v, want 2026-09-06", h2.Latest())
	}
	for _, c := range h2.Coverage() {
		if !c.Last.Equal(date("2026-09-06")) || !strings.Contains(c.Note, "imported for 2026-09-01..2026-09-06 (made-up test data)") {
			t.Errorf("coverage %+v does not include the import", c)
		}
	}
	if len(h.Day(day).Missing) == 0 || !slices.Equal(h.Coverage(), before) {
		t.Error("With changed the history it overlays")
	}
}

// An imported value replaces the embedded one of its day, and only that day's.
func TestWithDailyPrecedence(t *testing.T) {
	h := load(t)
	h2, err := h.With(parse(t, joule.DataBTCPrice, "", dailyCSV("2024-12-23", 1234.5)))
	if err != nil {
		t.Fatal(err)
	}
	if got := h2.Day(date("2024-12-23")).PriceUSD; got != 1234.5 {
		t.Errorf("imported day: price %v, want 1234.5", got)
	}
	if got, want := h2.Day(date("2024-12-24")).PriceUSD, h.Day(date("2024-12-24")).PriceUSD; got != want {
		t.Errorf("next day: price %v, want the embedded %v", got, want)
	}
	if h.Day(date("2024-12-23")).PriceUSD == 1234.5 {
		t.Error("With changed the history it overlays")
	}
	// A second overlay replaces the series of the same kind.
	h3, err := h2.With(parse(t, joule.DataBTCPrice, "", dailyCSV("2024-12-24", 99)))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := h3.Day(date("2024-12-23")).PriceUSD, h3.Day(date("2024-12-24")).PriceUSD; a == 1234.5 || b != 99 {
		t.Errorf("after a second import: %v, %v", a, b)
	}
}

// hourlyCSV is made-up hourly prices from a UTC time: price i is base+i.
func hourlyCSV(from time.Time, n int, base float64) string {
	var b strings.Builder
	b.WriteString("time,usd_per_mwh\n")
	for i := range n {
		fmt.Fprintf(&b, "%s,%v\n", from.Add(time.Duration(i)*time.Hour).Format(time.RFC3339), base+float64(i))
	}
	return b.String()
}

// A node the embedded data lacks is known once imported, real-time and day-ahead.
func TestWithNewNode(t *testing.T) {
	h := load(t)
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	h2, err := h.With(parse(t, joule.DataEnergy, "TEST:NODE", hourlyCSV(from, 48, 10)),
		parse(t, joule.DataEnergyDayAhead, "TEST:NODE", hourlyCSV(from, 24, 30)))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(h2.Nodes(), "TEST:NODE") || slices.Contains(h.Nodes(), "TEST:NODE") {
		t.Errorf("nodes %v (embedded %v)", h2.Nodes(), h.Nodes())
	}
	rt, err := h2.Energy("TEST:NODE")
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := rt.PriceAt(from.Add(5*time.Hour + 30*time.Minute)); !ok || p != 15 || rt.Step != time.Hour || rt.Intervals() != 48 {
		t.Errorf("real-time: %v %v, step %v, %d intervals", p, ok, rt.Step, rt.Intervals())
	}
	da, err := h2.DayAhead("TEST:NODE")
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := da.PriceAt(from); !ok || p != 30 {
		t.Errorf("day-ahead: %v %v", p, ok)
	}
	if _, err := h.Energy("TEST:NODE"); joule.ErrorCode(err) != joule.ENOTFOUND {
		t.Errorf("the embedded history knows TEST:NODE: %v", err)
	}
}

// Imported prices of an embedded node win interval by interval, and extend it; a
// step other than the embedded one is refused, naming both.
func TestWithEmbeddedNode(t *testing.T) {
	h := load(t)
	emb, err := h.Energy("ERCOT:LZ_WEST")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2023, 7, 1, 12, 0, 0, 0, time.UTC)
	embedded, _ := emb.PriceAt(at.Add(-time.Hour))
	after := emb.Last().Add(24 * time.Hour).Truncate(time.Hour)
	h2, err := h.With(parse(t, joule.DataEnergy, "ERCOT:LZ_WEST", hourlyCSV(at, 2, 7777)+hourlyCSV(after, 3, 1)[len("time,usd_per_mwh\n"):]))
	if err != nil {
		t.Fatal(err)
	}
	s, err := h2.Energy("ERCOT:LZ_WEST")
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := s.PriceAt(at); p != 7777 {
		t.Errorf("imported interval: %v, want 7777", p)
	}
	if p, _ := s.PriceAt(at.Add(-time.Hour)); p != embedded {
		t.Errorf("interval before: %v, want the embedded %v", p, embedded)
	}
	if p, ok := s.PriceAt(after.Add(time.Hour)); !ok || p != 2 || s.Location != emb.Location {
		t.Errorf("past the embedded data: %v %v; location %v", p, ok, s.Location)
	}
	if p, _ := emb.PriceAt(at); p == 7777 {
		t.Error("With changed the embedded series")
	}

	fiveMin := "time,usd_per_mwh\n2023-07-01T12:00:00Z,1\n2023-07-01T12:05:00Z,2\n"
	_, err = h.With(parse(t, joule.DataEnergy, "ERCOT:LZ_WEST", fiveMin))
	if joule.ErrorCode(err) != joule.EINVALID || !strings.Contains(err.Error(), "5 min") || !strings.Contains(err.Error(), "1 h") {
		t.Errorf("a five-minute import on an hourly node: %v; want invalid, naming both steps", err)
	}
}

// Whatever the bytes, ParseImport refuses them as invalid or returns a series every
// store takes, sorted, with its description.
func FuzzParseImport(f *testing.F) {
	for _, s := range []string{
		"date,value\n2026-09-01,1\n2026-09-03,2\n", "time,usd_per_mwh\n2026-03-01T00:05:00Z,1\n2026-03-01T00:00:00Z,2\n",
		"time,usd_per_mwh\n2026-03-01T00:00:00+05:45,1\n", "date,value\n\"2026-09-01\",\"1\"\n", "\ufeffdate,value\n0001-01-01,1\n9999-12-31,1e300\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, csv string) {
		for _, kind := range []joule.DataKind{joule.DataBTCPrice, joule.DataFees, joule.DataEnergy} {
			s, err := history.ParseImport(kind, "TEST:NODE", "fuzz", []byte(csv))
			if err != nil {
				if joule.ErrorCode(err) != joule.EINVALID {
					t.Fatalf("%s: %v is not invalid", kind, err)
				}
				continue
			}
			if err := s.Validate(); err != nil || s.Count != len(s.Points) || !s.First.Equal(s.Points[0].Time) {
				t.Fatalf("%s: %+v does not validate: %v", kind, s.DataSeriesInfo, err)
			}
			if _, err := load(t).With(s); err != nil && joule.ErrorCode(err) != joule.EINVALID {
				t.Fatalf("%s: With: %v", kind, err)
			}
		}
	})
}
