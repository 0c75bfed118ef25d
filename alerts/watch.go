package alerts

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/joule-site/joule"
)

// Feed is a market feed as the watch judges its age: when its value was last good
// (zero: never).
type Feed struct {
	Name     string
	LastGood time.Time
}

// Live is what the watch reads of a site's operations: its demand-response events
// and its newest census (joule.LiveService).
type Live interface {
	DemandResponses(ctx context.Context, site string, t time.Time) ([]*joule.DemandResponse, error)
	DeviceReport(ctx context.Context, site string) (*joule.DeviceReport, error)
}

// SiteLister lists the sites to watch.
type SiteLister interface {
	Sites(ctx context.Context) ([]*joule.Site, error)
}

// WatchEvery is how often the watch judges the feeds and the events: a tenth of the
// shortest default it judges against (DefaultDRAtRiskMinutes).
const WatchEvery = 30 * time.Second

// Watch judges, every Every on the leader, the rules that no telemetry batch brings:
// a market feed gone stale, and a demand-response event at risk of missing its
// deadline (the site still draws more than the event allows DRAtRiskMinutes before
// the deadline, or after it, by its newest census: the meter when it has one).
type Watch struct {
	Evaluator *Evaluator
	Sites     SiteLister
	Live      Live
	// Feeds returns the market feeds at now; nil: no feed is judged.
	Feeds func(now time.Time) []Feed
	Every time.Duration
	Log   *slog.Logger
}

// Run judges every Every until ctx ends.
func (w *Watch) Run(ctx context.Context) error {
	t := time.NewTicker(w.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := w.Once(ctx); err != nil && ctx.Err() == nil {
			w.Log.Warn("alerts watch", "err", err)
		}
	}
}

// Once judges every site's feeds and events once.
func (w *Watch) Once(ctx context.Context) error {
	sites, err := w.Sites.Sites(ctx)
	if err != nil {
		return err
	}
	now := w.Evaluator.Now()
	var feeds []Feed
	if w.Feeds != nil {
		feeds = w.Feeds(now)
	}
	for _, s := range sites {
		found := feedFindings(&s.Alerts, feeds, now)
		events, err := w.Live.DemandResponses(ctx, s.Name, now)
		if err != nil {
			return err
		}
		var census *joule.DeviceReport
		if len(events) > 0 {
			if census, err = w.Live.DeviceReport(ctx, s.Name); err != nil && joule.ErrorCode(err) != joule.ENOTFOUND {
				return err
			}
		}
		found = append(found, drFindings(&s.Alerts, events, census, now)...)
		w.Evaluator.mu.Lock()
		m, err := w.Evaluator.memoryOf(ctx, s.Name)
		if err == nil {
			// An event that ended (or was cancelled) is no longer at risk.
			standing := map[string]bool{}
			for _, f := range found {
				standing[f.subject] = true
			}
			for k := range m.open {
				if k.rule == joule.AlertDRAtRisk && !standing[k.subject] {
					found = append(found, finding{rule: k.rule, subject: k.subject})
				}
			}
			err = w.Evaluator.apply(ctx, s.Name, m, found)
		}
		w.Evaluator.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// feedFindings judges each feed's age against the site's limit; a feed that never had
// a value counts from never, so it fires.
func feedFindings(r *joule.AlertRules, feeds []Feed, now time.Time) []finding {
	limit := r.Threshold(joule.AlertFeedStale)
	var out []finding
	for _, f := range feeds {
		fd := finding{rule: joule.AlertFeedStale, subject: "feed:" + f.Name, threshold: limit}
		if f.LastGood.IsZero() {
			fd.firing, fd.summary = r.On(joule.AlertFeedStale), fmt.Sprintf("the %s feed has had no good value yet", f.Name)
		} else {
			age := now.Sub(f.LastGood).Minutes()
			fd.value, fd.firing = round1(age), r.On(joule.AlertFeedStale) && age > limit
			fd.summary = fmt.Sprintf("the %s feed's last good value is %.0f min old, more than %g min", f.Name, age, limit)
		}
		out = append(out, fd)
	}
	return out
}

// drFindings judges each standing event: at risk from DRAtRiskMinutes before its
// deadline while the site draws more than it allows. Without a census the site's
// draw is unknown, which is a risk too.
func drFindings(r *joule.AlertRules, events []*joule.DemandResponse, census *joule.DeviceReport, now time.Time) []finding {
	lead := time.Duration(r.Threshold(joule.AlertDRAtRisk) * float64(time.Minute))
	var draw joule.Watts
	measured := "no census"
	if census != nil {
		for _, f := range census.Fleets {
			draw += f.PowerW
		}
		measured = "the devices report " + draw.String()
		if census.Meter != nil && census.Meter.Err == "" && census.Meter.PowerW > 0 {
			draw, measured = census.Meter.PowerW, "the meter reads "+census.Meter.PowerW.String()
		}
	}
	var out []finding
	for _, e := range events {
		f := finding{rule: joule.AlertDRAtRisk, subject: "dr:" + strconv.FormatInt(e.ID, 10), threshold: float64(e.ReduceToW), value: float64(draw)}
		over := census == nil || draw > e.ReduceToW
		f.firing = r.On(joule.AlertDRAtRisk) && !now.Before(e.Deadline.Add(-lead)) && over
		f.summary = fmt.Sprintf("demand response %d must be at or under %s by %s; %s", e.ID, e.ReduceToW, e.Deadline.UTC().Format(time.RFC3339), measured)
		out = append(out, f)
	}
	return out
}
