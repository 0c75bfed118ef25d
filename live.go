package joule

import (
	"context"
	"slices"
	"time"
)

// SitePlan is what the server asks a site's agent to run for one interval: for each
// fleet, how many machines run and at what power setting. Its allocation is never
// above CapW. An agent that hears nothing new after ValidUntil falls back to its safe
// state.
type SitePlan struct {
	Site       string        `json:"site"`
	Seq        int64         `json:"seq"` // increases with every plan of the site
	At         time.Time     `json:"at"`
	ValidUntil time.Time     `json:"valid_until"`
	Reason     string        `json:"reason"` // "interval", "price spike", "demand response", "stale feeds"
	CapW       Watts         `json:"cap_w"`
	AllocatedW Watts         `json:"allocated_w"`
	PUE        float64       `json:"pue"` // facility ÷ IT power: fleet allocations are facility watts
	Fleets     []FleetTarget `json:"fleets"`
	// EnergyUSDPerMWh and HashpriceUSDPerPHDay are the market the plan was made on.
	EnergyUSDPerMWh      float64 `json:"energy_usd_per_mwh"`
	HashpriceUSDPerPHDay float64 `json:"hashprice_usd_per_ph_day"`
	// DrawW is the facility power the plan expects drawn, split by use in Use.
	DrawW Watts    `json:"draw_w"`
	Use   PowerUse `json:"use"`
	// RevenueUSDPerHour and EnergyUSDPerHour are the plan's expected rates: what its
	// running load earns (mining and GPU time) and what its draw costs.
	RevenueUSDPerHour float64 `json:"revenue_usd_per_hour"`
	EnergyUSDPerHour  float64 `json:"energy_usd_per_hour"`
}

// PowerUse splits a plan's facility power by what it does. CurtailedW is flexible load
// that could have run but was planned off; ShedFirmW is firm lease power cut to stay
// under the cap.
type PowerUse struct {
	MiningW           Watts `json:"mining_w"`
	FirmGPUW          Watts `json:"firm_gpu_w"`
	InterruptibleGPUW Watts `json:"interruptible_gpu_w"`
	OpenGPUW          Watts `json:"open_gpu_w"`
	IdleW             Watts `json:"idle_w"`
	CurtailedW        Watts `json:"curtailed_w"`
	ShedFirmW         Watts `json:"shed_firm_w"`
}

// FleetTarget is one fleet's part of a plan.
type FleetTarget struct {
	Fleet      string       `json:"fleet"`
	Kind       HardwareKind `json:"kind"`
	Machines   int          `json:"machines"`   // machines in the fleet
	Running    int          `json:"running"`    // machines to run; the rest sleep
	PowerFrac  float64      `json:"power_frac"` // running machines' power as a fraction of stock
	StockW     Watts        `json:"stock_w"`    // one machine's wall power at stock
	AllocatedW Watts        `json:"allocated_w"`
	// Leased names the fleet's GPU servers bound to leases now (their node names,
	// sorted): the agent keeps these serving first and idles others before them.
	Leased []string `json:"leased,omitempty"`
	// Capped names the fleet's GPU servers to hold at CapW (sorted): servers of spot and
	// curtailable leases that the plan caps before it stops any, never a firm lease's.
	// The agent sets their power limit and lifts it from servers no longer named.
	Capped []string `json:"capped,omitempty"`
	// CapW is each capped server's wall power limit: its lease's cap fraction of the
	// fleet's nameplate (StockW), rounded down.
	CapW Watts `json:"cap_w,omitempty"`
}

// MachineW is the wall power each running machine of the fleet may draw.
func (f *FleetTarget) MachineW() Watts { return Watts(f.PowerFrac * float64(f.StockW)) }

// DemandResponse is an event in which the grid asks a site to draw at most ReduceToW
// from Deadline until End.
type DemandResponse struct {
	ID        int64     `json:"id"`
	Site      string    `json:"site"`
	ReduceToW Watts     `json:"reduce_to_w"`
	Deadline  time.Time `json:"deadline"`
	End       time.Time `json:"end"` // zero: until cancelled (events from before an end was required)
	CreatedAt time.Time `json:"created_at"`
	// By is who declared the event: the account's ID (joule.ActorOperator on a store
	// without accounts); empty for events declared before it was recorded.
	By string `json:"by,omitempty"`
	// ShedFirm says the event was declared with leave to hold the site below what its
	// firm GPU leases draw: without it, such an event is refused.
	ShedFirm bool `json:"shed_firm,omitempty"`
	// CancelledAt is when an operator called the event off; zero while it stands. A
	// cancelled event has ended: End is then no later than CancelledAt.
	CancelledAt time.Time `json:"cancelled_at,omitzero"`
}

// AuditKind says what an audit event records.
type AuditKind string

// Audit kinds, in the order a demand-response event produces them.
const (
	AuditEvent   AuditKind = "event"   // a demand-response event or a stale feed
	AuditPlan    AuditKind = "plan"    // a plan was made
	AuditCommand AuditKind = "command" // a command was sent to a device
	AuditAck     AuditKind = "ack"     // the device accepted it
	AuditVerify  AuditKind = "verify"  // telemetry showed it done (or did not: Detail says)
	AuditReport  AuditKind = "report"  // an agent reported the site's measured power
	// AuditChange is a change a principal made through the API, outside a site's live
	// loop: a manifest applied (in the site's log), an account, a token, credit or an
	// ask (in the exchange's own log, site "", or the listing's site). Its Actor is
	// the principal's account ID and its At the server's clock.
	AuditChange AuditKind = "change"
)

// AuditKinds are the audit kinds, in the order messages list them.
var AuditKinds = []AuditKind{AuditEvent, AuditPlan, AuditCommand, AuditAck, AuditVerify, AuditReport, AuditChange}

// Valid reports whether k is one of AuditKinds.
func (k AuditKind) Valid() bool { return slices.Contains(AuditKinds, k) }

// AuditQuery selects the audit events of one site's log (Site "": the exchange's own):
// those after After, at most Limit (MaxAuditQuery when not positive) — the oldest, or
// with Tail the newest — of the Kinds given (none: every kind) and, when Device is
// set, of that device.
type AuditQuery struct {
	Site   string
	After  int64
	Limit  int
	Tail   bool
	Kinds  []AuditKind
	Device string
}

// MaxAuditQuery is the most audit events one query returns.
const MaxAuditQuery = 10_000

// Validate checks the query's kinds and bounds, naming the field at fault.
func (q *AuditQuery) Validate() error {
	switch {
	case q.After < 0:
		return Errorf(EINVALID, "after: an audit event ID, not %d", q.After)
	case q.Limit > MaxAuditQuery:
		return Errorf(EINVALID, "limit: at most %d, not %d", MaxAuditQuery, q.Limit)
	}
	for _, k := range q.Kinds {
		if !k.Valid() {
			return Errorf(EINVALID, "kind: one of %q, not %q", AuditKinds, k)
		}
	}
	return nil
}

// AuditOutcome says how what an audit event records turned out: what a reader (the
// dashboard, an alert) judges a line by, where Detail is for people.
type AuditOutcome string

// Audit outcomes.
const (
	OutcomeOK       AuditOutcome = "ok"       // done as asked, or the check passed
	OutcomeFailed   AuditOutcome = "failed"   // not done: a command not verified, a plan not made
	OutcomeMismatch AuditOutcome = "mismatch" // the site meter moved much less than the devices say
	OutcomeDegraded AuditOutcome = "degraded" // a census with devices that do not answer or obey
	OutcomeUnjudged AuditOutcome = "unjudged" // a check that could not be judged this time
)

// Valid reports whether o is one of the audit outcomes.
func (o AuditOutcome) Valid() bool {
	switch o {
	case OutcomeOK, OutcomeFailed, OutcomeMismatch, OutcomeDegraded, OutcomeUnjudged:
		return true
	}
	return false
}

// Audit actors: who did what an audit event records. A request through the API is
// recorded as its account's ID (an agent's, "west-agent"; an operator's); these names
// are for what no account does.
const (
	ActorAgent    = "agent"    // a site's agent reporting in process, without an account
	ActorLoop     = "loop"     // the server's dispatch loop
	ActorOperator = "operator" // a person through the CLI on a store without accounts
)

// Bounds of what an agent may post to a site's audit log at once (the server refuses
// more): rows per post, bytes of a row's Detail and of its short fields (Reason, Device,
// Key), and how far a row's time (the agent's clock) may run ahead of the server's.
// An agent posts a larger step in several posts.
const (
	MaxAuditRowsPerPost = 1000
	MaxAuditDetailBytes = 4096
	MaxAuditFieldBytes  = 256
	MaxAuditClockAhead  = 5 * time.Minute
)

// Audit is one line of a site's audit log: every command, acknowledgement and
// verification, the plans and events behind them, and the changes people made. Site ""
// is the exchange's own log, of changes that belong to no site (accounts, tokens,
// credit).
type Audit struct {
	ID      int64        `json:"id"`
	Site    string       `json:"site"`
	At      time.Time    `json:"at"`
	Kind    AuditKind    `json:"kind"`
	Seq     int64        `json:"seq,omitempty"`    // the plan it belongs to
	Device  string       `json:"device,omitempty"` // address
	Outcome AuditOutcome `json:"outcome,omitempty"`
	// Reason is the short why: a plan's reason, the cause of a failure.
	Reason string `json:"reason,omitempty"`
	// Actor is who acted: the account's ID of the agent, operator or other principal
	// that posted or asked, or ActorLoop (see the actors above).
	Actor  string `json:"actor,omitempty"`
	Detail string `json:"detail"` // for people; never parsed
	// Key is the row's idempotency key, chosen by the agent that wrote it: a row posted
	// twice (posted, then the agent stopped before it forgot it) is stored once per site.
	Key string `json:"key,omitempty"`
	// RecordedAt is when the server stored the row, by the server's clock: At is the
	// agent's (its device time), which may run behind after an outage or a little off.
	// Zero for rows stored before it was recorded.
	RecordedAt time.Time `json:"recorded_at,omitzero"`
}

// LiveService stores what live operations produce: demand-response events, plans,
// the audit log and the newest census of each site's devices.
type LiveService interface {
	// CreateDemandResponse stores an event, with who declared it and its ShedFirm, and
	// sets its ID and CreatedAt.
	CreateDemandResponse(ctx context.Context, dr *DemandResponse) error
	// DemandResponses returns a site's events that have not ended at t.
	DemandResponses(ctx context.Context, site string, t time.Time) ([]*DemandResponse, error)
	// DemandResponseHistory returns a site's newest n events (at most MaxAuditQuery),
	// ended, cancelled or standing, newest first.
	DemandResponseHistory(ctx context.Context, site string, n int) ([]*DemandResponse, error)
	// CancelDemandResponse calls off the site's event id at t: it ends then, if it had
	// not ended before. It returns the event as cancelled; ENOTFOUND when the site has
	// no such event, ECONFLICT when it was cancelled or had ended by t.
	CancelDemandResponse(ctx context.Context, site string, id int64, at time.Time) (*DemandResponse, error)
	// SavePlan stores a plan, giving it the site's next Seq.
	SavePlan(ctx context.Context, p *SitePlan) error
	// LatestPlan returns the site's newest plan, or ENOTFOUND.
	LatestPlan(ctx context.Context, site string) (*SitePlan, error)
	// Plans returns the site's newest plans made at or after since, at most limit,
	// oldest first.
	Plans(ctx context.Context, site string, since time.Time, limit int) ([]*SitePlan, error)
	// AppendAudit stores events and sets their IDs; one without At or RecordedAt gets the
	// store's clock. An event with a Key that the site's log holds already is not
	// stored again: it takes the stored event's ID and RecordedAt.
	AppendAudit(ctx context.Context, events ...*Audit) error
	// Audit returns the audit events q selects, oldest first.
	Audit(ctx context.Context, q AuditQuery) ([]*Audit, error)
	// Prune deletes the plans of every site made before t, but each site's newest plan,
	// and the audit events recorded before t (by RecordedAt, or At where none was
	// recorded), and says how many of each it deleted. Nothing else deletes or edits an
	// audit event.
	Prune(ctx context.Context, t time.Time) (plans, audit int64, err error)
	// SaveDeviceReport keeps r as its site's newest census, in place of the one before;
	// ENOTFOUND when the site does not exist.
	SaveDeviceReport(ctx context.Context, r *DeviceReport) error
	// DeviceReport returns the site's newest census, or ENOTFOUND before the first.
	DeviceReport(ctx context.Context, site string) (*DeviceReport, error)
}

// Prices is what is known of market prices now: the live feeds, or history replayed
// on a demo's clock. Each reading says whether it is fresh; a stale one is not to be
// acted on (the dispatch loop plans a safe state, the dashboard shows it as missing).
type Prices interface {
	// Hashprice is net of the pool fee, USD per PH/s per day.
	Hashprice(now time.Time) (usdPerPHDay float64, fresh bool)
	// Energy is the site's energy price now, USD per MWh.
	Energy(site *Site, now time.Time) (usdPerMWh float64, fresh bool)
	// GPU is the open-market price of a GPU-hour and the share of capacity that sells.
	GPU(now time.Time) (usdPerHour, utilization float64)
	// BTCUSD is the bitcoin price in US dollars.
	BTCUSD(now time.Time) (usd float64, fresh bool)
}
