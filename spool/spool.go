// Package spool keeps an agent's audit rows on the agent's own disk while the server
// cannot take them: an append-only file of JSON lines (one joule.Audit a line), each
// append flushed to the disk (fsync) before it returns, so that a row written before a
// command went out to a device survives a crash of the agent or of its machine. The
// agent sends what the spool holds at its next step and then clears it; rows carry
// keys, so one sent twice (sent, then a crash before the clear) is stored once.
//
// One agent uses a spool at a time.
package spool

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/joule-site/joule"
)

// File is a spool on disk.
type File struct {
	path string

	mu   sync.Mutex
	f    *os.File
	size int64 // bytes of whole lines in the file
}

// Open opens the spool at path, creating it and its directory when missing. A last line
// cut short (a crash in the middle of an append) is dropped: that append never
// returned, so nothing was sent on the strength of it.
func Open(path string) (*File, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if os.IsNotExist(statErr) {
		syncDir(dir) // the new file's name is durable too
	}
	data, err := os.ReadFile(path)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("spool: %w", err)
	}
	whole := int64(bytes.LastIndexByte(data, '\n') + 1)
	if whole < int64(len(data)) {
		if err := truncate(f, whole); err != nil {
			f.Close()
			return nil, fmt.Errorf("spool: drop a torn last line: %w", err)
		}
	}
	return &File{path: path, f: f, size: whole}, nil
}

// Path is the spool's file.
func (s *File) Path() string { return s.path }

// Append adds rows at the end of the spool and returns once they are on disk. On an
// error none of them is kept.
func (s *File) Append(rows []*joule.Audit) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf) // one line per row
	for _, r := range rows {
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return fmt.Errorf("spool %s: closed", s.path)
	}
	if _, err := s.f.Write(buf.Bytes()); err != nil {
		_ = truncate(s.f, s.size) // leave whole lines only
		return fmt.Errorf("spool: %w", err)
	}
	if err := s.f.Sync(); err != nil {
		_ = truncate(s.f, s.size)
		return fmt.Errorf("spool: %w", err)
	}
	s.size += int64(buf.Len())
	return nil
}

// Pending returns every row the spool holds, oldest first. A line that does not decode
// (the disk damaged it) is skipped: it cannot be sent, and must not keep the others back.
func (s *File) Pending() ([]*joule.Audit, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil, fmt.Errorf("spool %s: closed", s.path)
	}
	data := make([]byte, s.size)
	if _, err := s.f.ReadAt(data, 0); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	var rows []*joule.Audit
	for line := range bytes.SplitSeq(data, []byte{'\n'}) {
		if len(line) == 0 {
			continue
		}
		var r joule.Audit
		if json.Unmarshal(line, &r) == nil {
			rows = append(rows, &r)
		}
	}
	return rows, nil
}

// Len is how many bytes of rows the spool holds: zero once it is drained.
func (s *File) Len() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.size
}

// Clear empties the spool, once the server has every row it held.
func (s *File) Clear() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return fmt.Errorf("spool %s: closed", s.path)
	}
	if err := truncate(s.f, 0); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	s.size = 0
	return nil
}

// Close closes the spool's file; what it holds stays for the next Open.
func (s *File) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

// truncate cuts f to size bytes, durably.
func truncate(f *os.File, size int64) error {
	if err := f.Truncate(size); err != nil {
		return err
	}
	return f.Sync()
}

// syncDir flushes a directory's entries to disk, where the system allows it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}
