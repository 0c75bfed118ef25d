package sqlite

import (
	"context"
	"io/fs"
	"path/filepath"
	"reflect"
	"testing"
	"testing/fstest"
	"time"

	"github.com/joule-site/joule"
)

// applied is one row of schema_migrations.
type applied struct {
	Version   int
	Name      string
	AppliedAt string
}

func appliedMigrations(t *testing.T, db *DB) []applied {
	t.Helper()
	rows, err := db.db.Query(`SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatalf("query schema_migrations: %v", err)
	}
	defer rows.Close()
	var as []applied
	for rows.Next() {
		var a applied
		if err := rows.Scan(&a.Version, &a.Name, &a.AppliedAt); err != nil {
			t.Fatal(err)
		}
		as = append(as, a)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return as
}

func mustOpen(t *testing.T, dsn string, now time.Time) *DB {
	t.Helper()
	db := NewDB(dsn)
	db.Now = func() time.Time { return now }
	if err := db.Open(); err != nil {
		t.Fatalf("Open(%q): %v", dsn, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func pragma(t *testing.T, db *DB, name string) string {
	t.Helper()
	var v string
	if err := db.db.QueryRow(`PRAGMA ` + name).Scan(&v); err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

func TestMigrationsEmbedded(t *testing.T) {
	ms, err := readMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].name != "0001_init.sql" {
		t.Fatalf("embedded migrations start with %v, want 0001_init.sql", ms)
	}
	for i, m := range ms {
		if m.version != i+1 {
			t.Errorf("migration %s has version %d, want %d: versions are 1, 2, 3, … without gaps", m.name, m.version, i+1)
		}
	}
}

func TestReopenAppliesNothingNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "joule.db") // Open creates the directory
	first := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

	db := mustOpen(t, path, first)
	want := appliedMigrations(t, db)
	ms, _ := readMigrations(migrationFS)
	if len(want) != len(ms) {
		t.Fatalf("a new database recorded %d migrations, want %d", len(want), len(ms))
	}
	m := &joule.Manifest{Sites: []*joule.Site{{Name: "keep", PowerCapW: 1_000_000, PUE: 1.1,
		Energy: joule.EnergyPriceModel{Kind: joule.EnergyFixed, FixedUSDPerMWh: 50}}}}
	if _, err := NewManifestService(db).Apply(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = mustOpen(t, path, first.Add(24*time.Hour))
	if got := appliedMigrations(t, db); !reflect.DeepEqual(got, want) {
		t.Errorf("after re-open schema_migrations is %v, want %v", got, want)
	}
	site, err := NewSiteService(db).Site(context.Background(), "keep")
	if err != nil {
		t.Fatalf("the site did not survive re-open: %v", err)
	}
	if !site.CreatedAt.Equal(first) {
		t.Errorf("site created %v, want %v", site.CreatedAt, first)
	}
}

func TestFailedMigrationIsRolledBack(t *testing.T) {
	db := mustOpen(t, filepath.Join(t.TempDir(), "joule.db"), time.Now())
	before := appliedMigrations(t, db)
	init, err := fs.ReadFile(migrationFS, "migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	broken := fstest.MapFS{
		"migrations/0001_init.sql":   {Data: init},
		"migrations/0099_broken.sql": {Data: []byte("CREATE TABLE half_done (x INTEGER);\nTHIS IS NOT SQL;")},
	}
	if err := db.migrate(context.Background(), broken); err == nil {
		t.Fatal("a broken migration applied without error")
	}
	if got := appliedMigrations(t, db); !reflect.DeepEqual(got, before) {
		t.Errorf("schema_migrations is %v after a failed migration, want %v", got, before)
	}
	var n int
	if err := db.db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = 'half_done'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Error("the failed migration left its first statement's table behind")
	}
}

func TestBadMigrationNames(t *testing.T) {
	for _, name := range []string{"init.sql", "0000_zero.sql", "x1_init.sql"} {
		fsys := fstest.MapFS{"migrations/" + name: {Data: []byte("SELECT 1;")}}
		if _, err := readMigrations(fsys); err == nil {
			t.Errorf("readMigrations accepted %s", name)
		}
	}
	dup := fstest.MapFS{"migrations/0001_a.sql": {}, "migrations/1_b.sql": {}}
	if _, err := readMigrations(dup); err == nil {
		t.Error("readMigrations accepted two migrations with version 1")
	}
}

func TestPragmas(t *testing.T) {
	tests := []struct {
		name        string
		dsn         string
		journalMode string
	}{
		{"file", filepath.Join(t.TempDir(), "joule.db"), "wal"},
		{"memory", MemoryDSN, "memory"}, // an in-memory database has no WAL
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := mustOpen(t, tt.dsn, time.Now())
			if got := pragma(t, db, "journal_mode"); got != tt.journalMode {
				t.Errorf("journal_mode = %q, want %q", got, tt.journalMode)
			}
			if got := pragma(t, db, "foreign_keys"); got != "1" {
				t.Errorf("foreign_keys = %q, want 1", got)
			}
			if got := pragma(t, db, "busy_timeout"); got != "10000" {
				t.Errorf("busy_timeout = %q, want 10000", got)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	for _, dsn := range []string{"", filepath.Join(t.TempDir(), "a?b.db")} {
		db := NewDB(dsn)
		if err := db.Open(); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", dsn)
		}
		if err := db.Close(); err != nil {
			t.Errorf("Close after a failed Open: %v", err)
		}
	}
}
