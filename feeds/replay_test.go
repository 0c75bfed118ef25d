package feeds

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/econ"
	"github.com/joule-site/joule/history"
)

func TestClockRunsFaster(t *testing.T) {
	start := time.Date(2024, 8, 20, 12, 0, 0, 0, time.UTC)
	c := NewClock(start, 60)
	c.since = func(time.Time) time.Duration { return 90 * time.Second }
	if got, want := c.Now(), start.Add(90*time.Minute); !got.Equal(want) {
		t.Errorf("90 s of wall time at ×60: %s, want %s", got, want)
	}
	if NewClock(start, 0).Speed() != 1 {
		t.Error("a speed below 1 runs at 1")
	}
}

func TestReplayServesHistory(t *testing.T) {
	h, err := history.Default()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2024, 8, 20, 18, 0, 0, 0, time.UTC)
	r := &Replay{History: h, Now: func() time.Time { return now }}
	day := h.Day(now)
	next := h.Day(now.Add(24 * time.Hour))

	c, err := r.Chain(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c.Difficulty != day.Difficulty || c.Height <= day.Height || c.Height >= day.Height+int64(day.Blocks) || !c.TipTime.Equal(now) {
		t.Errorf("chain at 18:00: %+v; the day starts at height %d with %g blocks, difficulty %g", c, day.Height, day.Blocks, day.Difficulty)
	}
	price, _, err := r.Price(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := day.PriceUSD + 0.75*(next.PriceUSD-day.PriceUSD); math.Abs(price-want) > 1e-6 {
		t.Errorf("price three quarters into the day: %.2f, want %.2f", price, want)
	}

	m := r.Prices(time.Second, "ERCOT:HB_WEST")
	for _, f := range []interface{ Poll(context.Context) error }{m.ChainFeed, m.PriceFeed, m.EnergyFeedByNode["ERCOT:HB_WEST"]} {
		if err := f.Poll(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	hp, fresh := m.Hashprice(now)
	d := day.Market()
	d.PriceUSD = price
	d.Height = c.Height
	if want := econ.ComputeHashprice(d).USDPerPHDay; !fresh || math.Abs(hp-want) > 1e-6 {
		t.Errorf("hashprice %.2f (fresh %v), want %.2f", hp, fresh, want)
	}
	site := &joule.Site{Energy: joule.EnergyPriceModel{Kind: joule.EnergyWholesale, Node: "ERCOT:HB_WEST", AdderUSDPerMWh: 4.5}}
	series, err := h.Energy("ERCOT:HB_WEST")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := series.PriceAt(now)
	if p, fresh := m.Energy(site, now); !fresh || math.Abs(p-(raw+4.5)) > 1e-9 {
		t.Errorf("energy %.2f (fresh %v), want the node's %.2f + 4.50", p, fresh, raw)
	}
	if usd, fresh := m.BTCUSD(now); !fresh || usd != price {
		t.Errorf("BTCUSD %.2f fresh %v, want %.2f", usd, fresh, price)
	}

	// Past the end of the energy data the feed fails and the price is stale.
	now = series.Last().Add(48 * time.Hour)
	if _, _, err := r.Energy("ERCOT:HB_WEST")(context.Background()); err == nil {
		t.Error("a replay past the data's end gave prices")
	}
}
