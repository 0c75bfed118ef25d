// Package syncbuf is a buffer that one goroutine writes while another reads it: the
// output of a child process or a logger that a test waits on. Changed lets the reader
// wait for the next write instead of polling.
package syncbuf

import (
	"bytes"
	"sync"
)

// Buffer is a bytes.Buffer safe for one writer and many readers at once.
type Buffer struct {
	mu   sync.Mutex
	b    bytes.Buffer
	wake chan struct{}
}

// Write appends p and wakes the readers waiting on Changed.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.wake != nil {
		close(b.wake)
		b.wake = nil
	}
	return b.b.Write(p)
}

// String returns what has been written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Changed returns a channel closed at the next write. Take it before reading String,
// so that a write between the two is not missed.
func (b *Buffer) Changed() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.wake == nil {
		b.wake = make(chan struct{})
	}
	return b.wake
}
