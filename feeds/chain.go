package feeds

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/joule-site/joule"
)

// ChainPaths are where an HTTP chain endpoint's JSON answer holds each figure, as
// dotted paths (see HTTPPrice). The defaults read Joule's own shape:
//
//	{"height": 875960, "difficulty": 1.085e14, "fees_per_block_sats": 7800000, "tip_time": "2024-12-23T10:02:11Z"}
type ChainPaths struct {
	Height, Difficulty string
	// FeesPerBlock is the mean fees per block, in satoshis, over a recent window
	// (a day, as the node's 144 blocks).
	FeesPerBlock string
	// TipTime is the tip block's timestamp: RFC 3339, or Unix seconds as a number.
	TipTime string
}

// DefaultChainPaths read the shape ChainPaths shows.
var DefaultChainPaths = ChainPaths{Height: "height", Difficulty: "difficulty", FeesPerBlock: "fees_per_block_sats", TipTime: "tip_time"}

// HTTPChain reads the chain's height, difficulty, recent fees and tip time from an
// HTTP endpoint that answers JSON: a second source for a site without a Bitcoin node of
// its own (an explorer's API behind a small adapter, or a node elsewhere). A tip time is
// required: without it a stuck source could not be told from a live one.
type HTTPChain struct {
	URL    string
	Paths  ChainPaths   // zero fields take DefaultChainPaths'
	Client *http.Client // http.DefaultClient when nil
}

// Fetch reads the chain once.
func (c HTTPChain) Fetch(ctx context.Context) (Chain, error) {
	body, err := get(ctx, c.Client, c.URL)
	if err != nil {
		return Chain{}, err
	}
	return parseChain(body, c.paths())
}

func (c HTTPChain) paths() ChainPaths {
	p, d := c.Paths, DefaultChainPaths
	or := func(s, def string) string {
		if s != "" {
			return s
		}
		return def
	}
	return ChainPaths{Height: or(p.Height, d.Height), Difficulty: or(p.Difficulty, d.Difficulty), FeesPerBlock: or(p.FeesPerBlock, d.FeesPerBlock), TipTime: or(p.TipTime, d.TipTime)}
}

func parseChain(body []byte, p ChainPaths) (Chain, error) {
	doc, err := decodeJSON(body)
	if err != nil {
		return Chain{}, err
	}
	num := func(path string) (float64, error) {
		v, err := lookup(doc, path)
		if err != nil {
			return 0, err
		}
		return number(v, path)
	}
	height, err := num(p.Height)
	if err != nil {
		return Chain{}, err
	}
	if height < 0 || height != math.Trunc(height) || height > 1e9 {
		return Chain{}, fmt.Errorf("height %v is not a block height", height)
	}
	difficulty, err := num(p.Difficulty)
	if err != nil {
		return Chain{}, err
	}
	if !(difficulty > 0) {
		return Chain{}, fmt.Errorf("difficulty %v is not positive", difficulty)
	}
	fees, err := num(p.FeesPerBlock)
	if err != nil {
		return Chain{}, err
	}
	if fees < 0 || fees > 21e14 {
		return Chain{}, fmt.Errorf("fees per block %v sats is not an amount of bitcoin", fees)
	}
	tv, err := lookup(doc, p.TipTime)
	if err != nil {
		return Chain{}, err
	}
	tip, err := timestamp(tv, p.TipTime)
	if err != nil {
		return Chain{}, err
	}
	return Chain{Height: int64(height), Difficulty: difficulty, FeesPerBlock: joule.Sats(math.Round(fees)), TipTime: tip}, nil
}

// timestamp reads an RFC 3339 string, or Unix seconds as a number or in a string.
func timestamp(v any, path string) (time.Time, error) {
	if s, ok := v.(string); ok && strings.ContainsAny(s, "-:T") {
		t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
		if err != nil {
			return time.Time{}, fmt.Errorf("path %q: %q is not an RFC 3339 time", path, s)
		}
		return t, nil
	}
	sec, err := number(v, path)
	if err != nil {
		return time.Time{}, err
	}
	if sec <= 0 || sec > 1e11 {
		return time.Time{}, fmt.Errorf("path %q: %v is not Unix seconds", path, sec)
	}
	return time.Unix(int64(sec), 0).UTC(), nil
}
