package nvml_test

import (
	"io/fs"
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

// limiterFile is the one source file allowed a setter, and allowedSetter the one setter
// it may call.
const (
	limiterFile   = "limiter.go"
	allowedSetter = ".SetPowerManagementLimit("
)

// TestReadOnly keeps the package from ever changing a GPU but through its Limiter: no
// source file but limiter.go may call an NVML mutator, and limiter.go calls only the
// power limit setter.
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
	scanned, setters := 0, 0
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
			for _, m := range mutators.FindAllString(line, -1) {
				switch {
				case f == limiterFile && strings.ReplaceAll(m, " ", "") == allowedSetter:
					setters++
				case f == limiterFile:
					t.Errorf("%s:%d calls %s…): the Limiter sets power limits and nothing else", f, i+1, m)
				default:
					t.Errorf("%s:%d calls %s…): only the Limiter (%s) changes GPUs", f, i+1, m, limiterFile)
				}
			}
		}
	}
	if scanned < 4 {
		t.Fatalf("scanned %d source files; the package has more", scanned)
	}
	if setters != 1 {
		t.Errorf("%s calls %s…) %d times; want once", limiterFile, allowedSetter, setters)
	}
}

// allowArg matches --allow-power-limit passed as an argument, in a list of them.
var allowArg = regexp.MustCompile(`"--allow-power-limit"\s*[,}]`)

// TestLimiterCallers keeps every setter call on real GPUs behind `joule node
// --allow-power-limit`: in the module, only this package and cmd/joule/node.go make a
// Limiter, a test that makes one never opens the real library (nvml.Open,
// OpenLibrary): it runs over NVIDIA's mock, and a test that runs `joule node
// --allow-power-limit` names the library to load (--nvml), one that is not NVIDIA's.
func TestLimiterCallers(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no module root above the package: %v", err)
	}
	allowed := map[string]bool{"nvml/limiter.go": true, "nvml/reader_nocgo.go": true, "cmd/joule/node.go": true}
	calls := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		src := string(b)
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		call := "nvml.NewLimiter(" // from outside the package
		if strings.HasPrefix(rel, "nvml/") {
			call = "NewLimiter("
		}
		if rel == "nvml/readonly_test.go" {
			return nil
		}
		// A test that runs the binary with --allow-power-limit points it away from the
		// real library.
		if strings.HasSuffix(rel, "_test.go") && allowArg.MatchString(src) && !strings.Contains(src, `"--nvml"`) {
			t.Errorf("%s runs joule node --allow-power-limit without --nvml: on a GPU machine it would set real limits", rel)
		}
		if !strings.Contains(src, call) {
			return nil
		}
		calls++
		switch {
		case strings.HasSuffix(rel, "_test.go"):
			if strings.Contains(src, "nvml.Open()") || strings.Contains(src, "OpenLibrary(") {
				t.Errorf("%s makes a Limiter and opens the real NVML: tests set limits only over the mock", rel)
			}
		case !allowed[rel]:
			t.Errorf("%s makes an NVML Limiter: only cmd/joule/node.go may, behind --allow-power-limit", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls < 2 {
		t.Fatalf("found %d files that mention NewLimiter; want at least the package and its caller", calls)
	}
}
