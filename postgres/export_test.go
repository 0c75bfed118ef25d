package postgres

import "context"

// HoldWriteLock begins a write transaction and leaves it idle, holding the write lock,
// until release: a writer paused halfway. The server may end it first
// (DB.IdleTxTimeout).
func (db *DB) HoldWriteLock(ctx context.Context) (release func(), err error) {
	t, err := db.beginLocked(ctx)
	if err != nil {
		return nil, err
	}
	return func() { t.rollback(ctx) }, nil
}
