package joule_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestMakeFuzzRunsEveryTarget fails when a package has fuzz targets that `make fuzz`
// does not run (FUZZPKGS in the Makefile).
func TestMakeFuzzRunsEveryTarget(t *testing.T) {
	mk, err := os.ReadFile("Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^FUZZPKGS\s*:=\s*(.+)$`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("the Makefile has no FUZZPKGS")
	}
	listed := strings.Fields(string(m[1]))
	fuzz := regexp.MustCompile(`(?m)^func Fuzz\w+\(f \*testing\.F\)`)
	var missing []string
	err = filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if pkg := "./" + filepath.Dir(path); fuzz.Match(src) && !slices.Contains(listed, pkg) && !slices.Contains(missing, pkg) {
			missing = append(missing, pkg)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Errorf("packages with fuzz targets that make fuzz does not run (add them to FUZZPKGS): %v", missing)
	}
}
