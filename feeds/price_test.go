package feeds_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/joule-site/joule/feeds"
)

func TestHTTPPrice(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		path    string
		want    float64
		wantErr bool
	}{
		{"CoinGecko simple price", 200, `{"bitcoin":{"usd":67012.5}}`, ".bitcoin.usd", 67012.5, false},
		{"Coinbase spot, a number in a string", 200, `{"data":{"amount":"67000.12","base":"BTC","currency":"USD"}}`, "data.amount", 67000.12, false},
		{"element of an array", 200, `{"prices":[[1720620000000,57000],[1720623600000,57100.25]]}`, "prices.1.1", 57100.25, false},
		{"bare number, empty path", 200, "67000\n", "", 67000, false},
		{"server error", 500, `{"bitcoin":{"usd":67000}}`, ".bitcoin.usd", 0, true},
		{"missing key", 200, `{"bitcoin":{"eur":61000}}`, ".bitcoin.usd", 0, true},
		{"not a number", 200, `{"bitcoin":{"usd":"n/a"}}`, ".bitcoin.usd", 0, true},
		{"NaN in a string", 200, `{"bitcoin":{"usd":"NaN"}}`, ".bitcoin.usd", 0, true},
		{"zero price", 200, `{"bitcoin":{"usd":0}}`, ".bitcoin.usd", 0, true},
		{"negative price", 200, `{"bitcoin":{"usd":-1}}`, ".bitcoin.usd", 0, true},
		{"index out of range", 200, `{"prices":[[1,2]]}`, "prices.1.1", 0, true},
		{"path through a number", 200, `{"bitcoin":5}`, ".bitcoin.usd", 0, true},
		{"not JSON", 200, `<html>rate limited</html>`, ".bitcoin.usd", 0, true},
		{"data after the document", 200, `{"bitcoin":{"usd":1}} {}`, ".bitcoin.usd", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			got, asOf, err := feeds.HTTPPrice{URL: srv.URL, Path: tt.path, Client: srv.Client()}.Fetch(context.Background())
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("Fetch = %v, %v; want %v (error: %v)", got, err, tt.want, tt.wantErr)
			}
			if !asOf.IsZero() {
				t.Errorf("an HTTP price is as of the poll, not %v", asOf)
			}
		})
	}
}

func TestFilePrice(t *testing.T) {
	dir := t.TempDir()
	written := time.Date(2024, 7, 10, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		content string
		path    string
		want    float64
		wantErr bool
	}{
		{"a number", "57100.25\n", "", 57100.25, false},
		{"a number, path ignored", " 57100 ", ".bitcoin.usd", 57100, false},
		{"JSON", `{"bitcoin":{"usd":57000}}`, ".bitcoin.usd", 57000, false},
		{"empty", "", "", 0, true},
		{"negative number", "-5", "", 0, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(dir, "price"+string(rune('a'+i)))
			if err := os.WriteFile(file, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(file, written, written); err != nil {
				t.Fatal(err)
			}
			got, asOf, err := feeds.FilePrice{File: file, Path: tt.path}.Fetch(context.Background())
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("Fetch = %v, %v; want %v (error: %v)", got, err, tt.want, tt.wantErr)
			}
			if err == nil && !asOf.Equal(written) {
				t.Errorf("a file's price is as of %v, when it was written; got %v", written, asOf)
			}
		})
	}
	if _, _, err := (feeds.FilePrice{File: filepath.Join(dir, "missing")}).Fetch(context.Background()); err == nil {
		t.Error("a missing file gives a price")
	}
}
