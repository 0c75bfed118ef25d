package bitcoind

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/btcsuite/btcd/btcjson"
	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/joule-site/joule"
)

// Chain reads the chain's state: the tip, its difficulty, and the mean fees per block
// over the fee window. The first call on a long chain reads a window of blocks (with
// getblockstats, two small requests a block; without it, each whole block); later calls
// read only blocks they have not seen.
func (c *Client) Chain(ctx context.Context) (ChainState, error) {
	c.mu.Lock()
	defer c.mu.Unlock()

	info, err := call(ctx, func() (blockchainInfo, error) {
		var info blockchainInfo
		raw, err := c.rpc.RawRequest("getblockchaininfo", nil)
		if err != nil {
			return info, err
		}
		return info, json.Unmarshal(raw, &info)
	})
	if err != nil {
		return ChainState{}, fmt.Errorf("bitcoind: getblockchaininfo: %w", err)
	}
	tip, err := chainhash.NewHashFromStr(info.BestBlockHash)
	if err != nil {
		return ChainState{}, fmt.Errorf("bitcoind: best block hash %q: %w", info.BestBlockHash, err)
	}
	header, err := call(ctx, func() (*btcjson.GetBlockHeaderVerboseResult, error) {
		return c.rpc.GetBlockHeaderVerbose(tip)
	})
	if err != nil {
		return ChainState{}, fmt.Errorf("bitcoind: getblockheader %s: %w", tip, err)
	}
	s := ChainState{
		Chain:      info.Chain,
		Height:     int64(header.Height),
		TipHash:    header.Hash,
		TipTime:    time.Unix(header.Time, 0).UTC(),
		Difficulty: header.Difficulty,
	}
	if err := c.averageFees(ctx, &s); err != nil {
		return ChainState{}, err
	}
	return s, nil
}

// blockchainInfo is the part of getblockchaininfo's answer the client reads. It is
// decoded here rather than by rpcclient, whose decoder first asks the node's version.
type blockchainInfo struct {
	Chain         string `json:"chain"`
	BestBlockHash string `json:"bestblockhash"`
}

// blockStats is the part of getblockstats' answer the client reads: fees in satoshis.
type blockStats struct {
	TotalFee int64 `json:"totalfee"`
}

// averageFees walks back from the tip over the fee window, reusing each cached block
// whose hash the chain still has, and sets the mean fees per block on s.
func (c *Client) averageFees(ctx context.Context, s *ChainState) error {
	start := max(1, s.Height-int64(c.feeWindow)+1)
	var total joule.Sats
	hash := s.TipHash
	for h := s.Height; h >= start; h-- {
		b, ok := c.fees[h]
		if !ok || b.hash != hash {
			var err error
			if b, err = c.blockFees(ctx, s.Chain, h, hash); err != nil {
				return err
			}
			c.fees[h] = b
		}
		total += b.fees
		hash = b.prev
	}
	for h := range c.fees {
		if h < start || h > s.Height {
			delete(c.fees, h)
		}
	}
	if n := s.Height - start + 1; n > 0 {
		s.FeeBlocks = int(n)
		s.FeesPerBlock = total / joule.Sats(n)
		s.FeesFrom = FeesFromBlockStats
		if c.noBlockStats {
			s.FeesFrom = FeesFromCoinbase
		}
	}
	return nil
}

// blockFees reads what one block paid in fees, and its parent's hash.
func (c *Client) blockFees(ctx context.Context, chain string, height int64, hash string) (blockFees, error) {
	h, err := chainhash.NewHashFromStr(hash)
	if err != nil {
		return blockFees{}, fmt.Errorf("bitcoind: block hash %q: %w", hash, err)
	}
	if !c.noBlockStats {
		// btcjson's GetBlockStatsResult has no totalfee field: decode it here.
		stats, err := call(ctx, func() (blockStats, error) {
			var stats blockStats
			raw, err := c.rpc.RawRequest("getblockstats", []json.RawMessage{
				json.RawMessage(`"` + h.String() + `"`), json.RawMessage(`["totalfee"]`),
			})
			if err != nil {
				return stats, err
			}
			return stats, json.Unmarshal(raw, &stats)
		})
		switch {
		case isMethodNotFound(err):
			c.noBlockStats = true // btcd: read coinbases from now on
		case err != nil:
			return blockFees{}, fmt.Errorf("bitcoind: getblockstats %s: %w", hash, err)
		default:
			header, err := call(ctx, func() (*wire.BlockHeader, error) { return c.rpc.GetBlockHeader(h) })
			if err != nil {
				return blockFees{}, fmt.Errorf("bitcoind: getblockheader %s: %w", hash, err)
			}
			return blockFees{hash: hash, prev: header.PrevBlock.String(), fees: joule.Sats(max(stats.TotalFee, 0))}, nil
		}
	}
	block, err := call(ctx, func() (*wire.MsgBlock, error) { return c.rpc.GetBlock(h) })
	if err != nil {
		return blockFees{}, fmt.Errorf("bitcoind: getblock %s: %w", hash, err)
	}
	if len(block.Transactions) == 0 {
		return blockFees{}, fmt.Errorf("bitcoind: block %s has no coinbase", hash)
	}
	return blockFees{hash: hash, prev: block.Header.PrevBlock.String(), fees: coinbaseFees(block.Transactions[0], subsidy(chain, height))}, nil
}

// coinbaseFees is what a coinbase claimed beyond the subsidy: the block's fees when the
// miner claimed the whole reward (a miner may claim less, never more). Never negative.
func coinbaseFees(coinbase *wire.MsgTx, subsidy joule.Sats) joule.Sats {
	var claimed joule.Sats
	for _, out := range coinbase.TxOut {
		claimed += joule.Sats(out.Value)
	}
	return max(claimed-subsidy, 0)
}

// subsidy is the block subsidy at a height on a network: 50 BTC halved every 210,000
// blocks, every 150 on regtest (Bitcoin Core, src/kernel/chainparams.cpp,
// nSubsidyHalvingInterval; btcd's chaincfg agrees for simnet), zero after 64 halvings.
func subsidy(chain string, height int64) joule.Sats {
	interval := int64(210_000)
	if chain == "regtest" {
		interval = 150
	}
	halvings := height / interval
	if height < 0 || halvings >= 64 {
		return 0
	}
	return (50 * joule.SatsPerBTC) >> halvings
}
