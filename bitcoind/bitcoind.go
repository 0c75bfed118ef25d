// Package bitcoind speaks Bitcoin Core's JSON-RPC (and btcd's dialect of it) to read
// what hashprice is computed from: the chain's height, its difficulty, the time of its
// tip, and the fees miners earned per block over the last day of blocks.
//
// Fees per block come from getblockstats where the node has it (Bitcoin Core). A node
// without it (btcd) answers "method not found"; the client then reads each block's
// coinbase and subtracts the subsidy, which gives the same number whenever the miner
// claimed the whole reward. Both ways are cached by block hash, so a poll after the
// first reads only the blocks that are new (and those a reorganization replaced).
package bitcoind

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/btcsuite/btcd/btcjson"
	"github.com/btcsuite/btcd/rpcclient"

	"github.com/joule-site/joule"
)

// DefaultFeeWindow is the number of blocks fees are averaged over: 144 blocks, about
// a day, the convention of the best-known hashprice index.
const DefaultFeeWindow = 144

// Config says how to reach a node.
type Config struct {
	// Host is the node's RPC address, host:port.
	Host string
	// User and Pass authenticate with rpcuser/rpcpassword; CookiePath, used when Pass
	// is empty, names Bitcoin Core's .cookie file instead.
	User, Pass string
	CookiePath string
	// TLS turns on HTTPS (btcd's default); Certificates is the PEM chain that signs
	// the node's certificate, when it is not in the system's pool.
	TLS          bool
	Certificates []byte
	// FeeWindow is the number of blocks fees are averaged over; DefaultFeeWindow
	// when zero.
	FeeWindow int
}

// ChainState is the chain as the node sees it at one moment.
type ChainState struct {
	Chain      string    // the node's network name: "main", "regtest", "simnet", …
	Height     int64     // height of the tip
	TipHash    string    // hash of the tip
	TipTime    time.Time // timestamp in the tip's header (miners set it, within ±2 h)
	Difficulty float64   // difficulty of the tip, relative to the minimum (1.0)
	// FeesPerBlock is the mean of fees per block over FeeBlocks blocks ending at the
	// tip, rounded down to a satoshi; FeeBlocks is below the window on a young chain
	// (the genesis block is never counted: its coinbase is not spendable).
	FeesPerBlock joule.Sats
	FeeBlocks    int
	// FeesFrom says how fees were read: "getblockstats" or "coinbase"; empty when
	// no block was averaged.
	FeesFrom string
}

// Fee sources, as ChainState.FeesFrom names them.
const (
	FeesFromBlockStats = "getblockstats"
	FeesFromCoinbase   = "coinbase"
)

// FeesPerBlockBTC returns the mean fees per block in BTC, for analytics.
func (s ChainState) FeesPerBlockBTC() float64 { return s.FeesPerBlock.BTC() }

// Client reads chain state from one node. It is safe for concurrent use; calls are
// serialized, as the cache of fees per block is shared.
type Client struct {
	rpc       *rpcclient.Client
	feeWindow int

	mu           sync.Mutex
	noBlockStats bool                // the node said getblockstats does not exist
	fees         map[int64]blockFees // by height; each checked against the chain's hash
}

// blockFees is what one block paid its miner beyond the subsidy.
type blockFees struct {
	hash string
	prev string
	fees joule.Sats
}

// New returns a client for the node cfg names. It does not connect: the first call does,
// over HTTP POST, one connection per request, as Bitcoin Core serves.
func New(cfg Config) (*Client, error) {
	if cfg.Host == "" {
		return nil, joule.Errorf(joule.EINVALID, "bitcoind: the node's host:port is required")
	}
	if cfg.Pass == "" && cfg.CookiePath == "" {
		return nil, joule.Errorf(joule.EINVALID, "bitcoind: a password or a cookie file is required")
	}
	if cfg.FeeWindow < 0 {
		return nil, joule.Errorf(joule.EINVALID, "bitcoind: the fee window must be positive, not %d", cfg.FeeWindow)
	}
	if cfg.FeeWindow == 0 {
		cfg.FeeWindow = DefaultFeeWindow
	}
	rpc, err := rpcclient.New(&rpcclient.ConnConfig{
		Host:         cfg.Host,
		User:         cfg.User,
		Pass:         cfg.Pass,
		CookiePath:   cfg.CookiePath,
		DisableTLS:   !cfg.TLS,
		Certificates: cfg.Certificates,
		HTTPPostMode: true,
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("bitcoind: client for %s: %w", cfg.Host, err)
	}
	return &Client{rpc: rpc, feeWindow: cfg.FeeWindow, fees: map[int64]blockFees{}}, nil
}

// Close releases the client's connections. Calls after Close fail.
func (c *Client) Close() error {
	c.rpc.Shutdown()
	return nil
}

// call runs one blocking RPC and gives up when ctx is done. The rpcclient API takes no
// context: an abandoned request finishes in the background, bounded by its HTTP timeout.
func call[T any](ctx context.Context, f func() (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// isMethodNotFound reports whether the node said it has no such RPC.
func isMethodNotFound(err error) bool {
	var rpcErr *btcjson.RPCError
	return errors.As(err, &rpcErr) && rpcErr.Code == btcjson.ErrRPCMethodNotFound.Code
}
