package joule_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/joule-site/joule"

// Packages that decide things and do no I/O of their own. They may import the root
// package and each other, never an adapter.
var logic = map[string]bool{
	"agent": true, "alerts": true, "delivery": true, "exchange": true, "ledger": true, "leasing": true, "live": true,
	"backtest": true, "billing": true, "catalog": true, "data": true, "demo": true, "dispatch": true, "econ": true, "forecast": true, "history": true, "manifest": true, "pricing": true,
	"reports": true, "sla": true, "drreport": true,
}

// Protocols are the wire formats and small parsers that adapters on both sides of a
// wire share (the GPU servers' power API, spoken by gpunode and served by sim; the
// address ranges devices are scanned and simulated on; the telemetry history's rows,
// which the SQL stores lay out alike). They import only the standard
// library and the root package, so any package may import them.
var protocols = map[string]bool{
	"gpuapi": true, "addrrange": true, "syncbuf": true, "telemetryrows": true,
}

// Adapters speak a technology; only cmd/joule wires them together.
var adapters = map[string]bool{
	"sqlite": true, "postgres": true, "pgtest": true, "http": true, "storetest": true, "render": true,
	"cgminer": true, "gpunode": true, "node": true, "nvml/nvmltest": true, "redfish": true, "sim": true, "bitcoind": true, "feeds": true, "nvml": true, "meter": true, "spool": true, "webhook": true,
	"e2e": true, "slurm": true, "slurmtest": true,
}

// TestPackageBoundaries keeps the layout honest: the root package imports only the
// standard library, protocols only that and the root package, logic packages import no
// adapter, and adapters do not import each other (storetest is imported only by store
// tests).
func TestPackageBoundaries(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for dec.More() {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		seen++
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		if rel != "" && !strings.HasPrefix(rel, "cmd/") && !logic[rel] && !adapters[rel] && !protocols[rel] {
			t.Errorf("package %s is neither a logic package, a protocol nor an adapter: add it to one list", rel)
		}
		for _, imp := range p.Imports {
			if protocols[rel] && imp != module && strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
				t.Errorf("protocol %s imports %s; it may import only the standard library and the root package", rel, imp)
			}
			switch {
			case rel == "" && strings.Contains(strings.SplitN(imp, "/", 2)[0], "."):
				t.Errorf("the root package imports %s; it may import only the standard library", imp)
			case rel == "" && strings.HasPrefix(imp, module):
				t.Errorf("the root package imports %s", imp)
			case !strings.HasPrefix(imp, module+"/"):
				continue
			}
			dep := strings.TrimPrefix(imp, module+"/")
			if logic[rel] && adapters[dep] {
				t.Errorf("logic package %s imports adapter %s", rel, dep)
			}
			if adapters[rel] && adapters[dep] {
				t.Errorf("adapter %s imports adapter %s", rel, dep)
			}
			if strings.HasPrefix(dep, "cmd/") {
				t.Errorf("%s imports the command %s", rel, dep)
			}
		}
	}
	if seen < 5 {
		t.Fatalf("go list saw only %d packages", seen)
	}
}
