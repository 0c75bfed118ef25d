// Package data embeds the real historical series Joule prices and backtests against:
// daily BTC price, difficulty, hashrate, fees and blocks, ERCOT wholesale prices, and
// published GPU rental price points. SOURCES.md gives each file's provenance; the
// history package parses them.
package data

import "embed"

// FS holds the embedded CSV files and SOURCES.md.
//
//go:embed *.csv *.csv.gz SOURCES.md
var FS embed.FS
