package joule

import (
	"math"
	"time"
)

// EnergyPriceKind says how a site pays for energy.
type EnergyPriceKind string

// Energy price kinds.
const (
	EnergyFixed     EnergyPriceKind = "fixed"     // one price for every hour
	EnergyTimeOfUse EnergyPriceKind = "tou"       // a tariff with prices by hour of day
	EnergyWholesale EnergyPriceKind = "wholesale" // a real-time market price at a node, plus an adder
)

// EnergyPriceModel is what a site pays per MWh at a given time. Prices are USD per MWh
// and may be negative in wholesale markets.
type EnergyPriceModel struct {
	Kind EnergyPriceKind `json:"kind"`

	// FixedUSDPerMWh is the price of a fixed contract.
	FixedUSDPerMWh float64 `json:"fixed_usd_per_mwh,omitempty"`

	// Periods and DefaultUSDPerMWh define a time-of-use tariff in the Timezone's local
	// time: the first period that contains an hour prices it, else the default.
	Periods          []TOUPeriod `json:"periods,omitempty"`
	DefaultUSDPerMWh float64     `json:"default_usd_per_mwh,omitempty"`
	Timezone         string      `json:"timezone,omitempty"` // IANA name; UTC when empty

	// Node names the wholesale series ("ERCOT:LZ_WEST"); AdderUSDPerMWh is added to
	// every wholesale price (delivery, transmission, retail margin).
	Node           string  `json:"node,omitempty"`
	AdderUSDPerMWh float64 `json:"adder_usd_per_mwh,omitempty"`
}

// TOUPeriod is one band of a time-of-use tariff: hours [StartHour, EndHour) of the
// listed weekdays (all when empty) and months (all when empty). EndHour may be less
// than StartHour for a band that wraps past midnight.
type TOUPeriod struct {
	Name      string         `json:"name"`
	StartHour int            `json:"start_hour"`
	EndHour   int            `json:"end_hour"`
	Weekdays  []time.Weekday `json:"weekdays,omitempty"`
	Months    []time.Month   `json:"months,omitempty"`
	USDPerMWh float64        `json:"usd_per_mwh"`
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// Validate checks that the model is complete for its kind.
func (m *EnergyPriceModel) Validate() error {
	if !finite(m.FixedUSDPerMWh) || !finite(m.DefaultUSDPerMWh) || !finite(m.AdderUSDPerMWh) {
		return Errorf(EINVALID, "energy: prices must be numbers")
	}
	switch m.Kind {
	case EnergyFixed:
	case EnergyTimeOfUse:
		if len(m.Periods) == 0 {
			return Errorf(EINVALID, "energy: a tou tariff needs at least one period")
		}
		if !finite(m.DefaultUSDPerMWh) {
			return Errorf(EINVALID, "energy: default price must be a number")
		}
		if _, err := m.location(); err != nil {
			return Errorf(EINVALID, "energy: unknown timezone %q", m.Timezone)
		}
		for i, p := range m.Periods {
			if p.StartHour < 0 || p.StartHour > 23 || p.EndHour < 0 || p.EndHour > 24 || p.StartHour == p.EndHour {
				return Errorf(EINVALID, "energy: period %d (%s): hours must be 0..24 and start != end", i+1, p.Name)
			}
			if !finite(p.USDPerMWh) {
				return Errorf(EINVALID, "energy: period %d (%s): price must be a number", i+1, p.Name)
			}
			for _, mo := range p.Months {
				if mo < time.January || mo > time.December {
					return Errorf(EINVALID, "energy: period %d (%s): month %d is not 1..12", i+1, p.Name, mo)
				}
			}
			for _, wd := range p.Weekdays {
				if wd < time.Sunday || wd > time.Saturday {
					return Errorf(EINVALID, "energy: period %d (%s): bad weekday %d", i+1, p.Name, wd)
				}
			}
		}
	case EnergyWholesale:
		if m.Node == "" {
			return Errorf(EINVALID, "energy: a wholesale price needs a node")
		}
		if !finite(m.AdderUSDPerMWh) {
			return Errorf(EINVALID, "energy: adder must be a number")
		}
	default:
		return Errorf(EINVALID, "energy: kind must be fixed, tou or wholesale, not %q", m.Kind)
	}
	return nil
}

func (m *EnergyPriceModel) location() (*time.Location, error) {
	if m.Timezone == "" {
		return time.UTC, nil
	}
	return time.LoadLocation(m.Timezone)
}

// TariffAt returns the price of a fixed or time-of-use model at t. A wholesale model
// needs its series: ok is false and the caller looks the node up.
func (m *EnergyPriceModel) TariffAt(t time.Time) (usdPerMWh float64, ok bool) {
	switch m.Kind {
	case EnergyFixed:
		return m.FixedUSDPerMWh, true
	case EnergyTimeOfUse:
		loc, err := m.location()
		if err != nil {
			loc = time.UTC
		}
		lt := t.In(loc)
		for _, p := range m.Periods {
			if p.contains(lt) {
				return p.USDPerMWh, true
			}
		}
		return m.DefaultUSDPerMWh, true
	}
	return 0, false
}

func (p TOUPeriod) contains(t time.Time) bool {
	if len(p.Months) > 0 && !containsValue(p.Months, t.Month()) {
		return false
	}
	if len(p.Weekdays) > 0 && !containsValue(p.Weekdays, t.Weekday()) {
		return false
	}
	h := t.Hour()
	if p.StartHour < p.EndHour {
		return h >= p.StartHour && h < p.EndHour
	}
	return h >= p.StartHour || h < p.EndHour
}

func containsValue[T comparable](xs []T, x T) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
