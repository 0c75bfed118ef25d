package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/joule-site/joule"
)

// timeFormat stores times in UTC with nanoseconds at a fixed width, so stored times
// sort as they compare: the sqlite store's format, so rows copy between the two.
const timeFormat = "2006-01-02T15:04:05.000000000Z07:00"

// writeLock is the key of the transaction-scoped advisory lock every write
// transaction takes first: Joule's writers queue on it, one at a time, as they do on
// SQLite's database lock, so a read-then-write (an upsert, the next plan number) never
// races another process's.
const writeLock int64 = 0x6a6f756c65 // "joule"

// DB is a Joule database on PostgreSQL. Create it with NewDB, set its fields, then
// Open it.
type DB struct {
	pool *pgxpool.Pool

	// DSN is a PostgreSQL connection string: a URL (postgres://user@host/db) or
	// key=value pairs, as libpq takes them.
	DSN string

	// Now returns the current time; services stamp CreatedAt and UpdatedAt with it.
	// Tests replace it to control time.
	Now func() time.Time

	// IdleTxTimeout, when positive, ends a session of the pool that stays idle inside
	// a transaction longer than this (idle_in_transaction_session_timeout): a replica
	// that is paused halfway through a write cannot hold the write lock, and with it
	// the next leader's first write, past it. Set it before Open.
	IdleTxTimeout time.Duration

	// fenced and epoch are the fencing of Fence: while fenced, a write commits only in
	// the term of epoch, and none at all for epoch 0.
	fenced atomic.Bool
	epoch  atomic.Int64
}

// NewDB returns a DB for dsn that reads the system clock. It does not connect until
// Open.
func NewDB(dsn string) *DB {
	return &DB{DSN: dsn, Now: time.Now}
}

// Open connects to the database and applies the migrations it has not seen yet.
func (db *DB) Open() error {
	if db.DSN == "" {
		return fmt.Errorf("open postgres: dsn required")
	}
	if db.Now == nil {
		return fmt.Errorf("open postgres: Now is nil")
	}
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(db.DSN)
	if err != nil {
		return fmt.Errorf("open postgres: %w", err)
	}
	if db.IdleTxTimeout > 0 {
		cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] = strconv.FormatInt(db.IdleTxTimeout.Milliseconds(), 10)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("open postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return fmt.Errorf("open postgres: %w", err)
	}
	db.pool = pool
	if err := db.migrate(ctx, migrationFS); err != nil {
		pool.Close()
		db.pool = nil
		return fmt.Errorf("open postgres: %w", err)
	}
	return nil
}

// Close closes the connections. It is safe to call on a DB that failed to open.
func (db *DB) Close() error {
	if db.pool != nil {
		db.pool.Close()
		db.pool = nil
	}
	return nil
}

// tx is a transaction with the time it began, which every write in it stamps. Its
// methods map PostgreSQL's errors to Joule's codes (storeError).
type tx struct {
	pgx.Tx
	now time.Time
}

// beginWrite starts a transaction that holds the write lock from its first statement,
// so writers run one after the other, and, on a fenced DB, that is refused unless its
// writer leads the current term (fence).
func (db *DB) beginWrite(ctx context.Context) (*tx, error) {
	t, err := db.beginLocked(ctx)
	if err != nil {
		return nil, err
	}
	if err := db.fence(ctx, t); err != nil {
		t.rollback(ctx)
		return nil, err
	}
	return t, nil
}

// beginLocked starts a transaction that holds the write lock, with no fencing: for the
// migrations, which every replica applies before it campaigns, and the leadership's own
// change of term.
func (db *DB) beginLocked(ctx context.Context) (*tx, error) {
	t, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return nil, fmt.Errorf("begin: %w", storeError(err))
	}
	if _, err := t.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, writeLock); err != nil {
		t.Rollback(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("begin: take the write lock: %w", storeError(err))
	}
	return &tx{Tx: t, now: db.Now().UTC()}, nil
}

// beginRead starts a read-only transaction on one snapshot, which does not wait for
// writers.
func (db *DB) beginRead(ctx context.Context) (*tx, error) {
	t, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("begin: %w", storeError(err))
	}
	return &tx{Tx: t, now: db.Now().UTC()}, nil
}

// exec runs a statement in the transaction.
func (t *tx) exec(ctx context.Context, query string, args ...any) (pgconn.CommandTag, error) {
	tag, err := t.Exec(ctx, query, args...)
	return tag, storeError(err)
}

// query runs a query in the transaction.
func (t *tx) query(ctx context.Context, query string, args ...any) (pgx.Rows, error) {
	rows, err := t.Query(ctx, query, args...)
	return rows, storeError(err)
}

// queryRow runs a query of at most one row in the transaction; its errors, which come
// with Scan, are mapped too.
func (t *tx) queryRow(ctx context.Context, query string, args ...any) row {
	return row{t.QueryRow(ctx, query, args...)}
}

// row is a pgx.Row whose Scan maps the store's errors.
type row struct{ pgx.Row }

func (r row) Scan(dest ...any) error { return storeError(r.Row.Scan(dest...)) }

// commit commits the transaction.
func (t *tx) commit(ctx context.Context) error { return storeError(t.Commit(ctx)) }

// rollback ends the transaction unless it committed; it runs deferred, even after the
// caller's context is done.
func (t *tx) rollback(ctx context.Context) { t.Rollback(context.WithoutCancel(ctx)) }

// codeError is a PostgreSQL error as callers see it: a Joule error with a code they
// act on, with the driver's error kept in the chain for the log.
type codeError struct {
	code   *joule.Error
	driver error
}

func (e *codeError) Error() string   { return e.code.Message }
func (e *codeError) Unwrap() []error { return []error{e.code, e.driver} }

// storeError maps the PostgreSQL errors callers act on to Joule's codes, by SQLSTATE
// (never by text), as the sqlite store maps SQLite's: a unique violation is a conflict
// with what is stored; a check, foreign-key or not-null violation a value the store
// refuses; a full disk a write that wrote nothing and may be retried once there is
// room (EUNAVAILABLE, which the API answers with 503 and Retry-After). Any other error
// stays internal.
func storeError(err error) error {
	var pe *pgconn.PgError
	if _, done := errors.AsType[*codeError](err); done || !errors.As(err, &pe) {
		return err
	}
	var code *joule.Error
	switch pe.Code {
	case "23505": // unique_violation
		code = joule.Errorf(joule.ECONFLICT, "the store holds such a row already (%s)", pe.ConstraintName)
	case "23514", "23503", "23502": // check_violation, foreign_key_violation, not_null_violation
		code = joule.Errorf(joule.EINVALID, "the store refuses the value (%s)", constraintOrColumn(pe))
	case "53100": // disk_full
		code = errStoreFull
	default:
		return err
	}
	return &codeError{code: code, driver: err}
}

// constraintOrColumn names what a violation broke: its constraint, or the column of a
// not-null violation, which has none.
func constraintOrColumn(pe *pgconn.PgError) string {
	switch {
	case pe.ConstraintName != "":
		return pe.ConstraintName
	case pe.ColumnName != "":
		return pe.TableName + "." + pe.ColumnName
	default:
		return pe.Message
	}
}

// errStoreFull is what a write returns that found the disk full: nothing of its
// transaction was written, and the same write may succeed once there is room.
var errStoreFull = joule.Errorf(joule.EUNAVAILABLE, "the store is full (its disk): nothing was written; retry once there is room")

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

// insertRows runs head (an INSERT … VALUES ) for rows of equal length, in statements of
// at most 100 rows: one round trip to the server for what would be one per row.
func (t *tx) insertRows(ctx context.Context, head string, rows [][]any) error {
	const batch = 100
	for len(rows) > 0 {
		n := min(len(rows), batch)
		var q strings.Builder
		q.WriteString(head)
		args := make([]any, 0, n*len(rows[0]))
		for i, r := range rows[:n] {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(")
			for j, v := range r {
				if j > 0 {
					q.WriteString(", ")
				}
				args = append(args, v)
				fmt.Fprintf(&q, "$%d", len(args))
			}
			q.WriteString(")")
		}
		if _, err := t.exec(ctx, q.String(), args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}
