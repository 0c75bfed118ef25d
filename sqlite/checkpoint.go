package sqlite

import (
	"context"
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
type checkpointer struct {
	stop chan struct{}
	done chan struct{}
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
				_, _ = sqldb.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`)
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
