package postgres_test

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/postgres"
)

// replica is one elector on a DB of its own, as one `joule serve` has, on a shared
// database: running tells whether its term's lead func runs now.
type replica struct {
	db      *postgres.DB
	elector *postgres.Elector
	cancel  context.CancelFunc
	done    chan struct{}

	mu      sync.Mutex
	running bool
	terms   []int64
}

func startReplica(t *testing.T, dsn, url string) *replica {
	t.Helper()
	db := postgres.NewDB(dsn)
	db.IdleTxTimeout = time.Second
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	r := &replica{db: db, done: make(chan struct{})}
	r.elector = &postgres.Elector{DB: db, URL: url, Lease: time.Second, Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() {
		defer close(r.done)
		_ = r.elector.Run(ctx, func(ctx context.Context, epoch int64) {
			r.mu.Lock()
			r.running, r.terms = true, append(r.terms, epoch)
			r.mu.Unlock()
			<-ctx.Done()
			r.mu.Lock()
			r.running = false
			r.mu.Unlock()
		})
	}()
	t.Cleanup(func() {
		r.stop()
		db.Close()
	})
	return r
}

// stop ends the replica's campaign (stepping down if it leads) and waits for it.
func (r *replica) stop() {
	r.cancel()
	<-r.done
}

func (r *replica) leading() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.running
}

// write saves an empty change of the exchange: one write transaction, which bumps the
// exchange's version.
func write(ctx context.Context, db *postgres.DB) error {
	s := postgres.NewLeasingStore(db)
	v, err := s.LeasingVersion(ctx)
	if err != nil {
		return err
	}
	_, err = s.SaveLeasing(ctx, &joule.LeasingChange{BaseVersion: v})
	return err
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestLeadership runs two electors on one database: exactly one leads and writes, the
// other's writes are refused; when the leader steps down the other leads in the next
// epoch, and a writer still fenced with the ended epoch (a leader that was paused and
// woke up) is refused and counted nowhere.
func TestLeadership(t *testing.T) {
	ctx := context.Background()
	dsn := postgres.NewTestDatabase(t)
	a := startReplica(t, dsn, "http://a")
	b := startReplica(t, dsn, "http://b")
	waitFor(t, "a leader", func() bool { return a.leading() != b.leading() })
	leader, follower := a, b
	if b.leading() {
		leader, follower = b, a
	}
	first := leader.elector.Leadership()
	if first.Role != joule.ReplicaLeader || first.Epoch != 1 {
		t.Fatalf("leader's leadership: %+v, want leader in epoch 1", first)
	}
	waitFor(t, "the follower to see the leader", func() bool { return follower.elector.Leadership().LeaderURL == leader.elector.URL })
	if got := follower.elector.Leadership(); got.Role != joule.ReplicaFollower || got.Epoch != 1 {
		t.Errorf("follower's leadership: %+v", got)
	}
	if err := write(ctx, leader.db); err != nil {
		t.Fatalf("the leader's write: %v", err)
	}
	if err := write(ctx, follower.db); joule.ErrorCode(err) != joule.EUNAVAILABLE {
		t.Fatalf("the follower's write: %v, want %s", err, joule.EUNAVAILABLE)
	}

	leader.stop()
	if leader.leading() {
		t.Fatal("the stopped replica still runs its term")
	}
	waitFor(t, "the follower to lead", follower.leading)
	if got := follower.elector.Leadership(); got.Epoch != 2 || got.LeaderURL != follower.elector.URL {
		t.Fatalf("new leader: %+v, want epoch 2 at %s", got, follower.elector.URL)
	}
	if err := write(ctx, follower.db); err != nil {
		t.Fatalf("the new leader's write: %v", err)
	}
	// The old leader woke up thinking it still leads epoch 1.
	leader.db.Fence(1)
	if err := write(ctx, leader.db); joule.ErrorCode(err) != joule.EUNAVAILABLE {
		t.Fatalf("the deposed leader's write: %v, want %s", err, joule.EUNAVAILABLE)
	}
	terms, err := follower.db.Terms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(terms) != 2 || terms[0].Epoch != 1 || terms[0].Writes != 1 || terms[1].Epoch != 2 || terms[1].Writes != 1 {
		t.Fatalf("terms: %+v, want epochs 1 and 2 with one write each", terms)
	}
	if !terms[0].LastWriteAt.Before(terms[1].BeganAt) && !terms[0].LastWriteAt.Equal(terms[1].BeganAt) {
		t.Errorf("epoch 1 wrote at %s, after epoch 2 began at %s", terms[0].LastWriteAt, terms[1].BeganAt)
	}
}

// TestLeadershipPausedHolder holds the write lock in a transaction left idle, as a
// leader paused halfway through a write leaves it, while its term's lock connection
// stays silent: the server ends both after the lease, and a new term begins.
func TestLeadershipPausedHolder(t *testing.T) {
	ctx := context.Background()
	dsn := postgres.NewTestDatabase(t)
	a := startReplica(t, dsn, "http://a")
	waitFor(t, "a to lead", a.leading)
	// A session of the same settings as a's pool, stuck in a transaction that holds the
	// write lock: the next term's begin must wait for it, then get past it.
	stuck := postgres.NewDB(dsn)
	stuck.IdleTxTimeout = time.Second
	if err := stuck.Open(); err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	release, err := stuck.HoldWriteLock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	b := startReplica(t, dsn, "http://b")
	a.stop()
	waitFor(t, "b to lead past the stuck writer", b.leading)
	if got := b.elector.Leadership().Epoch; got != 2 {
		t.Errorf("b leads epoch %d, want 2", got)
	}
}
