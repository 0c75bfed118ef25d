package main_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// joule is the binary under test, built once by TestMain.
var joule string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "joule-cli")
	if err != nil {
		panic(err)
	}
	joule = filepath.Join(dir, "joule")
	if out, err := exec.Command("go", "build", "-o", joule, ".").CombinedOutput(); err != nil {
		panic("build joule: " + err.Error() + "\n" + string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// run runs joule with args on a store in dir.
func run(t *testing.T, dir string, args ...string) result {
	t.Helper()
	cmd := exec.Command(joule, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "JOULE_DB="+filepath.Join(dir, "joule.db"), "JOULE_SERVER=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestGoldenOutput(t *testing.T) {
	dir := t.TempDir()
	example, _ := filepath.Abs("../../examples/west-texas.yaml")
	tests := []struct {
		golden string
		args   []string
	}{
		{"econ-2024-12-23.txt", []string{"econ", "--date", "2024-12-23"}},
		{"econ-2024-12-23.json", []string{"econ", "--date", "2024-12-23", "--json"}},
		{"econ-2022-06-15-gap.txt", []string{"econ", "--date", "2022-06-15", "--pool-fee", "0.02"}},
		{"compare.txt", []string{"compare", "--mw", "10", "--energy-usd-mwh", "45", "--asic", "s21", "--gpu", "h100-sxm", "--gpu-usd-hour", "2.00", "--utilization", "0.85", "--date", "2024-12-23"}},
		{"compare.json", []string{"compare", "--mw", "10", "--energy-usd-mwh", "45", "--asic", "s21", "--gpu", "h100-sxm", "--gpu-usd-hour", "2.00", "--utilization", "0.85", "--date", "2024-12-23", "--json"}},
		{"apply-first.txt", []string{"apply", "-f", example}},
		{"apply-again.txt", []string{"apply", "-f", example}},
		{"sites.txt", []string{"sites"}},
		{"models.txt", []string{"models"}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			r := run(t, dir, tt.args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			golden(t, tt.golden, r.stdout)
		})
	}
}

func TestPublishedHashprice(t *testing.T) {
	published := map[string]float64{"2024-12-23": 55.21, "2024-12-02": 61.98} // Hashrate Index
	for day, want := range published {
		r := run(t, t.TempDir(), "econ", "--date", day, "--json")
		var rep struct {
			Hashprice float64 `json:"hashprice_usd_per_ph_day"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("%s: %v\n%s", day, err, r.stderr)
		}
		if off := (rep.Hashprice - want) / want; off > 0.03 || off < -0.03 {
			t.Errorf("%s: hashprice_usd_per_ph_day %.2f, published %.2f (%.1f%% off)", day, rep.Hashprice, want, off*100)
		}
	}
}

// Bad input gets a clear message on stderr and exit 1, never a panic.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown model", []string{"compare", "--mw", "10", "--energy-usd-mwh", "45", "--asic", "s99", "--gpu", "h100-sxm", "--gpu-usd-hour", "2", "--date", "2024-12-23"}, `unknown asic model "s99"`},
		{"gpu given as asic", []string{"compare", "--mw", "10", "--energy-usd-mwh", "45", "--asic", "h100-sxm", "--gpu", "h100-sxm", "--gpu-usd-hour", "2", "--date", "2024-12-23"}, `unknown asic model "h100-sxm"`},
		{"date before the data", []string{"econ", "--date", "2005-03-01"}, "no BTC price (the data covers 2010-07-14"},
		{"date after the fee data", []string{"econ", "--date", "2025-09-01"}, "no fees (the data covers 2009-01-17 to 2025-05-01): give the day's fees per block in BTC (--fees-btc-per-block"},
		{"date after all the data", []string{"econ", "--date", "2031-01-01"}, "pick a day the data covers (the newest with every series is 2025-05-01)"},
		{"malformed date", []string{"econ", "--date", "yesterday"}, "want YYYY-MM-DD"},
		{"negative megawatts", []string{"compare", "--mw", "-10", "--energy-usd-mwh", "45", "--asic", "s21", "--gpu", "h100-sxm", "--gpu-usd-hour", "2", "--date", "2024-12-23"}, "megawatts must be positive"},
		{"utilization above one", []string{"compare", "--mw", "10", "--energy-usd-mwh", "45", "--asic", "s21", "--gpu", "h100-sxm", "--gpu-usd-hour", "2", "--utilization", "3", "--date", "2024-12-23"}, "utilization"},
		{"negative GPU opex", []string{"compare", "--mw", "10", "--energy-usd-mwh", "45", "--asic", "s21", "--gpu", "h100-sxm", "--gpu-usd-hour", "2", "--gpu-opex-usd-server-hour", "-1", "--date", "2024-12-23"}, "GPU opex must be USD per server-hour from 0"},
		{"negative install lag", []string{"compare", "--mw", "10", "--energy-usd-mwh", "45", "--asic", "s21", "--gpu", "h100-sxm", "--gpu-usd-hour", "2", "--install-lag-months", "-1", "--date", "2024-12-23"}, "install lag must be months from 0"},
		{"resale above one", []string{"compare", "--mw", "10", "--energy-usd-mwh", "45", "--asic", "s21", "--gpu", "h100-sxm", "--gpu-usd-hour", "2", "--asic-resale-fraction", "1.5", "--date", "2024-12-23"}, "ASIC resale must be a fraction"},
		{"malformed yaml", []string{"apply", "-f", write("broken.yaml", "sites:\n  - name: a\n    power_cap_mw: [\n")}, "broken.yaml:"},
		{"negative cap in yaml", []string{"apply", "-f", write("neg.yaml", "sites:\n  - name: a\n    power_cap_mw: -5\n    energy: {kind: fixed, usd_per_mwh: 40}\n")}, "neg.yaml:3"},
		{"missing file", []string{"apply", "-f", filepath.Join(dir, "nope.yaml")}, "no such file"},
		{"postgres unreachable", []string{"sites", "--db", "postgres://u:secret@127.0.0.1:1/joule"}, "open store postgres://…@127.0.0.1:1/joule: open postgres: failed to connect"},
		{"unknown command", []string{"mine-harder"}, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, dir, tt.args...)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1; stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine ") {
				t.Fatalf("panicked:\n%s", r.stderr)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, r.stderr)
			}
			if strings.Contains(r.stderr, "secret") {
				t.Errorf("stderr shows a password:\n%s", r.stderr)
			}
		})
	}
	// The failed applies wrote nothing.
	if r := run(t, dir, "sites", "--json"); !strings.Contains(r.stdout, `"sites": []`) {
		t.Errorf("failed applies left sites behind:\n%s", r.stdout)
	}
}
