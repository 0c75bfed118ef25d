package postgres

import (
	"errors"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/joule-site/joule"
)

// openTestDB opens a DB on a fresh database and closes it when the test ends.
func openTestDB(t *testing.T) *DB {
	t.Helper()
	db := NewDB(newTestDatabase(t))
	if err := db.Open(); err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestStoreErrorCodes makes PostgreSQL break each kind of constraint for real and
// checks the code callers see, and that the failed transaction wrote nothing.
func TestStoreErrorCodes(t *testing.T) {
	db := openTestDB(t)
	ctx := t.Context()
	const site = `INSERT INTO sites (name, power_cap_w, pue, energy, created_at, updated_at) VALUES ($1, $2, 1.1, '{}', $3, $3)`
	setup, err := db.beginWrite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := setup.exec(ctx, site, "alberta", 1000, formatTime(setup.now)); err != nil {
		t.Fatalf("insert site: %v", err)
	}
	if err := setup.commit(ctx); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		query string
		args  []any
		want  string
	}{
		{"unique", site, []any{"alberta", 1000, formatTime(db.Now())}, joule.ECONFLICT},
		{"check", site, []any{"pecos", 0, formatTime(db.Now())}, joule.EINVALID},
		{"foreign key", `INSERT INTO fleets (site, name, model, count) VALUES ('nowhere', 's19', 's19xp', 1)`, nil, joule.EINVALID},
		{"not null", `INSERT INTO models (id, kind, name, power_w, idle_w, created_at, updated_at) VALUES ('m', 'asic', NULL, 1, 1, '', '')`, nil, joule.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx, err := db.beginWrite(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.rollback(ctx)
			_, err = tx.exec(ctx, tt.query, tt.args...)
			if got := joule.ErrorCode(err); got != tt.want {
				t.Fatalf("error %v has code %q, want %q", err, got, tt.want)
			}
			if _, ok := errors.AsType[*pgconn.PgError](err); !ok {
				t.Errorf("error %v does not keep PostgreSQL's error in its chain", err)
			}
		})
	}
	sites, err := NewSiteService(db).Sites(ctx)
	if err != nil || len(sites) != 1 || sites[0].Name != "alberta" || sites[0].PowerCapW != 1000 {
		t.Errorf("after the refused writes, sites are %v (%v); want alberta alone, unchanged", sites, err)
	}
}

// TestDiskFull checks that SQLSTATE 53100, what the server answers a write that finds
// its disk full, is EUNAVAILABLE (retry later), not an internal error. A full disk
// cannot be made here without filling the machine's, so the error is built.
func TestDiskFull(t *testing.T) {
	driver := &pgconn.PgError{Code: "53100", Message: "could not extend file: No space left on device"}
	err := storeError(driver)
	if got := joule.ErrorCode(err); got != joule.EUNAVAILABLE {
		t.Errorf("disk_full: code %q, want %q", got, joule.EUNAVAILABLE)
	}
	if !errors.Is(err, driver) {
		t.Errorf("disk_full: %v does not keep the driver's error", err)
	}
	if got := joule.ErrorCode(storeError(&pgconn.PgError{Code: "42P01"})); got != joule.EINTERNAL {
		t.Errorf("undefined_table: code %q, want %q", got, joule.EINTERNAL)
	}
	if storeError(nil) != nil {
		t.Error("storeError(nil) is not nil")
	}
}

// TestReopenMigratesOnce opens one database twice at once and then again: each
// migration is recorded once, and the data the first DB wrote is still there.
func TestReopenMigratesOnce(t *testing.T) {
	dsn := newTestDatabase(t)
	ctx := t.Context()
	dbs := make([]*DB, 2)
	errs := make(chan error, len(dbs))
	for i := range dbs {
		dbs[i] = NewDB(dsn)
		go func() { errs <- dbs[i].Open() }()
	}
	for range dbs {
		if err := <-errs; err != nil {
			t.Fatalf("Open: %v", err)
		}
	}
	for _, db := range dbs {
		t.Cleanup(func() { db.Close() })
	}
	if _, err := NewManifestService(dbs[0]).Apply(ctx, &joule.Manifest{Sites: []*joule.Site{{
		Name: "alberta", PowerCapW: 1000, PUE: 1.1, Energy: joule.EnergyPriceModel{Kind: joule.EnergyFixed, FixedUSDPerMWh: 45},
	}}}); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	again := NewDB(dsn)
	if err := again.Open(); err != nil {
		t.Fatalf("Open again: %v", err)
	}
	defer again.Close()
	ms, err := readMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := again.beginRead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.rollback(ctx)
	var n, distinct int
	if err := tx.queryRow(ctx, `SELECT count(*), count(DISTINCT version) FROM schema_migrations`).Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) || distinct != len(ms) {
		t.Errorf("schema_migrations has %d rows (%d versions), want %d", n, distinct, len(ms))
	}
	if _, err := NewSiteService(again).Site(ctx, "alberta"); err != nil {
		t.Errorf("Site after reopening: %v", err)
	}
}

// TestOpenRefuses checks Open's refusals of a DB it cannot use.
func TestOpenRefuses(t *testing.T) {
	if err := NewDB("").Open(); err == nil {
		t.Error("Open with no DSN: no error")
	}
	db := NewDB("host=/nonexistent")
	db.Now = nil
	if err := db.Open(); err == nil {
		t.Error("Open with no clock: no error")
	}
	if err := db.Close(); err != nil {
		t.Errorf("Close of a DB that did not open: %v", err)
	}
}

// TestOrderIgnoresLocale runs on a database whose default collation is ICU's en-US,
// which sorts '_' before '-' before '.' (bytes sort '-', '.', '_'): names still list in byte
// order, as the sqlite store lists them, because the schema declares them "C".
func TestOrderIgnoresLocale(t *testing.T) {
	db := NewDB(newTestDatabaseWith(t, "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'"))
	if err := db.Open(); err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	ctx := t.Context()
	m := &joule.Manifest{}
	for _, name := range []string{"a.b", "a_b", "a-b"} {
		m.Sites = append(m.Sites, &joule.Site{Name: name, PowerCapW: 1000, PUE: 1.1,
			Energy: joule.EnergyPriceModel{Kind: joule.EnergyFixed, FixedUSDPerMWh: 45}})
	}
	if _, err := NewManifestService(db).Apply(ctx, m); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	sites, err := NewSiteService(db).Sites(ctx)
	if err != nil {
		t.Fatalf("Sites: %v", err)
	}
	var got []string
	for _, s := range sites {
		got = append(got, s.Name)
	}
	if want := []string{"a-b", "a.b", "a_b"}; !slices.Equal(got, want) {
		t.Errorf("sites in order %q, want byte order %q", got, want)
	}
	// The locale itself sorts otherwise, or the test proves nothing.
	tx, err := db.beginRead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.rollback(ctx)
	var first string
	if err := tx.queryRow(ctx, `SELECT n FROM unnest(ARRAY['a.b', 'a_b', 'a-b']) AS n ORDER BY n COLLATE "default" LIMIT 1`).Scan(&first); err != nil {
		t.Fatal(err)
	}
	if first == "a-b" {
		t.Errorf("the database's own collation sorts %q first, as bytes do: it is not the locale the test needs", first)
	}
}
