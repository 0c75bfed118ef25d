package bitcoind_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/bitcoind"
)

// coreNode answers the few RPCs the client sends in the shapes Bitcoin Core answers
// them (getblockstats exists, as in Core since 0.17). btcd, the real peer of the other
// tests, has no getblockstats; this covers the path a production node takes, and
// reorganizations, which btcd cannot be asked to make.
type coreNode struct {
	mu     sync.Mutex
	blocks []wire.BlockHeader // by height; the best chain
	fees   map[chainhash.Hash]int64
	calls  map[string]int
}

func newCoreNode(height int) *coreNode {
	n := &coreNode{fees: map[chainhash.Hash]int64{}, calls: map[string]int{}}
	for h := 0; h <= height; h++ {
		n.mine(int64(h) * 1000)
	}
	return n
}

// mine adds a block that pays fee satoshis on top of the best chain.
func (n *coreNode) mine(fee int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	hdr := wire.BlockHeader{Version: 4, Timestamp: time.Unix(1_700_000_000+int64(len(n.blocks))*600, 0), Bits: 0x17034219, Nonce: uint32(fee)}
	if len(n.blocks) > 0 {
		hdr.PrevBlock = n.blocks[len(n.blocks)-1].BlockHash()
	}
	n.blocks = append(n.blocks, hdr)
	n.fees[hdr.BlockHash()] = fee
}

// disconnect drops the tip, as a reorganization does before connecting the new branch.
func (n *coreNode) disconnect() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.blocks = n.blocks[:len(n.blocks)-1]
}

func (n *coreNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Method string            `json:"method"`
		Params []json.RawMessage `json:"params"`
		ID     json.RawMessage   `json:"id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls[req.Method]++
	var hash string
	if len(req.Params) > 0 {
		_ = json.Unmarshal(req.Params[0], &hash)
	}
	height := -1
	for h, b := range n.blocks {
		if b.BlockHash().String() == hash {
			height = h
		}
	}
	tip := len(n.blocks) - 1
	var result any
	switch {
	case req.Method == "getblockchaininfo":
		result = map[string]any{"chain": "main", "blocks": tip, "bestblockhash": n.blocks[tip].BlockHash().String(), "difficulty": 8.6e13}
	case req.Method == "getblockheader" && height >= 0 && string(req.Params[1]) == "true":
		b := n.blocks[height]
		result = map[string]any{"hash": hash, "height": height, "time": b.Timestamp.Unix(), "difficulty": 8.6e13, "previousblockhash": b.PrevBlock.String()}
	case req.Method == "getblockheader" && height >= 0:
		var buf bytes.Buffer
		_ = n.blocks[height].Serialize(&buf)
		result = hex.EncodeToString(buf.Bytes())
	case req.Method == "getblockstats" && height >= 0 && strings.Contains(string(req.Params[1]), "totalfee"):
		result = map[string]any{"totalfee": n.fees[n.blocks[height].BlockHash()]}
	default:
		_ = json.NewEncoder(w).Encode(map[string]any{"result": nil, "id": req.ID,
			"error": map[string]any{"code": -5, "message": "Block not found"}})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"result": result, "error": nil, "id": req.ID})
}

func (n *coreNode) statsCalls() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.calls["getblockstats"]
}

// TestChainFromBlockStats: fees come from getblockstats, each block is read once, and
// a reorganization rereads exactly the blocks it replaced.
func TestChainFromBlockStats(t *testing.T) {
	node := newCoreNode(20) // block h pays h×1000 sats
	srv := httptest.NewServer(node)
	defer srv.Close()
	c, err := bitcoind.New(bitcoind.Config{Host: strings.TrimPrefix(srv.URL, "http://"), User: "u", Pass: "p", FeeWindow: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	steps := []struct {
		name       string
		change     func()
		height     int64
		fees       joule.Sats // mean of the last 5 blocks
		statsCalls int        // getblockstats calls so far
	}{
		{"first read", func() {}, 20, (16 + 17 + 18 + 19 + 20) * 1000 / 5, 5},
		{"nothing new", func() {}, 20, 18_000, 5},
		{"one new block", func() { node.mine(50_000) }, 21, (17 + 18 + 19 + 20 + 50) * 1000 / 5, 6},
		{"two-block reorganization", func() {
			node.disconnect()
			node.disconnect()
			node.mine(0)
			node.mine(0)
			node.mine(7_000)
		}, 22, (18 + 19 + 0 + 0 + 7) * 1000 / 5, 9},
	}
	for _, st := range steps {
		st.change()
		s, err := c.Chain(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if s.Chain != "main" || s.Height != st.height || s.FeesPerBlock != st.fees || s.FeeBlocks != 5 ||
			s.FeesFrom != bitcoind.FeesFromBlockStats || s.Difficulty != 8.6e13 {
			t.Errorf("%s: Chain = %+v; want height %d, %d sats a block over 5 blocks from getblockstats",
				st.name, s, st.height, st.fees)
		}
		if got := node.statsCalls(); got != st.statsCalls {
			t.Errorf("%s: %d getblockstats calls in all; want %d", st.name, got, st.statsCalls)
		}
	}
}
