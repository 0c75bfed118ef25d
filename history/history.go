// Package history answers "what was X on day D" from the embedded real market series:
// BTC price, difficulty, fees, blocks and height per UTC day, and hourly wholesale energy
// prices per node. It never fills a gap silently: a value that is estimated or carried
// forward comes with a note, and a day outside the data says which series is missing.
// Its EnergySeries is also what the live energy feed serves (NewEnergySeries builds one
// from a schedule's points), so that a backtest and the live loop read prices alike.
package history

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/data"
	"github.com/joule-site/joule/econ"
)

// Series names, as they appear in notes and errors.
const (
	SeriesPrice      = "BTC price"
	SeriesDifficulty = "difficulty"
	SeriesFees       = "fees"
	SeriesBlocks     = "blocks per day"
)

// Day is the market state of one UTC day.
type Day struct {
	Date       time.Time `json:"date"`
	PriceUSD   float64   `json:"btc_price_usd"`
	Difficulty float64   `json:"difficulty"`
	FeesBTC    float64   `json:"fees_btc"` // total fees paid to miners that day
	Blocks     float64   `json:"blocks"`   // blocks mined that day
	Height     int64     `json:"height"`   // height of the day's first block (from cumulative blocks)
	Notes      []string  `json:"notes"`    // estimates and carried-forward values, in words
	Missing    []string  `json:"-"`        // series with no value for the day
	coverage   []Coverage
}

// FeesPerBlockBTC is the day's fees divided by its blocks: the daily approximation of
// the 144-block moving average of fees per block.
func (d Day) FeesPerBlockBTC() float64 {
	if d.Blocks <= 0 {
		return 0
	}
	return d.FeesBTC / d.Blocks
}

// Market returns the day in the form econ prices: the hashprice of a day is
// econ.ComputeHashprice(day.Market()), in `joule econ`, the backtest and the live loop.
func (d Day) Market() econ.MarketDay {
	return econ.MarketDay{Height: d.Height, Blocks: d.Blocks, Difficulty: d.Difficulty, FeesPerBlockBTC: d.FeesPerBlockBTC(), PriceUSD: d.PriceUSD}
}

// Err returns nil when every series has a value for the day, else an EINVALID error that
// names each missing series and the dates it covers.
func (d Day) Err() error {
	if len(d.Missing) == 0 {
		return nil
	}
	var parts []string
	for _, name := range d.Missing {
		msg := "no " + name
		for _, c := range d.coverage {
			if c.Series == name {
				msg += fmt.Sprintf(" (the data covers %s to %s)", c.First.Format(time.DateOnly), c.Last.Format(time.DateOnly))
			}
		}
		parts = append(parts, msg)
	}
	return joule.Errorf(joule.EINVALID, "%s: %s", d.Date.Format(time.DateOnly), strings.Join(parts, "; "))
}

// Coverage is the span of one series.
type Coverage struct {
	Series string    `json:"series"`
	First  time.Time `json:"first"`
	Last   time.Time `json:"last"`
	Note   string    `json:"note,omitempty"`
}

// History holds the parsed daily series.
type History struct {
	price, priceNext       daily // CoinMarketCap close; Bitstamp first minute
	difficulty, hashrateTH daily
	fees, fees4            daily // daily fees; every-4th-day samples
	subsidyBTC             daily
	height                 []int64 // cumulative blocks before each day of subsidyBTC
	coverage               []Coverage

	fsys       fs.FS
	energyMu   sync.Mutex
	energy     map[string]*EnergySeries // loaded on first use: the five-minute file is large
	energyErrs map[string]error

	latestOnce sync.Once
	latest     time.Time

	// imports are the operator's series this history overlays on the embedded ones
	// (With); embedded is the history that holds the embedded energy series, shared by
	// every overlay of it. Both nil for the embedded history itself.
	imports  *imports
	embedded *History
}

var (
	defaultOnce sync.Once
	defaultHist *History
	defaultErr  error
)

// Default returns the history parsed from the embedded data, parsing it once.
func Default() (*History, error) {
	defaultOnce.Do(func() { defaultHist, defaultErr = Load(data.FS) })
	return defaultHist, defaultErr
}

// Load parses the series from fsys, which holds the files of the data package.
func Load(fsys fs.FS) (*History, error) {
	h := &History{fsys: fsys, energy: map[string]*EnergySeries{}, energyErrs: map[string]error{}}
	files := []struct {
		name, column string
		into         *daily
	}{
		{"btc_price_close_daily_coinmarketcap.csv", "close_usd", &h.price},
		{"btc_price_first_minute_daily_bitstamp.csv", "btc_usd", &h.priceNext},
		{"btc_difficulty_daily_blockchaincom.csv", "difficulty", &h.difficulty},
		{"btc_hashrate_daily_blockchaincom.csv", "hashrate", &h.hashrateTH},
		{"btc_fees_daily_blockchaincom.csv", "transaction_fees_btc", &h.fees},
		{"btc_fees_every4days_blockchaincom.csv", "transaction_fees_btc", &h.fees4},
		{"btc_block_subsidy_per_day_bitcoinvisuals.csv", "block_subsidy_btc", &h.subsidyBTC},
	}
	for _, f := range files {
		d, err := readDaily(fsys, f.name, f.column)
		if err != nil {
			return nil, err
		}
		*f.into = d
	}
	h.height = cumulativeHeights(h.subsidyBTC)
	h.coverage = h.spans()
	return h, nil
}

// Latest returns the newest day on which every series has a value: the day a query
// that names none is priced on. It is found once: the series do not change.
func (h *History) Latest() time.Time {
	h.latestOnce.Do(func() { h.latest = h.findLatest() })
	return h.latest
}

// findLatest walks back from the end of the longest series to the first day all cover.
func (h *History) findLatest() time.Time {
	var last time.Time
	for _, c := range h.coverage {
		if c.Last.After(last) {
			last = c.Last
		}
	}
	for day := dayOf(last); !day.Before(h.coverage[0].First); day = day.AddDate(0, 0, -1) {
		if len(h.Day(day).Missing) == 0 {
			return day
		}
	}
	return time.Time{}
}

// Coverage lists each daily series with its first and last day.
func (h *History) Coverage() []Coverage { return slices.Clone(h.coverage) }

func (h *History) spans() []Coverage {
	price := h.price.span()
	if last := h.priceNext.span().Last.AddDate(0, 0, -1); last.After(price.Last) {
		price.Last = last
	}
	price.Series, price.Note = SeriesPrice, "CoinMarketCap close; later days from the Bitstamp first-minute price of the next day"
	diff := h.difficulty.span()
	diff.Series, diff.Note = SeriesDifficulty, "blockchain.com; 2025-11-13..15 carried forward"
	fees := h.fees4.span()
	fees.Series, fees.Note = SeriesFees, "daily to 2021-05-07 and 2023-04-30..2025-02-02; every 4th day otherwise, carried forward"
	blocks := h.subsidyBTC.span()
	if last := h.hashrateTH.span().Last; last.After(blocks.Last) {
		blocks.Last = last
	}
	blocks.Series, blocks.Note = SeriesBlocks, "from issued subsidy to 2025-03-08, then estimated from hashrate and difficulty"
	if h.imports != nil {
		h.imports.extend(&price, joule.DataBTCPrice)
		h.imports.extend(&diff, joule.DataDifficulty)
		h.imports.extend(&fees, joule.DataFees)
		h.imports.extend(&blocks, joule.DataHashrate)
	}
	return []Coverage{price, diff, fees, blocks}
}

// Day returns the market state of the UTC day that contains t. It always returns a Day;
// Day.Missing lists the series without a value and Day.Err turns them into an error.
func (h *History) Day(t time.Time) Day {
	day := dayOf(t)
	d := Day{Date: day, coverage: h.coverage}
	note := func(format string, args ...any) { d.Notes = append(d.Notes, fmt.Sprintf(format, args...)) }

	imp := h.imports
	if imp == nil {
		imp = noImports
	}
	if v, ok := imp.price.at(day); ok {
		d.PriceUSD = v
		note("BTC price: imported (%s)", imp.source[joule.DataBTCPrice])
	} else if v, ok := h.price.at(day); ok {
		d.PriceUSD = v
	} else if v, ok := h.priceNext.at(day.AddDate(0, 0, 1)); ok && day.After(h.price.last()) {
		d.PriceUSD = v
		note("BTC price: Bitstamp price at 00:00 UTC of %s (no daily close after %s)", day.AddDate(0, 0, 1).Format(time.DateOnly), h.price.last().Format(time.DateOnly))
	} else {
		d.Missing = append(d.Missing, SeriesPrice)
	}

	difficulty, hashrate := h.overlaid(joule.DataDifficulty), h.overlaid(joule.DataHashrate)
	if v, imported, ok := difficulty.at(day); ok && v > 0 {
		d.Difficulty = v
		if imported {
			note("difficulty: imported (%s)", imp.source[joule.DataDifficulty])
		}
	} else if from, v, _, ok := difficulty.carry(day, 7); ok && v > 0 {
		d.Difficulty = v
		note("difficulty: carried forward from %s (no value for this day)", from.Format(time.DateOnly))
	} else {
		d.Missing = append(d.Missing, SeriesDifficulty)
	}

	if v, ok := imp.fees.at(day); ok {
		d.FeesBTC = v
		note("fees: imported (%s)", imp.source[joule.DataFees])
	} else if v, ok := h.fees.at(day); ok {
		d.FeesBTC = v
	} else if v, ok := h.fees4.at(day); ok {
		d.FeesBTC = v
		note("fees: every-4th-day sample of this day (no daily fee data)")
	} else if from, v, ok := h.fees4.carry(day, 3); ok {
		d.FeesBTC = v
		note("fees: carried forward from the every-4th-day sample of %s (no daily fee data)", from.Format(time.DateOnly))
	} else {
		d.Missing = append(d.Missing, SeriesFees)
	}

	if i, ok := h.subsidyBTC.index(day); ok && h.subsidyBTC.has[i] {
		d.Height = h.height[i]
		d.Blocks = float64(h.height[i+1] - h.height[i])
	} else if _, hr, imported, ok := hashrate.carry(day, 7); ok && d.Difficulty > 0 && day.After(h.subsidyBTC.last()) {
		d.Blocks = hr * 1e12 * 86400 / (d.Difficulty * 4294967296)
		d.Height = h.height[len(h.height)-1] + int64(h.estimatedBlocks(h.subsidyBTC.last().AddDate(0, 0, 1), day))
		note("blocks: estimated from hashrate and difficulty (%.0f); height extrapolated", d.Blocks)
		if imported {
			note("hashrate: imported (%s)", imp.source[joule.DataHashrate])
		}
	} else {
		d.Missing = append(d.Missing, SeriesBlocks)
	}
	return d
}

// estimatedBlocks sums blocks estimated from hashrate and difficulty over [from, to).
func (h *History) estimatedBlocks(from, to time.Time) float64 {
	var sum float64
	difficulty, hashrate := h.overlaid(joule.DataDifficulty), h.overlaid(joule.DataHashrate)
	for t := from; t.Before(to); t = t.AddDate(0, 0, 1) {
		_, hr, _, ok1 := hashrate.carry(t, 7)
		_, diff, _, ok2 := difficulty.carry(t, 7)
		if ok1 && ok2 && diff > 0 {
			sum += hr * 1e12 * 86400 / (diff * 4294967296)
		} else {
			sum += 144
		}
	}
	return sum
}

// dayOf returns midnight UTC of the day that contains t.
func dayOf(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Nodes lists the wholesale energy nodes with real-time price series, embedded or
// imported.
func (h *History) Nodes() []string {
	var nodes []string
	for _, e := range energyFiles {
		if !e.dayAhead && !slices.Contains(nodes, e.node) {
			nodes = append(nodes, e.node)
		}
	}
	if h.imports != nil {
		for key := range h.imports.energy {
			if !key.dayAhead && !slices.Contains(nodes, key.node) {
				nodes = append(nodes, key.node)
			}
		}
	}
	slices.Sort(nodes)
	return nodes
}

// Energy returns the price series of a wholesale node, or ENOTFOUND. Series load on
// first use and are shared: callers must not modify them.
func (h *History) Energy(node string) (*EnergySeries, error) {
	if !slices.Contains(h.Nodes(), node) {
		return nil, joule.Errorf(joule.ENOTFOUND, "no energy price series for node %q (known: %s)", node, strings.Join(h.Nodes(), ", "))
	}
	return h.series(node, false)
}

// DayAhead returns the day-ahead price series of a wholesale node (hourly, each
// price the one its market cleared the day before delivery), or ENOTFOUND when the
// node has none embedded. Its coverage may be shorter than the real-time series'.
func (h *History) DayAhead(node string) (*EnergySeries, error) {
	if !embeddedEnergy(node, true) && (h.imports == nil || h.imports.energy[energyKey{node, true}] == nil) {
		return nil, joule.Errorf(joule.ENOTFOUND, "no day-ahead price series for node %q", node)
	}
	return h.series(node, true)
}

func (h *History) series(node string, dayAhead bool) (*EnergySeries, error) {
	if h.imports != nil {
		return h.overlaidSeries(node, dayAhead)
	}
	key := node
	if dayAhead {
		key += " day-ahead"
	}
	h.energyMu.Lock()
	defer h.energyMu.Unlock()
	if s, ok := h.energy[key]; ok {
		return s, nil
	}
	if err, ok := h.energyErrs[key]; ok {
		return nil, err
	}
	s, err := loadEnergy(h.fsys, node, dayAhead)
	if err != nil {
		h.energyErrs[key] = err
		return nil, err
	}
	h.energy[key] = s
	return s, nil
}
