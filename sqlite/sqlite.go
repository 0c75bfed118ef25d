// Package sqlite speaks SQLite: it is Joule's embedded default store, on the pure-Go
// driver modernc.org/sqlite. It implements the root services over one database file
// in WAL mode with foreign keys on, and migrates the schema itself on Open from the
// SQL files embedded under migrations/.
//
// Writers take the database lock when their transaction begins (BEGIN IMMEDIATE) and
// wait up to a busy timeout for it, so concurrent writers queue instead of failing
// halfway with SQLITE_BUSY. A write that finds no room (SQLITE_FULL: a full disk) fails
// whole with EUNAVAILABLE, to be retried, rather than as an internal error.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sqlitedrv "modernc.org/sqlite" // registers the "sqlite" database/sql driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/joule-site/joule"
)

// MemoryDSN is the DSN of a private in-memory database, for tests and demos. Its data
// lives as long as the DB is open.
const MemoryDSN = ":memory:"

// busyTimeout is how long a connection waits for another one's write lock before it
// gives up with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// maxIdleConns is how many connections a file DB keeps open between uses.
const maxIdleConns = 32

// timeFormat stores times in UTC with nanoseconds at a fixed width, so stored times
// sort as they compare.
const timeFormat = "2006-01-02T15:04:05.000000000Z07:00"

// DB is a Joule database on SQLite. Create it with NewDB, set its fields, then Open it.
type DB struct {
	db    *sql.DB
	stmts sync.Map // query → *sql.Stmt, prepared once (see prepared)
	// wdb is the one connection write transactions take (file DBs; nil on ":memory:"):
	// writers queue for it in Go rather than in SQLite's busy handler, which sleeps in
	// steps of milliseconds, and its page cache stays warm with the pages they change.
	wdb    *sql.DB
	wstmts sync.Map // wdb's prepared statements
	single bool     // one connection (":memory:"): statements are not cached
	ckpt   *checkpointer
	// schema is the migrations Open applies; nil: the embedded ones. Tests set it to
	// build a store as an older release left it.
	schema fs.FS
	// walLimit is the size in bytes past which a commit folds the write-ahead log back
	// into the database file and truncates it; 0: DefaultWALLimit. Tests lower it.
	walLimit int64
	// truncating is set while a commit empties the log; walRetryAt is the log's size
	// below which, after a try that failed, no commit tries again.
	truncating atomic.Bool
	walRetryAt atomic.Int64
	ckptMu     sync.Mutex // one checkpoint at a time: the background one or a truncation
	// maxPages is the cap LimitPages set, which every write transaction applies to its
	// connection; 0: never set.
	maxPages atomic.Int64

	// DSN is a file path or MemoryDSN. A file and its parent directory are created
	// when missing. The path must not contain '?'.
	DSN string

	// Now returns the current time; services stamp CreatedAt and UpdatedAt with it.
	// Tests replace it to control time.
	Now func() time.Time
}

// NewDB returns a DB for dsn (a file path or MemoryDSN) that reads the system clock.
// It does not touch the database until Open.
func NewDB(dsn string) *DB {
	return &DB{DSN: dsn, Now: time.Now}
}

// Open opens the database and applies the migrations it has not seen yet.
func (db *DB) Open() error {
	if db.DSN == "" {
		return fmt.Errorf("open sqlite: dsn required")
	}
	if db.Now == nil {
		return fmt.Errorf("open sqlite: Now is nil")
	}
	// Busy timeout first: the pragmas after it may need to wait for another process.
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate") // read-only transactions still begin DEFERRED
	memory := db.DSN == MemoryDSN
	if !memory {
		if strings.Contains(db.DSN, "?") {
			return fmt.Errorf("open sqlite: path %q must not contain '?'", db.DSN)
		}
		if err := os.MkdirAll(filepath.Dir(db.DSN), 0o700); err != nil {
			return fmt.Errorf("open sqlite: %w", err)
		}
		q.Add("_pragma", "journal_mode(wal)")
		q.Add("_pragma", "synchronous(normal)")   // durable in WAL mode except on power loss
		q.Add("_pragma", "wal_autocheckpoint(0)") // checkpoints run in the background (checkpointer)
		q.Add("_pragma", fmt.Sprintf("journal_size_limit(%d)", db.walLimitBytes()))
	}
	sqldb, err := sql.Open("sqlite", db.DSN+"?"+q.Encode())
	if err != nil {
		return fmt.Errorf("open sqlite: %w", err)
	}
	if memory {
		// Every new connection to ":memory:" opens a new, empty database: keep exactly
		// one, forever. Callers queue for it, which also serializes writers.
		sqldb.SetMaxOpenConns(1)
		sqldb.SetMaxIdleConns(1)
		sqldb.SetConnMaxLifetime(0)
		sqldb.SetConnMaxIdleTime(0)
	} else {
		// A new connection parses the whole schema and prepares its statements again:
		// with database/sql's two idle connections, a server answering 16 requests at
		// once opened and closed connections all the time, and spent a fifth of its CPU
		// in SQLite's parser (BenchmarkOrderToLeaseHTTP). Keep enough of them.
		sqldb.SetMaxIdleConns(maxIdleConns)
	}
	db.db, db.single = sqldb, memory
	schema := db.schema
	if schema == nil {
		schema = migrationFS
	}
	if err := db.migrate(context.Background(), schema); err != nil {
		sqldb.Close()
		db.db = nil
		return fmt.Errorf("open sqlite: %w", err)
	}
	if !memory {
		wdb, err := sql.Open("sqlite", db.DSN+"?"+q.Encode())
		if err != nil {
			sqldb.Close()
			db.db = nil
			return fmt.Errorf("open sqlite: %w", err)
		}
		wdb.SetMaxOpenConns(1)
		wdb.SetMaxIdleConns(1)
		wdb.SetConnMaxLifetime(0)
		wdb.SetConnMaxIdleTime(0)
		db.wdb = wdb
		db.startCheckpointer()
	}
	return nil
}

// Close closes the database. It is safe to call on a DB that failed to open.
func (db *DB) Close() error {
	if db.db == nil {
		return nil
	}
	db.stopCheckpointer()
	for _, m := range []*sync.Map{&db.stmts, &db.wstmts} {
		m.Range(func(k, v any) bool {
			v.(*sql.Stmt).Close()
			m.Delete(k)
			return true
		})
	}
	var err error
	if db.wdb != nil {
		err = db.wdb.Close()
		db.wdb = nil
	}
	if cerr := db.db.Close(); err == nil {
		err = cerr
	}
	db.db = nil
	return err
}

// prepared returns the statement of query, prepared once for the DB: database/sql
// keeps it prepared on each connection that ran it, so hot queries skip SQLite's
// parser.
func (db *DB) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	return preparedOn(ctx, db.db, &db.stmts, query)
}

// preparedOn returns the statement of query on pool, prepared once and kept in stmts.
func preparedOn(ctx context.Context, pool *sql.DB, stmts *sync.Map, query string) (*sql.Stmt, error) {
	if s, ok := stmts.Load(query); ok {
		return s.(*sql.Stmt), nil
	}
	s, err := pool.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := stmts.LoadOrStore(query, s); loaded {
		s.Close()
		return prev.(*sql.Stmt), nil
	}
	return s, nil
}

// tx is a transaction with the time it began, which every write in it stamps.
type tx struct {
	*sql.Tx
	db    *DB
	now   time.Time
	write bool      // began by beginWrite
	pool  *sql.DB   // the pool it runs on, whose statements it uses
	stmts *sync.Map // pool's prepared statements
	// unprepared are the queries a write transaction ran without a prepared statement:
	// its pool's one connection is the transaction's, so they are prepared on it once
	// the transaction has committed and let it go.
	unprepared []string
}

// statement returns the prepared statement of query for the transaction, or nil when
// the query is to run as it is: on a single-connection DB, and the first time a write
// transaction runs it (see unprepared).
func (t *tx) statement(ctx context.Context, query string) (*sql.Stmt, error) {
	if t.db.single {
		return nil, nil
	}
	if t.pool == t.db.wdb {
		if s, ok := t.stmts.Load(query); ok {
			return t.StmtContext(ctx, s.(*sql.Stmt)), nil
		}
		t.unprepared = append(t.unprepared, query)
		return nil, nil
	}
	s, err := preparedOn(ctx, t.pool, t.stmts, query)
	if err != nil {
		return nil, err
	}
	return t.StmtContext(ctx, s), nil
}

// exec runs a prepared statement of query in the transaction (see statement).
func (t *tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := t.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return t.ExecContext(ctx, query, args...)
	}
	res, err := s.ExecContext(ctx, args...)
	return res, storeError(err)
}

// query runs a prepared statement of query in the transaction (see statement).
func (t *tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := t.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return t.QueryContext(ctx, query, args...)
	}
	return s.QueryContext(ctx, args...)
}

// ExecContext runs a statement in the transaction (sql.Tx's), with SQLite's errors
// mapped by storeError.
func (t *tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := t.Tx.ExecContext(ctx, query, args...)
	return res, storeError(err)
}

// Commit commits the transaction (sql.Tx's), with SQLite's errors mapped by storeError.
// After a write it keeps the log within its bound (boundWAL).
func (t *tx) Commit() error {
	err := storeError(t.Tx.Commit())
	for _, q := range t.unprepared { // the connection is free again
		if _, err := preparedOn(context.Background(), t.pool, t.stmts, q); err != nil {
			break // prepared another time
		}
	}
	if err == nil && t.write {
		t.db.boundWAL()
	}
	return err
}

// beginWrite starts a transaction that holds the write lock from its first statement
// (BEGIN IMMEDIATE, set in the DSN), so it never fails to upgrade a read lock later.
func (db *DB) beginWrite(ctx context.Context) (*tx, error) {
	pool, stmts := db.db, &db.stmts
	if db.wdb != nil {
		pool, stmts = db.wdb, &db.wstmts
	}
	t, err := pool.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	if n := db.maxPages.Load(); n != 0 {
		if _, err := t.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", n)); err != nil {
			t.Rollback()
			return nil, fmt.Errorf("begin: cap the pages: %w", err)
		}
	}
	return &tx{Tx: t, db: db, now: db.Now().UTC(), write: true, pool: pool, stmts: stmts}, nil
}

// sqliteMaxPages is SQLite's own cap on a database's pages, which LimitPages(0)
// restores.
const sqliteMaxPages = 0xfffffffe

// LimitPages caps the database at n pages (SQLite's max_page_count; a page is 4 KiB
// unless the file says otherwise) from the next write transaction on; n <= 0 lifts the
// cap. A cap below the database's size holds it at that size. A write that needs more
// pages fails as it would on a full disk, with EUNAVAILABLE, and writes nothing. Tests
// use it to fill a store without filling a disk.
func (db *DB) LimitPages(n int64) {
	if n <= 0 {
		n = sqliteMaxPages
	}
	db.maxPages.Store(n)
}

// errStoreFull is what a write returns that found no room for its pages: the disk is
// full, or the database at its cap (LimitPages). Nothing of its transaction was
// written, and the same write may succeed once there is room: EUNAVAILABLE, which the
// API answers with 503 and Retry-After rather than as a failure of its own.
var errStoreFull = joule.Errorf(joule.EUNAVAILABLE, "the store is full (its disk, or its size cap): nothing was written; retry once there is room")

// fullError is SQLITE_FULL as callers see it: errStoreFull, with the driver's error
// kept in the chain.
type fullError struct{ driver error }

func (e *fullError) Error() string   { return errStoreFull.Message }
func (e *fullError) Unwrap() []error { return []error{errStoreFull, e.driver} }

// storeError maps the SQLite errors callers act on to Joule's codes: SQLITE_FULL, which
// SQLite also returns when a write finds the disk full (ENOSPC), to EUNAVAILABLE. An
// SQLITE_IOERR does not tell a full disk from a failing one, and stays internal.
func storeError(err error) error {
	var e *sqlitedrv.Error
	if _, done := errors.AsType[*fullError](err); done || !errors.As(err, &e) || e.Code()&0xff != sqlite3.SQLITE_FULL {
		return err
	}
	return &fullError{driver: err}
}

// beginRead starts a read-only transaction: a consistent snapshot that does not block
// writers in WAL mode.
func (db *DB) beginRead(ctx context.Context) (*tx, error) {
	t, err := db.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	return &tx{Tx: t, db: db, now: db.Now().UTC(), pool: db.db, stmts: &db.stmts}, nil
}

// insertRows runs head (an INSERT … VALUES ) for rows of equal length, in statements of
// at most 100 rows: one round through SQLite for what would be a statement per row.
func (t *tx) insertRows(ctx context.Context, head string, rows [][]any) error {
	const batch = 100
	for len(rows) > 0 {
		n := min(len(rows), batch)
		one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(rows[0])), ", ") + ")"
		q := head + strings.TrimSuffix(strings.Repeat(one+", ", n), ", ")
		args := make([]any, 0, n*len(rows[0]))
		for _, r := range rows[:n] {
			args = append(args, r...)
		}
		if _, err := t.exec(ctx, q, args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// formatTime formats t for storage.
func formatTime(t time.Time) string { return t.UTC().Format(timeFormat) }

// parseTime parses a stored time; it is always UTC.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}
