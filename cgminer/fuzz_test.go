package cgminer

import (
	"encoding/json"
	"os"
	"testing"
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
