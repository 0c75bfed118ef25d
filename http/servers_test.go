package http_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/joule-site/joule"
	jhttp "github.com/joule-site/joule/http"
)

// replicaStub answers every request with body, counting them.
func replicaStub(t *testing.T, body string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// deadURL is the URL of a port that was just listened on and closed: nothing answers.
func deadURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close()
	return url
}

// A client of several replicas moves past one that cannot be reached, for reads and
// writes alike (nothing was sent), and keeps to the one that answered.
func TestClientMovesToAReplicaThatAnswers(t *testing.T) {
	live, n := replicaStub(t, `{"sites":[]}`)
	dead := deadURL(t)
	c := jhttp.NewClient(dead + ", " + live.URL + "/")
	if _, err := c.Sites(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := c.Servers(); len(got) != 2 || got[0] != live.URL || got[1] != dead {
		t.Errorf("servers after the read: %v, want %s first", got, live.URL)
	}
	if _, err := c.CreateTenant(context.Background(), jhttp.TenantRequest{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	if n.Load() != 2 {
		t.Errorf("the live replica got %d requests, want 2", n.Load())
	}
	c2 := jhttp.NewClient(dead + "," + live.URL)
	if _, err := c2.CreateTenant(context.Background(), jhttp.TenantRequest{ID: "acme"}); err != nil {
		t.Errorf("a write past an unreachable replica: %v", err)
	}
}

// A follower's 503 that names the leader sends the request to the leader next.
func TestClientFollowsTheLeader(t *testing.T) {
	leader, atLeader := replicaStub(t, "{}")
	other, atOther := replicaStub(t, "{}")
	follower := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(jhttp.LeaderHeader, leader.URL)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"error":{"code":"unavailable","message":"this replica no longer leads"}}`))
	}))
	defer follower.Close()
	c := jhttp.NewClient(follower.URL + "," + other.URL + "," + leader.URL)
	if _, err := c.CreateTenant(context.Background(), jhttp.TenantRequest{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	if atLeader.Load() != 1 || atOther.Load() != 0 {
		t.Errorf("requests: %d at the leader, %d at the other follower; want 1 and 0", atLeader.Load(), atOther.Load())
	}
	// Every replica refusing: the last refusal, with its code.
	only := jhttp.NewClient(follower.URL)
	if _, err := only.CreateTenant(context.Background(), jhttp.TenantRequest{ID: "acme"}); joule.ErrorCode(err) != joule.EUNAVAILABLE {
		t.Errorf("a lone follower's refusal: %v", err)
	}
}

// A write whose connection drops after it was sent is not sent again (it may have
// been done); a read is.
func TestClientSendsAWriteOnce(t *testing.T) {
	second, n := replicaStub(t, `{"sites":[]}`)
	dropper := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	defer dropper.Close()
	c := jhttp.NewClient(dropper.URL + "," + second.URL)
	if _, err := c.CreateTenant(context.Background(), jhttp.TenantRequest{ID: "acme"}); err == nil {
		t.Fatal("a write whose answer was lost succeeded")
	}
	if n.Load() != 0 {
		t.Fatalf("the write was sent again, to the second replica")
	}
	c = jhttp.NewClient(dropper.URL + "," + second.URL)
	if _, err := c.Sites(context.Background()); err != nil {
		t.Fatalf("a read past a replica that drops it: %v", err)
	}
	if n.Load() != 1 {
		t.Errorf("the second replica got %d reads, want 1", n.Load())
	}
}

// While an election is under way every replica refuses: the client tries them again
// until one leads.
func TestClientWaitsOutAnElection(t *testing.T) {
	var refusals atomic.Int64
	refuse := func(w http.ResponseWriter) {
		refusals.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"error":{"code":"unavailable","message":"no replica leads now"}}`))
	}
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { refuse(w) }))
	defer a.Close()
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if refusals.Load() < 3 { // the first round and a half
			refuse(w)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	}))
	defer b.Close()
	c := jhttp.NewClient(a.URL + "," + b.URL)
	if _, err := c.CreateTenant(context.Background(), jhttp.TenantRequest{ID: "acme"}); err != nil {
		t.Fatalf("a write during an election: %v", err)
	}
	if got := c.Servers()[0]; got != b.URL {
		t.Errorf("the client keeps to %s, want the new leader %s", got, b.URL)
	}
}
