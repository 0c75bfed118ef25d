package pricing_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/catalog"
	"github.com/joule-site/joule/econ"
	"github.com/joule-site/joule/history"
	"github.com/joule-site/joule/pricing"
)

func pricer(t testing.TB) *pricing.Pricer {
	t.Helper()
	h, err := history.Default()
	if err != nil {
		t.Fatal(err)
	}
	return &pricing.Pricer{History: h, Models: catalog.Models{}}
}

func day(s string) time.Time {
	t, _ := time.Parse(time.DateOnly, s)
	return t
}

func TestDayReport(t *testing.T) {
	p := pricer(t)
	r, err := p.Day(context.Background(), pricing.DayQuery{Date: day("2024-12-23"), PoolFee: 0.02})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(r.HashpriceNetUSDPerPHDay-0.98*r.HashpriceUSDPerPHDay) > 1e-9 {
		t.Errorf("net hashprice %v is not 98%% of gross %v", r.HashpriceNetUSDPerPHDay, r.HashpriceUSDPerPHDay)
	}
	if len(r.Breakevens) != 7 {
		t.Fatalf("got %d breakevens, want one per catalog ASIC (7)", len(r.Breakevens))
	}
	for i, b := range r.Breakevens {
		want := econ.BreakevenUSDPerMWh(r.HashpriceUSDPerPHDay, b.EfficiencyJPerTH, 0.02)
		if math.Abs(b.BreakevenUSDPerMWh-want) > 1e-9 {
			t.Errorf("%s breakeven %v, want %v", b.Model, b.BreakevenUSDPerMWh, want)
		}
		if i > 0 && b.BreakevenUSDPerMWh > r.Breakevens[i-1].BreakevenUSDPerMWh {
			t.Error("breakevens are not ordered from the most efficient machine down")
		}
	}
}

func TestFeeOverrideFillsTheGap(t *testing.T) {
	p := pricer(t)
	_, err := p.Day(context.Background(), pricing.DayQuery{Date: day("2025-09-01")})
	if joule.ErrorCode(err) != joule.EINVALID || !strings.Contains(err.Error(), "no fees") {
		t.Fatalf("without fees: %v", err)
	}
	fees := 0.03
	r, err := p.Day(context.Background(), pricing.DayQuery{Date: day("2025-09-01"), FeesPerBlockBTC: &fees})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(r.FeesPerBlockBTC-fees) > 1e-12 {
		t.Errorf("fees per block %v, want the given %v", r.FeesPerBlockBTC, fees)
	}
	if !strings.Contains(strings.Join(r.Notes, "\n"), "given by the user") {
		t.Errorf("notes do not say the fees were given: %v", r.Notes)
	}
	neg := -1.0
	if _, err := p.Day(context.Background(), pricing.DayQuery{Date: day("2025-09-01"), FeesPerBlockBTC: &neg}); joule.ErrorCode(err) != joule.EINVALID {
		t.Errorf("negative fees: %v", err)
	}
}

func TestCompareUsesTheDaysHashprice(t *testing.T) {
	p := pricer(t)
	q := pricing.CompareQuery{
		DayQuery: pricing.DayQuery{Date: day("2024-12-23")},
		MW:       10, ASIC: "s21", GPU: "h100-sxm", GPUUSDPerHour: 2,
		Assumptions: econ.Assumptions{PUE: 1, Utilization: 0.85, DiscountRate: 0.12, ASICLifeYears: 4, GPULifeYears: 5, EnergyUSDPerMWh: 45},
	}
	r, err := p.Compare(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := p.Day(context.Background(), q.DayQuery)
	if r.HashpriceUSDPerPHDay != d.HashpriceUSDPerPHDay {
		t.Errorf("compare hashprice %v differs from econ's %v", r.HashpriceUSDPerPHDay, d.HashpriceUSDPerPHDay)
	}
	if r.Better != "leasing" {
		t.Errorf("at $2/GPU-hour and $45/MWh leasing should earn more, got %s", r.Better)
	}
	for _, a := range r.Assumptions {
		if a.Source == "" {
			t.Errorf("assumption %s has no source", a.Name)
		}
	}
	// The costs reach econ: with the defaults, leasing pays for its conversion.
	q.Costs = econ.DefaultCosts()
	costed, err := p.Compare(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if costed.Leasing.ConversionUSD != 10*q.Costs.ConversionUSDPerMW || !(costed.Leasing.NPVUSD < r.Leasing.NPVUSD) || costed.Costs != q.Costs {
		t.Errorf("with the default costs leasing converts for %v and its NPV is %v (without: %v); costs %+v",
			costed.Leasing.ConversionUSD, costed.Leasing.NPVUSD, r.Leasing.NPVUSD, costed.Costs)
	}
	for _, bad := range []func(*pricing.CompareQuery){
		func(q *pricing.CompareQuery) { q.ASIC = "h100-sxm" },
		func(q *pricing.CompareQuery) { q.GPU = "s21" },
		func(q *pricing.CompareQuery) { q.MW = -1 },
		func(q *pricing.CompareQuery) { q.Date = day("2001-01-01") },
	} {
		q2 := q
		bad(&q2)
		if _, err := p.Compare(context.Background(), q2); err == nil || joule.ErrorCode(err) == joule.EINTERNAL {
			t.Errorf("bad query %+v: err %v", q2, err)
		}
	}
}

func BenchmarkDayReport(b *testing.B) {
	p := pricer(b)
	q := pricing.DayQuery{Date: day("2024-12-23")}
	for b.Loop() {
		if _, err := p.Day(context.Background(), q); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDayWithoutDateIsTheNewestComplete prices a query without a date on the newest
// day every series covers, says so, and names a remedy for days beyond the data.
func TestDayWithoutDateIsTheNewestComplete(t *testing.T) {
	p := pricer(t)
	r, err := p.Day(context.Background(), pricing.DayQuery{})
	if err != nil {
		t.Fatal(err)
	}
	latest := p.History.Latest()
	if r.Date != latest.Format(time.DateOnly) {
		t.Errorf("date %s, want the newest complete day %s", r.Date, latest.Format(time.DateOnly))
	}
	if len(p.History.Day(latest).Missing) != 0 || len(p.History.Day(latest.AddDate(0, 0, 1)).Missing) == 0 {
		t.Errorf("%s is not the newest day with every series", latest.Format(time.DateOnly))
	}
	if !strings.Contains(strings.Join(r.Notes, "\n"), "newest day with every series") {
		t.Errorf("notes do not say which day was chosen: %v", r.Notes)
	}
	_, err = p.Day(context.Background(), pricing.DayQuery{Date: latest.AddDate(10, 0, 0)})
	if want := "pick a day the data covers (the newest with every series is " + latest.Format(time.DateOnly); !strings.Contains(fmt.Sprint(err), want) {
		t.Errorf("a day beyond the data: %v; want %q", err, want)
	}
}
