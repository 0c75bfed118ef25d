package http

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/live"
	"github.com/joule-site/joule/pricing"
)

// The client's bounds on a server that is slow, silent or too talkative. Connecting
// and the TLS handshake get DialTimeout and TLSHandshakeTimeout. A whole request, the
// reply read included, gets Client.Timeout (DefaultRequestTimeout, the server's own
// WriteTimeout) unless its context has a deadline of its own: a caller that asks for a
// report, which may take the server ReportWriteTimeout, gives it a later one. No
// server sends its reply's headers later than that, so ResponseHeaderTimeout is the
// bound even then. A reply over MaxReplyBytes is an error, not read on: the largest the
// API sends, a long audit log, is a few MB.
const (
	DialTimeout           = 10 * time.Second
	TLSHandshakeTimeout   = 10 * time.Second
	ResponseHeaderTimeout = ReportWriteTimeout
	DefaultRequestTimeout = WriteTimeout
	MaxReplyBytes         = 64 << 20
)

// Client calls the API. With a Handler it calls that handler in process (the CLI on a
// local store); otherwise it calls the server at URL, or the first of the replicas
// there that takes the request when URL is a comma-separated list (servers.go).
type Client struct {
	URL        string
	HTTPClient *http.Client
	// Token is the API token sent to a server (Authorization: Bearer): every endpoint
	// but the health check needs one.
	Token string
	// As is the account an in-process client acts as; empty: the operator. A remote
	// server ignores it: there the token says who calls.
	As string
	// Timeout bounds each request to a server whose context has no deadline; zero:
	// DefaultRequestTimeout. In-process requests have none.
	Timeout time.Duration

	local   bool
	servers servers
}

// NewClient returns a client of the server at baseURL (http:// or https://; for
// HTTPS it trusts the system's certificate authorities, or those TrustCA names).
func NewClient(baseURL string) *Client {
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: DialTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   TLSHandshakeTimeout,
		ResponseHeaderTimeout: ResponseHeaderTimeout,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &Client{URL: baseURL, HTTPClient: &http.Client{Transport: t}}
}

// TrustCA makes the client trust, for https:// servers, only the certificates in
// caPEM: the authority that signed the server's certificate (or that certificate
// itself, self-signed). joule --ca FILE reads them from a file.
func (c *Client) TrustCA(caPEM []byte) error {
	t, ok := c.HTTPClient.Transport.(*http.Transport)
	if !ok || c.local {
		return joule.Errorf(joule.EINVALID, "this client does not make its own connections: it has no certificates to trust")
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return joule.Errorf(joule.EINVALID, "no PEM certificate among the certificate authorities given")
	}
	t.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	return nil
}

// NewLocalClient returns a client that serves each request with h in process.
func NewLocalClient(h http.Handler) *Client {
	return &Client{URL: "http://local", HTTPClient: &http.Client{Transport: handlerTransport{h}}, local: true}
}

// handlerTransport answers requests by calling a handler directly.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// Sites returns every site with its fleets.
func (c *Client) Sites(ctx context.Context) ([]*SiteDetail, error) {
	var out struct {
		Sites []*SiteDetail `json:"sites"`
	}
	return out.Sites, c.do(ctx, http.MethodGet, "/api/v1/sites", nil, nil, &out)
}

// Site returns one site with its fleets.
func (c *Client) Site(ctx context.Context, name string) (*SiteDetail, error) {
	var out SiteDetail
	return &out, c.do(ctx, http.MethodGet, "/api/v1/sites/"+url.PathEscape(name), nil, nil, &out)
}

// AllModels returns the catalog's and the user's hardware models.
func (c *Client) AllModels(ctx context.Context) ([]*joule.HardwareModel, error) {
	var out struct {
		Models []*joule.HardwareModel `json:"models"`
	}
	return out.Models, c.do(ctx, http.MethodGet, "/api/v1/models", nil, nil, &out)
}

// Day returns hashprice and breakevens on a day.
func (c *Client) Day(ctx context.Context, q pricing.DayQuery) (*pricing.DayReport, error) {
	var out pricing.DayReport
	return &out, c.do(ctx, http.MethodGet, "/api/v1/econ", dayValues(q), nil, &out)
}

// Compare prices megawatts as mining and as leasing.
func (c *Client) Compare(ctx context.Context, q pricing.CompareQuery) (*pricing.CompareReport, error) {
	var out pricing.CompareReport
	return &out, c.do(ctx, http.MethodGet, "/api/v1/compare", compareValues(q), nil, &out)
}

// Apply posts a YAML manifest; filename names it in error messages.
func (c *Client) Apply(ctx context.Context, filename string, data []byte) ([]joule.Change, error) {
	var out struct {
		Changes []joule.Change `json:"changes"`
	}
	return out.Changes, c.do(ctx, http.MethodPost, "/api/v1/apply", url.Values{"filename": {filename}}, data, &out)
}

// do sends a request and decodes a JSON reply into out, or the error body into a
// *joule.Error with the server's code.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body []byte, out any) error {
	data, err := c.send(ctx, method, path, query, body, nil)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode reply from %s: %w", path, err)
	}
	return nil
}

// send sends a request with the client's credentials and extra headers, and returns
// the reply's body, or the error body as a *joule.Error with the server's code. A
// client of several servers (replicas: URL is a comma-separated list) sends it to the
// one that answered last and moves on to the next when one cannot take it (see
// servers.go).
func (c *Client) send(ctx context.Context, method, path string, query url.Values, body []byte, header http.Header) ([]byte, error) {
	if c.local {
		return c.sendTo(AsPrincipal(ctx, c.As), c.URL, 0, method, path, query, body, header)
	}
	var timeout time.Duration
	if _, ok := ctx.Deadline(); !ok {
		timeout = cmp.Or(c.Timeout, DefaultRequestTimeout)
	}
	return c.failover(ctx, method, func(ctx context.Context, base string) ([]byte, error) {
		if timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		return c.sendTo(ctx, base, timeout, method, path, query, body, header)
	})
}

// sendTo sends the request to the server at base; timeout is the bound the caller's
// context was given, for the message when it passes.
func (c *Client) sendTo(ctx context.Context, base string, timeout time.Duration, method, path string, query url.Values, body []byte, header http.Header) ([]byte, error) {
	u := base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/yaml")
		if json.Valid(body) {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	if c.Token != "" && !c.local {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTPClient.Do(req)
	if err != nil {
		if timeout > 0 && errors.Is(err, context.DeadlineExceeded) {
			return nil, &unanswered{joule.Errorf(joule.EINTERNAL, "the server at %s did not answer %s %s within %s", base, method, path, timeout), false}
		}
		return nil, &unanswered{joule.Errorf(joule.EINTERNAL, "cannot reach the server at %s: %v", base, err), notSent(err)}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxReplyBytes+1))
	switch {
	case err != nil && timeout > 0 && errors.Is(err, context.DeadlineExceeded):
		return nil, joule.Errorf(joule.EINTERNAL, "the server at %s did not finish its reply to %s %s within %s", base, method, path, timeout)
	case err != nil:
		return nil, fmt.Errorf("read reply: %w", err)
	case len(data) > MaxReplyBytes:
		return nil, joule.Errorf(joule.EINTERNAL, "the reply of the server at %s to %s %s is over %d bytes, the most this client reads", base, method, path, MaxReplyBytes)
	}
	if resp.StatusCode >= 300 {
		var e errorBody
		if err := json.Unmarshal(data, &e); err != nil || e.Error.Code == "" {
			return nil, joule.Errorf(joule.EINTERNAL, "server replied %s", resp.Status)
		}
		msg := e.Error.Message
		if ra := resp.Header.Get("Retry-After"); ra != "" && (e.Error.Code == joule.ERATELIMIT || e.Error.Code == joule.EUNAVAILABLE) {
			msg += " (Retry-After: " + ra + " s)"
		}
		err := &joule.Error{Code: e.Error.Code, Message: msg}
		if e.Error.Code == joule.EUNAVAILABLE {
			return nil, &refused{err: err, leader: resp.Header.Get(LeaderHeader)}
		}
		return nil, err
	}
	return data, nil
}

// DemandResponse asks the server to hold a site at or below reduceTo from within
// from now, for dur, keeping its firm GPU leases' power.
func (c *Client) DemandResponse(ctx context.Context, site string, reduceTo joule.Watts, within, dur time.Duration) (*joule.DemandResponse, error) {
	return c.DeclareDemandResponse(ctx, site, live.DemandResponseRequest{ReduceToW: reduceTo, Within: within, For: dur})
}

// DeclareDemandResponse declares an event as req describes it (its Actor is the
// token's account, whatever req says): a deadline or a lead time, an end or a
// duration, and whether it may shed firm GPU load.
func (c *Client) DeclareDemandResponse(ctx context.Context, site string, req live.DemandResponseRequest) (*joule.DemandResponse, error) {
	body, _ := json.Marshal(drRequest{ReduceToW: int64(req.ReduceToW), Deadline: req.Deadline, WithinS: int64(req.Within / time.Second),
		End: req.End, ForS: int64(req.For / time.Second), ShedFirm: req.ShedFirm})
	var out joule.DemandResponse
	return &out, c.do(ctx, http.MethodPost, "/api/v1/sites/"+url.PathEscape(site)+"/dr", nil, body, &out)
}

// DemandResponses returns the site's demand-response events that have not ended, by
// deadline.
func (c *Client) DemandResponses(ctx context.Context, site string) ([]*joule.DemandResponse, error) {
	var out struct {
		Events []*joule.DemandResponse `json:"events"`
	}
	return out.Events, c.do(ctx, http.MethodGet, "/api/v1/sites/"+url.PathEscape(site)+"/dr", nil, nil, &out)
}

// DemandResponseHistory lists the site's newest n events, ended or not, newest first.
func (c *Client) DemandResponseHistory(ctx context.Context, site string, n int) ([]*joule.DemandResponse, error) {
	var out struct {
		Events []*joule.DemandResponse `json:"events"`
	}
	q := url.Values{"history": {strconv.Itoa(n)}}
	return out.Events, c.do(ctx, http.MethodGet, "/api/v1/sites/"+url.PathEscape(site)+"/dr", q, nil, &out)
}

// CancelDemandResponse calls off the site's event id at once; the server plans the
// site again without it.
func (c *Client) CancelDemandResponse(ctx context.Context, site string, id int64) (*joule.DemandResponse, error) {
	var out joule.DemandResponse
	return &out, c.do(ctx, http.MethodPost, "/api/v1/sites/"+url.PathEscape(site)+"/dr/"+strconv.FormatInt(id, 10)+"/cancel", nil, nil, &out)
}

// Plan returns the site's newest dispatch plan.
func (c *Client) Plan(ctx context.Context, site string) (*joule.SitePlan, error) {
	var out joule.SitePlan
	return &out, c.do(ctx, http.MethodGet, "/api/v1/sites/"+url.PathEscape(site)+"/plan", nil, nil, &out)
}

// Audit returns the audit events q selects: a site's log, or the exchange's own (Site "").
func (c *Client) Audit(ctx context.Context, q joule.AuditQuery) ([]*joule.Audit, error) {
	var out struct {
		Audit []*joule.Audit `json:"audit"`
	}
	v := url.Values{}
	if q.After > 0 {
		v.Set("after", strconv.FormatInt(q.After, 10))
	}
	switch {
	case q.Tail:
		v.Set("tail", strconv.Itoa(q.Limit))
	case q.Limit > 0:
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if len(q.Kinds) > 0 {
		kinds := make([]string, len(q.Kinds))
		for i, k := range q.Kinds {
			kinds[i] = string(k)
		}
		v.Set("kind", strings.Join(kinds, ","))
	}
	if q.Device != "" {
		v.Set("device", q.Device)
	}
	path := "/api/v1/audit" // the exchange's own log
	if q.Site != "" {
		path = "/api/v1/sites/" + url.PathEscape(q.Site) + "/audit"
	}
	return out.Audit, c.do(ctx, http.MethodGet, path, v, nil, &out)
}

// ReportAudit appends an agent's events to the site's audit log.
func (c *Client) ReportAudit(ctx context.Context, site string, events []*joule.Audit) error {
	body, err := json.Marshal(events)
	if err != nil {
		return err
	}
	var out map[string]int
	return c.do(ctx, http.MethodPost, "/api/v1/sites/"+url.PathEscape(site)+"/audit", nil, body, &out)
}

// ReportDevices sends an agent's census of the site's devices.
func (c *Client) ReportDevices(ctx context.Context, site string, r *joule.DeviceReport) error {
	body, err := json.Marshal(r)
	if err != nil {
		return err
	}
	var out map[string]any
	return c.do(ctx, http.MethodPut, "/api/v1/sites/"+url.PathEscape(site)+"/devices", nil, body, &out)
}

// Devices returns the site's newest device census.
func (c *Client) Devices(ctx context.Context, site string) (*joule.DeviceReport, error) {
	var out joule.DeviceReport
	return &out, c.do(ctx, http.MethodGet, "/api/v1/sites/"+url.PathEscape(site)+"/devices", nil, nil, &out)
}

// ImportData posts one series' CSV; the server parses, validates and stores it in
// place of the series of the same kind and name, and answers its description.
func (c *Client) ImportData(ctx context.Context, req DataImport) (*joule.DataSeriesInfo, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var out joule.DataSeriesInfo
	return &out, c.do(ctx, http.MethodPost, "/api/v1/data", nil, body, &out)
}

// DataSeriesList describes every imported series, without points.
func (c *Client) DataSeriesList(ctx context.Context) ([]*joule.DataSeriesInfo, error) {
	var out struct {
		Series []*joule.DataSeriesInfo `json:"series"`
	}
	return out.Series, c.do(ctx, http.MethodGet, "/api/v1/data", nil, nil, &out)
}

// DataSeries returns one imported series with its points.
func (c *Client) DataSeries(ctx context.Context, kind joule.DataKind, name string) (*joule.DataSeries, error) {
	var out joule.DataSeries
	return &out, c.do(ctx, http.MethodGet, dataPath(kind, name), nil, nil, &out)
}

// DeleteData deletes an imported series.
func (c *Client) DeleteData(ctx context.Context, kind joule.DataKind, name string) error {
	var out struct{}
	return c.do(ctx, http.MethodDelete, dataPath(kind, name), nil, nil, &out)
}

// dataPath is the path of a series: a daily kind's name is the kind.
func dataPath(kind joule.DataKind, name string) string {
	return "/api/v1/data/" + url.PathEscape(string(kind)) + "/" + url.PathEscape(joule.DataName(kind, name))
}
