package cgminer

import (
	"encoding/json"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// fixtureFiles lists every recorded reply under testdata.
func fixtureFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir("testdata", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".json") || strings.HasSuffix(path, ".txt")) {
			files = append(files, path)
		}
		return err
	})
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	return files
}

// TestParseEveryFixture parses every recorded reply, with and without the NUL that
// firmware appends, and checks that what it returns marshals back to JSON.
func TestParseEveryFixture(t *testing.T) {
	for _, path := range fixtureFiles(t) {
		name := strings.TrimPrefix(filepath.ToSlash(path), "testdata/")
		t.Run(name, func(t *testing.T) {
			raw := fixture(t, name)
			for _, b := range [][]byte{raw, append(append([]byte(nil), raw...), 0)} {
				r, err := ParseReply(b)
				if err != nil {
					t.Fatalf("ParseReply: %v", err)
				}
				if _, err := json.Marshal(r.Raw); err != nil {
					t.Fatalf("re-marshal: %v", err)
				}
				if r.Status.Status == "" && r.Raw["enc"] == nil && r.Raw["code"] == nil && !strings.Contains(name, "+") {
					t.Errorf("no status: %+v", r.Status)
				}
			}
		})
	}
}

// TestParseQuirks checks each firmware quirk against the recorded reply that shows it.
func TestParseQuirks(t *testing.T) {
	tests := []struct {
		name  string
		file  string // fixture, or "" to use raw
		raw   string
		check func(t *testing.T, r *Reply)
	}{
		{"missing comma }{ between STATS objects", "cgminer/stats-antminer-l3plus.json", "", func(t *testing.T, r *Reply) {
			stats := r.Section("STATS")
			if len(stats) != 2 || stats[0].String("Type") != "Antminer L3+" || stats[1].String("GHS 5s") != "504.56" {
				t.Errorf("stats %v", stats)
			}
		}},
		{"}{ in Vnish stats", "vnish/stats-s9-vnish-3.8.6.json", "", func(t *testing.T, r *Reply) {
			if len(r.Section("STATS")) != 2 {
				t.Errorf("%d STATS objects, want 2", len(r.Section("STATS")))
			}
		}},
		{"}{ in Hiveon stats", "hiveon/stats-s9-hiveon.json", "", func(t *testing.T, r *Reply) {
			if f, _ := r.Section("STATS")[1].Float("GHS 5s"); f != 11781.40 {
				t.Errorf("GHS 5s %v", f)
			}
		}},
		{"trailing garbage after the final brace", "cgminer/version-antminer-s9k-trailing-garbage.json", "", func(t *testing.T, r *Reply) {
			if got := r.First("VERSION").String("Type"); got != "Antminer S9k" {
				t.Errorf("Type %q", got)
			}
		}},
		{"invalid escape \\'", "whatsminer-v2/summary-m20s-old-firmware.json", "", func(t *testing.T, r *Reply) {
			if got := r.First("SUMMARY").String("Firmware Version"); got != "'20200917.22.REL'" {
				t.Errorf("Firmware Version %q", got)
			}
		}},
		{"STATUS as a string, Msg an object", "whatsminer-v2/get_token-api1.1.json", "", func(t *testing.T, r *Reply) {
			if r.Status.Status != "S" || r.Status.Code != 134 || r.First("Msg").String("salt") != "BQ5hoXV9" {
				t.Errorf("status %+v msg %v", r.Status, r.First("Msg"))
			}
		}},
		{"number as a string", "bmminer/stats-s17pro.json", "", func(t *testing.T, r *Reply) {
			if f, ok := r.Section("STATS")[1].Float("GHS 5s"); !ok || f != 54997.01 {
				t.Errorf("GHS 5s %v %v", f, ok)
			}
		}},
		{"error status", "luxminer/error-invalid-command.json", "", func(t *testing.T, r *Reply) {
			if r.Status.Status != "E" || r.Status.Code != CodeInvalidCommand || r.Status.Msg != "Invalid command" {
				t.Errorf("status %+v", r.Status)
			}
		}},
		{"success as STATUS I", "avalon/ascset-softoff-avalonq.json", "", func(t *testing.T, r *Reply) {
			if !r.Status.OK() || r.Status.Code != 118 {
				t.Errorf("status %+v", r.Status)
			}
		}},
		{"duplicate keys", "whatsminer-v2/stats-m3-duplicate-keys.json", "", func(t *testing.T, r *Reply) {
			if len(r.Section("STATS")) == 0 {
				t.Error("no STATS")
			}
		}},
		{"text reply", "avalon/ascset-led-on-text.txt", "", func(t *testing.T, r *Reply) {
			if r.Status.Msg != "ASC 0 set OK" || r.Status.Code != 119 || r.Status.Description != "cgminer 4.11.1" {
				t.Errorf("status %+v", r.Status)
			}
		}},
		{"text reply with raw newlines in Msg", "avalon/ascset-setpool-text.txt", "", func(t *testing.T, r *Reply) {
			if !strings.Contains(r.Status.Msg, "Please reboot miner") || r.Status.Description != "cgminer 4.11.1" || r.Status.Code != 118 {
				t.Errorf("status %+v", r.Status)
			}
		}},
		{"text reply with sections", "", "STATUS=S,When=1,Code=11,Msg=Summary,Description=cgminer 4.9.0|SUMMARY,Elapsed=12,MHS 5s=3.5|", func(t *testing.T, r *Reply) {
			if f, _ := r.First("SUMMARY").Float("MHS 5s"); f != 3.5 {
				t.Errorf("summary %v", r.First("SUMMARY"))
			}
		}},
		{"bare nan, inf, -inf", "", `{"STATUS":[{"STATUS":"S","Code":11}],"SUMMARY":[{"MHS av":nan,"MHS 5s":inf,"MHS 1m":-inf,"MHS 5m":NaN,"MHS 15m":42.5}],"id":1}`, func(t *testing.T, r *Reply) {
			s := r.First("SUMMARY")
			for _, k := range []string{"MHS av", "MHS 5s", "MHS 1m", "MHS 5m"} {
				if _, ok := s.Float(k); ok {
					t.Errorf("%s reads as a number", k)
				}
			}
			if th, ok := hashrateTHs(s); !ok || th != 42.5e-6 {
				t.Errorf("hashrate %v %v, want the 15m window", th, ok)
			}
		}},
		{"encrypted reply", "whatsminer-v2/encrypted-reply-led-blink.json", "", func(t *testing.T, r *Reply) {
			if s, _ := r.Raw["enc"].(string); !strings.HasPrefix(s, "99J8w83z") {
				t.Errorf("enc %v", r.Raw["enc"])
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := []byte(tc.raw)
			if tc.file != "" {
				b = fixture(t, tc.file)
			}
			r, err := ParseReply(b)
			if err != nil {
				t.Fatalf("ParseReply: %v", err)
			}
			tc.check(t, r)
		})
	}
}

// TestParseMulti reads the Avalon 10xx reply to pools+summary+stats.
func TestParseMulti(t *testing.T) {
	replies, err := ParseMulti(fixture(t, "avalon/pools+summary+stats-avalon10xx.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"pools", "summary", "stats"} {
		if !replies[cmd].ok() {
			t.Errorf("%s: %+v", cmd, replies[cmd])
		}
	}
	if th, _ := hashrateTHs(replies["summary"].First("SUMMARY")); th != 32.24741681 {
		t.Errorf("hashrate %v TH/s, want the 30s window", th)
	}
	if f := avalonStats(replies["stats"].Section("STATS")); avalonModel(f["Ver"]) != "Avalon 1047" || avalonSleeping(f) {
		t.Errorf("model %q sleeping %v", avalonModel(f["Ver"]), avalonSleeping(f))
	}
}

// TestRepair checks each repair on a minimal input, and that non-JSON stays an error.
func TestRepair(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a":[{"x":1}{"y":2}]}`, `{"a":[{"x":1},{"y":2}]}`},
		{`{"a":1 "b":2}`, `{"a":1,"b":2}`},
		{`{"a":[1 2 3]}`, `{"a":[1,2,3]}`},
		{`{"a":[1,2,],}`, `{"a":[1,2]}`},
		{`{"a":nan,"b":-Infinity,"c":INF}`, `{"a":null,"b":null,"c":null}`},
		{`{"a":"it\'s","b":"\q"}`, `{"a":"it's","b":"q"}`},
		{"{\"a\":\"line\nbreak\"}", `{"a":"line\u000abreak"}`},
		{`{"a":1}"}garbage`, `{"a":1}`},
		{`{"a":01,"b":1.,"c":.5,"d":+2}`, `{"a":1,"b":1,"c":0.5,"d":2}`},
		{`{"a":True}`, `{"a":true}`},
		{`{"a":"\u00e9\uZZ"}`, `{"a":"\u00e9uZZ"}`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := repairJSON([]byte(tc.in))
			if err != nil {
				t.Fatalf("repair: %v", err)
			}
			if string(got) != tc.want || !json.Valid(got) {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
	for _, bad := range []string{"", "{", `{"a":`, `{"a":1`, `{"a"}`, `{a:1}`, `hello`, `{"a":-x}`, `{"a":1-2}`,
		strings.Repeat("[", 100) + strings.Repeat("]", 100), `{"a":"unterminated`} {
		if _, err := ParseReply([]byte(bad)); err == nil {
			t.Errorf("ParseReply(%q) gave no error", bad)
		}
	}
	if _, err := ParseReply([]byte(`[1,2]`)); err == nil {
		t.Error("an array reply gave no error")
	}
}

// BenchmarkParseReply measures parsing a valid reply, one that needs repair, and a
// large one.
func BenchmarkParseReply(b *testing.B) {
	for _, name := range []string{"bmminer/stats-s19pro.json", "cgminer/stats-antminer-l3plus.json", "whatsminer-v2/stats-m20s.json"} {
		raw := fixture(b, name)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := ParseReply(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
