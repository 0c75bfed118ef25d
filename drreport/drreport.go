// Package drreport decides what a demand-response event's evidence says: the baseline
// the site drew before notice, the meter's and the devices' power through the event,
// how long each step took from notice to verified, when the site reached its target,
// how far and for how long it stayed above it (the shortfall), and the commands with
// their audit rows — what an aggregator or a grid operator checks a site's response
// against. It reads through the small interfaces it declares and does no I/O of its own.
package drreport

import (
	"slices"
	"strings"
	"time"

	"github.com/joule-site/joule"
)

// BaselineMethod names how the baseline is computed, and BaselineSource where the method
// comes from. The window's length (DefaultBaselineWindow) is an assumption.
const (
	BaselineMethod = "meter before / meter after: the mean metered power over the window before notice"
	BaselineSource = "NAESB WEQ-015 (Measurement and Verification of wholesale demand response), the \"Meter Before / Meter After\" performance evaluation methodology; the window's length is an assumption"
)

// DefaultBaselineWindow is how long before notice the baseline is averaged over: an
// assumption, long enough to hold a dozen censuses at a 5 s poll and short enough that
// the site's load did not change for other reasons. MaxBaselineWindow bounds what a
// request may ask.
const (
	DefaultBaselineWindow = 10 * time.Minute
	MaxBaselineWindow     = 24 * time.Hour
)

// MaxSeriesPoints is the most points a report's series holds: a longer event's
// readings are averaged into buckets of equal width (Report.SeriesBucket).
const MaxSeriesPoints = 2000

// Report is a demand-response event's evidence.
type Report struct {
	Site  string                `json:"site"`
	Event *joule.DemandResponse `json:"event"`
	// At is when the report was made; an event that had not ended then is reported
	// up to At (Complete false).
	At       time.Time    `json:"at"`
	Complete bool         `json:"complete"`
	TargetW  joule.Watts  `json:"target_w"`
	Baseline Baseline     `json:"baseline"`
	Steps    Steps        `json:"steps"`
	Fleets   []FleetSteps `json:"fleets"`
	// TargetReachedAt is the first reading at or after notice at or below the target
	// (the meter's where the site has one, else the devices'); zero: not reached.
	// TimeToTarget is how long after notice that was, and BeforeDeadline whether it was
	// by the deadline.
	TargetReachedAt time.Time     `json:"target_reached_at,omitzero"`
	TimeToTarget    time.Duration `json:"time_to_target_ns"`
	BeforeDeadline  bool          `json:"before_deadline"`
	Performance     Performance   `json:"performance"`
	// Series is the site's power from the baseline's start to the report's end, one
	// point a reading, or a bucket of SeriesBucket width when there were more than
	// MaxSeriesPoints readings.
	Series       []Point       `json:"series"`
	SeriesBucket time.Duration `json:"series_bucket_ns"`
	// Audit is the site's audit rows from notice (a second before, so that the event's
	// own row is in) to the report's end, the first
	// joule.MaxAuditQuery of them; AuditRows counts them all.
	Audit     []*joule.Audit `json:"audit"`
	AuditRows int            `json:"audit_rows"`
}

// Baseline is what the site drew before notice.
type Baseline struct {
	Method string    `json:"method"`
	Source string    `json:"source"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"` // the notice
	// PowerW is the mean over the window's metered readings; with none, the mean of the
	// devices' own sums (Metered false says so); Readings counts what was averaged, 0:
	// no baseline.
	PowerW   joule.Watts `json:"power_w"`
	Metered  bool        `json:"metered"`
	Readings int         `json:"readings"`
}

// Steps are the times of the response's steps, from notice to the last command
// verified; a zero time is a step that did not happen (yet).
type Steps struct {
	NoticeAt time.Time `json:"notice_at"`
	Deadline time.Time `json:"deadline"`
	// PlanAt is when the first plan for the event was made, PlanSeq its number.
	PlanAt  time.Time `json:"plan_at,omitzero"`
	PlanSeq int64     `json:"plan_seq,omitempty"`
	Commands
}

// Commands sums up the commands sent for an event (to a fleet, or to the site).
type Commands struct {
	Sent     int `json:"sent"`
	Acked    int `json:"acked"`
	Verified int `json:"verified"`
	Failed   int `json:"failed"`
	// FirstSentAt and LastSentAt bound when commands went out; LastAckAt and
	// LastVerifiedAt are the last acknowledgement and the last verification that passed.
	FirstSentAt    time.Time `json:"first_sent_at,omitzero"`
	LastSentAt     time.Time `json:"last_sent_at,omitzero"`
	LastAckAt      time.Time `json:"last_ack_at,omitzero"`
	LastVerifiedAt time.Time `json:"last_verified_at,omitzero"`
}

// FleetSteps are one fleet's commands for the event.
type FleetSteps struct {
	Fleet string `json:"fleet"` // "": devices the telemetry history does not place in a fleet
	Commands
}

// Performance is how the site held the target from the deadline to the event's end
// (or the report's time, if sooner).
type Performance struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// MeanW and MaxW are the site's power over the window, each reading held until the
	// next (the meter's where metered, else the devices'); Readings counts them.
	MeanW    joule.Watts `json:"mean_w"`
	MaxW     joule.Watts `json:"max_w"`
	Readings int         `json:"readings"`
	// ReductionW is the baseline less MeanW, and ReductionMWh that reduction over the
	// window.
	ReductionW   joule.Watts `json:"reduction_w"`
	ReductionMWh float64     `json:"reduction_mwh"`
	// ShortfallMaxW is the most the site drew above the target, ShortfallMWh the energy
	// drawn above it over the window, and AboveTarget how long it was above it.
	ShortfallMaxW joule.Watts   `json:"shortfall_max_w"`
	ShortfallMWh  float64       `json:"shortfall_mwh"`
	AboveTarget   time.Duration `json:"above_target_ns"`
}

// Point is the site's power at a time: the meter's (when Metered) and the devices'
// own sum.
type Point struct {
	At       time.Time   `json:"at"`
	Metered  bool        `json:"metered"`
	MeterW   joule.Watts `json:"meter_w"`
	DevicesW joule.Watts `json:"devices_w"`
}

// Input is what a report is built from: the event, the site's power readings from
// the baseline's start on (oldest first), the plans made from notice on (oldest
// first), and the audit rows from notice on (by ID), with the fleet of each device
// address that the telemetry history knows.
type Input struct {
	Event          *joule.DemandResponse
	At             time.Time
	BaselineWindow time.Duration
	Readings       []joule.PowerReading
	Plans          []*joule.SitePlan
	Audit          []*joule.Audit
	AuditRows      int // all the rows, of which Audit may be the first
	FleetOf        map[string]string
	// Tally, when set, has counted every audit row (Audit may then be the first of
	// them); nil: Build counts Audit.
	Tally *Tally
}

// End is the end of what a report of ev made at at covers: the event's end, or at if
// sooner (an event without an end, or one still holding).
func End(ev *joule.DemandResponse, at time.Time) (end time.Time, complete bool) {
	if ev.End.IsZero() || ev.End.After(at) {
		return at, false
	}
	return ev.End, true
}

// Build makes the report of in.
func Build(in Input) *Report {
	ev := in.Event
	window := in.BaselineWindow
	if window <= 0 {
		window = DefaultBaselineWindow
	}
	end, complete := End(ev, in.At)
	r := &Report{Site: ev.Site, Event: ev, At: in.At, Complete: complete, TargetW: ev.ReduceToW,
		Audit: in.Audit, AuditRows: max(in.AuditRows, len(in.Audit)), Fleets: []FleetSteps{}}
	if r.Audit == nil {
		r.Audit = []*joule.Audit{}
	}
	notice := ev.CreatedAt
	r.Baseline = baseline(in.Readings, notice.Add(-window), notice)
	tally := in.Tally
	if tally == nil {
		tally = NewTally(ev, in.Plans, in.FleetOf)
		tally.Add(in.Audit)
	}
	r.Steps, r.Fleets = tally.result()
	for _, p := range in.Readings {
		if p.At.Before(notice) || p.At.After(end) {
			continue
		}
		if power(p) <= ev.ReduceToW {
			r.TargetReachedAt = p.At
			r.TimeToTarget = p.At.Sub(notice)
			r.BeforeDeadline = !p.At.After(ev.Deadline)
			break
		}
	}
	r.Performance = performance(in.Readings, ev.Deadline, end, ev.ReduceToW, r.Baseline)
	r.Series, r.SeriesBucket = series(in.Readings, notice.Add(-window), end)
	return r
}

// power is what a reading says the site drew: the meter's where it has one.
func power(p joule.PowerReading) joule.Watts {
	if p.Metered {
		return p.MeterW
	}
	return p.DevicesW
}

func baseline(readings []joule.PowerReading, from, to time.Time) Baseline {
	b := Baseline{Method: BaselineMethod, Source: BaselineSource, From: from, To: to}
	var metered, devices []joule.Watts
	for _, p := range readings {
		if p.At.Before(from) || !p.At.Before(to) {
			continue
		}
		if p.Metered {
			metered = append(metered, p.MeterW)
		}
		devices = append(devices, p.DevicesW)
	}
	use := devices
	if len(metered) > 0 {
		use, b.Metered = metered, true
	}
	var sum int64
	for _, w := range use {
		sum += int64(w)
	}
	if len(use) > 0 {
		b.PowerW, b.Readings = joule.Watts(sum/int64(len(use))), len(use)
	}
	return b
}

// Tally times the plan and the commands of an event from its audit rows, those of the
// first plan made for it on, site-wide and by fleet: rows are added page by page, so
// that an event of a large fleet need not be held in memory whole.
type Tally struct {
	steps   Steps
	byFleet map[string]*Commands
	fleetOf map[string]string
}

// NewTally starts the tally of ev, whose plans from notice on are plans (oldest first)
// and whose devices' fleets are fleetOf.
func NewTally(ev *joule.DemandResponse, plans []*joule.SitePlan, fleetOf map[string]string) *Tally {
	t := &Tally{steps: Steps{NoticeAt: ev.CreatedAt, Deadline: ev.Deadline}, byFleet: map[string]*Commands{}, fleetOf: fleetOf}
	for _, p := range plans {
		if !p.At.Before(ev.CreatedAt) && p.Reason == joule.PlanReasonDemandResponse {
			t.steps.PlanAt, t.steps.PlanSeq = p.At, p.Seq
			break
		}
	}
	return t
}

// Add counts rows: a device's command, acknowledgement or verification of the event's
// first plan or a later one.
func (t *Tally) Add(rows []*joule.Audit) {
	if t.steps.PlanSeq == 0 {
		return
	}
	for _, e := range rows {
		if e.Seq < t.steps.PlanSeq || e.Device == "" {
			continue
		}
		f := t.fleetOf[e.Device]
		c := t.byFleet[f]
		if c == nil {
			c = &Commands{}
			t.byFleet[f] = c
		}
		t.steps.count(e)
		c.count(e)
	}
}

// result is the steps and the fleets' commands, by fleet name.
func (t *Tally) result() (Steps, []FleetSteps) {
	fleets := make([]FleetSteps, 0, len(t.byFleet))
	for f, c := range t.byFleet {
		fleets = append(fleets, FleetSteps{Fleet: f, Commands: *c})
	}
	slices.SortFunc(fleets, func(a, b FleetSteps) int { return strings.Compare(a.Fleet, b.Fleet) })
	return t.steps, fleets
}

// count takes one audit row of a device into the commands' counts.
func (c *Commands) count(e *joule.Audit) {
	later := func(t *time.Time) {
		if e.At.After(*t) {
			*t = e.At
		}
	}
	switch e.Kind {
	case joule.AuditCommand:
		c.Sent++
		if c.FirstSentAt.IsZero() || e.At.Before(c.FirstSentAt) {
			c.FirstSentAt = e.At
		}
		later(&c.LastSentAt)
	case joule.AuditAck:
		c.Acked++
		later(&c.LastAckAt)
	case joule.AuditVerify:
		if e.Outcome == joule.OutcomeOK {
			c.Verified++
			later(&c.LastVerifiedAt)
		} else {
			c.Failed++
		}
	}
}

// performance holds each reading from its time to the next one's (the last to to) and
// integrates the power over [from, to): what was drawn, what was drawn above target,
// and the reduction from the baseline. A reading before from holds into the window.
func performance(readings []joule.PowerReading, from, to time.Time, target joule.Watts, b Baseline) Performance {
	p := Performance{From: from, To: to}
	if !from.Before(to) {
		return p
	}
	var energyWms, aboveWms int64 // watt-milliseconds: exact
	var covered time.Duration
	for i, r := range readings {
		start, stop := r.At, to
		if i+1 < len(readings) {
			stop = readings[i+1].At
		}
		start, stop = joule.Later(start, from), joule.Earlier(stop, to)
		if !start.Before(stop) {
			continue
		}
		w := power(r)
		ms := stop.Sub(start).Milliseconds()
		p.Readings++
		covered += stop.Sub(start)
		energyWms += int64(w) * ms
		p.MaxW = max(p.MaxW, w)
		if over := w - target; over > 0 {
			aboveWms += int64(over) * ms
			p.ShortfallMaxW = max(p.ShortfallMaxW, over)
			p.AboveTarget += stop.Sub(start)
		}
	}
	if covered <= 0 {
		return p
	}
	p.MeanW = joule.Watts(energyWms / covered.Milliseconds())
	const wmsPerMWh = 3.6e12
	p.ShortfallMWh = float64(aboveWms) / wmsPerMWh
	if b.Readings > 0 {
		p.ReductionW = b.PowerW - p.MeanW
		p.ReductionMWh = float64(int64(b.PowerW)*covered.Milliseconds()-energyWms) / wmsPerMWh
	}
	return p
}

// series is the readings from from to to, averaged into equal buckets when there are
// more than MaxSeriesPoints; a bucket is metered when any reading in it was, and its
// meter the mean of those that were.
func series(readings []joule.PowerReading, from, to time.Time) ([]Point, time.Duration) {
	var in []joule.PowerReading
	for _, r := range readings {
		if !r.At.Before(from) && !r.At.After(to) {
			in = append(in, r)
		}
	}
	out := []Point{}
	if len(in) <= MaxSeriesPoints {
		for _, r := range in {
			out = append(out, Point{At: r.At, Metered: r.Metered, MeterW: r.MeterW, DevicesW: r.DevicesW})
		}
		return out, 0
	}
	bucket := (to.Sub(from) + MaxSeriesPoints - 1) / MaxSeriesPoints
	bucket = (bucket + time.Second - 1).Truncate(time.Second)
	type acc struct{ n, m, meter, devices int64 }
	var cur acc
	var at time.Time
	flush := func() {
		if cur.n == 0 {
			return
		}
		p := Point{At: at, DevicesW: joule.Watts(cur.devices / cur.n)}
		if cur.m > 0 {
			p.Metered, p.MeterW = true, joule.Watts(cur.meter/cur.m)
		}
		out = append(out, p)
	}
	for _, r := range in {
		b := from.Add(r.At.Sub(from) / bucket * bucket)
		if !b.Equal(at) {
			flush()
			cur, at = acc{}, b
		}
		cur.n++
		cur.devices += int64(r.DevicesW)
		if r.Metered {
			cur.m++
			cur.meter += int64(r.MeterW)
		}
	}
	flush()
	return out, bucket
}
