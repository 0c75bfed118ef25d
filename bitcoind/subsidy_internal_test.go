package bitcoind

import (
	"testing"

	"github.com/btcsuite/btcd/wire/v2"

	"github.com/joule-site/joule"
)

func TestSubsidy(t *testing.T) {
	tests := []struct {
		chain  string
		height int64
		want   joule.Sats
	}{
		{"main", 0, 50 * joule.SatsPerBTC},
		{"main", 209_999, 50 * joule.SatsPerBTC},
		{"main", 210_000, 25 * joule.SatsPerBTC},
		{"main", 840_000, 312_500_000}, // April 2024: 3.125 BTC
		{"simnet", 840_000, 312_500_000},
		{"regtest", 149, 50 * joule.SatsPerBTC},
		{"regtest", 150, 25 * joule.SatsPerBTC},
		{"main", 64 * 210_000, 0},
		{"main", -1, 0},
	}
	for _, tt := range tests {
		if got := subsidy(tt.chain, tt.height); got != tt.want {
			t.Errorf("subsidy(%s, %d) = %d; want %d", tt.chain, tt.height, got, tt.want)
		}
	}
}

func TestCoinbaseFees(t *testing.T) {
	const reward = 312_500_000
	tests := []struct {
		name string
		outs []int64
		want joule.Sats
	}{
		{"subsidy only", []int64{reward}, 0},
		{"fees across two outputs", []int64{reward, 20_000}, 20_000},
		{"miner claimed less than the subsidy", []int64{reward - 1}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx := wire.NewMsgTx(1)
			for _, v := range tt.outs {
				tx.AddTxOut(wire.NewTxOut(v, nil))
			}
			if got := coinbaseFees(tx, reward); got != tt.want {
				t.Errorf("coinbaseFees = %d; want %d", got, tt.want)
			}
		})
	}
}
