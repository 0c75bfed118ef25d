package feeds_test

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/joule-site/joule/feeds"
)

// chainServer answers an HTTP chain endpoint on loopback with the body the test sets.
type chainServer struct {
	mu   sync.Mutex
	body string
}

func (c *chainServer) set(body string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.body = body
}

func (c *chainServer) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(c.body))
}

// An HTTP chain source gives the same hashprice as a node with the same chain; a tip
// that stops moving makes it stale like a stuck node; an answer missing a figure or
// holding a nonsense one is a failed poll, which keeps the last good value.
func TestHTTPChain(t *testing.T) {
	cs := &chainServer{}
	srv := httptest.NewServer(cs)
	defer srv.Close()
	c := &clock{t: t0}
	price := &source[float64]{value: 57000}
	m := &feeds.Prices{
		ChainFeed: feeds.NewChainFeed(feeds.HTTPChain{URL: srv.URL}.Fetch, time.Minute, c.Now),
		PriceFeed: feeds.NewPriceFeed(price.fetch, time.Minute, c.Now),
	}
	byNode := &feeds.Prices{
		ChainFeed: feeds.NewChainFeed((&node{state: july}).Chain, time.Minute, c.Now),
		PriceFeed: feeds.NewPriceFeed(price.fetch, time.Minute, c.Now),
	}
	ctx := context.Background()
	poll := func(p *feeds.Prices) {
		_ = p.ChainFeed.Poll(ctx)
		_ = p.PriceFeed.Poll(ctx)
	}
	// july: height 850,000, difficulty 83 T, 0.1 BTC a block, tip 4 minutes old.
	cs.set(`{"height": 850000, "difficulty": 83e12, "fees_per_block_sats": 10000000, "tip_time": "` + t0.Add(-4*time.Minute).Format(time.RFC3339) + `"}`)
	poll(m)
	poll(byNode)
	st, stale := m.Snapshot(c.Now())
	want, _ := byNode.Snapshot(c.Now())
	if len(stale) != 1 || stale[0].Feed != feeds.FeedEnergy || !st.HashpriceKnown {
		t.Fatalf("stale %v, hashprice known %v; want only the unconfigured energy feed stale", stale, st.HashpriceKnown)
	}
	if math.Abs(st.Hashprice.USDPerPHDay-want.Hashprice.USDPerPHDay) > 1e-9 || st.Chain != july {
		t.Errorf("hashprice %v from %+v; a node with the same chain gives %v", st.Hashprice.USDPerPHDay, st.Chain, want.Hashprice.USDPerPHDay)
	}

	// Another shape, read through paths; the tip as Unix seconds.
	other := feeds.HTTPChain{URL: srv.URL, Paths: feeds.ChainPaths{Height: "tip.height", Difficulty: "tip.difficulty", FeesPerBlock: "fees.0", TipTime: "tip.timestamp"}}
	cs.set(`{"tip": {"height": "850001", "difficulty": 8.3e13, "timestamp": ` + strconv.FormatInt(t0.Unix(), 10) + `}, "fees": [9500000]}`)
	got, err := other.Fetch(ctx)
	if err != nil || got.Height != 850001 || got.Difficulty != 83e12 || got.FeesPerBlock != 9_500_000 || !got.TipTime.Equal(t0) {
		t.Errorf("paths: %+v, %v", got, err)
	}

	// The tip stops moving: four hours later the source still answers with it.
	cs.set(`{"height": 850000, "difficulty": 83e12, "fees_per_block_sats": 10000000, "tip_time": "` + t0.Add(-4*time.Minute).Format(time.RFC3339) + `"}`)
	c.advance(4 * time.Hour)
	poll(m)
	if st, stale := m.Snapshot(c.Now()); st.HashpriceKnown || !hasReason(stale, feeds.StaleTipTooOld) {
		t.Errorf("a tip 4 h old: hashprice known %v, stale %v", st.HashpriceKnown, stale)
	}

	for _, bad := range []struct{ body, want string }{
		{`{"height": 850000, "difficulty": 83e12, "fees_per_block_sats": 1}`, `no key "tip_time"`},
		{`{"height": 850000.5, "difficulty": 83e12, "fees_per_block_sats": 1, "tip_time": 1720640000}`, "not a block height"},
		{`{"height": 850000, "difficulty": 0, "fees_per_block_sats": 1, "tip_time": 1720640000}`, "difficulty 0 is not positive"},
		{`{"height": 850000, "difficulty": 83e12, "fees_per_block_sats": -5, "tip_time": 1720640000}`, "not an amount"},
		{`{"height": 850000, "difficulty": 83e12, "fees_per_block_sats": 1, "tip_time": "yesterday-ish"}`, "not an RFC 3339 time"},
		{`<html>busy</html>`, "decode JSON"},
	} {
		cs.set(bad.body)
		if _, err := (feeds.HTTPChain{URL: srv.URL}).Fetch(ctx); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: %v; want an error with %q", bad.body, err, bad.want)
		}
	}
}

func hasReason(stale []feeds.Stale, r feeds.StaleReason) bool {
	for _, s := range stale {
		if s.Reason == r {
			return true
		}
	}
	return false
}
