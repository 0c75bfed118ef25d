// Package alerts decides when a site's alert rules fire and resolve: on each batch of
// telemetry the site's agent sends (offline, overheat, hashrate under the expected, a
// pool the fleet does not list, a firmware whose replies changed shape), on each
// census with a meter reading (the meter against the devices' sum), and on a watch of
// the market feeds and demand-response events. It writes alerts through
// joule.AlertService, which keeps one open alert per (rule, subject) and an outbox
// of transitions that the leader delivers (package webhook).
package alerts

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/joule-site/joule"
)

// Store is where alerts are kept (joule.AlertService).
type Store interface {
	ChangeAlerts(ctx context.Context, site string, raise []*joule.Alert, resolve []joule.AlertResolution, at time.Time) (created, resolved int, err error)
	Alerts(ctx context.Context, q joule.AlertQuery) ([]*joule.Alert, error)
}

// Sites finds a site's rules.
type Sites interface {
	Site(ctx context.Context, name string) (*joule.Site, error)
}

// Fleets finds a site's fleets, with their pools.
type Fleets interface {
	Fleets(ctx context.Context, site string) ([]*joule.Fleet, error)
}

// Evaluator judges a site's rules as its telemetry arrives. What a rule needs to
// remember between batches (since when a miner has not answered, the reply shape of
// each fleet's firmware) it keeps in memory: the leader evaluates every batch, and a
// new leader starts afresh (a miner offline before it took over counts from its first
// batch; a shape is compared from the first it sees).
type Evaluator struct {
	Alerts Store
	Sites  Sites
	Fleets Fleets
	Now    func() time.Time
	// Changed is called after a batch that fired or resolved an alert, to wake the
	// delivery; nil: nothing is woken.
	Changed func()

	mu    sync.Mutex
	sites map[string]*memory
}

// memory is what the evaluator remembers of one site.
type memory struct {
	open         map[key]bool         // the alerts open, as last loaded or written
	loadedAt     time.Time            // when open was read from the store
	offlineSince map[string]time.Time // miners that did not answer, since their first poll missed
	shapes       map[string]*shape    // by fleet and firmware
}

type key struct {
	rule    joule.AlertRule
	subject string
}

// shape is what the evaluator knows of the reply shapes of one fleet's firmware: the
// shapes it has (the first seen, and each that held for ReplyShapeSettle), and the new
// ones since when they were first seen.
type shape struct {
	known map[string]bool
	since map[string]time.Time
}

// finding is what one rule says of one subject now: firing (with its figures) or not.
type finding struct {
	rule      joule.AlertRule
	subject   string
	fleet     string
	firing    bool
	value     float64
	threshold float64
	summary   string
}

// reloadOpen is how often the open alerts are read again from the store: what another
// replica did while it led (an alert it fired or resolved) is seen within it.
const reloadOpen = time.Minute

// memoryOf returns the site's memory, reading the open alerts on first use and every
// reloadOpen; e.mu is held.
func (e *Evaluator) memoryOf(ctx context.Context, site string) (*memory, error) {
	m := e.sites[site]
	if m == nil {
		m = &memory{offlineSince: map[string]time.Time{}, shapes: map[string]*shape{}}
	}
	now := e.Now()
	if m.open != nil && now.Sub(m.loadedAt) < reloadOpen && !now.Before(m.loadedAt) {
		return m, nil
	}
	open := map[key]bool{}
	for _, st := range []joule.AlertState{joule.AlertFiring, joule.AlertAcknowledged} {
		list, err := e.Alerts.Alerts(ctx, joule.AlertQuery{Site: site, State: st})
		if err != nil {
			return nil, fmt.Errorf("alerts of %s: %w", site, err)
		}
		for _, a := range list {
			open[key{a.Rule, a.Subject}] = true
		}
		if len(list) == joule.MaxAlertPage {
			// More are open than a page holds (a site-wide outage): those this replica
			// knows of stay known, so that each resolves when its condition clears
			// (resolving one that is not open writes nothing).
			for k := range m.open {
				open[k] = true
			}
		}
	}
	m.open, m.loadedAt = open, now
	if e.sites == nil {
		e.sites = map[string]*memory{}
	}
	e.sites[site] = m
	return m, nil
}

// Telemetry judges a batch of a site's samples (as the telemetry history took them):
// each device's newest reading against the device rules.
func (e *Evaluator) Telemetry(ctx context.Context, site string, samples []joule.TelemetrySample) error {
	s, err := e.Sites.Site(ctx, site)
	if err != nil {
		return err
	}
	fleets, err := e.Fleets.Fleets(ctx, site)
	if err != nil {
		return err
	}
	byName := map[string]*joule.Fleet{}
	for _, f := range fleets {
		byName[f.Name] = f
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	m, err := e.memoryOf(ctx, site)
	if err != nil {
		return err
	}
	var found []finding
	for _, smp := range joule.LatestPerDevice(samples) {
		found = append(found, m.device(&s.Alerts, byName[smp.Fleet], smp)...)
	}
	return e.apply(ctx, site, m, found)
}

// Census judges the site meter against the devices' own readings of a census, when
// every device found reports its power. The meter is compared with the devices' sum as
// it is: a meter at the facility's feed also reads cooling, which a site's
// meter_mismatch_percent must then allow for (its PUE − 1 and a margin).
func (e *Evaluator) Census(ctx context.Context, site string, r *joule.DeviceReport) error {
	if r.Meter == nil || r.Meter.Err != "" || r.Meter.PowerW <= 0 {
		return nil
	}
	s, err := e.Sites.Site(ctx, site)
	if err != nil {
		return err
	}
	var devices joule.Watts
	for _, f := range r.Fleets {
		if f.Reported < f.Found {
			return nil // some devices do not report their power: their sum says too little
		}
		devices += f.PowerW
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	m, err := e.memoryOf(ctx, site)
	if err != nil {
		return err
	}
	return e.apply(ctx, site, m, []finding{meterFinding(&s.Alerts, r.Meter.PowerW, devices)})
}

func meterFinding(r *joule.AlertRules, meter, devices joule.Watts) finding {
	limit := r.Threshold(joule.AlertMeterMismatch)
	pct := math.Abs(float64(meter-devices)) / float64(meter) * 100
	return finding{rule: joule.AlertMeterMismatch, subject: joule.AlertSubjectMeter, firing: r.On(joule.AlertMeterMismatch) && pct > limit,
		value: round1(pct), threshold: limit,
		summary: fmt.Sprintf("the site meter reads %s, the devices report %s: %.1f%% apart, more than %g%%", meter, devices, pct, limit)}
}

// device judges one device's newest sample against the device rules. A miner that
// does not answer is judged only as offline: what else it last showed stands.
func (m *memory) device(r *joule.AlertRules, fleet *joule.Fleet, s joule.TelemetrySample) []finding {
	f := func(rule joule.AlertRule) finding {
		return finding{rule: rule, subject: s.Address, fleet: s.Fleet}
	}
	name := "miner " + s.Address
	if s.Fleet != "" {
		name += " (fleet " + s.Fleet + ")"
	}
	var out []finding
	off := f(joule.AlertOffline)
	off.threshold = r.Threshold(joule.AlertOffline)
	if s.State == joule.StateUnknown {
		since, ok := m.offlineSince[s.Address]
		if !ok {
			since, m.offlineSince[s.Address] = s.At, s.At
		}
		minutes := s.At.Sub(since).Minutes()
		off.firing, off.value = r.On(joule.AlertOffline) && minutes >= off.threshold, round1(minutes)
		off.summary = fmt.Sprintf("%s has not answered since %s (%.1f min)", name, since.UTC().Format(time.RFC3339), minutes)
		return append(out, off)
	}
	delete(m.offlineSince, s.Address)
	out = append(out, off)

	if t := max(s.TempC, s.ChipTempC); t > 0 {
		hot := f(joule.AlertOverheat)
		hot.threshold, hot.value = r.Threshold(joule.AlertOverheat), t
		hot.firing = r.On(joule.AlertOverheat) && t > hot.threshold
		hot.summary = fmt.Sprintf("%s is at %.1f °C, over %g °C", name, t, hot.threshold)
		out = append(out, hot)
	}
	low := f(joule.AlertHashrateLow)
	low.threshold = r.Threshold(joule.AlertHashrateLow)
	if s.State == joule.StateRunning && s.ExpectedHashrateTHs > 0 {
		pct := s.HashrateTHs / s.ExpectedHashrateTHs * 100
		low.firing, low.value = r.On(joule.AlertHashrateLow) && pct < low.threshold, round1(pct)
		low.summary = fmt.Sprintf("%s hashes %.1f TH/s, %.0f%% of the %.1f TH/s expected, under %g%%", name, s.HashrateTHs, pct, s.ExpectedHashrateTHs, low.threshold)
	}
	out = append(out, low) // a miner asleep or ramping is not slow
	if fleet != nil && len(fleet.Pools) > 0 && s.Pool != "" {
		pool := f(joule.AlertWrongPool)
		pool.firing = r.On(joule.AlertWrongPool) && !fleet.AllowsPool(s.Pool)
		pool.summary = fmt.Sprintf("%s hashes for %s, not one of its fleet's pools", name, s.Pool)
		out = append(out, pool)
	}
	if s.ReplyShape != "" && s.Firmware != "" {
		out = append(out, m.replyShape(r, s, name, f(joule.AlertReplyShape)))
	}
	return out
}

// replyShape compares a sample's reply shape with those its fleet's firmware has: one
// it has not shown before fires until the miner replies in a known shape again, or
// until the new shape has held for ReplyShapeSettle and is known from then on (a fleet
// with two firmware versions in it has two shapes).
func (m *memory) replyShape(r *joule.AlertRules, s joule.TelemetrySample, name string, f finding) finding {
	k := s.Fleet + "\x00" + s.Firmware
	sh := m.shapes[k]
	if sh == nil {
		m.shapes[k] = &shape{known: map[string]bool{s.ReplyShape: true}, since: map[string]time.Time{}}
		return f
	}
	if sh.known[s.ReplyShape] {
		return f
	}
	since, ok := sh.since[s.ReplyShape]
	if !ok {
		since, sh.since[s.ReplyShape] = s.At, s.At
	}
	if s.At.Sub(since) >= joule.ReplyShapeSettle {
		sh.known[s.ReplyShape] = true
		delete(sh.since, s.ReplyShape)
		return f
	}
	known := make([]string, 0, len(sh.known))
	for k := range sh.known {
		known = append(known, k)
	}
	slices.Sort(known)
	f.firing = r.On(joule.AlertReplyShape)
	f.summary = fmt.Sprintf("%s: its %s %s replies changed shape (fields %s; the fleet's firmware had %s): check that it still curtails",
		name, s.Firmware, s.FirmwareVersion, s.ReplyShape, strings.Join(known, ", "))
	return f
}

// apply fires what fires and is not open, and resolves what is open and no longer
// fires, in one transaction; the memory follows once it is stored.
func (e *Evaluator) apply(ctx context.Context, site string, m *memory, found []finding) error {
	now := e.Now()
	var raise []*joule.Alert
	var resolve []joule.AlertResolution
	for _, f := range found {
		k := key{f.rule, f.subject}
		switch {
		case f.firing && !m.open[k]:
			raise = append(raise, &joule.Alert{Site: site, Rule: f.rule, Subject: f.subject, Fleet: f.fleet, Value: f.value, Threshold: f.threshold,
				Summary: clip(f.summary, joule.MaxAlertSummary), FiredAt: now})
		case !f.firing && m.open[k]:
			resolve = append(resolve, joule.AlertResolution{Rule: f.rule, Subject: f.subject, Value: f.value})
		}
	}
	created, resolved, err := e.Alerts.ChangeAlerts(ctx, site, raise, resolve, now)
	if err != nil {
		return fmt.Errorf("alerts of %s: %w", site, err)
	}
	for _, a := range raise {
		m.open[key{a.Rule, a.Subject}] = true
	}
	for _, r := range resolve {
		delete(m.open, key{r.Rule, r.Subject})
	}
	if created+resolved > 0 && e.Changed != nil {
		e.Changed()
	}
	return nil
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// clip cuts s to at most n bytes, on a character boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}
