package feeds_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/feeds"
	"github.com/joule-site/joule/history"
)

// The live dispatch loop's view of the market (joule.Prices), which Prices serve.
var _ interface {
	Hashprice(now time.Time) (usdPerPHDay float64, fresh bool)
	Energy(site *joule.Site, now time.Time) (usdPerMWh float64, fresh bool)
	GPU(now time.Time) (usdPerHour, utilization float64)
} = (*feeds.Prices)(nil)

func TestMarketForTheLoop(t *testing.T) {
	c := &clock{t: t0}
	hub, err := feeds.ParseEnergyCSV(strings.NewReader(hourly))
	if err != nil {
		t.Fatal(err)
	}
	west, err := feeds.ParseEnergyCSV(strings.NewReader("2024-07-10T20:00:00Z,55\n2024-07-10T21:00:00Z,60\n"))
	if err != nil {
		t.Fatal(err)
	}
	m := &feeds.Prices{
		ChainFeed:        feeds.NewChainFeed((&node{state: july}).Chain, time.Minute, c.Now),
		PriceFeed:        feeds.NewPriceFeed((&source[float64]{value: 57000}).fetch, time.Minute, c.Now),
		EnergyFeed:       feeds.NewEnergyFeed((&source[*history.EnergySeries]{value: hub}).fetch, time.Minute, c.Now),
		EnergyFeedByNode: map[string]*feeds.Feed[*history.EnergySeries]{"ERCOT:LZ_WEST": feeds.NewEnergyFeed((&source[*history.EnergySeries]{value: west}).fetch, time.Minute, c.Now)},
		PoolFee:          0.02,
		GPUUSDPerHour:    2.1,
		GPUUtilization:   0.8,
	}
	ctx := context.Background()
	_ = m.ChainFeed.Poll(ctx)
	_ = m.PriceFeed.Poll(ctx)
	_ = m.EnergyFeed.Poll(ctx)
	_ = m.EnergyFeedByNode["ERCOT:LZ_WEST"].Poll(ctx)

	if hp, fresh := m.Hashprice(t0); !fresh || hp <= 0 {
		t.Errorf("Hashprice = %v, %v; want a fresh positive price", hp, fresh)
	}
	if hp, fresh := m.Hashprice(t0.Add(time.Hour)); fresh || hp != 0 {
		t.Errorf("an hour later Hashprice = %v, %v; want 0, stale", hp, fresh)
	}
	if usd, util := m.GPU(t0); usd != 2.1 || util != 0.8 {
		t.Errorf("GPU = %v, %v", usd, util)
	}

	wholesale := func(node string, adder float64) *joule.Site {
		return &joule.Site{Energy: joule.EnergyPriceModel{Kind: joule.EnergyWholesale, Node: node, AdderUSDPerMWh: adder}}
	}
	tests := []struct {
		name  string
		site  *joule.Site
		at    time.Time
		want  float64
		fresh bool
	}{
		{"fixed tariff needs no feed", &joule.Site{Energy: joule.EnergyPriceModel{Kind: joule.EnergyFixed, FixedUSDPerMWh: 45}}, t0.Add(24 * time.Hour), 45, true},
		{"wholesale node with its own schedule, plus adder", wholesale("ERCOT:LZ_WEST", 5), t0, 60, true},
		{"node taken from the site's market node", &joule.Site{MarketNode: "ERCOT:LZ_WEST", Energy: joule.EnergyPriceModel{Kind: joule.EnergyWholesale}}, t0, 55, true},
		{"other node priced by the default schedule", wholesale("ERCOT:HB_HOUSTON", 0), t0, 180, true},
		{"schedule does not cover the moment", wholesale("ERCOT:LZ_WEST", 5), t0.Add(90 * time.Minute), 0, false},
		{"schedule too old", wholesale("ERCOT:HB_HOUSTON", 0), t0.Add(3 * time.Hour), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, fresh := m.Energy(tt.site, tt.at); got != tt.want || fresh != tt.fresh {
				t.Errorf("Energy = %v, %v; want %v, %v", got, fresh, tt.want, tt.fresh)
			}
		})
	}
}
