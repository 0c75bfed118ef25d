package sla_test

import (
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/sla"
)

// The recorder keeps GPU servers' samples by site and node, in time order even from a
// late batch, skips miners, forgets what is older than Keep, and says since when it saw.
func TestRecorder(t *testing.T) {
	r := &sla.Recorder{Keep: time.Hour}
	sample := func(node string, sec int, state joule.DeviceState) joule.TelemetrySample {
		return joule.TelemetrySample{Site: "s", Address: "127.0.0.1:" + node, Node: node, At: at(sec), State: state}
	}
	r.Observe("s", []joule.TelemetrySample{sample("n1", 0, joule.StateRunning), sample("", 0, joule.StateRunning), sample("n2", 15, joule.StateSleeping)})
	r.Observe("s", []joule.TelemetrySample{sample("n1", 30, joule.StateRunning)})
	r.Observe("s", []joule.TelemetrySample{sample("n1", 15, joule.StateOff)}) // late
	if got := r.Since(); !got.Equal(at(0)) {
		t.Errorf("since %v", got)
	}
	got := r.Samples("s", at(0), at(60))
	if len(got) != 4 {
		t.Fatalf("%d samples: %+v", len(got), got)
	}
	var n1 []sla.Sample
	for _, s := range got {
		if s.Server == "n1" {
			n1 = append(n1, s)
		}
	}
	if len(n1) != 3 || !n1[1].At.Equal(at(15)) || n1[1].Serving || !n1[2].Serving {
		t.Errorf("n1: %+v", n1)
	}
	if len(r.Samples("other", at(0), at(60))) != 0 || len(r.Samples("s", at(60), at(120))) != 0 {
		t.Error("samples of another site or time")
	}
	r.Observe("s", []joule.TelemetrySample{sample("n1", 3600+20, joule.StateRunning)})
	// An hour on from 20 s: the samples at 0, 15 (both nodes) are forgotten.
	if got := r.Samples("s", at(0), at(10_000)); len(got) != 2 || !got[0].At.Equal(at(30)) {
		t.Errorf("after an hour more, %d samples kept: %+v", len(got), got)
	}
}
