package sqlite

import (
	"context"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
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

// 0007 builds the accounts table again for the viewer and agent roles: the accounts a
// store held before keep their tokens, the rows that name them keep naming them, and
// the other tables' foreign keys still point at accounts.
func TestRolesMigrationKeepsAccounts(t *testing.T) {
	ctx := context.Background()
	// A store as release 0006 left it.
	path := filepath.Join(t.TempDir(), "v6.db")
	v6 := openAt(t, path, 6)
	hash := strings.Repeat("ab", 32)
	for _, q := range []string{
		`INSERT INTO accounts (id, name, role, token_hash, created_at) VALUES ('acme', 'Acme', 'tenant', '` + hash + `', '2025-01-01T00:00:00Z')`,
		`INSERT INTO products (id, model, site, gpus_per_node) VALUES ('h100@west', 'h100', 'west', 8)`,
		`INSERT INTO listings (product, seller, servers, start_at, ask) VALUES ('h100@west', 'acme', 1, '2025-01-01T00:00:00Z', 1)`,
	} {
		if _, err := v6.db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := v6.Close(); err != nil {
		t.Fatal(err)
	}

	db := mustOpen(t, path, time.Now())
	s := NewLeasingStore(db)
	a, err := s.AccountByTokenHash(ctx, hash, time.Now())
	if err != nil || a.ID != "acme" || a.Role != joule.RoleTenant || a.Site != "" {
		t.Fatalf("the tenant after the migration: %+v, %v", a, err)
	}
	var fk string
	if err := db.db.QueryRowContext(ctx, `SELECT "table" FROM pragma_foreign_key_list('listings') WHERE "from" = 'seller'`).Scan(&fk); err != nil || fk != "accounts" {
		t.Errorf("listings.seller references %q (%v), want accounts", fk, err)
	}
	rows, err := db.db.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		t.Fatal(err)
	}
	if rows.Next() {
		t.Error("foreign keys broken after the migration")
	}
	rows.Close()
	if _, err := db.db.ExecContext(ctx, `DELETE FROM accounts WHERE id = 'acme'`); err == nil {
		t.Error("an account a listing names was deleted: the foreign key no longer holds")
	}
	if _, err := db.db.ExecContext(ctx, `INSERT INTO accounts (id, name, role, site, created_at) VALUES ('west-agent', 'west agent', 'agent', 'west', '2025-01-01T00:00:00Z')`); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Account(ctx, "west-agent"); err != nil || got.Site != "west" || got.Role != joule.RoleAgent {
		t.Errorf("the agent read back: %+v, %v", got, err)
	}
	if _, err := db.db.ExecContext(ctx, `INSERT INTO accounts (id, name, role, created_at) VALUES ('x', 'x', 'agent', '2025-01-01T00:00:00Z')`); err == nil {
		t.Error("an agent without a site was stored")
	}
}

// openAt opens a store at path with the schema as migration version left it: the
// migrations up to it and none after.
func openAt(t *testing.T, path string, version int) *DB {
	t.Helper()
	ms, err := readMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	old := fstest.MapFS{}
	for _, m := range ms {
		if m.version <= version {
			old["migrations/"+m.name] = &fstest.MapFile{Data: []byte(m.sql)}
		}
	}
	db := NewDB(path)
	db.schema = old
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	return db
}

// 0008 moves each account's one token into the tokens table, as its token "default"
// that never expires: a token issued before still authenticates, an account without
// one has none, and the accounts and what names them are kept.
func TestTokensMigrationKeepsTokens(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v7.db")
	v7 := openAt(t, path, 7)
	hash := joule.HashToken("jl_issued-by-release-7")
	for _, q := range []string{
		`INSERT INTO accounts (id, name, role, token_hash, created_at) VALUES ('acme', 'Acme', 'tenant', '` + hash + `', '2025-01-01T00:00:00Z')`,
		`INSERT INTO accounts (id, name, role, site, created_at) VALUES ('west-agent', 'west agent', 'agent', 'west', '2025-01-02T00:00:00Z')`,
		`INSERT INTO products (id, model, site, gpus_per_node) VALUES ('h100@west', 'h100', 'west', 8)`,
		`INSERT INTO listings (product, seller, servers, start_at, ask) VALUES ('h100@west', 'acme', 1, '2025-01-01T00:00:00Z', 1)`,
	} {
		if _, err := v7.db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := v7.Close(); err != nil {
		t.Fatal(err)
	}

	db := mustOpen(t, path, time.Now())
	s := NewLeasingStore(db)
	a, err := s.AccountByTokenHash(ctx, hash, time.Date(2125, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil || a.ID != "acme" || a.Role != joule.RoleTenant {
		t.Fatalf("the token of release 7, a century on: %+v, %v", a, err)
	}
	tokens, err := s.Tokens(ctx, "")
	if err != nil || len(tokens) != 1 {
		t.Fatalf("tokens after the migration: %+v, %v", tokens, err)
	}
	tok := tokens[0]
	if !joule.ValidTokenID(tok.ID) || tok.Account != "acme" || tok.Name != "default" || !tok.ExpiresAt.IsZero() || !tok.RevokedAt.IsZero() ||
		!tok.CreatedAt.Equal(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)) || tok.CreatedBy != "" {
		t.Errorf("the moved token: %+v", tok)
	}
	if got, err := s.Account(ctx, "west-agent"); err != nil || got.Site != "west" {
		t.Errorf("the agent after the migration: %+v, %v", got, err)
	}
	var n int
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('accounts') WHERE name = 'token_hash'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("accounts still has token_hash (%d, %v)", n, err)
	}
	for table, column := range map[string]string{"listings": "seller", "tokens": "account"} {
		var fk string
		if err := db.db.QueryRowContext(ctx, `SELECT "table" FROM pragma_foreign_key_list(?) WHERE "from" = ?`, table, column).Scan(&fk); err != nil || fk != "accounts" {
			t.Errorf("%s.%s references %q (%v), want accounts", table, column, fk, err)
		}
	}
	if _, err := db.db.ExecContext(ctx, `DELETE FROM accounts WHERE id = 'acme'`); err == nil {
		t.Error("an account a token names was deleted: the foreign keys no longer hold")
	}
	// The revoked token is refused, saying so.
	if _, err := s.RevokeToken(ctx, tok.ID, time.Now(), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AccountByTokenHash(ctx, hash, time.Now()); joule.ErrorCode(err) != joule.EUNAUTHORIZED {
		t.Errorf("the moved token after its revocation: %v, want unauthorized", err)
	}
}
