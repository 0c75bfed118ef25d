package syncbuf_test

import (
	"testing"

	"github.com/joule-site/joule/syncbuf"
)

func TestChangedWakesAtTheNextWrite(t *testing.T) {
	var b syncbuf.Buffer
	changed := b.Changed()
	select {
	case <-changed:
		t.Fatal("woken before any write")
	default:
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = b.Write([]byte("ready\n"))
	}()
	<-changed
	<-done
	if b.String() != "ready\n" {
		t.Errorf("String() = %q", b.String())
	}
}
