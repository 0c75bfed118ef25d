package drreport

import (
	"context"
	"fmt"
	"time"

	"github.com/joule-site/joule"
)

// Plans is the store's plans of a site (joule.LiveService has it).
type Plans interface {
	Plans(ctx context.Context, site string, since time.Time, limit int) ([]*joule.SitePlan, error)
}

// Devices is the telemetry history's device table (joule.TelemetryService has it): it
// places each device address in its fleet.
type Devices interface {
	Devices(ctx context.Context, q joule.DeviceQuery) (*joule.DevicePage, error)
}

// Reporter gathers an event's evidence from the stores and builds its report.
type Reporter struct {
	Evidence joule.DemandResponseEvidence
	Plans    Plans
	Devices  Devices // nil: commands are not split by fleet
	Now      func() time.Time
}

// maxPlans is the most plans read from notice on to find the event's first: the loop
// plans the site at notice or one interval after.
const maxPlans = 100

// auditLead is how long before notice the report's audit rows start.
const auditLead = time.Second

// Report builds the report of the site's event id as of now, its baseline averaged over
// window before notice (0: DefaultBaselineWindow). ENOTFOUND when the site has no such
// event; EINVALID for a window out of bounds.
func (r *Reporter) Report(ctx context.Context, site string, id int64, window time.Duration) (*Report, error) {
	switch {
	case window == 0:
		window = DefaultBaselineWindow
	case window < time.Minute || window > MaxBaselineWindow:
		return nil, joule.Errorf(joule.EINVALID, "baseline: a window from 1m to %s, not %s", MaxBaselineWindow, window)
	}
	ev, err := r.Evidence.DemandResponse(ctx, site, id)
	if err != nil {
		return nil, err
	}
	now := r.Now()
	end, _ := End(ev, now)
	in := Input{Event: ev, At: now, BaselineWindow: window}
	// Readings from the baseline's start to the end, in pages; one past the end, so
	// that the last reading in the window is held to its end and no longer.
	for from := ev.CreatedAt.Add(-window); ; {
		page, err := r.Evidence.PowerReadings(ctx, site, from, end.Add(time.Millisecond), joule.MaxPowerReadings)
		if err != nil {
			return nil, fmt.Errorf("power readings: %w", err)
		}
		in.Readings = append(in.Readings, page...)
		if len(page) < joule.MaxPowerReadings {
			break
		}
		from = page[len(page)-1].At.Add(time.Millisecond)
	}
	if in.Plans, err = r.Plans.Plans(ctx, site, ev.CreatedAt, maxPlans); err != nil {
		return nil, fmt.Errorf("plans: %w", err)
	}
	if in.FleetOf, err = r.fleets(ctx, site); err != nil {
		return nil, err
	}
	// Every audit row from notice to the end counts in the steps' times, page by page;
	// the report keeps the first MaxAuditQuery. The rows start auditLead before notice:
	// the event's own row is stamped as it is declared, a moment before the store
	// stamps the event.
	in.Tally = NewTally(ev, in.Plans, in.FleetOf)
	var after int64
	for {
		page, err := r.Evidence.AuditBetween(ctx, site, ev.CreatedAt.Add(-auditLead), end.Add(time.Millisecond), after, joule.MaxAuditQuery)
		if err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		in.Tally.Add(page)
		in.AuditRows += len(page)
		if keep := joule.MaxAuditQuery - len(in.Audit); keep > 0 {
			in.Audit = append(in.Audit, page[:min(keep, len(page))]...)
		}
		if len(page) < joule.MaxAuditQuery {
			break
		}
		after = page[len(page)-1].ID
	}
	return Build(in), nil
}

// fleets maps each device address of the site's device table to its fleet.
func (r *Reporter) fleets(ctx context.Context, site string) (map[string]string, error) {
	out := map[string]string{}
	if r.Devices == nil {
		return out, nil
	}
	for q := (joule.DeviceQuery{Site: site, Limit: joule.MaxDevicePage}); ; q.Offset += joule.MaxDevicePage {
		page, err := r.Devices.Devices(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("device table: %w", err)
		}
		for _, d := range page.Devices {
			out[d.Address] = d.Fleet
		}
		if len(page.Devices) < joule.MaxDevicePage {
			return out, nil
		}
	}
}
