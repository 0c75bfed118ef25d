package gpunode

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/gpuapi"
)

// DefaultTimeout bounds one request when the caller's context does not.
const DefaultTimeout = 3 * time.Second

// maxReply is the largest reply body read: a telemetry reply of an 8-GPU server is
// about 2 KB.
const maxReply = 1 << 20

// Driver commands GPU servers by address (host:port, or a host for gpuapi.Port). It is
// safe for concurrent use; connections are kept alive between calls, at most two per
// server.
type Driver struct {
	// Timeout bounds each request; DefaultTimeout when zero.
	Timeout time.Duration
	// Token is the servers' shared token, sent as "Authorization: Bearer TOKEN" when
	// set (`joule node` requires one; the simulator only when configured with one).
	Token  string
	http   *http.Client
	scheme string // "https" after UseTLS; "http" when empty
}

// NewDriver returns a driver with its own connection pool.
func NewDriver() *Driver {
	t := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: DefaultTimeout, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       60 * time.Second,
		ResponseHeaderTimeout: 0, // the request's context bounds it
		DisableCompression:    true,
	}
	return &Driver{http: &http.Client{Transport: t}}
}

// UseTLS makes the driver speak https to every server, checking their certificates
// with cfg (its RootCAs: the CA that signed the nodes' certificates; nil: the
// system's).
func (d *Driver) UseTLS(cfg *tls.Config) {
	if t, ok := d.http.Transport.(*http.Transport); ok {
		t.TLSClientConfig = cfg
	}
	d.scheme = "https"
}

// Status reads a server's telemetry, normalized: on is running, idle is sleeping.
func (d *Driver) Status(ctx context.Context, addr string) (*joule.Telemetry, error) {
	t, err := d.do(ctx, http.MethodGet, addr, "/telemetry", nil)
	if err != nil {
		return nil, err
	}
	return normalize(t, addr), nil
}

// Sleep idles a server's GPUs: the host stays up and serves again at once.
func (d *Driver) Sleep(ctx context.Context, addr string) error {
	return d.setState(ctx, addr, gpuapi.StateIdle)
}

// Wake puts a server back to serving.
func (d *Driver) Wake(ctx context.Context, addr string) error {
	return d.setState(ctx, addr, gpuapi.StateOn)
}

// PowerOff powers a server's host down, leaving its BMC.
func (d *Driver) PowerOff(ctx context.Context, addr string) error {
	return d.setState(ctx, addr, gpuapi.StateOff)
}

// SetPower caps a server's draw at the wall at limit; a limit at or above stock removes
// the cap.
func (d *Driver) SetPower(ctx context.Context, addr string, limit, stock joule.Watts) error {
	if limit <= 0 {
		return joule.Errorf(joule.EINVALID, "GPU server %s: power limit must be positive, got %d W", addr, limit)
	}
	if stock > 0 && limit >= stock {
		limit = 0
	}
	_, err := d.do(ctx, http.MethodPost, addr, "/power-limit", gpuapi.PowerLimitRequest{PowerLimitW: &limit})
	return err
}

func (d *Driver) setState(ctx context.Context, addr, state string) error {
	_, err := d.do(ctx, http.MethodPost, addr, "/power", gpuapi.StateRequest{State: state})
	return err
}

// do sends one request and reads its Telemetry reply. A refusal (4xx with an error
// body) is EINVALID, so the executor does not retry it; anything else is a failure of
// that server.
func (d *Driver) do(ctx context.Context, method, addr, path string, body any) (*gpuapi.Telemetry, error) {
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	scheme := d.scheme
	if scheme == "" {
		scheme = "http"
	}
	req, err := http.NewRequestWithContext(ctx, method, scheme+"://"+hostPort(addr)+path, rd)
	if err != nil {
		return nil, joule.Errorf(joule.EINVALID, "GPU server %q: %v", addr, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if d.Token != "" {
		req.Header.Set(gpuapi.TokenHeader, gpuapi.BearerPrefix+d.Token)
	}
	client := d.http
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GPU server %s: %s %s: %w", addr, method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxReply+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("GPU server %s: %s %s: reading the reply: %w", addr, method, path, err)
	case len(b) > maxReply:
		return nil, fmt.Errorf("GPU server %s: %s %s: reply larger than %d bytes", addr, method, path, maxReply)
	case resp.StatusCode == http.StatusUnauthorized:
		return nil, joule.Errorf(joule.EUNAUTHORIZED, "GPU server %s refused the token for %s %s", addr, method, path)
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		var e gpuapi.ErrorReply
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			e.Error = resp.Status
		}
		return nil, joule.Errorf(joule.EINVALID, "GPU server %s refused %s %s: %s", addr, method, path, e.Error)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("GPU server %s: %s %s: %s", addr, method, path, resp.Status)
	}
	t, err := gpuapi.ParseTelemetry(b)
	if err != nil {
		return nil, fmt.Errorf("GPU server %s: %s %s: %w", addr, method, path, err)
	}
	return t, nil
}

// normalize turns a reply into the agent's telemetry.
func normalize(t *gpuapi.Telemetry, addr string) *joule.Telemetry {
	out := &joule.Telemetry{Address: addr, At: t.At, Firmware: "gpunode", PowerW: t.PowerW, PowerKnown: t.Known(),
		PowerLimitW: t.PowerLimitW, TempC: t.TemperatureC, GPUUtilization: t.Utilization, GPUMemoryUsedB: t.MemoryUsedBytes,
		Pools: []joule.Pool{}}
	if n := len(t.GPUs); n > 0 {
		out.GPUMemoryUsedB = t.MemoryUsedBytes / int64(n) // the server's total, per GPU as Telemetry has it
	}
	switch t.State {
	case gpuapi.StateOn:
		out.State = joule.StateRunning
	case gpuapi.StateIdle:
		out.State = joule.StateSleeping
	case gpuapi.StateOff:
		out.State = joule.StateOff
	}
	return out
}

// hostPort gives a bare host the API's port.
func hostPort(addr string) string {
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return addr
	}
	return net.JoinHostPort(addr, strconv.Itoa(gpuapi.Port))
}
