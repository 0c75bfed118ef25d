package feeds_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule/feeds"
	"github.com/joule-site/joule/history"
)

const hourly = `time,usd_per_mwh
# ERCOT HB_WEST, hourly
2024-07-10T14:00:00-05:00,42.5
2024-07-10T15:00:00-05:00,180
2024-07-10T16:00:00-05:00,-3.25
`

func TestParseEnergyCSV(t *testing.T) {
	tests := []struct {
		name    string
		csv     string
		starts  []string // RFC 3339, in order
		wantErr bool
	}{
		{"header, comment, negative price", hourly, []string{"2024-07-10T19:00:00Z", "2024-07-10T20:00:00Z", "2024-07-10T21:00:00Z"}, false},
		{"no header, unsorted, fractional seconds", "2024-07-10T20:00:00Z,1\n2024-07-10T19:00:00.5Z, 2\n", []string{"2024-07-10T19:00:00.5Z", "2024-07-10T20:00:00Z"}, false},
		{"CRLF line ends", "time,usd_per_mwh\r\n2024-07-10T19:00:00Z,1\r\n", []string{"2024-07-10T19:00:00Z"}, false},
		{"empty", "", nil, true},
		{"header only", "time,usd_per_mwh\n", nil, true},
		{"columns swapped", "usd_per_mwh,time\n1,2024-07-10T19:00:00Z\n", nil, true},
		{"header with other names", "time,price\n2024-07-10T19:00:00Z,1\n", nil, true},
		{"not RFC 3339", "2024-07-10 19:00,1\n", nil, true},
		{"no zone", "2024-07-10T19:00:00,1\n", nil, true},
		{"price not a number", "2024-07-10T19:00:00Z,cheap\n", nil, true},
		{"price NaN", "2024-07-10T19:00:00Z,NaN\n", nil, true},
		{"price infinite", "2024-07-10T19:00:00Z,+Inf\n", nil, true},
		{"three columns", "2024-07-10T19:00:00Z,1,2\n", nil, true},
		{"same instant twice", "2024-07-10T19:00:00Z,1\n2024-07-10T14:00:00-05:00,2\n", nil, true},
		{"bare quote", "2024-07-10T19:00:00Z,\"1\n", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := feeds.ParseEnergyCSV(strings.NewReader(tt.csv))
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseEnergyCSV: %v; want error: %v", err, tt.wantErr)
			}
			if len(s.Points()) != len(tt.starts) {
				t.Fatalf("%d points; want %d", len(s.Points()), len(tt.starts))
			}
			for i, p := range s.Points() {
				if want, _ := time.Parse(time.RFC3339, tt.starts[i]); !p.Start.Equal(want) {
					t.Errorf("point %d starts %v; want %v", i, p.Start, want)
				}
			}
		})
	}
}

func TestPriceAt(t *testing.T) {
	s, err := feeds.ParseEnergyCSV(strings.NewReader(hourly))
	if err != nil {
		t.Fatal(err)
	}
	single, err := feeds.ParseEnergyCSV(strings.NewReader("2024-07-10T19:00:00Z,30\n"))
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name   string
		series *history.EnergySeries
		at     string
		want   float64
		ok     bool
	}{
		{"before the first interval", s, "2024-07-10T18:59:59Z", 0, false},
		{"first instant of the first interval", s, "2024-07-10T19:00:00Z", 42.5, true},
		{"inside the second, in another zone", s, "2024-07-10T22:30:00+02:00", 180, true},
		{"last interval lasts as long as the one before", s, "2024-07-10T21:59:59Z", -3.25, true},
		{"end is exclusive", s, "2024-07-10T22:00:00Z", 0, false},
		{"single point covers an hour", single, "2024-07-10T19:59:00Z", 30, true},
		{"single point, after the hour", single, "2024-07-10T20:00:00Z", 0, false},
		{"empty series", &history.EnergySeries{}, "2024-07-10T19:00:00Z", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.series.PriceAt(at(tt.at))
			if got != tt.want || ok != tt.ok {
				t.Errorf("PriceAt(%s) = %v, %v; want %v, %v", tt.at, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestHTTPEnergy(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/prices.csv" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/csv")
		_, _ = w.Write([]byte(hourly))
	}))
	defer srv.Close()

	s, _, err := feeds.HTTPEnergy{URL: srv.URL + "/prices.csv", Client: srv.Client()}.Fetch(context.Background())
	if err != nil || len(s.Points()) != 3 {
		t.Fatalf("Fetch = %d points, %v; want 3", len(s.Points()), err)
	}
	if _, _, err := (feeds.HTTPEnergy{URL: srv.URL + "/missing", Client: srv.Client()}).Fetch(context.Background()); err == nil {
		t.Error("a 404 gives a schedule")
	}
}
