// Package econ prices a megawatt: block subsidy and hashprice from chain data and the BTC
// price, the breakeven energy price of an ASIC, the value of a GPU server per MWh, and
// capex, depreciation, payback and NPV of mining against leasing. Everything here is a
// pure function; the backtest and the live dispatcher call the same ones.
package econ

import (
	"math"

	"github.com/joule-site/joule"
)

// Consensus constants of Bitcoin (Bitcoin Core, src/kernel/chainparams.cpp:
// nSubsidyHalvingInterval = 210000, nPowTargetSpacing = 10 minutes; the 50 BTC initial
// subsidy is in src/validation.cpp GetBlockSubsidy).
const (
	InitialSubsidy        joule.Sats = 50 * joule.SatsPerBTC
	HalvingInterval                  = 210_000
	TargetBlockSpacingSec            = 600
	BlocksPerDay                     = 86400 / TargetBlockSpacingSec // 144

	// hashesPerDifficulty is the expected number of hashes to find a block at
	// difficulty 1 (2^32).
	hashesPerDifficulty = 4294967296.0
)

// Subsidy returns the block subsidy at a height: 50 BTC halved once every 210,000
// blocks, zero after 64 halvings (as GetBlockSubsidy does, to avoid an undefined shift).
func Subsidy(height int64) joule.Sats {
	if height < 0 {
		return 0
	}
	halvings := height / HalvingInterval
	if halvings >= 64 {
		return 0
	}
	return InitialSubsidy >> halvings
}

// MeanSubsidy is the mean subsidy in BTC of blocks blocks from height on: the
// subsidy at height when the span holds no halving, else each side's subsidy weighted
// by its share of the blocks. Blocks below one: the subsidy at height.
func MeanSubsidy(height int64, blocks float64) float64 {
	at := Subsidy(height).BTC()
	if !(blocks >= 1) || math.IsInf(blocks, 0) {
		return at
	}
	next := (height/HalvingInterval + 1) * HalvingInterval // the first block of the next era
	before := float64(next - height)
	if before >= blocks || height < 0 {
		return at
	}
	return (at*before + Subsidy(next).BTC()*(blocks-before)) / blocks
}

// NetworkHashrate estimates the network's hashrate in H/s from difficulty:
// one block per 600 s at difficulty × 2^32 expected hashes per block.
func NetworkHashrate(difficulty float64) float64 {
	return difficulty * hashesPerDifficulty / TargetBlockSpacingSec
}

// MarketDay is the chain and market state hashprice is computed from.
type MarketDay struct {
	Height int64 // height of the first block being priced (sets the subsidy)
	// Blocks is how many blocks the day spans from Height; the subsidy is their mean, so
	// that a day with a halving in it is priced by the blocks mined on each side. Zero:
	// the subsidy at Height alone (a live reading of the next block).
	Blocks          float64
	Difficulty      float64 // network difficulty
	FeesPerBlockBTC float64 // fees per block: the 144-block moving average, or a daily approximation
	PriceUSD        float64 // BTC price in USD
}

// Hashprice is the expected revenue of one PH/s for one day, gross of pool fees.
type Hashprice struct {
	SubsidyBTC      float64 `json:"subsidy_btc"`
	FeesPerBlockBTC float64 `json:"fees_per_block_btc"`
	FeeShare        float64 `json:"fee_share"` // fees ÷ (subsidy + fees)
	BTCPerPHDay     float64 `json:"hashprice_btc_per_ph_day"`
	USDPerPHDay     float64 `json:"hashprice_usd_per_ph_day"`
}

// USDPerTHDay is the hashprice per TH/s per day.
func (h Hashprice) USDPerTHDay() float64 { return h.USDPerPHDay / 1000 }

// ComputeHashprice returns the hashprice of a market day:
//
//	BTC per PH/s per day = 86400 s × 1e15 H/s × (subsidy + fees per block) ÷ (difficulty × 2^32)
//
// that is, a PH/s's expected share of a day's blocks times the reward per block. The
// USD figure multiplies by the BTC price. A difficulty that is not positive gives zero.
func ComputeHashprice(m MarketDay) Hashprice {
	subsidy := MeanSubsidy(m.Height, m.Blocks)
	h := Hashprice{SubsidyBTC: subsidy, FeesPerBlockBTC: m.FeesPerBlockBTC}
	reward := subsidy + m.FeesPerBlockBTC
	if reward > 0 {
		h.FeeShare = m.FeesPerBlockBTC / reward
	}
	if !(m.Difficulty > 0) {
		return h
	}
	h.BTCPerPHDay = 86400 * 1e15 * reward / (m.Difficulty * hashesPerDifficulty)
	h.USDPerPHDay = h.BTCPerPHDay * m.PriceUSD
	return h
}

// NetOfPoolFee returns revenue after a pool's fee, a fraction in [0, 1).
func NetOfPoolFee(gross, poolFee float64) float64 { return gross * (1 - poolFee) }

// finite reports whether f is neither NaN nor infinite.
func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
