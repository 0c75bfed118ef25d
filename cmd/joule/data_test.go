package main_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeFile writes a test's input file in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// madeUpHourly is a made-up LZ_WEST-like price series for a test node: hourly from
// from for days, a daily swing from negative at night to a late-afternoon peak.
// Test data, not real prices.
func madeUpHourly(from time.Time, days int) string {
	var b strings.Builder
	b.WriteString("time,usd_per_mwh\n")
	for i := range 24 * days {
		t := from.Add(time.Duration(i) * time.Hour)
		price := 25 + 40*math.Sin(2*math.Pi*float64(t.Hour()-11)/24)
		fmt.Fprintf(&b, "%s,%.2f\n", t.Format(time.RFC3339), price)
	}
	return b.String()
}

// mustRun runs joule and fails the test unless it exits 0.
func mustRun(t *testing.T, dir string, args ...string) result {
	t.Helper()
	r := run(t, dir, args...)
	if r.code != 0 {
		t.Fatalf("joule %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r
}

// A site on a node the embedded data lacks backtests on the node's imported prices.
func TestDataImportBacktestsANewNode(t *testing.T) {
	dir := t.TempDir()
	csv := writeFile(t, dir, "test-node.csv", madeUpHourly(time.Date(2024, 3, 1, 0, 0, 0, 0, time.FixedZone("CST", -6*3600)), 4))
	r := mustRun(t, dir, "data", "import", "--kind", "energy", "--name", "TEST:NODE", "--source", "made-up test prices", csv)
	if !strings.Contains(r.stdout, "imported energy TEST:NODE: 96 points, 2024-03-01T06:00:00Z to 2024-03-05T05:00:00Z, from made-up test prices") {
		t.Errorf("import said %q", r.stdout)
	}
	example, _ := filepath.Abs("../../examples/west-texas.yaml")
	r = mustRun(t, dir, "backtest", "--site", example, "--node", "TEST:NODE", "--from", "2024-03-02", "--to", "2024-03-04", "--json")
	var rep struct {
		Node       string `json:"node"`
		Intervals  int    `json:"intervals"`
		Strategies []struct {
			Name      string  `json:"name"`
			MarginUSD float64 `json:"margin_usd"`
		} `json:"strategies"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%.500s", err, r.stdout)
	}
	if rep.Node != "TEST:NODE" || len(rep.Strategies) == 0 {
		t.Errorf("report of node %q with %d strategies, want TEST:NODE", rep.Node, len(rep.Strategies))
	}
	// Without the import the node is unknown.
	if r := run(t, t.TempDir(), "backtest", "--site", example, "--node", "TEST:NODE", "--from", "2024-03-02", "--to", "2024-03-04"); r.code == 0 || !strings.Contains(r.stderr, "TEST:NODE") {
		t.Errorf("without the import: exit %d, %s", r.code, r.stderr)
	}
}

// A day past the embedded data prices on imported BTC price, difficulty, hashrate and
// fees, and econ's notes name the sources.
func TestDataImportPricesADayPastTheData(t *testing.T) {
	dir := t.TempDir()
	day := "2026-09-02"
	if r := run(t, dir, "econ", "--date", day); r.code == 0 {
		t.Fatalf("the embedded data prices %s: pick a later day for this test", day)
	}
	for _, s := range []struct{ kind, value string }{{"btc-price", "62000"}, {"difficulty", "1.3e14"}, {"hashrate", "9.3e8"}, {"fees", "3.1"}} {
		csv := writeFile(t, dir, s.kind+".csv", fmt.Sprintf("date,value\n2026-09-01,%s\n2026-09-02,%s\n2026-09-03,%s\n", s.value, s.value, s.value))
		mustRun(t, dir, "data", "import", "--kind", s.kind, "--source", "made-up test "+s.kind, csv)
	}
	r := mustRun(t, dir, "econ", "--date", day, "--json")
	var rep struct {
		Date        string   `json:"date"`
		BTCPriceUSD float64  `json:"btc_price_usd"`
		Hashprice   float64  `json:"hashprice_usd_per_ph_day"`
		Notes       []string `json:"notes"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if rep.Date != day || rep.BTCPriceUSD != 62000 || !(rep.Hashprice > 0) {
		t.Errorf("econ %+v", rep)
	}
	for _, want := range []string{"BTC price: imported (made-up test btc-price)", "difficulty: imported (made-up test difficulty)",
		"fees: imported (made-up test fees)", "hashrate: imported (made-up test hashrate)"} {
		if !slices.Contains(rep.Notes, want) {
			t.Errorf("notes %q lack %q", rep.Notes, want)
		}
	}
	// Deleted, the day is missing again.
	mustRun(t, dir, "data", "rm", "--kind", "btc-price")
	if r := run(t, dir, "econ", "--date", day); r.code == 0 || !strings.Contains(r.stderr, "no BTC price") {
		t.Errorf("after rm: exit %d, %s", r.code, r.stderr)
	}
}

// A bad CSV fails with its line number, and the store is as it was.
func TestDataImportRefusesBadCSV(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.csv", "date,value\n2024-03-01,3\n")
	mustRun(t, dir, "data", "import", "--kind", "fees", "--source", "made-up test fees", good)
	before := mustRun(t, dir, "data", "ls", "--json").stdout
	for _, tt := range []struct {
		name, kind, node, csv, want string
	}{
		{"negative fees", "fees", "", "date,value\n2024-03-01,3\n2024-03-02,-1\n", "fees CSV line 3: fees -1: must not be negative"},
		{"duplicate day", "fees", "", "date,value\n2024-03-01,3\n2024-03-01,4\n", "fees CSV line 3: 2024-03-01 is on line 2 already"},
		{"bad date", "btc-price", "", "date,value\n01/03/2024,60000\n", "btc-price CSV line 2: date \"01/03/2024\""},
		{"no offset", "energy", "TEST:NODE", "time,usd_per_mwh\n2024-03-01T00:00:00Z,1\n2024-03-01T01:00:00,2\n", "energy CSV line 3: time \"2024-03-01T01:00:00\""},
		{"price out of range", "energy", "TEST:NODE", "time,usd_per_mwh\n2024-03-01T00:00:00Z,250000\n", "energy CSV line 2: price 250000"},
		{"irregular step", "energy", "TEST:NODE", "time,usd_per_mwh\n2024-03-01T00:00:00Z,1\n2024-03-01T00:07:00Z,2\n", "energy CSV line 3"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			file := writeFile(t, dir, "bad.csv", tt.csv)
			args := []string{"data", "import", "--kind", tt.kind, "--source", "made-up", file}
			if tt.node != "" {
				args = append(args, "--name", tt.node)
			}
			r := run(t, dir, args...)
			if r.code == 0 || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want it to say %q", r.code, r.stderr, tt.want)
			}
		})
	}
	if r := run(t, dir, "data", "import", "--kind", "fees", good); r.code == 0 || !strings.Contains(r.stderr, "source is required") {
		t.Errorf("without --source: exit %d, %s", r.code, r.stderr)
	}
	if after := mustRun(t, dir, "data", "ls", "--json").stdout; after != before {
		t.Errorf("refused imports changed the store:\nbefore %s\nafter  %s", before, after)
	}
}
