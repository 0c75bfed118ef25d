// Package webhook speaks alert webhooks: it delivers each alert transition waiting in
// the store's outbox to the site's webhooks as a JSON POST, signed with HMAC-SHA256
// when the webhook names a secret, retried with exponential backoff up to a bound.
// Only the leader runs a Deliverer, so a transition is sent by one replica.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/joule-site/joule"
)

// Body is what a webhook receives for one transition of an alert.
type Body struct {
	AlertID      int64            `json:"alert_id"`
	TransitionID int64            `json:"transition_id"` // unique: a receiver that sees one twice may drop it
	Site         string           `json:"site"`
	Rule         joule.AlertRule  `json:"rule"`
	Subject      string           `json:"subject"` // a device's address, "meter", "feed:NAME", "dr:ID"
	Fleet        string           `json:"fleet,omitempty"`
	State        joule.AlertState `json:"state"` // the state the alert entered: firing, acknowledged or resolved
	At           time.Time        `json:"at"`    // when it entered it
	Actor        string           `json:"actor,omitempty"`
	Value        float64          `json:"value"`
	Threshold    float64          `json:"threshold"`
	FiredAt      time.Time        `json:"fired_at"`
	AckedAt      time.Time        `json:"acked_at,omitzero"`
	AckedBy      string           `json:"acked_by,omitempty"`
	ResolvedAt   time.Time        `json:"resolved_at,omitzero"`
	Summary      string           `json:"summary"`
	// Text is the state and the summary in one line: the field chat tools' incoming
	// webhooks (Slack, Mattermost) show.
	Text string `json:"text"`
}

// BodyOf is the body of a delivery.
func BodyOf(d joule.AlertDelivery) Body {
	a, tr := d.Alert, d.Transition
	text := fmt.Sprintf("[%s] %s %s: %s", strings.ToUpper(string(tr.State)), a.Site, a.Rule, a.Summary)
	if tr.State == joule.AlertAcknowledged && tr.Actor != "" {
		text += " (acknowledged by " + tr.Actor + ")"
	}
	return Body{AlertID: a.ID, TransitionID: tr.ID, Site: a.Site, Rule: a.Rule, Subject: a.Subject, Fleet: a.Fleet, State: tr.State,
		At: tr.At, Actor: tr.Actor, Value: tr.Value, Threshold: a.Threshold, FiredAt: a.FiredAt, AckedAt: a.AckedAt, AckedBy: a.AckedBy,
		ResolvedAt: a.ResolvedAt, Summary: a.Summary, Text: text}
}

// Sign is the signature header's value of body under secret: "sha256=" and the hex
// HMAC-SHA256. A receiver computes the same over the bytes it got and compares in
// constant time.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Outbox is the store's queue of transitions to deliver (joule.AlertService).
type Outbox interface {
	UndeliveredAlerts(ctx context.Context, limit int) ([]joule.AlertDelivery, error)
	MarkAlertsDelivered(ctx context.Context, at time.Time, ids ...int64) error
}

// Sites finds the webhooks of a site.
type Sites interface {
	Site(ctx context.Context, name string) (*joule.Site, error)
}

// Defaults of a Deliverer.
const (
	// DefaultAttempts: a webhook that fails six times in a row (about 30 s of
	// backoff) is given up for that transition (assumption: a receiver down longer
	// is an outage of its own, and the alert list still shows the alert).
	DefaultAttempts = 6
	// DefaultBackoff is the wait before the first retry; each next one doubles, up
	// to DefaultMaxBackoff.
	DefaultBackoff    = time.Second
	DefaultMaxBackoff = 30 * time.Second
	// DefaultTimeout bounds one POST.
	DefaultTimeout = 10 * time.Second
	// DefaultEvery is how often the outbox is read when nothing wakes the deliverer.
	DefaultEvery = 5 * time.Second
	// batch is the most transitions read from the outbox at once.
	batch = 100
)

// Deliverer sends the outbox's transitions to their sites' webhooks, in order.
type Deliverer struct {
	Outbox Outbox
	Sites  Sites
	Client *http.Client // nil: one with DefaultTimeout
	Now    func() time.Time
	Log    *slog.Logger
	// Secret returns the value of a webhook's secret variable; nil: os.Getenv.
	Secret     func(name string) string
	Attempts   int
	Backoff    time.Duration
	MaxBackoff time.Duration
	Every      time.Duration

	wake chan struct{}
}

// NewDeliverer returns a Deliverer with the defaults.
func NewDeliverer(outbox Outbox, sites Sites, now func() time.Time, log *slog.Logger) *Deliverer {
	return &Deliverer{Outbox: outbox, Sites: sites, Now: now, Log: log, Client: &http.Client{Timeout: DefaultTimeout},
		Attempts: DefaultAttempts, Backoff: DefaultBackoff, MaxBackoff: DefaultMaxBackoff, Every: DefaultEvery,
		wake: make(chan struct{}, 1)}
}

// Wake makes a running deliverer read the outbox now (an alert changed).
func (d *Deliverer) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers what the outbox holds whenever woken, and every Every, until ctx ends.
func (d *Deliverer) Run(ctx context.Context) error {
	t := time.NewTicker(d.Every)
	defer t.Stop()
	for {
		for {
			n, err := d.DeliverPending(ctx)
			if err != nil && ctx.Err() == nil {
				d.Log.Warn("alert delivery", "err", err)
			}
			if err != nil || n < batch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-d.wake:
		}
	}
}

// DeliverPending sends one batch of the outbox and marks it delivered; it returns how
// many transitions it took. A webhook that fails every attempt is logged and given
// up for that transition.
func (d *Deliverer) DeliverPending(ctx context.Context) (int, error) {
	pending, err := d.Outbox.UndeliveredAlerts(ctx, batch)
	if err != nil || len(pending) == 0 {
		return 0, err
	}
	hooks := map[string][]joule.Webhook{}
	for _, p := range pending {
		if _, ok := hooks[p.Alert.Site]; ok {
			continue
		}
		s, err := d.Sites.Site(ctx, p.Alert.Site)
		if err != nil && joule.ErrorCode(err) != joule.ENOTFOUND {
			return 0, err
		}
		hooks[p.Alert.Site] = nil
		if s != nil {
			hooks[p.Alert.Site] = s.Alerts.Webhooks
		}
	}
	for _, p := range pending {
		body, err := json.Marshal(BodyOf(p))
		if err != nil {
			return 0, err
		}
		for _, h := range hooks[p.Alert.Site] {
			if err := d.Send(ctx, h, body); err != nil {
				if ctx.Err() != nil {
					return 0, ctx.Err()
				}
				d.Log.Warn("alert webhook given up", "site", p.Alert.Site, "alert", p.Alert.ID, "state", p.Transition.State, "url", redact(h.URL), "err", err)
			}
		}
		if err := d.Outbox.MarkAlertsDelivered(ctx, d.Now(), p.Transition.ID); err != nil {
			return 0, err
		}
	}
	return len(pending), nil
}

// Send POSTs body to the webhook, retrying a failure that may pass (a network error,
// 408, 429, 5xx) after Backoff, doubling to MaxBackoff, for Attempts tries in all.
func (d *Deliverer) Send(ctx context.Context, h joule.Webhook, body []byte) error {
	secret := ""
	if h.SecretEnv != "" {
		get := d.Secret
		if get == nil {
			get = os.Getenv
		}
		if secret = get(h.SecretEnv); secret == "" {
			return fmt.Errorf("the secret variable %s is not set on the server: the body is not sent unsigned", h.SecretEnv)
		}
	}
	wait := d.Backoff
	var err error
	for attempt := 1; ; attempt++ {
		var retry bool
		if retry, err = d.post(ctx, h.URL, secret, body); err == nil {
			return nil
		}
		if !retry || attempt >= max(d.Attempts, 1) {
			return fmt.Errorf("after %d attempts: %w", attempt, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(wait*2, max(d.MaxBackoff, d.Backoff))
	}
}

// post sends one POST; retry says whether a failure may pass on another try.
func (d *Deliverer) post(ctx context.Context, url, secret string, body []byte) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "joule-alerts")
	if secret != "" {
		req.Header.Set(joule.AlertSignatureHeader, Sign([]byte(secret), body))
	}
	client := d.Client
	if client == nil {
		client = &http.Client{Timeout: DefaultTimeout}
	}
	resp, err := client.Do(req)
	if err != nil {
		return true, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return false, nil
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500:
		return true, fmt.Errorf("%s answered %s", redact(url), resp.Status)
	default:
		return false, fmt.Errorf("%s refused the body: %s", redact(url), resp.Status)
	}
}

// redact keeps a webhook URL's scheme and host for the log: chat tools put their
// token in the path.
func redact(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return "webhook"
	}
	host, _, _ := strings.Cut(rest, "/")
	return scheme + "://" + host + "/…"
}
