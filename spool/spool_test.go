package spool_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/spool"
)

func rows(keys ...string) []*joule.Audit {
	var out []*joule.Audit
	for _, k := range keys {
		out = append(out, &joule.Audit{Site: "west-texas", At: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), Kind: joule.AuditCommand,
			Seq: 7, Device: "127.0.0.2:4028", Outcome: joule.OutcomeOK, Detail: "sleep", Key: k})
	}
	return out
}

func keys(t *testing.T, s *spool.File) []string {
	t.Helper()
	got, err := s.Pending()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range got {
		out = append(out, r.Key)
	}
	return out
}

// Rows appended are pending in order, whole, across a reopen (a restart of the agent),
// until the spool is cleared.
func TestAppendPendingClear(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "joule", "agent.spool") // its directory is made
	s, err := spool.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(t, s); len(got) != 0 || s.Len() != 0 {
		t.Fatalf("a new spool holds %q", got)
	}
	if err := s.Append(rows("a/1/0", "a/1/1")); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(rows("a/2/0")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = spool.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if got := keys(t, s); !reflect.DeepEqual(got, []string{"a/1/0", "a/1/1", "a/2/0"}) {
		t.Errorf("after a reopen: %q", got)
	}
	got, _ := s.Pending()
	if want := rows("a/1/0")[0]; !reflect.DeepEqual(got[0], want) {
		t.Errorf("a row came back as %+v, want %+v", got[0], want)
	}
	if err := s.Clear(); err != nil {
		t.Fatal(err)
	}
	if got := keys(t, s); len(got) != 0 || s.Len() != 0 {
		t.Errorf("after Clear: %q, %d bytes", got, s.Len())
	}
	if info, err := os.Stat(path); err != nil || info.Size() != 0 {
		t.Errorf("the file after Clear: %v, %v", info, err)
	}
	if err := s.Append(rows("a/3/0")); err != nil {
		t.Fatal(err)
	}
	if got := keys(t, s); !reflect.DeepEqual(got, []string{"a/3/0"}) {
		t.Errorf("appended after Clear: %q", got)
	}
}

// A crash in the middle of an append leaves a torn last line: the spool drops it on
// open (that append never returned, so nothing was sent on it), and what is appended
// next is whole. A line the disk damaged is skipped, not the rest.
func TestTornTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.spool")
	s, err := spool.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Append(rows("a/1/0")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("not json\n" + `{"site":"west-texas","kind":"comm`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if s, err = spool.Open(path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Append(rows("a/2/0")); err != nil {
		t.Fatal(err)
	}
	if got := keys(t, s); !reflect.DeepEqual(got, []string{"a/1/0", "a/2/0"}) {
		t.Errorf("after a torn append: %q, want the whole rows", got)
	}
}

// A spool whose directory cannot be made says so.
func TestOpenFails(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := spool.Open(filepath.Join(file, "agent.spool")); err == nil {
		t.Error("a spool under a file opened")
	}
}
