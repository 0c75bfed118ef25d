package agent_test

import (
	"context"
	"sync"
	"time"

	"github.com/joule-site/joule"
)

// planServer is the joule API as the agent sees it, in process: it hands out the plan a
// test sets and keeps what the agent reports. Devices are real (the simulator over
// loopback); only the control plane is replaced, where a test needs to choose plans.
type planServer struct {
	mu      sync.Mutex
	plan    *joule.SitePlan
	audits  []*joule.Audit
	reports []*joule.DeviceReport
}

func (s *planServer) Plan(context.Context, string) (*joule.SitePlan, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.plan == nil {
		return nil, joule.Errorf(joule.ENOTFOUND, "no plan yet")
	}
	p := *s.plan
	return &p, nil
}

func (s *planServer) ReportAudit(_ context.Context, _ string, events []*joule.Audit) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.audits = append(s.audits, events...)
	return nil
}

func (s *planServer) ReportDevices(_ context.Context, _ string, r *joule.DeviceReport) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reports = append(s.reports, r)
	return nil
}

// set makes the next plan: the fleets given, valid for an hour.
func (s *planServer) set(fleets ...joule.FleetTarget) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seq := int64(1)
	if s.plan != nil {
		seq = s.plan.Seq + 1
	}
	var alloc joule.Watts
	for _, f := range fleets {
		alloc += f.AllocatedW
	}
	s.plan = &joule.SitePlan{Site: "test-site", Seq: seq, At: time.Now(), ValidUntil: time.Now().Add(time.Hour), PUE: 1,
		CapW: 100_000_000, AllocatedW: alloc, Fleets: fleets}
}

// lastReport returns the newest census the agent sent.
func (s *planServer) lastReport() *joule.DeviceReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reports) == 0 {
		return nil
	}
	return s.reports[len(s.reports)-1]
}

func (s *planServer) audit() []*joule.Audit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*joule.Audit(nil), s.audits...)
}
