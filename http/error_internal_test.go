package http

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
)

// An internal error is logged as an error, unless the client had gone away and the
// work was cut short by that: then it is logged as information.
func TestAbandonedRequestIsNotAnError(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	r := httptest.NewRequest("POST", "/api/v1/sites/a/audit", nil)
	writeError(httptest.NewRecorder(), r, log, errors.New("begin: disk on fire"))
	if !strings.Contains(buf.String(), "level=ERROR") {
		t.Errorf("an internal error: %q, want an ERROR line", buf.String())
	}
	buf.Reset()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	writeError(rec, r.WithContext(ctx), log, errors.New("begin: context canceled"))
	if strings.Contains(buf.String(), "level=ERROR") || !strings.Contains(buf.String(), "abandoned") || rec.Code != 500 {
		t.Errorf("an abandoned request: %q, status %d; want an INFO line and 500", buf.String(), rec.Code)
	}
}
