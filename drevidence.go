package joule

import (
	"context"
	"time"
)

// PlanReasonDemandResponse is the Reason of a plan made while a demand-response event
// binds the site (the live loop's).
const PlanReasonDemandResponse = "demand response"

// PowerReading is a site's power as one census of its agent saw it: the site meter's
// reading, when it has one, beside the sum of what the devices last reported of
// themselves, overall and by fleet. The store keeps one for every census it saves
// (LiveService.SaveDeviceReport), so that a demand-response event's evidence has the
// meter's series and the devices' through it.
type PowerReading struct {
	At time.Time `json:"at"`
	// Metered says the census carried a meter reading that answered; MeterW is then
	// the power at the site's feed, else 0.
	Metered bool  `json:"metered"`
	MeterW  Watts `json:"meter_w"`
	// DevicesW is the devices' own power summed over every fleet: what each device
	// last reported (FleetCensus.PowerW).
	DevicesW Watts        `json:"devices_w"`
	Fleets   []FleetPower `json:"fleets"`
}

// FleetPower is one fleet's share of a PowerReading.
type FleetPower struct {
	Fleet  string `json:"fleet"`
	PowerW Watts  `json:"power_w"`
}

// PowerReadingOf is the reading a census stands for.
func PowerReadingOf(r *DeviceReport) PowerReading {
	p := PowerReading{At: r.At, Fleets: make([]FleetPower, 0, len(r.Fleets))}
	for _, f := range r.Fleets {
		p.DevicesW += f.PowerW
		p.Fleets = append(p.Fleets, FleetPower{Fleet: f.Fleet, PowerW: f.PowerW})
	}
	if r.Meter != nil && r.Meter.Err == "" {
		p.Metered, p.MeterW = true, r.Meter.PowerW
	}
	return p
}

// MaxPowerReadings is the most readings one query returns: a week of a census every
// 5 s is about 121,000, so a report of a long event reads its series in pages.
const MaxPowerReadings = 10_000

// DemandResponseEvidence is what a store keeps for a demand-response event's evidence
// report, beside LiveService: the event itself, the site's power readings and its
// audit log by time.
type DemandResponseEvidence interface {
	// DemandResponse returns the site's event id; ENOTFOUND when the site has none.
	DemandResponse(ctx context.Context, site string, id int64) (*DemandResponse, error)
	// PowerReadings returns the site's readings taken from from (inclusive) to to
	// (exclusive), oldest first, at most limit (1 to MaxPowerReadings).
	PowerReadings(ctx context.Context, site string, from, to time.Time, limit int) ([]PowerReading, error)
	// AuditBetween returns the site's audit events whose At (the time of the actor that
	// wrote it) is from from (inclusive) to to (exclusive), in the order they were
	// stored, at most limit (1 to MaxAuditQuery), those after the ID after.
	AuditBetween(ctx context.Context, site string, from, to time.Time, after int64, limit int) ([]*Audit, error)
}
