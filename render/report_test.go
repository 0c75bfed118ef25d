package render

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"image/png"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule/backtest"
	"github.com/joule-site/joule/econ"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// sampleReport is a two-day hourly backtest with three strategies; all-gpu is a
// conversion with capex and no bound on its optimum.
func sampleReport(intervals int, intervalSec int64) *backtest.Report {
	start := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC).Unix()
	r := &backtest.Report{
		Site: "hill-ranch", Node: "HB_WEST",
		From: "2024-06-01", To: time.Unix(start+int64(intervals)*intervalSec, 0).UTC().Format("2006-01-02"),
		Intervals: intervals, IntervalSec: intervalSec, PoolFee: 0.02, GPUModel: "H100-SXM",
		GPUPrice:   "flat $2.10/GPU-hour (no history given)",
		Notes:      []string{"energy prices are real-time LMPs at the node", "hashprice from daily averages"},
		Forecaster: "persistence",
	}
	pct := func(v float64) *float64 { return &v }
	r.Strategies = []backtest.Result{
		{Name: "always-mine", Description: "mine every interval whatever power costs", PctOfOptimum: pct(71.25)},
		{Name: "joule", Description: "Joule's dispatch policy", PctOfOptimum: pct(96.4)},
		{Name: "all-gpu", Description: "convert every miner to GPU servers", CapexUSD: 12_500_000, DepreciationUSD: 34_246.58, OpexUSD: 5_760},
		{Name: "joule-foresight", Description: "Joule's policy told the prices in advance", PctOfOptimum: pct(99.1)},
	}
	for i := range intervals {
		h := float64(i) * float64(intervalSec) / 3600
		energy := 40 + 35*math.Sin(2*math.Pi*h/24)
		r.Times = append(r.Times, start+int64(i)*intervalSec)
		r.EnergyUSDPerMWh = append(r.EnergyUSDPerMWh, energy)
		r.PlannedEnergyUSDPerMWh = append(r.PlannedEnergyUSDPerMWh, 40+35*math.Sin(2*math.Pi*(h-1)/24))
		r.PlannedHashpriceUSDPerPHDay = append(r.PlannedHashpriceUSDPerPHDay, 52.4)
		r.HashpriceUSDPerPHDay = append(r.HashpriceUSDPerPHDay, 52.5+0.01*h)
		r.GPUUSDPerHour = append(r.GPUUSDPerHour, 2.1)
		hoursPer := float64(intervalSec) / 3600
		mining := 10e6
		if energy > 60 {
			mining = 2e6
		}
		r.Power.FirmGPUW = append(r.Power.FirmGPUW, 4e6)
		r.Power.InterruptibleGPUW = append(r.Power.InterruptibleGPUW, 2e6)
		r.Power.OpenGPUW = append(r.Power.OpenGPUW, 1e6+0.5e6*math.Cos(2*math.Pi*h/24))
		r.Power.MiningW = append(r.Power.MiningW, mining)
		r.Power.CurtailedW = append(r.Power.CurtailedW, 10e6-mining)
		for j, d := range []float64{17e6, 7e6 + mining, 17e6, 7e6 + mining*0.98} {
			m := ([]float64{200, 250, 300, 260}[j] - energy) * d / 1e6 * hoursPer
			s := &r.Strategies[j]
			s.Margin = append(s.Margin, m)
			s.DrawW = append(s.DrawW, d)
			s.MarginUSD += m
			s.EnergyUSD += energy * d / 1e6 * hoursPer
			s.RevenueUSD += m + energy*d/1e6*hoursPer
			s.EnergyMWh += d / 1e6 * hoursPer
			s.CurtailedMWh += (17e6 - d) / 1e6 * hoursPer
		}
	}
	r.ForecastLossUSD = r.Strategies[3].MarginUSD - r.Strategies[1].MarginUSD
	for i := range r.Strategies {
		s := &r.Strategies[i]
		s.NetMarginUSD = s.MarginUSD - s.DepreciationUSD - s.OpexUSD
	}
	r.Assumptions = []econ.Assumption{{Name: "utilization", Value: 0.85, Unit: "fraction of open GPU capacity that sells", Source: "assumption"}}
	return r
}

// samplePlan is a five-year plan over 200 paths; a tenth of them never pay back.
func samplePlan() *backtest.PivotReport {
	p := &backtest.PivotReport{
		Site: "hill-ranch", At: "2025-01-01", Years: 5, Paths: 200, Seed: 42,
		ConvertMW: 5, GPUModel: "H100-SXM", GPUServers: 480, ASICsRetired: 1450,
		CapexUSD: 12_340_000, ServersUSD: 10_000_000, NetworkStorageUSD: 1_000_000, ConversionUSD: 1_500_000, ASICResaleUSD: 160_000,
		DiscountRate: 0.1, GPUUSDPerHour: 2.69, MarketUSDPerHour: 2.69, BTCModel: "bootstrap", ProbLoss: 0.285,
		NPVUSD:        backtest.Quantiles{P10: -1_850_000, P50: 2_400_000, P90: 6_100_000},
		PaybackMonths: backtest.Quantiles{P10: 22.4, P50: 35.9, P90: math.Inf(1)},
		NeverPaidBack: 0.105, ProbPositive: 0.715,
		Assumptions: []string{"GPU-hour price: geometric Brownian motion, drift −25%/yr", "hashprice: bootstrapped from 2020–2024"},
		Notes:       []string{"ASIC resale at 20% of list"},
		Inputs: []econ.Assumption{{Name: "discount_rate", Value: 0.1, Unit: "per year, the cost of capital", Source: "given"},
			{Name: "demand_elasticity", Value: 1, Unit: "ε", Source: "assumption"}},
	}
	for i := range 5 {
		f := float64(i)
		p.YearlyCashFlowUSD = append(p.YearlyCashFlowUSD, backtest.Quantiles{
			P10: 1_200_000 - 500_000*f, P50: 3_000_000 - 300_000*f, P90: 4_500_000 - 100_000*f})
	}
	// A deterministic spread: a logistic-shaped sweep from about −$5M to +$10M.
	for i := range 200 {
		u := (float64(i) + 0.5) / 200
		p.NPVs = append(p.NPVs, 2_400_000+2_500_000*math.Log(u/(1-u)))
	}
	return p
}

func TestPrintGolden(t *testing.T) {
	for _, tc := range []struct {
		name  string
		print func(*bytes.Buffer) error
	}{
		{"backtest", func(b *bytes.Buffer) error { return PrintBacktest(b, sampleReport(48, 3600)) }},
		{"plan", func(b *bytes.Buffer) error { return PrintPivot(b, samplePlan()) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.print(&b); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./report -update to create it)", err)
			}
			if got := b.String(); got != string(want) {
				t.Errorf("output differs from %s (run with -update if intended):\n%s", golden, got)
			}
		})
	}
}

func TestPrintBacktest(t *testing.T) {
	var b bytes.Buffer
	if err := PrintBacktest(&b, sampleReport(48, 3600)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"always-mine", "joule", "all-gpu", "n/a", "$12,500,000", "71.2%", "flat $2.10/GPU-hour", "hashprice from daily averages"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestPrintPivot(t *testing.T) {
	var b bytes.Buffer
	if err := PrintPivot(&b, samplePlan()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"-$1,850,000", "$2,400,000", "never", "71.5%", "10.5%", "drift −25%/yr", "ASIC resale"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestWriteBacktest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out") // not there yet: WriteBacktest creates it
	r := sampleReport(48, 3600)
	files, err := WriteBacktest(dir, r)
	if err != nil {
		t.Fatal(err)
	}
	wantFiles(t, dir, files, "summary.json", "timeseries.csv", "power.png", "power.svg", "margin.png", "margin.svg", "index.html")
	checkPNG(t, filepath.Join(dir, "power.png"))
	checkPNG(t, filepath.Join(dir, "margin.png"))

	rows := readCSV(t, filepath.Join(dir, "timeseries.csv"))
	if len(rows) != 49 {
		t.Fatalf("timeseries.csv has %d rows, want header + 48", len(rows))
	}
	wantHead := []string{"time", "energy_usd_per_mwh", "planned_energy_usd_per_mwh", "hashprice_usd_per_ph_day", "planned_hashprice_usd_per_ph_day", "gpu_usd_per_hour",
		"always-mine_margin_usd", "always-mine_draw_mw", "joule_margin_usd", "joule_draw_mw",
		"all-gpu_margin_usd", "all-gpu_draw_mw", "joule-foresight_margin_usd", "joule-foresight_draw_mw",
		"firm_gpu_mw", "interruptible_gpu_mw", "open_gpu_mw", "mining_mw", "curtailed_mw"}
	if !slices.Equal(rows[0], wantHead) {
		t.Errorf("header = %q\nwant     %q", rows[0], wantHead)
	}
	if got, want := rows[1][0], "2024-06-01T00:00:00Z"; got != want {
		t.Errorf("first time = %q, want %q", got, want)
	}
	if got, want := rows[1][slices.Index(wantHead, "firm_gpu_mw")], "4"; got != want {
		t.Errorf("firm_gpu_mw = %q, want %q (MW, not W)", got, want)
	}

	var back struct {
		Site       string
		Strategies []map[string]json.RawMessage
	}
	readJSON(t, filepath.Join(dir, "summary.json"), &back)
	if back.Site != "hill-ranch" || len(back.Strategies) != 4 {
		t.Fatalf("summary.json: site %q, %d strategies", back.Site, len(back.Strategies))
	}
	for i, s := range back.Strategies {
		for _, k := range []string{"name", "margin_usd", "pct_of_optimum", "capex_usd"} {
			if _, ok := s[k]; !ok {
				t.Errorf("strategies[%d] lacks %q", i, k)
			}
		}
	}
	if got := string(back.Strategies[2]["pct_of_optimum"]); got != "null" {
		t.Errorf("all-gpu pct_of_optimum = %s, want null", got)
	}

	page := readText(t, filepath.Join(dir, "index.html"))
	for _, want := range []string{"always-mine", "joule", "all-gpu", `<img src="power.png">`, `<img src="margin.png">`,
		"HB_WEST", "flat $2.10/GPU-hour", "hashprice from daily averages"} {
		if !strings.Contains(page, want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	for _, banned := range []string{"<script", "<link", "http://", "https://"} {
		if strings.Contains(page, banned) {
			t.Errorf("index.html contains %q; it must be self-contained", banned)
		}
	}
}

func TestWritePivot(t *testing.T) {
	dir := t.TempDir()
	files, err := WritePivot(dir, samplePlan())
	if err != nil {
		t.Fatal(err)
	}
	wantFiles(t, dir, files, "plan.json", "npv.png", "npv.svg", "cashflow.png", "cashflow.svg", "index.html")
	checkPNG(t, filepath.Join(dir, "npv.png"))
	checkPNG(t, filepath.Join(dir, "cashflow.png"))

	var back map[string]json.RawMessage
	readJSON(t, filepath.Join(dir, "plan.json"), &back)
	for _, k := range []string{"site", "npv_usd", "payback_months", "prob_npv_positive", "yearly_cash_flow_usd", "assumptions"} {
		if _, ok := back[k]; !ok {
			t.Errorf("plan.json lacks %q", k)
		}
	}
	var payback map[string]*float64
	if err := json.Unmarshal(back["payback_months"], &payback); err != nil {
		t.Fatal(err)
	}
	if payback["p50"] == nil || *payback["p50"] != 35.9 || payback["p90"] != nil {
		t.Errorf("payback_months = %s, want p50 35.9 and p90 null (never)", back["payback_months"])
	}

	page := readText(t, filepath.Join(dir, "index.html"))
	for _, want := range []string{`<img src="npv.png">`, `<img src="cashflow.png">`, "-$1,850,000", "never", "ASIC resale"} {
		if !strings.Contains(page, want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
}

// TestWriteOddReports writes reports that are empty, short or long and checks that
// every file still comes out and every PNG still decodes.
func TestWriteOddReports(t *testing.T) {
	single := sampleReport(48, 3600)
	single.Strategies = single.Strategies[1:2]
	ragged := sampleReport(48, 3600)
	ragged.Power.CurtailedW = nil
	ragged.Strategies[0].Margin = ragged.Strategies[0].Margin[:10]
	ragged.GPUUSDPerHour = nil
	for _, tc := range []struct {
		name string
		r    *backtest.Report
		rows int
	}{
		{"empty", &backtest.Report{}, 1},
		{"single strategy", single, 49},
		{"one interval", sampleReport(1, 3600), 2},
		{"ragged series", ragged, 49},
		{"a year of five-minute intervals", sampleReport(105_120, 300), 105_121},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			files, err := WriteBacktest(dir, tc.r)
			if err != nil {
				t.Fatal(err)
			}
			wantFiles(t, dir, files, "summary.json", "timeseries.csv", "power.png", "power.svg", "margin.png", "margin.svg", "index.html")
			checkPNG(t, filepath.Join(dir, "power.png"))
			checkPNG(t, filepath.Join(dir, "margin.png"))
			if rows := readCSV(t, filepath.Join(dir, "timeseries.csv")); len(rows) != tc.rows {
				t.Errorf("timeseries.csv has %d rows, want %d", len(rows), tc.rows)
			}
			if err := PrintBacktest(&bytes.Buffer{}, tc.r); err != nil {
				t.Error(err)
			}
		})
	}
	t.Run("empty plan", func(t *testing.T) {
		dir := t.TempDir()
		p := &backtest.PivotReport{PaybackMonths: backtest.Quantiles{P10: math.Inf(1), P50: math.Inf(1), P90: math.Inf(1)}}
		files, err := WritePivot(dir, p)
		if err != nil {
			t.Fatal(err)
		}
		wantFiles(t, dir, files, "plan.json", "npv.png", "npv.svg", "cashflow.png", "cashflow.svg", "index.html")
		checkPNG(t, filepath.Join(dir, "npv.png"))
		checkPNG(t, filepath.Join(dir, "cashflow.png"))
		if err := PrintPivot(&bytes.Buffer{}, p); err != nil {
			t.Error(err)
		}
	})
	t.Run("nil", func(t *testing.T) {
		if _, err := WriteBacktest(t.TempDir(), nil); err == nil {
			t.Error("WriteBacktest(nil) succeeded")
		}
		if err := PrintPivot(&bytes.Buffer{}, nil); err == nil {
			t.Error("PrintPivot(nil) succeeded")
		}
	})
}

func TestPowerChartDownsamples(t *testing.T) {
	for _, tc := range []struct {
		intervals int
		sec       int64
		says      string
	}{
		{48, 3600, ""},
		{8760, 3600, "each point averages 5 intervals, 5h"},
		{105_120, 300, "each point averages 53 intervals"},
	} {
		r := sampleReport(tc.intervals, tc.sec)
		p, err := powerChart(r)
		if err != nil {
			t.Fatal(err)
		}
		if tc.says == "" && strings.Contains(p.Title.Text, "averages") {
			t.Errorf("%d intervals: title %q claims averaging", tc.intervals, p.Title.Text)
		}
		if !strings.Contains(p.Title.Text, tc.says) {
			t.Errorf("%d intervals: title %q does not say %q", tc.intervals, p.Title.Text, tc.says)
		}
		if n := (tc.intervals + stride(tc.intervals) - 1) / stride(tc.intervals); n > maxPoints {
			t.Errorf("%d intervals draw %d points, more than %d", tc.intervals, n, maxPoints)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{usd(0), "$0"},
		{usd(999.4), "$999"},
		{usd(1234567.8), "$1,234,568"},
		{usd(-1234.2), "-$1,234"},
		{usd(-0.3), "$0"},
		{usd(math.NaN()), "n/a"},
		{number(1234.56, 1), "1,234.6"},
		{number(-0.04, 1), "0.0"},
		{number(-100000, 0), "-100,000"},
		{mw(12_345_678), "12.3 MW"},
		{percent(0.715), "71.5%"},
		{months(math.Inf(1)), "never"},
		{pctOfOptimum(nil), "n/a"},
		{duration(300), "5m"},
		{duration(3600), "1h"},
		{duration(86400), "1d"},
		{duration(15900), "4h25m"},
		{duration(90061), "1d1h1m1s"},
		{csvFloat(-0.00001), "0"},
		{csvFloat(1.23456789), "1.2346"},
		{csvFloat(math.Inf(1)), ""},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestDateTicks(t *testing.T) {
	start := float64(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Unix())
	for _, span := range []time.Duration{30 * time.Minute, 2 * time.Hour, 48 * time.Hour, 30 * 24 * time.Hour, 365 * 24 * time.Hour, 5 * 365 * 24 * time.Hour} {
		ticks := dateTicks{}.Ticks(start, start+span.Seconds())
		if len(ticks) == 0 || len(ticks) > maxDateTicks+1 {
			t.Errorf("span %v: %d ticks", span, len(ticks))
		}
	}
}

func wantFiles(t *testing.T, dir string, got []string, names ...string) {
	t.Helper()
	var want []string
	for _, n := range names {
		want = append(want, filepath.Join(dir, n))
	}
	if !slices.Equal(got, want) {
		t.Errorf("files = %q\nwant    %q", got, want)
	}
	for _, f := range want {
		if fi, err := os.Stat(f); err != nil || fi.Size() == 0 {
			t.Errorf("%s: missing or empty (%v)", f, err)
		}
	}
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() == 0 || b.Dy() == 0 {
		t.Errorf("%s: empty image %v", path, b)
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(readText(t, path)), v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func readText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The dashboard's charts are the files --out writes: BacktestCharts and PivotCharts
// give, byte for byte, the PNGs WriteBacktest and WritePivot put in the directory.
func TestChartsAreTheWrittenPNGs(t *testing.T) {
	bt := sampleReport(48, 3600)
	btCharts, err := BacktestCharts(bt)
	if err != nil {
		t.Fatal(err)
	}
	plCharts, err := PivotCharts(samplePlan())
	if err != nil {
		t.Fatal(err)
	}
	btDir, plDir := t.TempDir(), t.TempDir()
	if _, err := WriteBacktest(btDir, bt); err != nil {
		t.Fatal(err)
	}
	if _, err := WritePivot(plDir, samplePlan()); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dir    string
		charts map[string][]byte
		names  []string
	}{{btDir, btCharts, []string{"margin", "power"}}, {plDir, plCharts, []string{"cashflow", "npv"}}} {
		if got := slices.Sorted(maps.Keys(tc.charts)); !slices.Equal(got, tc.names) {
			t.Errorf("charts %q, want %q", got, tc.names)
		}
		for _, name := range tc.names {
			path := filepath.Join(tc.dir, name+".png")
			checkPNG(t, path)
			file, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(file, tc.charts[name]) {
				t.Errorf("%s: %d bytes drawn, %d bytes written", name, len(tc.charts[name]), len(file))
			}
		}
	}
	if _, err := BacktestCharts(nil); err == nil {
		t.Error("charts of no report: no error")
	}
}

// hourlyReport is a backtest of hours hourly intervals whose strategies each earn a
// constant margin an hour, USD.
func hourlyReport(hours int, marginPerHour map[string]float64) *backtest.Report {
	start := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC).Unix()
	r := &backtest.Report{Site: "hill-ranch", Intervals: hours, IntervalSec: 3600}
	for i := range hours {
		r.Times = append(r.Times, start+int64(i)*3600)
	}
	for _, name := range []string{"always-mine", "strike-price", "joule", "all-gpu", "hybrid"} {
		m, ok := marginPerHour[name]
		if !ok {
			continue
		}
		s := backtest.Result{Name: name, MarginUSD: m * float64(hours)}
		for range hours {
			s.Margin = append(s.Margin, m)
		}
		r.Strategies = append(r.Strategies, s)
	}
	return r
}

// The margin chart keeps the operator's two comparisons readable: the mining
// strategies as the difference from always-mine, on a scale of that difference, and
// the GPU conversions, which earn thirty times as much, in a panel of their own.
func TestMarginChartSeparatesMiningFromConversions(t *testing.T) {
	const hours = 48
	r := hourlyReport(hours, map[string]float64{"always-mine": 1000, "strike-price": 1005, "joule": 1010, "all-gpu": 30_000, "hybrid": 15_000})
	panels, err := marginPanels(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(panels) != 2 {
		t.Fatalf("%d panels, want mining and conversions", len(panels))
	}
	mining, conversions := panels[0], panels[1]
	if !strings.Contains(mining.Title.Text, "over always-mine") {
		t.Errorf("mining panel %q does not say it is the difference from always-mine", mining.Title.Text)
	}
	// Joule's policy earns $10 an hour more than always-mine: $480 at the end, the top
	// of the mining panel's axis; always-mine is its zero line.
	if lo, hi := mining.Y.Min, mining.Y.Max; math.Abs(hi-480) > 0.01 || math.Abs(lo) > 0.01 {
		t.Errorf("mining panel's axis spans %v to %v, want 0 to 480 (USD): the differences from always-mine", lo, hi)
	}
	if got := mining.Y.Label.Text; got != "Margin over always-mine (USD)" {
		t.Errorf("mining panel's axis is labelled %q", got)
	}
	// all-gpu reaches $1.44M, with always-mine ($48k) beside it.
	if lo, hi := conversions.Y.Min, conversions.Y.Max; math.Abs(hi-1.44) > 1e-6 || lo != 0 {
		t.Errorf("conversions panel's axis spans %v to %v, want 0 to 1.44 (million USD)", lo, hi)
	}
	if got := conversions.Y.Label.Text; got != "Cumulative margin (million USD)" {
		t.Errorf("conversions panel's axis is labelled %q", got)
	}
	if !strings.Contains(conversions.Title.Text, "before the servers' capex") {
		t.Errorf("conversions panel %q does not say its margin is before capex", conversions.Title.Text)
	}

	charts, err := BacktestCharts(r)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(charts["margin"]))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dy()*10 < b.Dx()*7 {
		t.Errorf("margin.png is %v: want two panels' height", b)
	}

	t.Run("no conversions", func(t *testing.T) {
		panels, err := marginPanels(hourlyReport(hours, map[string]float64{"always-mine": 1000, "joule": 1010}))
		if err != nil {
			t.Fatal(err)
		}
		if len(panels) != 1 || math.Abs(panels[0].Y.Max-480) > 0.01 {
			t.Errorf("%d panels, the first's axis to %v: want one, to 480", len(panels), panels[0].Y.Max)
		}
	})
	t.Run("no always-mine", func(t *testing.T) {
		panels, err := marginPanels(hourlyReport(hours, map[string]float64{"joule": 1010, "all-gpu": 30_000}))
		if err != nil {
			t.Fatal(err)
		}
		if len(panels) != 2 || strings.Contains(panels[0].Title.Text, "over") || math.Abs(panels[0].Y.Max-48.48) > 0.01 {
			t.Errorf("%d panels, the first %q to %v: want joule's own cumulative margin, 48.48 thousand USD", len(panels), panels[0].Title.Text, panels[0].Y.Max)
		}
	})
}
