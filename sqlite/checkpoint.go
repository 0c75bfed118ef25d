package sqlite

import (
	"context"
	"fmt"
	"os"
	"time"
)

// checkpointEvery is how often the background checkpointer copies the write-ahead log
// into the database file.
const checkpointEvery = 50 * time.Millisecond

// checkpointer runs WAL checkpoints in the background. SQLite's automatic checkpoint
// runs inside whichever commit crosses the WAL's size threshold, and that commit waits
// for the copy and its fsync: in leasing's BenchmarkSubmitOrder about one order in a
// hundred took 4 ms instead of 0.25 ms. A file DB turns the automatic checkpoint off
// and runs a passive one on a timer instead, which never blocks a writer; small and
// frequent, each copies little (the p99 of that benchmark fell to about 0.9 ms).
//
// A passive checkpoint copies only what no reader still needs, and the log starts over
// from its beginning only once a writer finds all of it copied with no reader in it.
// Under steady writes with readers always somewhere in the log, that moment never
// comes, and the log grows by every commit (to 17.1 MiB for 8 MiB of rows written,
// in TestWALStaysBoundedUnderWritesAndReads without the bound). So a commit that finds
// the log past the DB's limit (DefaultWALLimit) runs a truncating checkpoint itself,
// after its own commit: it holds new writers back until the readers in the log have
// moved on (at most walTruncateWait), copies what is left and empties the file. The
// log then stays under the limit plus what commits while that runs; journal_size_limit
// trims a log that started over by itself back to the limit, too.
type checkpointer struct {
	stop chan struct{}
	done chan struct{}
}

// DefaultWALLimit is the size in bytes past which a commit empties the write-ahead
// log (see checkpointer).
const DefaultWALLimit = 16 << 20

// walTruncateWait is how long a truncating checkpoint waits for readers to leave the
// log; a read that takes longer makes it give up, and the log grows by a quarter of
// the limit before the next try.
const walTruncateWait = 500 * time.Millisecond

// walLimitBytes is the DB's limit on its log.
func (db *DB) walLimitBytes() int64 {
	if db.walLimit > 0 {
		return db.walLimit
	}
	return DefaultWALLimit
}

// boundWAL runs after every write transaction committed: if the log is past the
// limit (and past where a failed try put the next), it runs a truncating checkpoint.
// One runs at a time; commits that find one running go on, and wait only as its
// checkpoint holds new writers back.
func (db *DB) boundWAL() {
	if db.single {
		return
	}
	fi, err := os.Stat(db.DSN + "-wal")
	if err != nil {
		return
	}
	size, limit := fi.Size(), db.walLimitBytes()
	if size <= limit || size <= db.walRetryAt.Load() || !db.truncating.CompareAndSwap(false, true) {
		return
	}
	defer db.truncating.Store(false)
	if err := db.truncateWAL(context.Background()); err != nil {
		db.walRetryAt.Store(size + limit/4)
		return
	}
	db.walRetryAt.Store(0)
}

// truncateWAL runs a truncating checkpoint on a connection of its own, which waits
// walTruncateWait for readers instead of the store's busy timeout.
func (db *DB) truncateWAL(ctx context.Context) error {
	db.ckptMu.Lock() // a passive checkpoint running would make it fail at once
	defer db.ckptMu.Unlock()
	conn, err := db.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", walTruncateWait.Milliseconds())); err != nil {
		return err
	}
	defer conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", busyTimeout.Milliseconds()))
	var busy, log, copied int64
	if err := conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &log, &copied); err != nil {
		return err
	}
	if busy != 0 {
		return fmt.Errorf("truncate the log: readers stayed in it past %s", walTruncateWait)
	}
	return nil
}

func (db *DB) startCheckpointer() {
	c := &checkpointer{stop: make(chan struct{}), done: make(chan struct{})}
	db.ckpt = c
	sqldb := db.db
	go func() {
		defer close(c.done)
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-t.C:
				// A failed passive checkpoint (readers on old snapshots) is retried next time.
				db.ckptMu.Lock()
				_, _ = sqldb.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`)
				db.ckptMu.Unlock()
			}
		}
	}()
}

// stopCheckpointer stops the checkpointer and folds the whole log into the database
// file, so that a closed database is one file.
func (db *DB) stopCheckpointer() {
	if db.ckpt == nil {
		return
	}
	close(db.ckpt.stop)
	<-db.ckpt.done
	db.ckpt = nil
	_, _ = db.db.ExecContext(context.Background(), `PRAGMA wal_checkpoint(TRUNCATE)`)
}
