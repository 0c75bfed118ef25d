package joule_test

import (
	"math"
	"testing"
	"time"

	"github.com/joule-site/joule"
)

func TestTariffAt(t *testing.T) {
	tou := joule.EnergyPriceModel{
		Kind:             joule.EnergyTimeOfUse,
		Timezone:         "America/Chicago",
		DefaultUSDPerMWh: 40,
		Periods: []joule.TOUPeriod{
			{Name: "summer peak", StartHour: 14, EndHour: 20, Weekdays: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}, Months: []time.Month{6, 7, 8, 9}, USDPerMWh: 120},
			{Name: "night", StartHour: 22, EndHour: 6, USDPerMWh: 25},
		},
	}
	if err := tou.Validate(); err != nil {
		t.Fatal(err)
	}
	chicago, _ := time.LoadLocation("America/Chicago")
	tests := []struct {
		name string
		at   time.Time
		want float64
	}{
		{"weekday summer afternoon", time.Date(2024, 7, 10, 15, 0, 0, 0, chicago), 120},
		{"same hour on a Saturday", time.Date(2024, 7, 13, 15, 0, 0, 0, chicago), 40},
		{"same hour in winter", time.Date(2024, 1, 10, 15, 0, 0, 0, chicago), 40},
		{"night band before midnight", time.Date(2024, 1, 10, 23, 0, 0, 0, chicago), 25},
		{"night band after midnight", time.Date(2024, 1, 11, 5, 59, 0, 0, chicago), 25},
		{"band end is exclusive", time.Date(2024, 1, 11, 6, 0, 0, 0, chicago), 40},
		{"UTC input is read in local time", time.Date(2024, 7, 10, 20, 0, 0, 0, time.UTC), 120}, // 15:00 CDT
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tou.TariffAt(tt.at)
			if !ok || got != tt.want {
				t.Errorf("TariffAt = %v, %v; want %v, true", got, ok, tt.want)
			}
		})
	}
	fixed := joule.EnergyPriceModel{Kind: joule.EnergyFixed, FixedUSDPerMWh: 45}
	if got, ok := fixed.TariffAt(time.Now()); !ok || got != 45 {
		t.Errorf("fixed TariffAt = %v, %v", got, ok)
	}
	wholesale := joule.EnergyPriceModel{Kind: joule.EnergyWholesale, Node: "ERCOT:LZ_WEST"}
	if _, ok := wholesale.TariffAt(time.Now()); ok {
		t.Error("a wholesale model has no tariff of its own")
	}
}

func TestEnergyValidate(t *testing.T) {
	bad := []joule.EnergyPriceModel{
		{Kind: "spot"},
		{Kind: joule.EnergyWholesale},
		{Kind: joule.EnergyTimeOfUse},
		{Kind: joule.EnergyTimeOfUse, Timezone: "Mars/Olympus", Periods: []joule.TOUPeriod{{StartHour: 1, EndHour: 2}}},
		{Kind: joule.EnergyTimeOfUse, Periods: []joule.TOUPeriod{{StartHour: 5, EndHour: 5}}},
		{Kind: joule.EnergyTimeOfUse, Periods: []joule.TOUPeriod{{StartHour: 1, EndHour: 25}}},
		{Kind: joule.EnergyTimeOfUse, Periods: []joule.TOUPeriod{{StartHour: 1, EndHour: 2, Months: []time.Month{13}}}},
		{Kind: joule.EnergyFixed, FixedUSDPerMWh: math.NaN()},
		{Kind: joule.EnergyFixed, DefaultUSDPerMWh: math.Inf(1)},
	}
	for i, m := range bad {
		if code := joule.ErrorCode(m.Validate()); code != joule.EINVALID {
			t.Errorf("case %d (%+v): code %q, want %q", i, m, code, joule.EINVALID)
		}
	}
}

func TestUnits(t *testing.T) {
	if w := joule.WattsFromMW(50); w != 50_000_000 || w.MW() != 50 || w.String() != "50.00 MW" {
		t.Errorf("50 MW = %d (%s)", w, w)
	}
	if s := joule.Watts(3500).String(); s != "3.50 kW" {
		t.Errorf("3500 W prints %q", s)
	}
	if m := joule.MicroUSDFromUSD(2.10); m != 2_100_000 || m.String() != "$2.10" {
		t.Errorf("$2.10 = %d (%s)", m, m)
	}
	if b := joule.Sats(312_500_000).BTC(); b != 3.125 {
		t.Errorf("312,500,000 sats = %v BTC", b)
	}
}
