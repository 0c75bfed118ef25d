package http_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/joule-site/joule"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/sqlite"
)

// replicaState is a Replica whose standing the test sets.
type replicaState struct {
	mu sync.Mutex
	l  joule.Leadership
}

func (r *replicaState) Leadership() joule.Leadership {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.l
}

func (r *replicaState) set(l joule.Leadership) {
	r.mu.Lock()
	r.l = l
	r.mu.Unlock()
}

// sendAs sends a request to s with the operator's token and returns the reply.
func sendAs(t *testing.T, s *jhttp.Server, method, path, body string, header ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL()+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+opToken(s))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// A follower answers the store's reads itself and sends writes and the exchange's
// routes to the leader, with the caller's token; with no leader known, or one that
// does not answer, or a request another replica sent on already, it answers 503.
func TestFollowerSendsWritesToTheLeader(t *testing.T) {
	type seen struct{ method, path, auth, forwarded string }
	var mu sync.Mutex
	var got []seen
	leader := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, seen{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("X-Joule-Forwarded")})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"from":"leader"}`))
	}))
	defer leader.Close()
	state := &replicaState{l: joule.Leadership{Role: joule.ReplicaFollower, Epoch: 3, LeaderURL: leader.URL}}
	follower := openServer(t, func(s *jhttp.Server, _ *sqlite.DB) { s.Replica = state })

	resp, body := sendAs(t, follower, "GET", "/healthz", "")
	var h struct {
		Status, Role, LeaderURL string
		Epoch                   int64
	}
	_ = json.Unmarshal([]byte(body), &h)
	if resp.StatusCode != 200 || h.Role != "follower" || h.Epoch != 3 || !strings.Contains(body, leader.URL) {
		t.Errorf("follower's /healthz: %d %s", resp.StatusCode, body)
	}
	if resp, body := sendAs(t, follower, "POST", "/api/v1/tenants", `{"id":"acme"}`); resp.StatusCode != http.StatusCreated || !strings.Contains(body, "leader") {
		t.Errorf("a write on the follower: %d %s, want the leader's answer", resp.StatusCode, body)
	}
	if resp, body := sendAs(t, follower, "GET", "/api/v1/orders", ""); resp.StatusCode != http.StatusCreated {
		t.Errorf("the exchange's orders on the follower: %d %s, want the leader's answer", resp.StatusCode, body)
	}
	if resp, body := sendAs(t, follower, "GET", "/api/v1/sites", ""); resp.StatusCode != http.StatusOK || strings.Contains(body, "leader") {
		t.Errorf("the sites on the follower: %d %s, want its own answer", resp.StatusCode, body)
	}
	mu.Lock()
	want := []seen{{"POST", "/api/v1/tenants", "Bearer " + opToken(follower), "1"}, {"GET", "/api/v1/orders", "Bearer " + opToken(follower), "1"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("the leader saw %+v, want %+v", got, want)
	}
	mu.Unlock()

	if resp, _ := sendAs(t, follower, "POST", "/api/v1/tenants", `{"id":"acme"}`, "X-Joule-Forwarded", "1"); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get(jhttp.LeaderHeader) != leader.URL {
		t.Errorf("a request sent on already: %d, leader %q; want 503 naming the leader", resp.StatusCode, resp.Header.Get(jhttp.LeaderHeader))
	}
	state.set(joule.Leadership{Role: joule.ReplicaFollower, Epoch: 3})
	if resp, body := sendAs(t, follower, "POST", "/api/v1/tenants", `{"id":"acme"}`); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a write with no leader known: %d %s, want 503 with Retry-After", resp.StatusCode, body)
	}
	state.set(joule.Leadership{Role: joule.ReplicaFollower, Epoch: 3, LeaderURL: deadURL(t)})
	if resp, body := sendAs(t, follower, "POST", "/api/v1/tenants", `{"id":"acme"}`); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a write with the leader gone: %d %s, want 503", resp.StatusCode, body)
	}
	// Leading, it answers itself.
	state.set(joule.Leadership{Role: joule.ReplicaLeader, Epoch: 4, LeaderURL: follower.URL()})
	if resp, body := sendAs(t, follower, "POST", "/api/v1/tenants", `{"id":"acme"}`); resp.StatusCode != http.StatusCreated || strings.Contains(body, `"from"`) {
		t.Errorf("a write on the leader: %d %s, want its own answer", resp.StatusCode, body)
	}
}
