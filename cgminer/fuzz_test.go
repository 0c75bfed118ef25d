package cgminer

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/joule-site/joule"
)

// FuzzParseReply feeds the reply parser arbitrary bytes, seeded with the recorded
// replies. It must not panic, and what it returns must marshal back to JSON and survive
// the readers Status applies to it. Replies above 8 KB (per-chip stats) are left out
// of the seeds: the fuzzer spends its time minimizing them, and TestParseEveryFixture
// covers them.
func FuzzParseReply(f *testing.F) {
	for _, path := range fixtureFiles(f) {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		if len(b) > 8<<10 {
			continue
		}
		f.Add(b)
		f.Add(append(b, 0))
	}
	f.Add([]byte(`{"STATUS":[{"STATUS":"S"}],"SUMMARY":[{"MHS av":nan,"MHS 5s":-inf}]}`))
	f.Add([]byte(`{"STATUS":[{"STATUS":"S"}],"STATS":[{"MM ID0":"TMax[nan] MTmax[1 x] PS[0 0 0 0 0 0 -5] Fan1[9e99]","fan_num":99,"fan3":1,"temp2_16":1e308,"json-stats":"{\"a-board\":{\"power\":-1}}"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseReply(b)
		if err == nil {
			if _, err := json.Marshal(r.Raw); err != nil {
				t.Fatalf("reply does not re-marshal: %v", err)
			}
			for _, objs := range r.Sections {
				for _, o := range objs {
					hashrateTHs(o)
					o.Int("Elapsed")
					o.Bool("Stratum Active")
				}
			}
			v := versionOf(r.First("VERSION"), r.Status.Description)
			v.refine(r.Section("STATS"), r.First("SUMMARY"))
			poolsOf(r.Section("POOLS"))
			boardsOff(r.Section("STATS"))
			checkDetailsSane(t, r)
		}
		if m, err := ParseMulti(b); err == nil {
			for _, r := range m {
				if _, err := json.Marshal(r.Raw); err != nil {
					t.Fatalf("multi reply does not re-marshal: %v", err)
				}
			}
		}
	})
}

// checkDetailsSane runs the readers of temperatures, fans, chips and power over a
// reply and checks that what they make of anything is a plausible reading: no
// negative count, no fan list beyond what a reply could name, temperatures finite.
func checkDetailsSane(t *testing.T, r *Reply) {
	t.Helper()
	tel := &joule.Telemetry{}
	stats := r.Section("STATS")
	details(tel, r.First("SUMMARY"), stats)
	saneTelemetry(t, tel)
	bos := &joule.Telemetry{}
	bosDetails(bos, r, r)
	saneTelemetry(t, bos)
	if w, ok := genericPower(r.First("SUMMARY"), stats); ok && w <= 0 {
		t.Fatalf("generic power %d W reported as known", w)
	}
}

func saneTelemetry(t *testing.T, tel *joule.Telemetry) {
	t.Helper()
	if e := tel.ExpectedHashrateTHs; math.IsNaN(e) || math.IsInf(e, 0) || e < 0 {
		t.Fatalf("expected hashrate %v", e)
	}
	for _, f := range append(append([]float64{tel.TempC, tel.ChipTempC}, tel.BoardTempsC...), tel.ChipTempsC...) {
		if math.IsNaN(f) || f < 0 || f > maxTempC {
			t.Fatalf("reading %v in %+v", f, tel)
		}
	}
	for _, n := range tel.FansRPM {
		if n < 0 || n > maxRPM {
			t.Fatalf("fan speed %d", n)
		}
	}
	if tel.Chips < 0 || tel.ChipsDown < 0 || tel.HardwareErrors < 0 || tel.PowerW < 0 {
		t.Fatalf("negative count in %+v", tel)
	}
}
