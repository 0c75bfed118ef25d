package http_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/joule-site/joule"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/pgtest"
	"github.com/joule-site/joule/postgres"
)

// The load benchmarks run the exchange's server over HTTP on loopback on each store:
// order placement with and without concurrent readers, and order-to-lease beside the
// store's own bare commit rate, measured in the same run, so each figure is a ratio
// to the limit of the machine that runs it.

// pgBench is the PostgreSQL server the benchmarks run on, started on first use, with
// the durability a production server has (fsync on, synchronous commit).
var pgBench = pgtest.Shared{Options: pgtest.Options{Durable: true}}

func TestMain(m *testing.M) {
	code := m.Run()
	if err := pgBench.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "postgres:", err)
		code = max(code, 1)
	}
	os.Exit(code)
}

// benchStore is a store the load benchmarks run on: the services an exchange runs on,
// and a plain table beside them for the bare commit rate.
type benchStore struct {
	name string
	kit  func(testing.TB) storeKit
	bare func(testing.TB) bareStore
}

var benchStores = []benchStore{
	{"sqlite", sqliteKit, sqliteBare},
	{"postgres", postgresKit, postgresBare},
}

// postgresKit opens the store on a fresh database of pgBench.
func postgresKit(tb testing.TB) storeKit {
	tb.Helper()
	db := postgres.NewDB(pgBench.Database(tb))
	if err := db.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return storeKit{leasing: postgres.NewLeasingStore(db), sites: postgres.NewSiteService(db), fleets: postgres.NewFleetService(db),
		models: postgres.NewHardwareService(db), manifests: postgres.NewManifestService(db)}
}

// bareStore commits one small transaction: one row of an order's size inserted, with
// no Joule code between the benchmark and the driver.
type bareStore interface {
	commit(ctx context.Context, i int) error
}

const bareTable = `CREATE TABLE bare_orders (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, gpus INTEGER NOT NULL,
	start_at TEXT NOT NULL, end_at TEXT NOT NULL, price BIGINT NOT NULL)`

// sqliteBare opens a plain SQLite file beside the store's, with the store's durability
// settings: WAL, synchronous=NORMAL, writers taking the lock at BEGIN.
func sqliteBare(tb testing.TB) bareStore {
	tb.Helper()
	dsn := tb.TempDir() + "/bare.db?_pragma=busy_timeout(10000)&_pragma=journal_mode(wal)&_pragma=synchronous(normal)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if _, err := db.Exec(bareTable); err != nil {
		tb.Fatal(err)
	}
	ins, err := db.Prepare(`INSERT INTO bare_orders VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		tb.Fatal(err)
	}
	return sqliteBareStore{db, ins}
}

type sqliteBareStore struct {
	db  *sql.DB
	ins *sql.Stmt
}

func (s sqliteBareStore) commit(ctx context.Context, i int) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.StmtContext(ctx, s.ins).ExecContext(ctx, "o"+fmt.Sprint(i), "t01", 4, "2025-01-06T00:00:00Z", "2025-01-06T02:00:00Z", 3_000_000); err != nil {
		return err
	}
	return tx.Commit()
}

// postgresBare opens a plain table in a fresh database of pgBench, through pgx as the
// store does.
func postgresBare(tb testing.TB) bareStore {
	tb.Helper()
	pool, err := pgxpool.New(context.Background(), pgBench.Database(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	if _, err := pool.Exec(context.Background(), bareTable); err != nil {
		tb.Fatal(err)
	}
	return postgresBareStore{pool}
}

type postgresBareStore struct{ pool *pgxpool.Pool }

func (s postgresBareStore) commit(ctx context.Context, i int) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `INSERT INTO bare_orders VALUES ($1, $2, $3, $4, $5, $6)`, "o"+fmt.Sprint(i), "t01", 4,
		"2025-01-06T00:00:00Z", "2025-01-06T02:00:00Z", 3_000_000); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// bareRoundTrip is the floor of an order over HTTP with no Joule code: a plain net/http
// server on loopback that reads an order's JSON and answers with a body of a lease's
// size, and, given a bare store, commits the bare row first. Beside the bare commit
// rate it shows what loopback HTTP alone costs on the machine that runs it.
type bareRoundTrip struct {
	url    string
	client *http.Client
	body   []byte
}

func newBareRoundTrip(tb testing.TB, commit bareStore) *bareRoundTrip {
	tb.Helper()
	reply := bytes.Repeat([]byte{'x'}, 1500) // a reserved order's result with its lease and fill is about this size
	var seq atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var o jhttp.OrderRequest
		if err := json.NewDecoder(r.Body).Decode(&o); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if commit != nil {
			if err := commit.commit(r.Context(), 1<<30+int(seq.Add(1))); err != nil { // rows of its own, after the bare commits
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"order": o, "lease": string(reply)})
	}))
	tb.Cleanup(srv.Close)
	body, err := json.Marshal(jhttp.OrderRequest{IdempotencyKey: "bench", Product: "h100-sxm/west-texas", Kind: joule.OrderReserved, GPUs: 4,
		Start: time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC), End: time.Date(2025, 1, 6, 2, 0, 0, 0, time.UTC), LimitMicroUSDPerGPUHour: 3_000_000})
	if err != nil {
		tb.Fatal(err)
	}
	return &bareRoundTrip{url: srv.URL, client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512}}, body: body}
}

func (t *bareRoundTrip) do(int) error {
	req, err := http.NewRequest(http.MethodPost, t.url, bytes.NewReader(t.body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer bench")
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("bare round trip: %s", resp.Status)
	}
	return nil
}

// closedLoop runs do(i) for i in [from, from+n) from workers goroutines, each starting
// the next as soon as its last returned, and returns how many it ran a second.
func closedLoop(tb testing.TB, from, n, workers int, do func(i int) error) float64 {
	tb.Helper()
	var next atomic.Int64
	next.Store(int64(from))
	var failed atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= from+n {
					return
				}
				if err := do(i); err != nil {
					failed.Add(1)
					first.CompareAndSwap(nil, err)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if f := failed.Load(); f > 0 {
		tb.Fatalf("%d of %d failed; the first: %v", f, n, first.Load())
	}
	return float64(n) / elapsed.Seconds()
}

// openLoop starts do(i) for i in [from, from+n) at rate a second, each when it is due
// whether or not the ones before have returned, and returns each one's latency
// counted from when it was due (so a server that falls behind shows it), sorted.
func openLoop(tb testing.TB, from, n int, rate float64, do func(i int) error) []time.Duration {
	tb.Helper()
	latencies := make([]time.Duration, n)
	var failed atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	begin := time.Now()
	for k := range n {
		due := begin.Add(time.Duration(float64(k) / rate * float64(time.Second)))
		time.Sleep(time.Until(due))
		wg.Go(func() {
			if err := do(from + k); err != nil {
				failed.Add(1)
				first.CompareAndSwap(nil, err)
			}
			latencies[k] = time.Since(due)
		})
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		tb.Fatalf("%d of %d failed; the first: %v", f, n, first.Load())
	}
	slices.Sort(latencies)
	return latencies
}

// percentileMS is the p-th quantile of sorted latencies in milliseconds.
func percentileMS(sorted []time.Duration, p float64) float64 {
	return float64(sorted[min(len(sorted)-1, int(p*float64(len(sorted))))].Microseconds()) / 1000
}

// orderLoad is a set of tenants over one exchange server and the orders they place.
type orderLoad struct {
	x       *exchange
	clients []*jhttp.Client
	orders  []jhttp.OrderRequest
	leased  atomic.Int64
	wal     string       // the store's write-ahead log, if it has one
	walMax  atomic.Int64 // its largest size after an order, in bytes
}

// newOrderLoad creates tenants on a server over kit and n reserved orders for them:
// blocks of one 8-GPU server spread over 300 days of 32 servers, so nearly all fill.
func newOrderLoad(tb testing.TB, kit storeKit, tenants, n int) *orderLoad {
	tb.Helper()
	x := openExchangeOn(tb, kit, 1e9)
	transport := &http.Transport{MaxIdleConnsPerHost: 512, MaxConnsPerHost: 512}
	l := &orderLoad{x: x, wal: kit.wal}
	for i := range tenants {
		c := x.tenant(tb, fmt.Sprintf("t%02d", i), joule.MicroUSDFromUSD(1e9))
		c.HTTPClient = &http.Client{Transport: transport}
		l.clients = append(l.clients, c)
	}
	day := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	l.orders = make([]jhttp.OrderRequest, n)
	for i := range l.orders {
		start := day.Add(time.Duration(rng.IntN(300*24)) * time.Hour)
		l.orders[i] = jhttp.OrderRequest{IdempotencyKey: fmt.Sprintf("bench-%d", i), Product: "h100-sxm/west-texas", Kind: joule.OrderReserved,
			GPUs: 8, Start: start, End: start.Add(time.Duration(1+rng.IntN(4)) * time.Hour), LimitMicroUSDPerGPUHour: 3_000_000}
	}
	return l
}

// submit places order i from its tenant.
func (l *orderLoad) submit(i int) error {
	r, err := l.clients[i%len(l.clients)].SubmitOrder(context.Background(), l.orders[i])
	if err == nil && len(r.Leases) > 0 {
		l.leased.Add(1)
	}
	if l.wal != "" {
		if fi, serr := os.Stat(l.wal); serr == nil && fi.Size() > l.walMax.Load() {
			l.walMax.Store(fi.Size()) // a race between two writers only loses a sample
		}
	}
	return err
}

// reportWAL reports the largest size the write-ahead log had, on a store with one.
func (l *orderLoad) reportWAL(b *testing.B) {
	if l.wal != "" {
		b.ReportMetric(float64(l.walMax.Load())/(1<<20), "wal-max-MiB")
	}
}

// check fails tb unless the exchange's invariants hold after the load.
func (l *orderLoad) check(tb testing.TB) {
	tb.Helper()
	if err := l.x.svc.Check(); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkOrderToLeaseHTTP measures order-to-lease through the HTTP API on loopback
// on each store, beside that store's bare commit rate in the same run: b.N plain
// one-row transactions from 16 goroutines (bare-commits/s); then b.N reserved orders
// from 16 tenants, each as soon as its tenant's last came back with its lease
// (orders/s, and x-bare-commit: orders/s over bare-commits/s); then b.N more sent by an
// open-loop generator at half the bare commit rate, whose latencies count from when
// each order was due (p50-ms and p99-ms at half the bare rate; when the server cannot
// keep that pace the latency grows with the run, and shows it); then b.N more at half
// the rate the server reached (p99-ms at half its own).
func BenchmarkOrderToLeaseHTTP(b *testing.B) {
	const workers = 16
	for _, st := range benchStores {
		b.Run(st.name, func(b *testing.B) {
			ctx := context.Background()
			bare := st.bare(b)
			l := newOrderLoad(b, st.kit(b), workers, 3*b.N)
			b.ResetTimer()
			bareRate := closedLoop(b, 0, b.N, workers, func(i int) error { return bare.commit(ctx, i) })
			rtt := newBareRoundTrip(b, nil)
			rttRate := closedLoop(b, 0, b.N, workers, rtt.do)
			rttCommit := newBareRoundTrip(b, bare)
			rttCommitRate := closedLoop(b, b.N, b.N, workers, rttCommit.do)
			rate := closedLoop(b, 0, b.N, workers, l.submit)
			latencies := openLoop(b, b.N, b.N, bareRate/2, l.submit)
			own := openLoop(b, 2*b.N, b.N, rate/2, l.submit)
			b.StopTimer()
			b.ReportMetric(bareRate, "bare-commits/s")
			b.ReportMetric(rate, "orders/s")
			b.ReportMetric(rate/bareRate, "x-bare-commit")
			b.ReportMetric(rttRate, "bare-round-trips/s")
			b.ReportMetric(rttCommitRate, "bare-round-trip-commits/s")
			b.ReportMetric(rate/rttCommitRate, "x-bare-round-trip-commit")
			b.ReportMetric(percentileMS(latencies, 0.50), "p50-ms@half-bare")
			b.ReportMetric(percentileMS(latencies, 0.99), "p99-ms@half-bare")
			b.ReportMetric(percentileMS(own, 0.99), "p99-ms@half-own")
			b.ReportMetric(float64(l.leased.Load())/float64(3*b.N), "leased-frac")
			l.reportWAL(b)
			l.check(b)
		})
	}
}

// BenchmarkOrdersWithReaders measures order placement over HTTP on each store, from 4
// tenants placing reserved orders one after another, alone and while 64 readers, each
// as fast as its last reply comes, read their tenant's newest orders and leases (50 of
// each) and, as the operator, the sites through the API. The two alternate in four
// rounds of b.N/4 orders each (500 at least), so that a store that grows, or a machine
// whose other work comes and goes, weighs on both alike. It reports both rates, the
// reads a second while the readers ran, and with-readers/alone.
func BenchmarkOrdersWithReaders(b *testing.B) {
	const writers, readers, rounds = 4, 64, 4
	for _, st := range benchStores {
		b.Run(st.name, func(b *testing.B) {
			// A round shorter than a few hundred orders measures how the readers start
			// and stop more than how they run beside the writers.
			chunk := max(500, b.N/rounds)
			l := newOrderLoad(b, st.kit(b), writers, 2*rounds*chunk)
			op := l.x.client(l.x.opToken)
			op.HTTPClient = l.clients[0].HTTPClient
			var aloneTime, withTime, readTime time.Duration
			var reads int64
			b.ResetTimer()
			for round := range rounds {
				start := time.Now()
				closedLoop(b, 2*round*chunk, chunk, writers, l.submit)
				aloneTime += time.Since(start)

				n, took, rate := withReaders(b, l, op, readers, func() float64 {
					return closedLoop(b, (2*round+1)*chunk, chunk, writers, l.submit)
				})
				withTime += time.Duration(float64(chunk) / rate * float64(time.Second))
				reads, readTime = reads+n, readTime+took
			}
			b.StopTimer()
			alone := float64(rounds*chunk) / aloneTime.Seconds()
			with := float64(rounds*chunk) / withTime.Seconds()
			b.ReportMetric(alone, "orders/s-alone")
			b.ReportMetric(with, "orders/s-with-readers")
			b.ReportMetric(float64(reads)/readTime.Seconds(), "reads/s")
			b.ReportMetric(with/alone, "with-readers/alone")
			l.reportWAL(b)
			l.check(b)
		})
	}
}

// withReaders runs load while n readers read as fast as their replies come (their
// tenant's newest orders and leases, and as op the sites), all of them reading before
// load starts, and returns the reads made while it ran, how long that was, and what
// load returned.
func withReaders(b *testing.B, l *orderLoad, op *jhttp.Client, n int, load func() float64) (int64, time.Duration, float64) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var reads, readErrs atomic.Int64
	var firstErr atomic.Value
	var started atomic.Int64
	var wg sync.WaitGroup
	for r := range n {
		c := l.clients[r%len(l.clients)]
		wg.Go(func() {
			for k := r; ctx.Err() == nil; k++ {
				var err error
				switch k % 3 {
				case 0:
					_, err = c.Orders(ctx, jhttp.OrderQuery{Limit: 50})
				case 1:
					_, err = c.Leases(ctx, "", 50)
				default:
					_, err = op.Sites(ctx)
				}
				if err != nil && ctx.Err() == nil {
					readErrs.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
				if k == r {
					started.Add(1)
				}
				reads.Add(1)
			}
		})
	}
	waitUntil(b, time.Minute, "every reader read once", func() bool { return started.Load() == int64(n) })
	r0, t0 := reads.Load(), time.Now()
	out := load()
	got, took := reads.Load()-r0, time.Since(t0)
	cancel()
	wg.Wait()
	if k := readErrs.Load(); k > 0 {
		b.Fatalf("%d reads failed; the first: %v", k, firstErr.Load())
	}
	return got, took, out
}

// BenchmarkOrderPathCeiling measures, beside SQLite's bare commit rate in the same run,
// the order-to-lease rate the path leaves when the store's writes cost nothing: the
// same server, tenants and orders as BenchmarkOrderToLeaseHTTP, with SaveLeasing
// answering at once without writing once the tenants exist (x-bare-commit-no-writes).
// No store can make the path faster than this; it shows how much of the bare commit
// rate the HTTP, the matcher and the ledger alone leave on the machine that runs it.
func BenchmarkOrderPathCeiling(b *testing.B) {
	const workers = 16
	ctx := context.Background()
	bare := sqliteBare(b)
	kit := sqliteKit(b)
	skip := &skipWrites{LeasingStore: kit.leasing}
	kit.leasing = skip
	l := newOrderLoad(b, kit, workers, b.N)
	b.ResetTimer()
	bareRate := closedLoop(b, 0, b.N, workers, func(i int) error { return bare.commit(ctx, i) })
	if err := skip.start(ctx); err != nil {
		b.Fatal(err)
	}
	rate := closedLoop(b, 0, b.N, workers, l.submit)
	b.StopTimer()
	b.ReportMetric(bareRate, "bare-commits/s")
	b.ReportMetric(rate, "orders-no-writes/s")
	b.ReportMetric(rate/bareRate, "x-bare-commit-no-writes")
	b.ReportMetric(float64(l.leased.Load())/float64(b.N), "leased-frac")
}

// skipWrites is a leasing store whose saves, once started, change nothing and answer
// at once with the version they would have left.
type skipWrites struct {
	joule.LeasingStore
	mu      sync.Mutex
	on      bool
	version int64
}

func (s *skipWrites) start(ctx context.Context) error {
	v, err := s.LeasingStore.LeasingVersion(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.on, s.version = true, v
	return err
}

func (s *skipWrites) SaveLeasing(ctx context.Context, chs ...*joule.LeasingChange) (int64, error) {
	s.mu.Lock()
	on := s.on
	if on {
		s.version += int64(len(chs))
	}
	v := s.version
	s.mu.Unlock()
	if !on {
		return s.LeasingStore.SaveLeasing(ctx, chs...)
	}
	return v, nil
}

func (s *skipWrites) LeasingVersion(ctx context.Context) (int64, error) {
	s.mu.Lock()
	on, v := s.on, s.version
	s.mu.Unlock()
	if !on {
		return s.LeasingStore.LeasingVersion(ctx)
	}
	return v, nil
}
