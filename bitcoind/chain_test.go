package bitcoind_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/bitcoind"
)

// TestChainOnSimnet reads a real btcd: the genesis-only chain, a chain of empty blocks,
// a block with one fee-paying transaction, and that fee sliding out of the window.
func TestChainOnSimnet(t *testing.T) {
	node := startBtcd(t)
	ctx := context.Background()
	newClient := func(window int) *bitcoind.Client {
		t.Helper()
		c, err := bitcoind.New(bitcoind.Config{Host: node.host, User: node.user, Pass: node.pass, FeeWindow: window})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	day, last10 := newClient(0), newClient(10)

	read := func(c *bitcoind.Client) bitcoind.ChainState {
		t.Helper()
		s, err := c.Chain(ctx)
		if err != nil {
			t.Fatalf("Chain: %v", err)
		}
		best, height, err := node.rpc.GetBestBlock()
		if err != nil {
			t.Fatal(err)
		}
		header, err := node.rpc.GetBlockHeader(best)
		if err != nil {
			t.Fatal(err)
		}
		difficulty, err := node.rpc.GetDifficulty()
		if err != nil {
			t.Fatal(err)
		}
		if s.Chain != "simnet" || s.Height != int64(height) || s.TipHash != best.String() ||
			!s.TipTime.Equal(header.Timestamp) || s.Difficulty != difficulty || !(s.Difficulty > 0) {
			t.Errorf("Chain = %+v; the node says height %d, tip %s at %s, difficulty %v",
				s, height, best, header.Timestamp, difficulty)
		}
		if s.FeeBlocks > 0 && s.FeesFrom != bitcoind.FeesFromCoinbase {
			t.Errorf("btcd has no getblockstats, yet fees came from %q", s.FeesFrom)
		}
		return s
	}
	checkFees := func(step string, s bitcoind.ChainState, blocks int, perBlock joule.Sats) {
		t.Helper()
		if s.FeeBlocks != blocks || s.FeesPerBlock != perBlock {
			t.Errorf("%s: fees %d sats a block over %d blocks; want %d over %d",
				step, s.FeesPerBlock, s.FeeBlocks, perBlock, blocks)
		}
	}

	checkFees("genesis only", read(day), 0, 0)

	hashes := node.generate(t, 101) // block 1's coinbase matures at 101 confirmations
	checkFees("empty blocks, whole chain", read(day), 101, 0)
	checkFees("empty blocks, last 10", read(last10), 10, 0)

	const fee = 12_345
	node.spendCoinbase(t, hashes[0], fee)
	node.generate(t, 1)
	checkFees("one fee, whole chain", read(day), 102, fee/102)
	checkFees("one fee, last 10", read(last10), 10, fee/10)

	node.generate(t, 10)
	checkFees("the fee block left the window", read(last10), 10, 0)
	checkFees("the fee block is still in a day", read(day), 112, fee/112)
}

func TestNewRejectsIncompleteConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  bitcoind.Config
	}{
		{"no host", bitcoind.Config{Pass: "p"}},
		{"no credentials", bitcoind.Config{Host: "127.0.0.1:8332"}},
		{"negative window", bitcoind.Config{Host: "127.0.0.1:8332", Pass: "p", FeeWindow: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := bitcoind.New(tt.cfg); joule.ErrorCode(err) != joule.EINVALID {
				t.Errorf("New(%+v) = %v; want an %s error", tt.cfg, err, joule.EINVALID)
			}
		})
	}
}

// TestChainGivesUpWithContext: rpcclient retries a refused connection for about 20 s;
// Chain returns when its context ends.
func TestChainGivesUpWithContext(t *testing.T) {
	c, err := bitcoind.New(bitcoind.Config{Host: "127.0.0.1:" + freePort(t), Pass: "p"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := c.Chain(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Chain against a closed port = %v; want the context's deadline", err)
	}
}
