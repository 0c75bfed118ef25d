package sla

import (
	"slices"
	"sync"
	"time"

	"github.com/joule-site/joule"
)

// Recorder keeps the GPU servers' recent telemetry, by site and node name, as it comes
// in, for the hourly assessment: a sample is serving when the server ran (state
// running). It keeps Keep of them by sample time and forgets the rest; it lives in the
// memory of the process that takes the agents' batches (the leader), so a restart
// starts it empty — and an hour it did not see whole is not assessed (Since).
type Recorder struct {
	Keep time.Duration // how far back samples are kept; 3 h when zero

	mu    sync.Mutex
	sites map[string]map[string][]Sample // site → node → samples by time
	since time.Time                      // the earliest sample seen
}

// Observe takes a batch of samples of a site; those without a node name (miners) are
// skipped.
func (r *Recorder) Observe(site string, samples []joule.TelemetrySample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sites == nil {
		r.sites = map[string]map[string][]Sample{}
	}
	nodes := r.sites[site]
	var newest time.Time
	for _, s := range samples {
		if s.Node == "" {
			continue
		}
		if nodes == nil {
			nodes = map[string][]Sample{}
			r.sites[site] = nodes
		}
		if r.since.IsZero() || s.At.Before(r.since) {
			r.since = s.At
		}
		ss := nodes[s.Node]
		x := Sample{Server: s.Node, At: s.At, Serving: s.State == joule.StateRunning, Capped: s.Capped}
		if n := len(ss); n == 0 || !s.At.Before(ss[n-1].At) {
			ss = append(ss, x)
		} else { // a late batch: keep the samples in time order
			i, _ := slices.BinarySearchFunc(ss, s.At, func(a Sample, t time.Time) int { return a.At.Compare(t) })
			ss = slices.Insert(ss, i, x)
		}
		nodes[s.Node] = ss
		newest = joule.Later(newest, s.At)
	}
	if newest.IsZero() {
		return
	}
	keep := r.Keep
	if keep <= 0 {
		keep = 3 * time.Hour
	}
	cut := newest.Add(-keep)
	for n, ss := range nodes {
		i, _ := slices.BinarySearchFunc(ss, cut, func(a Sample, t time.Time) int { return a.At.Compare(t) })
		if i > 0 {
			nodes[n] = slices.Delete(ss, 0, i)
		}
	}
}

// Since is the time of the earliest sample the recorder has seen: an hour that starts
// before it was not seen whole.
func (r *Recorder) Since() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.since
}

// Samples returns a site's samples in [from, to), every node's.
func (r *Recorder) Samples(site string, from, to time.Time) []Sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Sample
	for _, ss := range r.sites[site] {
		for _, s := range ss {
			if !s.At.Before(from) && s.At.Before(to) {
				out = append(out, s)
			}
		}
	}
	return out
}
