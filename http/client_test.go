package http_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule"
	jhttp "github.com/joule-site/joule/http"
)

// A server that sends an endless reply costs the client MaxReplyBytes, and an error
// that says so.
func TestClientBoundsTheReply(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"sites": [`))
		chunk := []byte(strings.Repeat(`{"name": "x"}, `, 1000))
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return // the client has stopped reading
			}
		}
	}))
	defer srv.Close()
	_, err := jhttp.NewClient(srv.URL).Sites(context.Background())
	if err == nil || !strings.Contains(err.Error(), "over "+strconv.Itoa(jhttp.MaxReplyBytes)+" bytes") {
		t.Fatalf("an endless reply: %v", err)
	}
}

// A server that never sends its reply's headers costs the client its Timeout, and an
// error that says so; a caller's own deadline takes the place of the Timeout.
func TestClientGivesUpOnASilentServer(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	c := jhttp.NewClient(srv.URL)
	c.Timeout = 100 * time.Millisecond
	_, err := c.Sites(context.Background())
	if joule.ErrorCode(err) != joule.EINTERNAL || err == nil || !strings.Contains(err.Error(), "did not answer GET /api/v1/sites within 100ms") {
		t.Fatalf("a silent server: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	c.Timeout = time.Hour // the caller's deadline rules
	if _, err := c.Sites(ctx); err == nil || ctx.Err() == nil {
		t.Fatalf("a silent server with the caller's deadline: %v", err)
	}
}
