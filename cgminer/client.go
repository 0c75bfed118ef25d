package cgminer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/joule-site/joule"
)

// Defaults of a Client.
const (
	DefaultTimeout  = 5 * time.Second
	DefaultMaxReply = 1 << 20 // the largest recorded reply is 67 KB (Whatsminer M3 stats)
)

// Client talks to one miner. It holds no connection: each request dials, writes one
// command and reads one reply. A Client is safe for concurrent use.
type Client struct {
	addr     string
	timeout  time.Duration
	maxReply int
	text     bool
	password string
	now      func() time.Time
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)

	keepSession bool

	mu       sync.Mutex
	firmware string // detected by Status or Firmware, for the controls
	session  string // the kept LuxOS session, with WithKeepSession
}

// Option configures a Client.
type Option func(*Client)

// WithTimeout bounds each request (dial, write and read together); a context deadline
// that comes sooner wins. The default is DefaultTimeout.
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// WithMaxReply bounds the size of a reply in bytes, so that a peer streaming garbage
// cannot exhaust memory. The default is DefaultMaxReply.
func WithMaxReply(n int) Option { return func(c *Client) { c.maxReply = n } }

// WithTextProtocol sends requests in cgminer's plain-text form ("summary",
// "switchpool|1") instead of JSON, for firmware that only answers that form.
func WithTextProtocol() Option { return func(c *Client) { c.text = true } }

// WithKeepSession keeps a LuxOS session open between write commands instead of
// logging off after each: one round trip per command for an agent that is the miner's
// only controller. LuxOS allows one session at a time, so other tools are refused
// until it expires.
func WithKeepSession() Option { return func(c *Client) { c.keepSession = true } }

// WithPassword sets the admin password for Whatsminer's privileged (encrypted) API.
func WithPassword(pw string) Option { return func(c *Client) { c.password = pw } }

// WithClock sets the clock that stamps telemetry and Avalon commands.
func WithClock(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// WithDialer replaces the TCP dialer, e.g. to bind a source address.
func WithDialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) Option {
	return func(c *Client) { c.dial = dial }
}

// Dial returns a client for the miner at addr ("10.0.0.5" or "10.0.0.5:4028"; the port
// defaults to joule.MinerAPIPort, 4028). It does not connect: every request opens its own connection.
func Dial(addr string, opts ...Option) *Client {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(strings.Trim(addr, "[]"), strconv.Itoa(joule.MinerAPIPort))
	}
	// One request per connection: TCP keepalive probes would never fire, and setting
	// them up costs four system calls a connection, which an agent shedding a fleet
	// pays on every device.
	d := net.Dialer{KeepAlive: -1}
	c := &Client{addr: addr, timeout: DefaultTimeout, maxReply: DefaultMaxReply, now: time.Now, dial: d.DialContext}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Addr returns the miner's address, host:port.
func (c *Client) Addr() string { return c.addr }

// Raw sends one command and returns the reply's bytes, without the trailing NUL. The
// parameter is sent only when it is not empty.
func (c *Client) Raw(ctx context.Context, command, parameter string) ([]byte, error) {
	var req []byte
	if c.text {
		req = []byte(command)
		if parameter != "" {
			req = append(append(req, '|'), parameter...)
		}
	} else {
		var err error
		req, err = json.Marshal(struct {
			Command   string `json:"command"`
			Parameter string `json:"parameter,omitempty"`
		}{command, parameter})
		if err != nil {
			return nil, err
		}
	}
	return c.roundTrip(ctx, req)
}

// Command sends a command with its parameters (joined by commas, as cgminer expects)
// and parses the reply. A reply whose STATUS is "E" or "F" is an *APIError.
func (c *Client) Command(ctx context.Context, command string, params ...string) (*Reply, error) {
	raw, err := c.Raw(ctx, command, strings.Join(params, ","))
	if err != nil {
		return nil, err
	}
	return c.parse(command, raw)
}

// Multi sends several commands in one request ("summary+pools"), which cgminer answers
// with one reply per command, and returns them keyed by command.
func (c *Client) Multi(ctx context.Context, commands ...string) (map[string]*Reply, error) {
	joined := strings.Join(commands, "+")
	raw, err := c.Raw(ctx, joined, "")
	if err != nil {
		return nil, err
	}
	if r, err := ParseReply(raw); err == nil && !r.Status.OK() && r.Status.Status != "" {
		return nil, c.apiError(joined, r.Status) // the whole request was refused
	}
	replies, err := ParseMulti(raw)
	if err != nil {
		return nil, fmt.Errorf("miner %s: %s: %w", c.addr, joined, err)
	}
	for _, cmd := range commands {
		r, ok := replies[cmd]
		if !ok {
			return nil, fmt.Errorf("miner %s: %s: no reply to %s", c.addr, joined, cmd)
		}
		if err := c.check(cmd, r); err != nil {
			return nil, err
		}
	}
	return replies, nil
}

func (c *Client) parse(command string, raw []byte) (*Reply, error) {
	r, err := ParseReply(raw)
	if err != nil {
		return nil, fmt.Errorf("miner %s: %s: %w", c.addr, command, err)
	}
	if err := c.check(command, r); err != nil {
		return nil, err
	}
	return r, nil
}

func (c *Client) check(command string, r *Reply) error {
	switch r.Status.Status {
	case "E", "F":
		return c.apiError(command, r.Status)
	case "":
		if len(r.Sections) == 0 {
			return fmt.Errorf("miner %s: %s: reply has no STATUS", c.addr, command)
		}
	}
	return nil
}

func (c *Client) apiError(command string, s Status) error {
	return &APIError{Addr: c.addr, Command: command, Status: s.Status, Code: s.Code, Msg: s.Msg}
}

// roundTrip dials, writes the request and reads the reply.
func (c *Client) roundTrip(ctx context.Context, req []byte) ([]byte, error) {
	deadline := time.Now().Add(c.timeout)
	if d, ok := ctx.Deadline(); ok && !d.After(deadline) {
		deadline = d // the caller's deadline comes first: no context of our own
	} else {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	conn, err := c.dial(ctx, "tcp", c.addr)
	if err != nil {
		return nil, &transportError{fmt.Errorf("miner %s: %w", c.addr, err)}
	}
	defer conn.Close()
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, &transportError{fmt.Errorf("miner %s: %w", c.addr, err)}
	}
	// A cancelled context unblocks the read at once rather than at the deadline.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := conn.Write(req); err != nil {
		return nil, c.ioError(ctx, err)
	}
	reply, err := readReply(conn, c.maxReply)
	if err != nil {
		return nil, c.ioError(ctx, err)
	}
	// The reply is complete: close with a reset rather than leave the connection in
	// TIME_WAIT. An agent polling thousands of miners would otherwise fill the
	// ephemeral ports with closed connections and make every new one slower to open.
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	return reply, nil
}

// ioError wraps an error of the connection. A request that ran out of time, by the
// client's timeout or the context's deadline, matches context.DeadlineExceeded; one
// whose context was cancelled matches context.Canceled.
func (c *Client) ioError(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, ErrReplyTooLarge):
	case errors.Is(ctx.Err(), context.Canceled):
		return &transportError{fmt.Errorf("miner %s: %w: %w", c.addr, context.Canceled, err)}
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &transportError{fmt.Errorf("miner %s: %w: %w", c.addr, context.DeadlineExceeded, err)}
	}
	return &transportError{fmt.Errorf("miner %s: %w", c.addr, err)}
}

// replyBufs holds read buffers for replies: most replies are a few hundred bytes, and
// a fresh 4 KB buffer for each would be most of what an agent polling a fleet
// allocates.
var replyBufs = sync.Pool{New: func() any { b := make([]byte, 4096); return &b }}

// readReply reads until the peer closes the connection or sends a NUL, whichever comes
// first, keeping at most max bytes. The reply is a slice of its own.
func readReply(r io.Reader, max int) ([]byte, error) {
	pb := replyBufs.Get().(*[]byte)
	defer replyBufs.Put(pb)
	buf := (*pb)[:0:min(len(*pb), max+1)]
	reply, err := readInto(r, buf, max)
	if err != nil {
		return nil, err
	}
	if len(reply) == 0 || &reply[0] == &(*pb)[0] {
		reply = append([]byte{}, reply...) // still in the pooled buffer
	}
	return reply, nil
}

// readInto reads a reply into buf, growing it (into new arrays) as needed.
func readInto(r io.Reader, buf []byte, max int) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(2*cap(buf), max+1))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		if i := bytes.IndexByte(buf[len(buf):len(buf)+n], 0); i >= 0 {
			return buf[:len(buf)+i], nil
		}
		buf = buf[:len(buf)+n]
		if len(buf) > max {
			return nil, ErrReplyTooLarge
		}
		switch {
		case err == io.EOF && len(buf) == 0:
			return nil, errors.New("connection closed without a reply")
		case err == io.EOF:
			return buf, nil
		case err != nil:
			return nil, err
		}
	}
}
