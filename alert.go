package joule

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// AlertRule names a condition an alert watches for.
type AlertRule string

// The alert rules. The first five are judged on each device's telemetry, the others on
// the site as a whole.
const (
	// AlertOffline: a miner has not answered its polls for OfflineMinutes.
	AlertOffline AlertRule = "offline"
	// AlertOverheat: a miner's hottest board or chip is over TempMaxC.
	AlertOverheat AlertRule = "overheat"
	// AlertHashrateLow: a running miner hashes under HashrateMinPercent of what its
	// firmware says it should at its setting.
	AlertHashrateLow AlertRule = "hashrate_low"
	// AlertWrongPool: a miner hashes for a pool its fleet does not list.
	AlertWrongPool AlertRule = "wrong_pool"
	// AlertReplyShape: a miner's firmware replies in a shape (the names of the fields
	// it sends) other than the one its fleet's firmware replied in until then: the drift
	// an update brings that breaks parsing, and with it curtailment.
	AlertReplyShape AlertRule = "reply_shape"
	// AlertMeterMismatch: the site meter and the sum of the devices' own readings
	// differ by more than MeterMismatchPercent of the meter.
	AlertMeterMismatch AlertRule = "meter_mismatch"
	// AlertFeedStale: a market feed has not updated for FeedStaleMinutes.
	AlertFeedStale AlertRule = "feed_stale"
	// AlertDRAtRisk: a demand-response event's deadline is DRAtRiskMinutes away or
	// past and the site still draws more than the event allows.
	AlertDRAtRisk AlertRule = "dr_at_risk"
)

// AlertRuleNames are the rules, in the order messages list them.
var AlertRuleNames = []AlertRule{AlertOffline, AlertOverheat, AlertHashrateLow, AlertWrongPool, AlertReplyShape,
	AlertMeterMismatch, AlertFeedStale, AlertDRAtRisk}

// Valid reports whether r is one of AlertRuleNames.
func (r AlertRule) Valid() bool { return slices.Contains(AlertRuleNames, r) }

// The rules' defaults, for a site whose manifest leaves a threshold out. Each is an
// assumption, to be set per site from the machines' own limits.
const (
	// DefaultOfflineMinutes 0: the first poll a miner does not answer (assumption: a
	// poll missed is worth a look; a site with flaky links sets a few minutes).
	DefaultOfflineMinutes = 0
	// DefaultTempMaxC 90 °C on the hottest board or chip (assumption: below the chip
	// protection of common Antminer firmware, which stops hashing near 95 °C).
	DefaultTempMaxC = 90
	// DefaultHashrateMinPercent 80 % of the expected rate (assumption: a hash board of
	// three lost is 67 %, a normal day's variance is well above 90 %).
	DefaultHashrateMinPercent = 80
	// DefaultMeterMismatchPercent 10 % of the meter (assumption: auxiliary loads and
	// the firmware's own power estimates differ by a few percent).
	DefaultMeterMismatchPercent = 10
	// DefaultFeedStaleMinutes 30 (assumption: the slowest feed, the hourly energy
	// price, is late after half an hour).
	DefaultFeedStaleMinutes = 30
	// DefaultDRAtRiskMinutes 5 (assumption: miners sleep within seconds, so a site
	// still over its event's limit 5 minutes before the deadline needs a person).
	DefaultDRAtRiskMinutes = 5
	// ReplyShapeSettle is how long a new reply shape keeps its alert before it counts
	// as one of the firmware's shapes: a day, so that a change is compared with the
	// day before.
	ReplyShapeSettle = 24 * time.Hour
)

// AlertRules are a site's alert rules, as its manifest's `alerts:` block declares
// them. A nil threshold takes its default; a rule listed in Off is not judged.
type AlertRules struct {
	OfflineMinutes       *float64    `json:"offline_minutes,omitempty"`
	TempMaxC             *float64    `json:"temp_max_c,omitempty"`
	HashrateMinPercent   *float64    `json:"hashrate_min_percent,omitempty"`
	MeterMismatchPercent *float64    `json:"meter_mismatch_percent,omitempty"`
	FeedStaleMinutes     *float64    `json:"feed_stale_minutes,omitempty"`
	DRAtRiskMinutes      *float64    `json:"dr_at_risk_minutes,omitempty"`
	Off                  []AlertRule `json:"off,omitempty"`
	// Webhooks are where the site's alerts are sent: each firing, acknowledgement and
	// resolution, as a JSON POST.
	Webhooks []Webhook `json:"webhooks,omitempty"`
}

// Webhook is a receiver of a site's alerts. When SecretEnv names an environment
// variable of the server, its value signs each body (AlertSignatureHeader); the secret
// itself is never stored.
type Webhook struct {
	URL       string `json:"url"`
	SecretEnv string `json:"secret_env,omitempty"`
}

// AlertSignatureHeader carries the HMAC-SHA256 of a webhook's body under its secret,
// as "sha256=" and the hex digest.
const AlertSignatureHeader = "X-Joule-Signature"

// AlertRuleLimit is a threshold's accepted range, for the manifest's checks.
type AlertRuleLimit struct {
	Name     string
	Min, Max float64
	Default  float64
	Field    func(r *AlertRules) **float64
}

// AlertRuleLimits are the thresholds of AlertRules, by their manifest names.
var AlertRuleLimits = []AlertRuleLimit{
	{"offline_minutes", 0, 7 * 24 * 60, DefaultOfflineMinutes, func(r *AlertRules) **float64 { return &r.OfflineMinutes }},
	{"temp_max_c", 1, 200, DefaultTempMaxC, func(r *AlertRules) **float64 { return &r.TempMaxC }},
	{"hashrate_min_percent", 1, 100, DefaultHashrateMinPercent, func(r *AlertRules) **float64 { return &r.HashrateMinPercent }},
	{"meter_mismatch_percent", 1, 100, DefaultMeterMismatchPercent, func(r *AlertRules) **float64 { return &r.MeterMismatchPercent }},
	{"feed_stale_minutes", 1, 7 * 24 * 60, DefaultFeedStaleMinutes, func(r *AlertRules) **float64 { return &r.FeedStaleMinutes }},
	{"dr_at_risk_minutes", 0, 24 * 60, DefaultDRAtRiskMinutes, func(r *AlertRules) **float64 { return &r.DRAtRiskMinutes }},
}

// MaxWebhooks bounds a site's webhooks.
const MaxWebhooks = 10

// Validate checks every threshold against its range, the rules named in Off and the
// webhooks' URLs (http or https, with a host).
func (r *AlertRules) Validate() error {
	for _, l := range AlertRuleLimits {
		if v := *l.Field(r); v != nil && (!finite(*v) || *v < l.Min || *v > l.Max) {
			return Errorf(EINVALID, "alerts.%s: must be from %g to %g, got %g", l.Name, l.Min, l.Max, *v)
		}
	}
	for _, o := range r.Off {
		if !o.Valid() {
			return Errorf(EINVALID, "alerts.off: %q is not a rule: want one of %q", o, AlertRuleNames)
		}
	}
	if len(r.Webhooks) > MaxWebhooks {
		return Errorf(EINVALID, "alerts.webhooks: %d, at most %d", len(r.Webhooks), MaxWebhooks)
	}
	for i, w := range r.Webhooks {
		if err := w.Validate(); err != nil {
			return Errorf(EINVALID, "alerts.webhooks[%d]: %s", i, ErrorMessage(err))
		}
	}
	return nil
}

// Validate checks the webhook's URL and the name of its secret's variable.
func (w Webhook) Validate() error {
	u, err := url.Parse(w.URL)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return Errorf(EINVALID, "url: %q is not an http or https URL with a host", w.URL)
	case len(w.URL) > 2048:
		return Errorf(EINVALID, "url: longer than 2048 bytes")
	case w.SecretEnv != "" && !envName(w.SecretEnv):
		return Errorf(EINVALID, "secret_env: %q is not an environment variable's name (A-Z, 0-9, _)", w.SecretEnv)
	}
	return nil
}

func envName(s string) bool {
	for i, c := range s {
		if !(c >= 'A' && c <= 'Z' || c == '_' || c >= '0' && c <= '9' && i > 0) {
			return false
		}
	}
	return s != "" && len(s) <= 128
}

// On reports whether rule is judged.
func (r *AlertRules) On(rule AlertRule) bool { return !slices.Contains(r.Off, rule) }

// Threshold returns a rule's threshold, its default where the site declares none (0
// for the rules that have none).
func (r *AlertRules) Threshold(rule AlertRule) float64 {
	name := map[AlertRule]string{AlertOffline: "offline_minutes", AlertOverheat: "temp_max_c",
		AlertHashrateLow: "hashrate_min_percent", AlertMeterMismatch: "meter_mismatch_percent",
		AlertFeedStale: "feed_stale_minutes", AlertDRAtRisk: "dr_at_risk_minutes"}[rule]
	for _, l := range AlertRuleLimits {
		if l.Name == name {
			if v := *l.Field(r); v != nil {
				return *v
			}
			return l.Default
		}
	}
	return 0
}

// AlertState is where an alert stands.
type AlertState string

// The alert states. An alert fires, may be acknowledged by an operator while its
// condition holds, and is resolved when the condition clears; a resolved alert stays
// resolved (the condition coming back fires a new one).
const (
	AlertFiring       AlertState = "firing"
	AlertAcknowledged AlertState = "acknowledged"
	AlertResolved     AlertState = "resolved"
)

// Valid reports whether s is an alert state.
func (s AlertState) Valid() bool {
	return s == AlertFiring || s == AlertAcknowledged || s == AlertResolved
}

// Alert is one occurrence of a rule's condition on one subject: a device's address,
// "meter", a feed's name or a demand-response event. At most one alert per (site,
// rule, subject) is open (firing or acknowledged) at a time.
type Alert struct {
	ID      int64      `json:"id"`
	Site    string     `json:"site"`
	Rule    AlertRule  `json:"rule"`
	Subject string     `json:"subject"`
	Fleet   string     `json:"fleet,omitempty"`
	State   AlertState `json:"state"`
	// Value is what the condition measured when it fired (minutes offline, °C, percent
	// of expected, …), Threshold the rule's limit; both 0 for rules without one.
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	// Summary is one line for people: what is wrong, where, and by how much.
	Summary    string    `json:"summary"`
	FiredAt    time.Time `json:"fired_at"`
	AckedAt    time.Time `json:"acked_at,omitzero"`
	AckedBy    string    `json:"acked_by,omitempty"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
}

// Open reports whether the alert still fires (acknowledged or not).
func (a *Alert) Open() bool { return a.State != AlertResolved }

// AlertTransition is one change of an alert's state, as stored and as webhooks
// receive it: its firing, acknowledgement or resolution.
type AlertTransition struct {
	ID      int64      `json:"id"`
	AlertID int64      `json:"alert_id"`
	Site    string     `json:"site"`
	State   AlertState `json:"state"` // the state it entered
	At      time.Time  `json:"at"`
	Actor   string     `json:"actor,omitempty"` // who acknowledged; "" for the rules' own
	// Value is what the condition measured at the transition.
	Value float64 `json:"value"`
}

// MaxAlertPage is the most alerts one query returns.
const MaxAlertPage = 1000

// AlertQuery selects alerts of a site: of one state, or of any ("").
type AlertQuery struct {
	Site  string
	State AlertState
	Limit int // default and most MaxAlertPage
}

// Check validates the query and fills its default limit.
func (q *AlertQuery) Check() error {
	switch {
	case q.State != "" && !q.State.Valid():
		return Errorf(EINVALID, "state: %q is not firing, acknowledged or resolved", q.State)
	case q.Limit < 0 || q.Limit > MaxAlertPage:
		return Errorf(EINVALID, "limit: from 1 to %d", MaxAlertPage)
	case q.Limit == 0:
		q.Limit = MaxAlertPage
	}
	return nil
}

// AlertService stores alerts and their transitions. Every transition is kept with the
// alert, written to the site's audit log, and waits in an outbox until the leader has
// delivered it to the site's webhooks.
type AlertService interface {
	// RaiseAlert stores a as firing unless an alert of its (site, rule, subject) is
	// open: then a takes the open one's fields and created is false.
	RaiseAlert(ctx context.Context, a *Alert) (created bool, err error)
	// ResolveAlert resolves the open alert of (site, rule, subject) at at; it returns
	// nil, and no error, when none is open.
	ResolveAlert(ctx context.Context, site string, rule AlertRule, subject string, at time.Time, value float64) (*Alert, error)
	// ChangeAlerts raises (as RaiseAlert) and resolves (as ResolveAlert, at at) alerts
	// of one site in one transaction, and says how many it created and resolved: what
	// one batch of telemetry changes, however many devices it names.
	ChangeAlerts(ctx context.Context, site string, raise []*Alert, resolve []AlertResolution, at time.Time) (created, resolved int, err error)
	// AckAlert acknowledges a firing alert, by actor at at: ENOTFOUND for an alert the
	// site does not have, ECONFLICT for a resolved one; acknowledging twice keeps the
	// first.
	AckAlert(ctx context.Context, site string, id int64, actor string, at time.Time) (*Alert, error)
	// Alerts returns a site's alerts: open ones first (firing before acknowledged),
	// each group newest first.
	Alerts(ctx context.Context, q AlertQuery) ([]*Alert, error)
	// AlertTransitions returns an alert's transitions in order.
	AlertTransitions(ctx context.Context, site string, id int64) ([]AlertTransition, error)
	// UndeliveredAlerts returns, oldest first, at most limit transitions not yet
	// delivered, each with its alert as it is now.
	UndeliveredAlerts(ctx context.Context, limit int) ([]AlertDelivery, error)
	// MarkAlertsDelivered takes transitions out of the outbox.
	MarkAlertsDelivered(ctx context.Context, at time.Time, ids ...int64) error
}

// AlertResolution names an open alert to resolve, with what its condition measures now.
type AlertResolution struct {
	Rule    AlertRule
	Subject string
	Value   float64
}

// AlertDelivery is a transition waiting to be delivered, with its alert.
type AlertDelivery struct {
	Transition AlertTransition
	Alert      Alert
}

// AlertSubjectMeter is the subject of the site meter's alerts.
const AlertSubjectMeter = "meter"

// NormalPoolURL is a pool's URL as pool lists compare it: lower case, without a
// trailing slash or surrounding space.
func NormalPoolURL(u string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(u)), "/")
}

// ActorAlerts is the actor of the transitions the alert rules make themselves.
const ActorAlerts = "alerts"

// MaxAlertSummary bounds an alert's summary line.
const MaxAlertSummary = 512

// ValidateAlert checks an alert before it is stored: a site, a known rule, a subject of
// at most MaxTelemetryTextLen bytes, finite figures and a summary of at most
// MaxAlertSummary bytes.
func ValidateAlert(a *Alert) error {
	switch {
	case a.Site == "":
		return Errorf(EINVALID, "alert: site is required")
	case !a.Rule.Valid():
		return Errorf(EINVALID, "alert: rule %q is not one of %q", a.Rule, AlertRuleNames)
	case a.Subject == "" || len(a.Subject) > MaxTelemetryTextLen:
		return Errorf(EINVALID, "alert: subject must be 1 to %d bytes", MaxTelemetryTextLen)
	case len(a.Fleet) > MaxTelemetryTextLen:
		return Errorf(EINVALID, "alert: fleet longer than %d bytes", MaxTelemetryTextLen)
	case !finite(a.Value) || !finite(a.Threshold):
		return Errorf(EINVALID, "alert: value and threshold must be finite")
	case len(a.Summary) > MaxAlertSummary:
		return Errorf(EINVALID, "alert: summary longer than %d bytes", MaxAlertSummary)
	}
	return nil
}

// AlertAudit is the audit row of an alert's transition into state at at, by actor (""
// for the rules' own), recorded at recorded: an event when it fires or resolves, a
// change when a person acknowledges it. Its key makes a transition one row.
func AlertAudit(a *Alert, state AlertState, at time.Time, actor string, recorded time.Time) *Audit {
	e := &Audit{Site: a.Site, At: at, Kind: AuditEvent, Actor: ActorAlerts, Reason: "alert " + string(a.Rule) + " " + string(state),
		Detail: a.Summary, Key: "alert-" + strconv.FormatInt(a.ID, 10) + "-" + string(state), RecordedAt: recorded}
	if a.Subject != AlertSubjectMeter && strings.Contains(a.Subject, ":") {
		e.Device = a.Subject
	}
	if state == AlertAcknowledged {
		e.Kind, e.Actor = AuditChange, actor
	}
	return e
}
