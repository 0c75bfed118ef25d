package nvml_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// mutators matches a call to an NVML function or method that changes a GPU: setters
// (power limits, clocks, MIG mode, persistence), resets, clears, MIG instance creation
// and destruction, and the like, as method calls (d.SetPowerManagementLimit) or package
// functions (nvml.DeviceSetMigMode).
var mutators = regexp.MustCompile(`\.\w*?(Set|Reset|Clear|Create|Destroy|Freeze|Remove|Register|Discover)[A-Z]\w*\s*\(`)

// TestReadOnly keeps the package from ever changing a GPU: no source file may call an
// NVML mutator.
func TestReadOnly(t *testing.T) {
	for _, call := range []string{"d.SetPowerManagementLimit(", "nvml.DeviceSetMigMode(", "dev.ResetGpuLockedClocks(", "gi.CreateComputeInstance("} {
		if !mutators.MatchString(call) {
			t.Fatalf("the pattern misses %s", call)
		}
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	scanned := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		scanned++
		for i, line := range strings.Split(string(src), "\n") {
			if m := mutators.FindString(line); m != "" {
				t.Errorf("%s:%d calls %s…): this package only reads GPUs", f, i+1, m)
			}
		}
	}
	if scanned < 3 {
		t.Fatalf("scanned %d source files; the package has more", scanned)
	}
}
