package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/joule-site/joule"
)

// leaderLock is the key of the session-level advisory lock the leader of the replicas
// holds on its own connection for as long as it leads.
const leaderLock int64 = 0x6a6f756c654c // "jouleL"

// DefaultLease is how long a leader that stops answering (paused, cut off) keeps the
// leadership: its lock connection is closed by the server after this long idle.
const DefaultLease = 10 * time.Second

// Fence makes every later write of db carry epoch: a write transaction commits only
// while epoch is the current term's, and counts itself in that term (leader_terms);
// for epoch 0 every write is refused, which is how a follower stays read-only. A DB
// that was never fenced writes without the check: one-shot commands and tests.
func (db *DB) Fence(epoch int64) {
	db.epoch.Store(epoch)
	db.fenced.Store(true)
}

// errNotLeader refuses a write on a replica that does not lead.
var errNotLeader = joule.Errorf(joule.EUNAVAILABLE, "this replica does not lead: nothing was written; send writes to the leader (see /healthz)")

// fence checks, inside write transaction t (which holds the write lock, so no change
// of term can come between the check and the commit), that the writer leads the
// current term, and counts the write in its term.
func (db *DB) fence(ctx context.Context, t *tx) error {
	if !db.fenced.Load() {
		return nil
	}
	epoch := db.epoch.Load()
	if epoch == 0 {
		return errNotLeader
	}
	tag, err := t.exec(ctx, `UPDATE leader_terms SET writes = writes + 1, last_write_at = $2
		WHERE epoch = $1 AND epoch = (SELECT epoch FROM leadership WHERE id = 1)`, epoch, formatTime(t.now))
	if err != nil {
		return fmt.Errorf("check the leader's epoch: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return joule.Errorf(joule.EUNAVAILABLE, "this replica's term (epoch %d) has ended: another replica leads now; nothing was written", epoch)
	}
	return nil
}

// Term is one leader's term as the store keeps it: its epoch, where its leader served,
// when it began, and how many write transactions it committed, the last at LastWriteAt.
type Term struct {
	Epoch       int64
	LeaderURL   string
	BeganAt     time.Time
	Writes      int64
	LastWriteAt time.Time
}

// Terms returns every term, oldest first.
func (db *DB) Terms(ctx context.Context) ([]Term, error) {
	rows, err := db.pool.Query(ctx, `SELECT epoch, leader_url, began_at, writes, last_write_at FROM leader_terms ORDER BY epoch`)
	if err != nil {
		return nil, fmt.Errorf("terms: %w", storeError(err))
	}
	defer rows.Close()
	var terms []Term
	for rows.Next() {
		var t Term
		var began, last string
		if err := rows.Scan(&t.Epoch, &t.LeaderURL, &began, &t.Writes, &last); err != nil {
			return nil, fmt.Errorf("terms: %w", err)
		}
		if t.BeganAt, err = parseTime(began); err != nil {
			return nil, err
		}
		if t.LastWriteAt, err = parseOptTime(last); err != nil {
			return nil, err
		}
		terms = append(terms, t)
	}
	return terms, rows.Err()
}

// Elector campaigns for the leadership of the replicas on one database and holds it:
// the leader holds a session-level advisory lock on a connection of its own, and each
// new leader bumps the epoch, under the write lock, before its first write (Fence).
//
// A leader that dies loses the lock at once, when its connection closes. One that is
// paused (SIGSTOP, a VM frozen, a cut network) loses it Lease after its last heartbeat:
// the lock connection is opened with idle_session_timeout = Lease and beats every
// Lease/4, so the server ends it, and frees the lock, once it stays silent longer; the
// pool's sessions end after Lease idle inside a transaction (DB.IdleTxTimeout), so a
// write it left half done does not hold the write lock either. A follower tries for the
// lock every Poll (one small query a second). A new leader is thus elected within
// Lease + Poll of a pause and within Poll of a death. The paused leader, when it wakes,
// finds its connection gone or its heartbeat late: it steps down at once, and whatever
// it tries to write before is refused by the epoch check.
type Elector struct {
	DB *DB
	// URL is where this replica serves, as others reach it (serve --advertise-url);
	// stored with its epoch when it leads, so followers can send writes there.
	URL string
	// Lease and Poll are as above; DefaultLease, and a second or Lease/4 if shorter,
	// when zero.
	Lease, Poll time.Duration
	Log         *slog.Logger

	state atomic.Pointer[joule.Leadership]
}

// Leadership returns where this replica stands, as it last knew.
func (e *Elector) Leadership() joule.Leadership {
	if l := e.state.Load(); l != nil {
		return *l
	}
	return joule.Leadership{Role: joule.ReplicaFollower}
}

func (e *Elector) set(role joule.ReplicaRole, epoch int64, url string) {
	e.state.Store(&joule.Leadership{Role: role, Epoch: epoch, LeaderURL: url})
}

func (e *Elector) lease() time.Duration {
	if e.Lease > 0 {
		return e.Lease
	}
	return DefaultLease
}

func (e *Elector) poll() time.Duration {
	if e.Poll > 0 {
		return e.Poll
	}
	return min(time.Second, e.lease()/4)
}

// Run campaigns until ctx ends. Each time this replica is elected it fences its DB
// with the new epoch and calls lead with a context that ends when the term does (the
// lock lost, or ctx done); lead must return once its context is done, and Run waits
// for it before it campaigns again or returns. When ctx ends while it leads, it stops
// lead first and then gives the lock up, so a follower takes over at once.
func (e *Elector) Run(ctx context.Context, lead func(ctx context.Context, epoch int64)) error {
	if e.Log == nil {
		e.Log = slog.New(slog.DiscardHandler)
	}
	e.DB.Fence(0)
	e.set(joule.ReplicaFollower, 0, "")
	for ctx.Err() == nil {
		conn, err := e.connect(ctx)
		if err != nil {
			e.Log.Warn("leadership: connect", "err", err)
			e.wait(ctx, e.poll())
			continue
		}
		err = e.campaign(ctx, conn, lead)
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		_ = conn.Close(closeCtx) // frees the lock, if it held it
		cancel()
		if err != nil && ctx.Err() == nil {
			e.Log.Warn("leadership", "err", err)
		}
	}
	e.set(joule.ReplicaFollower, e.Leadership().Epoch, "")
	return nil
}

// connect opens the dedicated connection, which the server closes after Lease idle.
func (e *Elector) connect(ctx context.Context) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(e.DB.DSN)
	if err != nil {
		return nil, err
	}
	cfg.RuntimeParams["idle_session_timeout"] = strconv.FormatInt(e.lease().Milliseconds(), 10)
	cfg.RuntimeParams["application_name"] = "joule leadership"
	cctx, cancel := context.WithTimeout(ctx, e.lease())
	defer cancel()
	return pgx.ConnectConfig(cctx, cfg)
}

// campaign tries for the lock every Poll on conn, reading who leads meanwhile, and
// leads while it holds it. It returns on an error of conn (after a term, if one began)
// or when ctx ends.
func (e *Elector) campaign(ctx context.Context, conn *pgx.Conn, lead func(context.Context, int64)) error {
	for {
		qctx, cancel := context.WithTimeout(ctx, e.lease())
		var got bool
		err := conn.QueryRow(qctx, `SELECT pg_try_advisory_lock($1)`, leaderLock).Scan(&got)
		if err == nil && got {
			err = e.term(ctx, conn, lead)
			cancel()
			return err
		}
		var epoch int64
		var url string
		if err == nil {
			err = conn.QueryRow(qctx, `SELECT epoch, leader_url FROM leadership WHERE id = 1`).Scan(&epoch, &url)
		}
		cancel()
		if err != nil {
			return err
		}
		e.set(joule.ReplicaFollower, epoch, url)
		if !e.wait(ctx, e.poll()) {
			return nil
		}
	}
}

// term begins a term on conn, which holds the lock, runs lead through it and ends it.
func (e *Elector) term(ctx context.Context, conn *pgx.Conn, lead func(context.Context, int64)) error {
	epoch, err := e.begin(ctx, conn)
	if err != nil {
		return fmt.Errorf("begin a term: %w", err)
	}
	e.DB.Fence(epoch)
	e.set(joule.ReplicaLeader, epoch, e.URL)
	e.Log.Info("leadership: leading", "epoch", epoch, "url", e.URL)
	termCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		lead(termCtx, epoch)
	}()
	err = e.heartbeat(ctx, conn, epoch)
	// Refuse writes first, then stop the leader's actors: whatever they still try is
	// refused here, and the store refuses it anyway once another term begins.
	e.DB.Fence(0)
	e.set(joule.ReplicaFollower, epoch, "")
	stop()
	<-done
	if err != nil {
		e.Log.Warn("leadership: deposed", "epoch", epoch, "err", err)
		return nil
	}
	uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	_, _ = conn.Exec(uctx, `SELECT pg_advisory_unlock($1)`, leaderLock)
	e.Log.Info("leadership: stepped down", "epoch", epoch)
	return nil
}

// begin bumps the epoch and records the new term, under the write lock: a write of
// the last term that already passed its check commits before, and none after.
func (e *Elector) begin(ctx context.Context, conn *pgx.Conn) (int64, error) {
	bctx, cancel := context.WithTimeout(ctx, 2*e.lease())
	defer cancel()
	t, err := conn.Begin(bctx)
	if err != nil {
		return 0, err
	}
	defer t.Rollback(context.WithoutCancel(ctx))
	if _, err := t.Exec(bctx, `SELECT pg_advisory_xact_lock($1)`, writeLock); err != nil {
		return 0, err
	}
	now := formatTime(e.DB.Now())
	var epoch int64
	if err := t.QueryRow(bctx, `UPDATE leadership SET epoch = epoch + 1, leader_url = $1, since = $2 WHERE id = 1 RETURNING epoch`,
		e.URL, now).Scan(&epoch); err != nil {
		return 0, err
	}
	if _, err := t.Exec(bctx, `INSERT INTO leader_terms (epoch, leader_url, began_at) VALUES ($1, $2, $3)`, epoch, e.URL, now); err != nil {
		return 0, err
	}
	return epoch, t.Commit(bctx)
}

// heartbeat keeps conn busy every Lease/4 until ctx ends (nil) or conn fails, or the
// epoch is no longer this term's (an error: the term is over). A beat that comes late
// by more than the lease (the process was paused) ends the term too, even if the
// server has not closed the connection yet: the lease is the bound the others count on.
func (e *Elector) heartbeat(ctx context.Context, conn *pgx.Conn, epoch int64) error {
	every := e.lease() / 4
	last := time.Now()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if late := time.Since(last); late > e.lease() {
			return fmt.Errorf("the last heartbeat was %s ago, past the lease of %s", late.Round(time.Millisecond), e.lease())
		}
		hctx, cancel := context.WithTimeout(ctx, every)
		var current int64
		err := conn.QueryRow(hctx, `SELECT epoch FROM leadership WHERE id = 1`).Scan(&current)
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			return err
		case current != epoch:
			return fmt.Errorf("epoch %d began", current)
		}
		last = time.Now()
	}
}

// wait waits d, and reports false when ctx ended first.
func (e *Elector) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
