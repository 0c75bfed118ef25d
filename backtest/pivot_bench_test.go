package backtest

import (
	"testing"
)

// BenchmarkPlan10kPaths5Years is the planner's speed target: 10,000 paths of five
// years, hour by hour, of the example site converting 20 MW to 8×H100 servers on
// 2024-06-01. Each op is a whole RunPivot; run it with -benchtime 1x.
func BenchmarkPlan10kPaths5Years(b *testing.B) {
	benchmarkPlan(b, 10_000, 5)
}

// BenchmarkPlan1kPaths5Years is a tenth of the target, for quicker measurements.
func BenchmarkPlan1kPaths5Years(b *testing.B) {
	benchmarkPlan(b, 1_000, 5)
}

func benchmarkPlan(b *testing.B, paths, years int) {
	cfg := planExampleConfig(b, paths, years)
	var hours int
	b.ReportAllocs()
	for b.Loop() {
		p, err := newPlanner(cfg)
		if err != nil {
			b.Fatal(err)
		}
		hours = p.cal.days * 24
		p.report(p.run(b.Context()))
	}
	pathHours := float64(paths) * float64(hours) * float64(b.N)
	b.ReportMetric(pathHours/b.Elapsed().Seconds(), "path-hours/s")
	// Each path-hour dispatches two sub-sites (the retired miners and the servers).
	b.ReportMetric(2*pathHours/b.Elapsed().Seconds(), "site-hours/s")
}

// BenchmarkPlanPath is one five-year path on one goroutine, set-up excluded.
func BenchmarkPlanPath(b *testing.B) {
	cfg := planExampleConfig(b, 1, 5)
	p, err := newPlanner(cfg)
	if err != nil {
		b.Fatal(err)
	}
	res := &pathResults{npv: make([]float64, 1), payback: make([]float64, 1), yearly: make([]float64, cfg.Years)}
	w := p.newWorker()
	b.ReportAllocs()
	for b.Loop() {
		clear(res.yearly)
		w.path(0, res)
	}
	b.ReportMetric(float64(p.cal.days*24)*float64(b.N)/b.Elapsed().Seconds(), "path-hours/s")
}

// BenchmarkPlanSetup is what RunPivot does before the first path: the history
// bootstrap, the energy pool and the calendar.
func BenchmarkPlanSetup(b *testing.B) {
	cfg := planExampleConfig(b, 1, 5)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := newPlanner(cfg); err != nil {
			b.Fatal(err)
		}
	}
}
