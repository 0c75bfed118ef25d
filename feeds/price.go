package feeds

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// maxBody is the most a feed reads from one HTTP answer or file: a price or a month of
// five-minute prices fits many times over.
const maxBody = 8 << 20

// HTTPPrice reads the BTC price in USD from an HTTP endpoint that answers JSON, at the
// dotted path Path: ".bitcoin.usd" for {"bitcoin":{"usd":67000}}, "data.amount" for
// {"data":{"amount":"67000.12"}} (a number in a string is read too), "prices.0.1" for
// an element of an array; an empty path takes the whole answer as the number.
type HTTPPrice struct {
	URL    string
	Path   string
	Client *http.Client // http.DefaultClient when nil
}

// Fetch reads the price once.
func (p HTTPPrice) Fetch(ctx context.Context) (float64, time.Time, error) {
	body, err := get(ctx, p.Client, p.URL)
	if err != nil {
		return 0, time.Time{}, err
	}
	price, err := priceFromJSON(body, p.Path)
	return price, time.Time{}, err
}

// FilePrice reads the BTC price in USD from a file that holds either a bare number or
// JSON with the price at Path (as HTTPPrice). The price is as old as the file: a file
// nobody rewrites goes stale.
type FilePrice struct {
	File string
	Path string
}

// Fetch reads the price once.
func (p FilePrice) Fetch(context.Context) (float64, time.Time, error) {
	body, modified, err := readFile(p.File)
	if err != nil {
		return 0, time.Time{}, err
	}
	if v, err := strconv.ParseFloat(string(bytes.TrimSpace(body)), 64); err == nil {
		price, err := checkPrice(v)
		return price, modified, err
	}
	price, err := priceFromJSON(body, p.Path)
	return price, modified, err
}

// NewPriceFeed returns the BTC price feed over fetch (an HTTPPrice's or FilePrice's
// Fetch).
func NewPriceFeed(fetch Fetch[float64], interval time.Duration, now func() time.Time) *Feed[float64] {
	return NewFeed(FeedBTCPrice, interval, now, fetch)
}

func priceFromJSON(body []byte, path string) (float64, error) {
	v, err := lookupNumber(body, path)
	if err != nil {
		return 0, err
	}
	return checkPrice(v)
}

func checkPrice(v float64) (float64, error) {
	if !(v > 0) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("price %v is not a positive number", v)
	}
	return v, nil
}

// lookupNumber decodes a JSON document and returns the number at a dotted path: object
// keys and array indexes separated by dots, with an optional leading dot; the empty path
// is the document itself. A string that holds a number counts as that number. Keys that
// contain a dot cannot be named.
func lookupNumber(body []byte, path string) (float64, error) {
	doc, err := decodeJSON(body)
	if err != nil {
		return 0, err
	}
	v, err := lookup(doc, path)
	if err != nil {
		return 0, err
	}
	return number(v, path)
}

// decodeJSON reads one JSON document, numbers kept as they were written.
func decodeJSON(body []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("decode JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("decode JSON: data after the document")
	}
	return doc, nil
}

// lookup follows a dotted path of object keys and array indexes from doc.
func lookup(doc any, path string) (any, error) {
	v := doc
	if path = strings.TrimPrefix(path, "."); path != "" {
		for _, key := range strings.Split(path, ".") {
			switch node := v.(type) {
			case map[string]any:
				child, ok := node[key]
				if !ok {
					return nil, fmt.Errorf("path %q: no key %q", path, key)
				}
				v = child
			case []any:
				i, err := strconv.Atoi(key)
				if err != nil || i < 0 || i >= len(node) {
					return nil, fmt.Errorf("path %q: %q is not an index of an array of %d", path, key, len(node))
				}
				v = node[i]
			default:
				return nil, fmt.Errorf("path %q: %q is below a value that is neither object nor array", path, key)
			}
		}
	}
	return v, nil
}

// number reads a JSON number, or a number written in a string, as a finite float.
func number(v any, path string) (float64, error) {
	var text string
	switch n := v.(type) {
	case json.Number:
		text = n.String()
	case string:
		text = strings.TrimSpace(n)
	default:
		return 0, fmt.Errorf("path %q: %T is not a number", path, v)
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("path %q: %q is not a finite number", path, text)
	}
	return f, nil
}

func get(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	if client == nil {
		client = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("GET %s: answer larger than %d bytes", url, maxBody)
	}
	return body, nil
}

// readFile returns a file's contents, at most maxBody bytes, and its modification time.
func readFile(name string) ([]byte, time.Time, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, time.Time{}, err
	}
	body, err := io.ReadAll(io.LimitReader(f, maxBody+1))
	if err != nil {
		return nil, time.Time{}, err
	}
	if len(body) > maxBody {
		return nil, time.Time{}, fmt.Errorf("%s: larger than %d bytes", name, maxBody)
	}
	return body, info.ModTime(), nil
}
