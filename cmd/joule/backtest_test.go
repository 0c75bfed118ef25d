package main_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBacktestCommand(t *testing.T) {
	dir := t.TempDir()
	example, _ := filepath.Abs("../../examples/west-texas.yaml")
	out := filepath.Join(dir, "report")
	r := run(t, dir, "backtest", "--site", example, "--from", "2023-01-01", "--to", "2023-12-31", "--out", out, "--json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var rep struct {
		Strategies []struct {
			Name         string   `json:"name"`
			MarginUSD    *float64 `json:"margin_usd"`
			RevenueUSD   *float64 `json:"revenue_usd"`
			EnergyUSD    *float64 `json:"energy_cost_usd"`
			CurtailedMWh *float64 `json:"curtailed_mwh"`
			PctOfOptimum *float64 `json:"pct_of_optimum"`
		} `json:"strategies"`
		GPUPrice string `json:"gpu_price_path"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	pct := map[string]float64{}
	for _, s := range rep.Strategies {
		if s.MarginUSD == nil || s.RevenueUSD == nil || s.EnergyUSD == nil || s.CurtailedMWh == nil {
			t.Errorf("%s lacks a field: %+v", s.Name, s)
		}
		if s.PctOfOptimum != nil {
			pct[s.Name] = *s.PctOfOptimum
		}
	}
	if pct["joule"] < 95 || pct["joule"] <= pct["always-mine"] || pct["joule"] <= pct["strike-price"] {
		t.Errorf("percent of optimum: %v", pct)
	}
	if !strings.Contains(rep.GPUPrice, "data/gpu_rental_price_points.csv; not an index") {
		t.Errorf("the GPU price path is not labelled: %q", rep.GPUPrice)
	}
	for _, f := range []string{"summary.json", "timeseries.csv", "power.png", "margin.png", "index.html"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestBacktestNamesMissingData(t *testing.T) {
	example, _ := filepath.Abs("../../examples/west-texas.yaml")
	r := run(t, t.TempDir(), "backtest", "--site", example, "--from", "2022-06-01", "--to", "2022-06-30")
	if r.code == 0 || !strings.Contains(r.stderr, "no energy price at ERCOT:LZ_WEST for 2022-06-01..2022-06-30") {
		t.Errorf("exit %d, stderr %s", r.code, r.stderr)
	}
}

// The commands' requests are checked before anything runs, with the dashboard's
// field names; a plan may run more paths here than on a server, but not without bound.
func TestReportFlagsNameTheField(t *testing.T) {
	example, _ := filepath.Abs("../../examples/west-texas.yaml")
	plan := []string{"plan", "--site", example, "--convert-mw", "2", "--gpu", "h100-sxm", "--at", "2024-06-01"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"backtest", "--site", example, "--from", "2023-01-01", "--to", "31/01/2023"}, `to: want YYYY-MM-DD, got "31/01/2023"`},
		{[]string{"backtest", "--site", example, "--from", "2023-01-01", "--to", "2023-01-31", "--hybrid-share", "2"}, "hybrid_share: want a fraction in (0, 1]"},
		{[]string{"backtest", "--site", example, "--from", "2023-01-01", "--to", "2023-01-31", "--min-on", "-1h"}, "band, minimum times and warm-up must not be negative"},
		{append(plan, "--paths", "100001"), "paths: want 1 to 100000, got 100001"},
		{append(plan, "--years", "31"), "years: want 1 to 30, got 31"},
		{append(plan, "--gpu", "s21"), `gpu: unknown GPU server model "s21"`},
	} {
		r := run(t, t.TempDir(), tc.args...)
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %s; want %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.want)
		}
	}
}

// The conversions' costs come from the flags, then the site's manifest, then the
// defaults: a manifest's conversion cost and a flag's opex both show in the capex and
// opex of all-gpu, and in the assumptions as given.
func TestBacktestCostsFromManifestAndFlags(t *testing.T) {
	dir := t.TempDir()
	example, err := os.ReadFile("../../examples/west-texas.yaml")
	if err != nil {
		t.Fatal(err)
	}
	site := strings.Replace(string(example), "    pue: 1.05\n", "    pue: 1.05\n    costs:\n      conversion_usd_per_mw: 0\n", 1)
	file := filepath.Join(dir, "site.yaml")
	if err := os.WriteFile(file, []byte(site), 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, dir, "backtest", "--site", file, "--from", "2023-01-01", "--to", "2023-01-07", "--gpu-opex-usd-server-hour", "2", "--gpu-pue", "1.05", "--json", "--no-progress")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var rep struct {
		Strategies []struct {
			Name         string  `json:"name"`
			Capex        float64 `json:"capex_usd"`
			Opex         float64 `json:"opex_usd"`
			Net          float64 `json:"net_margin_usd"`
			Margin       float64 `json:"margin_usd"`
			Depreciation float64 `json:"depreciation_usd"`
		} `json:"strategies"`
		Assumptions []struct {
			Name   string  `json:"name"`
			Value  float64 `json:"value"`
			Source string  `json:"source"`
		} `json:"assumptions"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	for _, s := range rep.Strategies {
		if s.Name != "all-gpu" {
			continue
		}
		// The miners' 33.272 MW of IT power at the site's PUE 1.05 feeds, in a GPU hall
		// of 1.05 too, floor(33,272,000 / 10,200) = 3261 servers: × $269,000 × 1.10, no
		// conversion; $2 × 3261 × 168 hours.
		if math.Abs(s.Capex-3261*269_000*1.10) > 1 || math.Abs(s.Opex-2*3261*168) > 1e-6 || math.Abs(s.Net-(s.Margin-s.Depreciation-s.Opex)) > 1e-6 {
			t.Errorf("all-gpu capex %.0f, opex %.0f, net %.0f", s.Capex, s.Opex, s.Net)
		}
	}
	given := map[string]string{}
	for _, a := range rep.Assumptions {
		given[a.Name] = a.Source
	}
	if given["conversion_usd_per_mw"] != "given" || given["gpu_opex_usd_per_server_hour"] != "given" || given["network_storage_fraction"] == "given" ||
		given["gpu_pue"] != "given" {
		t.Errorf("assumption sources %v", given)
	}
}
