package backtest

import (
	"os"
	"testing"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/catalog"
	"github.com/joule-site/joule/manifest"
)

// WestTexasForTest is examples/west-texas.yaml resolved against the catalog, for the
// tests and benchmarks of this package and its external test package.
func WestTexasForTest(t testing.TB) *joule.ResolvedSite {
	t.Helper()
	data, err := os.ReadFile("../examples/west-texas.yaml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Parse("west-texas.yaml", data, catalog.Lookup)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := joule.ResolveSite(m.Sites[0], m.Fleets, catalog.Lookup)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}
