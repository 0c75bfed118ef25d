package joule

import (
	"fmt"
	"math"
)

// Watts is electrical power in integer watts. A 50 MW site cap is 50_000_000 W.
type Watts int64

// KW returns the power in kilowatts.
func (w Watts) KW() float64 { return float64(w) / 1e3 }

// MW returns the power in megawatts.
func (w Watts) MW() float64 { return float64(w) / 1e6 }

// WattsFromMW converts megawatts to watts, rounding to the nearest watt.
func WattsFromMW(mw float64) Watts { return Watts(math.Round(mw * 1e6)) }

// String formats the power with a unit a person reads at a glance.
func (w Watts) String() string {
	switch a := math.Abs(float64(w)); {
	case a >= 1e6:
		return fmt.Sprintf("%.2f MW", w.MW())
	case a >= 1e3:
		return fmt.Sprintf("%.2f kW", w.KW())
	default:
		return fmt.Sprintf("%d W", int64(w))
	}
}

// MicroUSD is money in integer millionths of a US dollar. Ledger amounts are always
// MicroUSD; floats are for analytics only.
type MicroUSD int64

// MicroUSDPerUSD is the number of MicroUSD in one dollar.
const MicroUSDPerUSD = 1_000_000

// USD returns the amount in dollars, for display and analytics.
func (m MicroUSD) USD() float64 { return float64(m) / MicroUSDPerUSD }

// MicroUSDFromUSD converts dollars to MicroUSD, rounding half away from zero.
func MicroUSDFromUSD(usd float64) MicroUSD { return MicroUSD(math.Round(usd * MicroUSDPerUSD)) }

// String formats the amount as dollars with cents.
func (m MicroUSD) String() string { return fmt.Sprintf("$%.2f", m.USD()) }

// Sats is an amount of bitcoin in satoshis.
type Sats int64

// SatsPerBTC is the number of satoshis in one bitcoin.
const SatsPerBTC = 100_000_000

// BTC returns the amount in bitcoin, for display and analytics.
func (s Sats) BTC() float64 { return float64(s) / SatsPerBTC }
