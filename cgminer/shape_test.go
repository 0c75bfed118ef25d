package cgminer

import (
	"os"
	"path/filepath"
	"testing"
)

// readRecorded parses recorded replies of one miner, by command.
func readRecorded(t *testing.T, files map[string]string) (map[string]*Reply, []Object) {
	t.Helper()
	replies := map[string]*Reply{}
	for cmd, f := range files {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		r, err := ParseReply(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		replies[cmd] = r
	}
	var stats []Object
	if r := replies["stats"]; r != nil {
		stats = r.Section("STATS")
	}
	return replies, stats
}

// The shape of recorded replies: the same firmware's readings of two machines of one
// family share it whatever their figures (S19 Pro running, S19 asleep, S19 Pro
// overheating: bmminer's same fields), and another firmware's differs.
func TestReplyShapeOfRecordedReplies(t *testing.T) {
	shape := func(files map[string]string) string {
		t.Helper()
		r, stats := readRecorded(t, files)
		return replyShape(r, stats)
	}
	running := shape(map[string]string{"stats": "bmminer/stats-s19pro.json"})
	hot := shape(map[string]string{"stats": "bmminer/stats-s19pro-overheating.json"})
	lux := shape(map[string]string{"stats": "luxminer/stats-s19kpro.json"})
	if running == "" || running != hot {
		t.Errorf("bmminer S19 Pro stats: %q running, %q overheating; want one shape", running, hot)
	}
	if lux == running {
		t.Errorf("LuxOS and bmminer stats share the shape %q", lux)
	}
	pools := shape(map[string]string{"pools": "bmminer/pools-s19pro.json", "version": "bmminer/version-s19pro.json"})
	if pools == "" || pools == running {
		t.Errorf("pools+version shape %q", pools)
	}
	if got := replyShape(nil, nil); got != "" {
		t.Errorf("no replies: shape %q", got)
	}
}
