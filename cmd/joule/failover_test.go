package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	core "github.com/joule-site/joule"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/leasing"
	"github.com/joule-site/joule/pgtest"
	"github.com/joule-site/joule/postgres"
)

// The failover test, in the manner of Jepsen: three `joule serve` replicas on one real
// PostgreSQL, tenants placing random orders through all of them, the leader killed
// with SIGKILL at random moments and restarted as a follower, then paused with
// SIGSTOP past its lease and resumed; the stored history is checked afterwards.
const (
	failoverReplicas = 3
	failoverKills    = 10
	failoverTenants  = 4
	// failoverLease is the replicas' --leader-lease: a follower tries for the lock
	// every quarter of it.
	failoverLease = 2 * time.Second
)

// startCluster starts a private PostgreSQL for the test, or skips it without one
// (fails it on CI, JOULE_CI=1).
func startCluster(t *testing.T) *pgtest.Cluster {
	t.Helper()
	c, err := pgtest.Start(pgtest.Options{})
	if errors.Is(err, pgtest.ErrNoServer) {
		t.Skip(err.Error() + "; the replicas' failover test needs it")
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
	})
	return c
}

// server is one replica: its address stays the same across restarts.
type server struct {
	t    *testing.T
	n    int
	args []string
	url  string
	log  string // its standard error, every run appended

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

func (s *server) start() {
	s.t.Helper()
	f, err := os.OpenFile(s.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	cmd := exec.Command(joule, s.args...)
	cmd.Stderr, cmd.Stdout = f, f
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
}

// signal sends sig to the running process.
func (s *server) signal(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Errorf("replica %d: %s: %v", s.n, sig, err)
	}
}

// kill kills the process with SIGKILL and waits for it to be gone.
func (s *server) kill() {
	s.signal(syscall.SIGKILL)
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	<-done
}

// health is the replica's /healthz, or false when it does not answer.
func (s *server) health() (core.Leadership, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/healthz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return core.Leadership{}, false
	}
	defer resp.Body.Close()
	var h core.Leadership
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&h) != nil {
		return core.Leadership{}, false
	}
	return h, true
}

// until polls cond every 20 ms until it holds, or fails the test after within.
func until(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freeAddr returns a loopback address no one listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// freeAddrURL is the URL of an address no one listens on.
func freeAddrURL(t *testing.T) string { return "http://" + freeAddr(t) }

// acked is an order a replica acknowledged: its key, ID and the leases it made.
type acked struct {
	tenant, key, id string
	leases          []string
}

// tenantLoad places random orders as one tenant, each through a random replica, and
// retries an order that got no answer, or a 503, with the same idempotency key at
// another, until one answers.
type tenantLoad struct {
	id, token string
	urls      []string
	rng       *rand.Rand
	// client, when set, is one client of every replica (the CLI's and the agents'
	// --server a,b,c): it moves on by itself, and the tenant only retries what it
	// returns.
	client *jhttp.Client

	mu       sync.Mutex
	acked    []acked
	refused  map[string]int // by error code
	retries  int
	replayed int
}

func (l *tenantLoad) run(ctx context.Context, product string, t0 time.Time) {
	hour := t0.Truncate(time.Hour).Add(time.Hour)
	for n := 0; ctx.Err() == nil; n++ {
		req := jhttp.OrderRequest{IdempotencyKey: fmt.Sprintf("%s-%d", l.id, n), Product: product, LimitMicroUSDPerGPUHour: 3 * core.MicroUSDPerUSD}
		if l.rng.IntN(10) < 7 {
			req.Kind, req.GPUs = core.OrderReserved, 1+l.rng.IntN(16)
			req.Start = hour.Add(time.Duration(l.rng.IntN(48)) * time.Hour)
			req.End = req.Start.Add(time.Duration(1+l.rng.IntN(3)) * time.Hour)
		} else {
			req.Kind, req.GPUs = core.OrderOnDemand, 1+l.rng.IntN(2)
		}
		l.place(ctx, req)
		// Load, not synchronisation: a tenant thinks a little between orders.
		time.Sleep(time.Duration(20+l.rng.IntN(60)) * time.Millisecond)
	}
}

func (l *tenantLoad) place(ctx context.Context, req jhttp.OrderRequest) {
	deadline := time.Now().Add(time.Minute)
	for attempt := 0; time.Now().Before(deadline); attempt++ {
		c := l.client
		if c == nil {
			c = jhttp.NewClient(l.urls[l.rng.IntN(len(l.urls))])
			c.Token, c.Timeout = l.token, 3*time.Second
		}
		res, err := c.SubmitOrder(context.WithoutCancel(ctx), req)
		code := core.ErrorCode(err)
		switch {
		case err == nil:
			a := acked{tenant: l.id, key: req.IdempotencyKey, id: res.Order.ID}
			for _, ls := range res.Leases {
				a.leases = append(a.leases, ls.ID)
			}
			l.mu.Lock()
			l.acked = append(l.acked, a)
			if res.Replayed {
				l.replayed++
			}
			l.mu.Unlock()
			return
		case code == core.EUNAVAILABLE || code == core.EINTERNAL || code == core.ERATELIMIT:
			// No answer, a replica without a leader or a deposed one: nothing was done,
			// or it was and the same key finds it.
			l.mu.Lock()
			l.retries++
			l.mu.Unlock()
			if ctx.Err() != nil && attempt > 20 {
				return
			}
			time.Sleep(50 * time.Millisecond)
		default:
			l.mu.Lock()
			l.refused[code]++
			l.mu.Unlock()
			return
		}
	}
}

// TestFailover is the replicas' failover test (see the constants above): 0 orders
// lost, 0 duplicated, no GPU leased twice in an hour, the trial balance 0, the
// leader's memory equal to the stored journal, plans resumed after every failover, and
// a paused leader that resumes writes nothing.
func TestFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("the failover test runs three servers for about a minute")
	}
	cluster := startCluster(t)
	dsn := cluster.NewDatabase(t, "")
	dir := t.TempDir()
	ctx := context.Background()

	example, _ := filepath.Abs("../../examples/west-texas.yaml")
	if r := run(t, dir, "apply", "-f", example, "--db", dsn); r.code != 0 {
		t.Fatal(r.stderr)
	}
	// A replica on all interfaces must say where the others reach it.
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	out, err := exec.CommandContext(cctx, joule, "serve", "--db", dsn, "--addr", "0.0.0.0:0").CombinedOutput()
	cancel()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "give --advertise-url") {
		t.Errorf("serve on all interfaces without --advertise-url: %v\n%s", err, out)
	}

	loads := make([]*tenantLoad, failoverTenants)
	for i := range loads {
		var created struct{ Token string }
		jsonRun(t, dir, &created, "tenant", "create", fmt.Sprintf("tenant-%d", i), "--credit-usd", "10000000", "--json", "--db", dsn)
		loads[i] = &tenantLoad{id: fmt.Sprintf("tenant-%d", i), token: created.Token, rng: rand.New(rand.NewPCG(uint64(i), 14)), refused: map[string]int{}}
	}

	servers := make([]*server, failoverReplicas)
	var urls []string
	for i := range servers {
		addr := freeAddr(t)
		url := "http://" + addr
		servers[i] = &server{t: t, n: i, url: url, log: filepath.Join(dir, fmt.Sprintf("replica-%d.log", i)), args: []string{
			"serve", "--db", dsn, "--addr", addr, "--advertise-url", url, "--leader-lease", failoverLease.String(),
			"--dispatch-interval", "1s", "--exchange-tick", "1s", "--public-metrics", "--rate-limit", "10000",
		}}
		urls = append(urls, url)
		servers[i].start()
	}
	t.Cleanup(func() {
		for _, s := range servers {
			s.mu.Lock()
			_ = s.cmd.Process.Kill() // a stopped process too; one already gone returns an error
			done := s.done
			s.mu.Unlock()
			<-done
		}
		if t.Failed() {
			for _, s := range servers {
				b, _ := os.ReadFile(s.log)
				t.Logf("replica %d's log (last 4 kB):\n%s", s.n, tail(b, 4096))
			}
		}
	})
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	db := postgres.NewDB(dsn)
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// leader waits until exactly one replica says it leads, in an epoch after
	// `after`, and every other one that answers follows; it returns the leader.
	leader := func(after int64, within time.Duration) (*server, core.Leadership) {
		t.Helper()
		var found *server
		var lead core.Leadership
		until(t, within, fmt.Sprintf("a leader after epoch %d", after), func() bool {
			found = nil
			for _, s := range servers {
				h, ok := s.health()
				if ok && h.Role == core.ReplicaLeader && h.Epoch > after {
					if found != nil {
						return false
					}
					found, lead = s, h
				}
			}
			return found != nil
		})
		return found, lead
	}
	lastPlan := func() int64 {
		var seq int64
		if err := pool.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM plans`).Scan(&seq); err != nil {
			t.Fatal(err)
		}
		return seq
	}
	_, lead := leader(0, time.Minute)
	until(t, time.Minute, "every replica up", func() bool {
		for _, s := range servers {
			if _, ok := s.health(); !ok {
				return false
			}
		}
		return true
	})
	until(t, time.Minute, "the first plan", func() bool { return lastPlan() > 0 })

	loadCtx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	start := time.Now()
	loads[0].client = jhttp.NewClient(strings.Join(urls, ","))
	loads[0].client.Token, loads[0].client.Timeout = loads[0].token, 3*time.Second
	for _, l := range loads {
		l.urls = urls
		wg.Go(func() { l.run(loadCtx, "h100-sxm/west-texas", start) })
	}
	rng := rand.New(rand.NewPCG(14, 3))
	var failovers []time.Duration
	for kill := range failoverKills {
		// A random moment of load, then the leader dies. (A leader may also have lost
		// its lease on its own under load: the one that leads now is killed.)
		time.Sleep(time.Duration(200+rng.IntN(1300)) * time.Millisecond)
		cur, curLead := leader(lead.Epoch-1, 30*time.Second)
		lead = curLead
		plan := lastPlan()
		killed := time.Now()
		cur.kill()
		next, nextLead := leader(lead.Epoch, 30*time.Second)
		took := time.Since(killed)
		failovers = append(failovers, took)
		t.Logf("kill %d: replica %d (epoch %d) killed; replica %d leads epoch %d after %s", kill+1, cur.n, lead.Epoch, next.n, nextLead.Epoch, took.Round(time.Millisecond))
		until(t, 30*time.Second, fmt.Sprintf("a plan of epoch %d", nextLead.Epoch), func() bool { return lastPlan() > plan })
		cur.start()
		restarted := cur
		until(t, 30*time.Second, fmt.Sprintf("replica %d back, following", restarted.n), func() bool {
			h, ok := restarted.health()
			return ok && h.Role == core.ReplicaFollower && h.LeaderURL != ""
		})
		lead = nextLead
	}

	// Pause the leader past its lease: a follower takes over; resumed, the old leader
	// steps down and writes nothing.
	time.Sleep(time.Duration(200+rng.IntN(800)) * time.Millisecond)
	paused, pausedLead := leader(lead.Epoch-1, 30*time.Second)
	plan := lastPlan()
	stopped := time.Now()
	paused.signal(syscall.SIGSTOP)
	next, nextLead := leader(pausedLead.Epoch, 30*time.Second)
	pauseFailover := time.Since(stopped)
	until(t, 30*time.Second, fmt.Sprintf("a plan of epoch %d", nextLead.Epoch), func() bool { return lastPlan() > plan })
	terms, err := db.Terms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := termOf(t, terms, pausedLead.Epoch)
	// A write sent to the paused leader, which it finds when it wakes: the kernel
	// takes the connection and the request while the process is stopped.
	key := "to-the-paused-leader"
	conn, err := net.Dial("tcp", strings.TrimPrefix(paused.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := fmt.Sprintf(`{"idempotency_key":%q,"product":"h100-sxm/west-texas","kind":"on_demand","gpus":8,"limit_micro_usd_per_gpu_hour":3000000}`, key)
	if _, err := fmt.Fprintf(conn, "POST /api/v1/orders HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		strings.TrimPrefix(paused.url, "http://"), loads[0].token, len(body), body); err != nil {
		t.Fatal(err)
	}
	paused.signal(syscall.SIGCONT)
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the write sent to the paused leader: %v", err)
	}
	var answer struct {
		Order  struct{ ID string }
		Leases []struct{ ID string }
		Error  struct{ Code, Message string }
	}
	_ = json.NewDecoder(resp.Body).Decode(&answer)
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusOK:
		a := acked{tenant: loads[0].id, key: key, id: answer.Order.ID}
		for _, l := range answer.Leases {
			a.leases = append(a.leases, l.ID)
		}
		loads[0].acked = append(loads[0].acked, a)
	case resp.StatusCode != http.StatusServiceUnavailable:
		t.Errorf("the write sent to the paused leader: %s %s, want it done by the new leader or refused with 503", resp.Status, answer.Error.Code)
	}
	until(t, 30*time.Second, "the resumed leader to follow", func() bool {
		h, ok := paused.health()
		return ok && h.Role == core.ReplicaFollower && h.Epoch >= nextLead.Epoch
	})
	t.Logf("paused replica %d (epoch %d) with SIGSTOP; replica %d leads epoch %d after %s; the write sent to the paused leader: %s %s",
		paused.n, pausedLead.Epoch, next.n, nextLead.Epoch, pauseFailover.Round(time.Millisecond), resp.Status, answer.Error.Message)
	stopLoad()
	wg.Wait()
	final, finalLead := leader(nextLead.Epoch-1, 30*time.Second)
	if final != next {
		t.Logf("leadership moved again, to replica %d (epoch %d)", final.n, finalLead.Epoch)
	}

	// The paused leader's term wrote nothing once the next had begun.
	if terms, err = db.Terms(ctx); err != nil {
		t.Fatal(err)
	}
	after, newTerm := termOf(t, terms, pausedLead.Epoch), termOf(t, terms, nextLead.Epoch)
	if after.Writes != before.Writes || after.LastWriteAt.After(newTerm.BeganAt) {
		t.Errorf("epoch %d wrote after epoch %d began at %s: %d writes then, %d now, the last at %s",
			pausedLead.Epoch, nextLead.Epoch, newTerm.BeganAt, before.Writes, after.Writes, after.LastWriteAt)
	}
	for i := 1; i < len(terms); i++ {
		if terms[i-1].LastWriteAt.After(terms[i].BeganAt) {
			t.Errorf("epoch %d wrote at %s, after epoch %d began at %s", terms[i-1].Epoch, terms[i-1].LastWriteAt, terms[i].Epoch, terms[i].BeganAt)
		}
	}
	// What the resumed leader tried before it knew it was deposed, the store refused:
	// by the ended epoch, or (once it stepped down) as a follower's.
	refusedLog := countLines(t, paused.log, "has ended") + countLines(t, paused.log, "does not lead")

	// Every acknowledged order and lease is stored, once.
	var all []acked
	retries, replayed := 0, 0
	refused := map[string]int{}
	for _, l := range loads {
		all = append(all, l.acked...)
		retries += l.retries
		replayed += l.replayed
		for code, n := range l.refused {
			refused[code] += n
		}
	}
	checkStored(t, ctx, pool, all)
	checkCapacity(t, ctx, pool)

	// The stored history, loaded as a new leader would: no GPU leased twice in an
	// hour, every transaction balanced, the trial balance 0.
	stored, err := leasing.Load(ctx, postgres.NewLeasingStore(db), leasing.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := stored.Check(); err != nil {
		t.Errorf("the stored exchange: %v", err)
	}
	var trial int64
	if err := pool.QueryRow(ctx, `SELECT coalesce(sum(amount), 0) FROM ledger_postings`).Scan(&trial); err != nil {
		t.Fatal(err)
	}
	if trial != 0 {
		t.Errorf("the stored journal's trial balance is %d µUSD, not 0", trial)
	}
	// The leader's memory (its metrics) equals the journal as stored. Its clock may
	// move either between the two reads: they are read again until they agree.
	var mem, disk map[string]float64
	until(t, 30*time.Second, "the leader's exchange to equal the stored one", func() bool {
		mem = exchangeMetrics(t, final.url)
		s, err := leasing.Load(ctx, postgres.NewLeasingStore(db), leasing.Config{})
		if err != nil {
			t.Fatal(err)
		}
		disk = statsMetrics(s.Stats(time.Now()))
		return mapsEqual(mem, disk)
	})

	// The CLI, given every replica and one that is gone, reads from one that answers.
	var operator struct{ Token string }
	jsonRun(t, dir, &operator, "token", "create", "operator", "--json", "--db", dsn)
	if r := run(t, dir, "sites", "--server", freeAddrURL(t), "--server", strings.Join(urls, ","), "--token", operator.Token); r.code != 0 || !strings.Contains(r.stdout, "west-texas") {
		t.Errorf("joule sites against the replicas: exit %d: %s%s", r.code, r.stdout, r.stderr)
	}

	slices.Sort(failovers)
	t.Logf("%d kills: failover min %s, median %s, max %s; SIGSTOP past the %s lease: %s",
		len(failovers), failovers[0].Round(time.Millisecond), failovers[len(failovers)/2].Round(time.Millisecond),
		failovers[len(failovers)-1].Round(time.Millisecond), failoverLease, pauseFailover.Round(time.Millisecond))
	t.Logf("%d orders acknowledged (%d replayed by key), %d retried attempts, refused: %v; %d terms; the resumed leader logged %d writes refused by the fencing; the leader's exchange: %v",
		len(all), replayed, retries, refused, len(terms), refusedLog, mem)
	if len(all) < failoverKills {
		t.Errorf("only %d orders acknowledged under load", len(all))
	}
}

func termOf(t *testing.T, terms []postgres.Term, epoch int64) postgres.Term {
	t.Helper()
	for _, term := range terms {
		if term.Epoch == epoch {
			return term
		}
	}
	t.Fatalf("no term of epoch %d in %+v", epoch, terms)
	return postgres.Term{}
}

// checkStored checks that every acknowledged order is stored under its key with its
// ID, every acknowledged lease under its order, and that no key was stored twice.
func checkStored(t *testing.T, ctx context.Context, pool *pgxpool.Pool, all []acked) {
	t.Helper()
	rows, err := pool.Query(ctx, `SELECT id, account, idempotency_key FROM orders`)
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string][]string{}
	for rows.Next() {
		var id, account, key string
		if err := rows.Scan(&id, &account, &key); err != nil {
			t.Fatal(err)
		}
		if key != "" {
			byKey[account+"/"+key] = append(byKey[account+"/"+key], id)
		}
	}
	rows.Close()
	leaseOrder := map[string]string{}
	rows, err = pool.Query(ctx, `SELECT id, order_id FROM leases`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, order string
		if err := rows.Scan(&id, &order); err != nil {
			t.Fatal(err)
		}
		leaseOrder[id] = order
	}
	rows.Close()
	lost, twice, leasesLost, leases := 0, 0, 0, 0
	for k, ids := range byKey {
		if len(ids) > 1 {
			twice++
			t.Errorf("key %s stored as %d orders: %v", k, len(ids), ids)
		}
	}
	ackedID := map[string]string{}
	for _, a := range all {
		k := a.tenant + "/" + a.key
		if prev, ok := ackedID[k]; ok && prev != a.id {
			t.Errorf("key %s acknowledged as %s and as %s", k, prev, a.id)
		}
		ackedID[k] = a.id
		if ids := byKey[k]; len(ids) == 0 || ids[0] != a.id {
			lost++
			t.Errorf("acknowledged order %s (key %s) is not stored under its key: %v", a.id, k, ids)
		}
		for _, l := range a.leases {
			leases++
			if leaseOrder[l] != a.id {
				leasesLost++
				t.Errorf("acknowledged lease %s of order %s is stored under %q", l, a.id, leaseOrder[l])
			}
		}
	}
	t.Logf("stored history: %d orders acknowledged, %d lost, %d stored twice; %d leases acknowledged, %d lost", len(all), lost, twice, leases, leasesLost)
}

// checkCapacity checks, from the stored leases' shares, that no seller's GPUs of a
// product were leased twice in any hour: in every hour a share touches, the GPUs of all
// shares of the seller's listing add up to at most its servers' GPUs.
func checkCapacity(t *testing.T, ctx context.Context, pool *pgxpool.Pool) {
	t.Helper()
	capacity := map[string]int64{} // product/seller → GPUs
	rows, err := pool.Query(ctx, `SELECT l.product, l.seller, l.servers * p.gpus_per_node FROM listings l JOIN products p ON p.id = l.product`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var product, seller string
		var gpus int64
		if err := rows.Scan(&product, &seller, &gpus); err != nil {
			t.Fatal(err)
		}
		capacity[product+"/"+seller] = gpus
	}
	rows.Close()
	rows, err = pool.Query(ctx, `SELECT l.product, s.seller, s.gpus, s.start_at, s.end_at FROM lease_shares s JOIN leases l ON l.id = s.lease`)
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]map[time.Time]int64{}
	shares := 0
	for rows.Next() {
		var product, seller, start, end string
		var gpus int64
		if err := rows.Scan(&product, &seller, &gpus, &start, &end); err != nil {
			t.Fatal(err)
		}
		from, err1 := time.Parse(time.RFC3339Nano, start)
		to, err2 := time.Parse(time.RFC3339Nano, end)
		if err1 != nil || err2 != nil {
			t.Fatalf("share of %s times %q %q", product, start, end)
		}
		shares++
		k := product + "/" + seller
		if used[k] == nil {
			used[k] = map[time.Time]int64{}
		}
		for h := from.Truncate(time.Hour); h.Before(to); h = h.Add(time.Hour) {
			used[k][h] += gpus
		}
	}
	rows.Close()
	hours, over := 0, 0
	for k, byHour := range used {
		for h, gpus := range byHour {
			hours++
			if gpus > capacity[k] {
				over++
				t.Errorf("%s: %d GPUs leased in the hour of %s, of %d", k, gpus, h.Format(time.RFC3339), capacity[k])
			}
		}
	}
	t.Logf("capacity: %d lease shares over %d seller-hours, %d hours leased past capacity", shares, hours, over)
}

// exchangeMetrics reads the exchange's gauges from a replica's /metrics.
func exchangeMetrics(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "joule_exchange_") {
			continue
		}
		name, value, ok := strings.Cut(line, " ")
		if v, err := strconv.ParseFloat(value, 64); ok && err == nil {
			m[name] = v
		}
	}
	return m
}

// statsMetrics is Stats as the metrics name it.
func statsMetrics(st leasing.Stats) map[string]float64 {
	m := map[string]float64{
		"joule_exchange_gpus_leased":                float64(st.GPUsLeased),
		"joule_exchange_credit_held_micro_usd":      float64(st.CreditHeld),
		"joule_exchange_credit_available_micro_usd": float64(st.CreditAvailable),
	}
	for _, s := range []core.OrderStatus{core.OrderOpen, core.OrderPartiallyFilled} {
		m[fmt.Sprintf(`joule_exchange_orders{status=%q}`, s)] = float64(st.RestingOrders[s])
	}
	for _, s := range []core.LeaseStatus{core.LeaseActive, core.LeasePreempted} {
		m[fmt.Sprintf(`joule_exchange_leases{status=%q}`, s)] = float64(st.Leases[s])
	}
	return m
}

func mapsEqual(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func countLines(t *testing.T, path, substr string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), substr)
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
