package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// walLoad writes rows of size bytes in transactions of one row each, n of them, while
// readers goroutines read in transactions that overlap one another, so that at no
// moment does the log go unread; it returns the largest size the log file had after
// a commit. Every reader has read before the first write and reads on until the last.
func walLoad(t *testing.T, db *DB, n, size, readers int) int64 {
	t.Helper()
	ctx := context.Background()
	if _, err := db.db.ExecContext(ctx, `CREATE TABLE wal_load (id INTEGER PRIMARY KEY, body BLOB NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var started, reads atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, readers)
	for range readers {
		wg.Go(func() {
			first := true
			for {
				select {
				case <-stop:
					return
				default:
				}
				tx, err := db.beginRead(ctx)
				if err != nil {
					errs <- err
					return
				}
				var count, last int64
				err = tx.QueryRowContext(ctx, `SELECT count(*), IFNULL(max(id), 0) FROM wal_load`).Scan(&count, &last)
				tx.Rollback()
				if err != nil {
					errs <- err
					return
				}
				if first {
					started.Add(1)
					first = false
				}
				reads.Add(1)
			}
		})
	}
	deadline := time.Now().Add(time.Minute)
	for started.Load() < int64(readers) {
		if time.Now().After(deadline) {
			t.Fatal("the readers did not start within a minute")
		}
		time.Sleep(time.Millisecond) // polling a condition, not waiting for time to pass
	}
	wal := db.DSN + "-wal"
	body := make([]byte, size)
	var largest int64
	for i := range n {
		tx, err := db.beginWrite(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.exec(ctx, `INSERT INTO wal_load (id, body) VALUES (?, ?)`, i+1, body); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(wal); err == nil {
			largest = max(largest, fi.Size())
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if reads.Load() < int64(readers) {
		t.Fatalf("%d reads", reads.Load())
	}
	var count int64
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM wal_load`).Scan(&count); err != nil || count != int64(n) {
		t.Fatalf("%d rows stored (%v), want %d", count, err, n)
	}
	return largest
}

// Under a steady stream of writes with readers always in the log, the log stays
// under its bound: the limit, plus what the writers commit while the truncating
// checkpoint waits for the readers to move on, plus a quarter of the limit for each
// try that fails because readers stayed longer than it waits (on a loaded machine):
// the bound allows a few. Without the bound
// the log grows with every write (no reader ever leaves it unread, so it never starts
// over): here to 17.1 MiB for 8 MiB of rows written, in 1,024 commits.
func TestWALStaysBoundedUnderWritesAndReads(t *testing.T) {
	const limit = 512 << 10
	const n, size, readers = 1024, 8 << 10, 4
	db := NewDB(filepath.Join(t.TempDir(), "joule.db"))
	db.walLimit = limit
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	largest := walLoad(t, db, n, size, readers)
	t.Logf("%d MiB written in %d commits; the log's largest size %.1f MiB", n*size>>20, n, float64(largest)/(1<<20))
	if bound := int64(3 * limit); largest > bound {
		t.Errorf("the log grew to %d bytes, over its bound of %d", largest, bound)
	}
}
