package cgminer

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// request is a command as a test peer received it.
type request struct {
	Command   string // "summary", "version+summary+pools", "get_token"; "" for an encrypted request
	Parameter string
	Enc       string // base64 data of a Whatsminer encrypted request
	Text      bool   // sent in cgminer's text form
}

// peer is a miner on 127.0.0.1:0 for tests: each connection gets one request and the
// reply that handle returns, written in pieces of chunk bytes with or without NUL.
type peer struct {
	addr   string
	handle func(request) []byte
	nul    bool
	chunk  int

	mu   sync.Mutex
	seen []request
}

// startPeer listens on 127.0.0.1:0 and serves until the test ends.
func startPeer(t *testing.T, nul bool, chunk int, handle func(request) []byte) *peer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{addr: ln.Addr().String(), handle: handle, nul: nul, chunk: chunk}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { p.serve(conn) })
		}
	})
	return p
}

func (p *peer) serve(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	req, err := readRequest(conn)
	if err != nil {
		return
	}
	p.mu.Lock()
	p.seen = append(p.seen, req)
	p.mu.Unlock()
	reply := p.handle(req)
	if reply == nil {
		return // close without a reply
	}
	if p.nul {
		reply = append(bytes.Clone(reply), 0)
	}
	step := p.chunk
	if step <= 0 {
		step = len(reply)
	}
	for len(reply) > 0 {
		n := min(step, len(reply))
		if _, err := conn.Write(reply[:n]); err != nil {
			return
		}
		reply = reply[n:]
	}
}

// requests returns what the peer received so far.
func (p *peer) requests() []request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]request(nil), p.seen...)
}

// readRequest reads one request: a JSON object (read until it is complete) or a text
// command (one read).
func readRequest(conn net.Conn) (request, error) {
	var buf []byte
	tmp := make([]byte, 4096)
	for {
		n, err := conn.Read(tmp)
		buf = append(buf, tmp[:n]...)
		trimmed := bytes.TrimSpace(buf)
		if len(trimmed) > 0 && trimmed[0] != '{' {
			return request{Command: string(trimmed), Text: true}.splitText(), nil
		}
		if json.Valid(trimmed) {
			var m map[string]any
			if err := json.Unmarshal(trimmed, &m); err != nil {
				return request{}, err
			}
			r := request{}
			r.Command, _ = m["command"].(string)
			if r.Command == "" {
				r.Command, _ = m["cmd"].(string)
			}
			r.Parameter, _ = m["parameter"].(string)
			r.Enc, _ = m["data"].(string)
			return r, nil
		}
		if err != nil {
			return request{}, err
		}
	}
}

func (r request) splitText() request {
	r.Command, r.Parameter, _ = strings.Cut(r.Command, "|")
	return r
}

// invalidCommand is the reply cgminer gives to a command it does not have (Code 14,
// as in luxminer/error-invalid-command.json). Tests use it where no recorded reply of
// a firmware exists for a command.
var invalidCommand = []byte(`{"STATUS":[{"STATUS":"E","When":1,"Code":14,"Msg":"Invalid command","Description":"test peer"}],"id":1}`)

// fixture reads a file under testdata.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// replay returns a handler that answers each command with a recorded reply. With
// multi set it also answers multi-commands ("version+summary+pools") the way cgminer
// does, from the recorded replies of each part; without, it refuses them as LuxOS does.
func replay(t testing.TB, files map[string]string, multi bool) func(request) []byte {
	t.Helper()
	replies := make(map[string][]byte)
	for cmd, name := range files {
		replies[cmd] = fixture(t, name)
	}
	return func(r request) []byte {
		if b, ok := replies[r.Command]; ok {
			return b
		}
		if !multi || !strings.Contains(r.Command, "+") {
			return invalidCommand
		}
		var out bytes.Buffer
		out.WriteString("{")
		for _, cmd := range strings.Split(r.Command, "+") {
			b, ok := replies[cmd]
			if !ok {
				return invalidCommand
			}
			out.WriteString(`"` + cmd + `":[`)
			out.Write(bytes.TrimSpace(b))
			out.WriteString("],")
		}
		out.WriteString(`"id":1}`)
		return out.Bytes()
	}
}

// errorsAs is errors.As for tests that want the value.
func errorsAs[T error](err error) (T, bool) {
	var target T
	ok := errors.As(err, &target)
	return target, ok
}
