package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/sqlite"
)

// A store that has no room for a write refuses it as unavailable (retry later), not
// as an internal failure, and writes none of it; once there is room the same write
// succeeds. The room runs out by the page cap, as it would on a full disk.
func TestFullStoreRefusesAsUnavailable(t *testing.T) {
	for _, dsn := range []string{"file", sqlite.MemoryDSN} {
		t.Run(dsn, func(t *testing.T) {
			if dsn == "file" {
				dsn = filepath.Join(t.TempDir(), "joule.db")
			}
			db := openDB(t, dsn)
			ctx := context.Background()
			manifests, sites := sqlite.NewManifestService(db), sqlite.NewSiteService(db)
			site := func(i int) *joule.Manifest {
				return &joule.Manifest{Sites: []*joule.Site{{Name: fmt.Sprintf("site-%04d", i), PowerCapW: 1_000_000, PUE: 1.1,
					Energy: joule.EnergyPriceModel{Kind: joule.EnergyFixed, FixedUSDPerMWh: 40}}}}
			}
			db.LimitPages(1) // no more pages than the store has now
			var err error
			i := 0
			for ; i < 10_000 && err == nil; i++ {
				_, err = manifests.Apply(ctx, site(i))
			}
			i-- // the site that did not fit
			if joule.ErrorCode(err) != joule.EUNAVAILABLE {
				t.Fatalf("apply %d of a store held at its size: %v (code %q), want %s", i, err, joule.ErrorCode(err), joule.EUNAVAILABLE)
			}
			if _, err := sites.Site(ctx, site(i).Sites[0].Name); joule.ErrorCode(err) != joule.ENOTFOUND {
				t.Errorf("the site that did not fit: %v, want not found", err)
			}
			db.LimitPages(0)
			if _, err := manifests.Apply(ctx, site(i)); err != nil {
				t.Fatalf("apply once the cap is lifted: %v", err)
			}
			all, err := sites.Sites(ctx)
			if err != nil || len(all) != i+1 {
				t.Errorf("%d sites, want %d (%v)", len(all), i+1, err)
			}
		})
	}
}
