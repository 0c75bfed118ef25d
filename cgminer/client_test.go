package cgminer

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule"
)

func TestDialDefaultPort(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.5": "10.0.0.5:4028", "10.0.0.5:4029": "10.0.0.5:4029", "::1": "[::1]:4028", "[::1]": "[::1]:4028", "miner-7": "miner-7:4028",
	} {
		if got := Dial(in).Addr(); got != want {
			t.Errorf("Dial(%q).Addr() = %q, want %q", in, got, want)
		}
	}
}

// TestRequestForms checks the bytes on the wire: JSON with and without a parameter,
// and the text form.
func TestRequestForms(t *testing.T) {
	p := startPeer(t, true, 0, func(request) []byte { return fixture(t, "avalon/ascset-led-on-text.txt") })
	ctx := context.Background()
	jc := Dial(p.addr)
	text := Dial(p.addr, WithTextProtocol())
	if _, err := text.Command(ctx, "ascset", "0", "led", "1-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := jc.Command(ctx, "summary"); err != nil {
		t.Fatal(err)
	}
	want := []request{
		{Command: "ascset", Parameter: "0,led,1-1", Text: true},
		{Command: "summary"},
	}
	got := p.requests()
	if len(got) != len(want) {
		t.Fatalf("requests %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("request %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestMulti(t *testing.T) {
	p := startPeer(t, false, 3, replay(t, map[string]string{"pools+summary+stats": "avalon/pools+summary+stats-avalon10xx.json"}, false))
	replies, err := Dial(p.addr).Multi(context.Background(), "pools", "summary", "stats")
	if err != nil {
		t.Fatal(err)
	}
	if len(replies["pools"].Section("POOLS")) != 3 || replies["summary"].First("SUMMARY") == nil {
		t.Errorf("replies %v", replies)
	}
	if _, err := Dial(p.addr).Multi(context.Background(), "version", "summary"); !isAPIError(err) {
		t.Errorf("refused multi-command: %v", err)
	}
}

// TestPower: LuxOS answers the power command; Whatsminer has it in its summary;
// BOSminer has none.
func TestPower(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  joule.Watts
		code  string
	}{
		{"LuxOS", map[string]string{"power": "luxminer/power-s19kpro.json"}, 1051, ""},
		{"Whatsminer", map[string]string{"summary": "whatsminer-v2/summary-m31s-btminer.json"}, 3552, ""},
		{"BOSminer", map[string]string{"summary": "bosminer/summary-bos-s9.json"}, 0, joule.ENOTFOUND},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := startPeer(t, true, 0, replay(t, tc.files, false))
			w, err := Dial(p.addr).Power(context.Background())
			if w != tc.want || joule.ErrorCode(err) != tc.code {
				t.Errorf("Power = %d, %v; want %d, code %q", w, err, tc.want, tc.code)
			}
		})
	}
}

// TestStatusAsleep derives sleeping miners from recorded replies: the hashrate set to
// zero, and the firmware's own sign of sleep (the derived bytes are built here).
func TestStatusAsleep(t *testing.T) {
	zero := func(name, key string) []byte {
		b := fixture(t, name)
		for _, w := range hashWindows {
			b = zeroNumber(b, key+" "+w)
		}
		return b
	}
	tests := []struct {
		name    string
		replies map[string][]byte
		want    joule.DeviceState
	}{
		{"LuxOS curtailed", map[string][]byte{
			"version": fixture(t, "luxminer/version-s19kpro.json"),
			"summary": zero("luxminer/summary-s19kpro.json", "GHS"),
			"config":  bytes.Replace(fixture(t, "luxminer/config-s19kpro.json"), []byte(`"CurtailMode": "None"`), []byte(`"CurtailMode": "Sleep"`), 1),
		}, joule.StateSleeping},
		{"LuxOS not hashing, not curtailed", map[string][]byte{
			"version": fixture(t, "luxminer/version-s19kpro.json"),
			"summary": zero("luxminer/summary-s19kpro.json", "GHS"),
			"config":  fixture(t, "luxminer/config-s19kpro.json"),
		}, joule.StateRunning},
		{"Whatsminer btmineroff", map[string][]byte{
			"summary": zero("whatsminer-v2/summary-api1.4.json", "MHS"),
			"status":  fixture(t, "whatsminer-v2/status-api1.4-btmineroff-true.json"),
		}, joule.StateSleeping},
		{"Whatsminer API 2 mineroff false", map[string][]byte{
			"summary": zero("whatsminer-v2/summary-api1.4.json", "MHS"),
			"status":  fixture(t, "whatsminer-v2/status-api2.x-power-limit.json"),
		}, joule.StateRunning},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := startPeer(t, true, 0, func(r request) []byte {
				if b, ok := tc.replies[r.Command]; ok {
					return b
				}
				return invalidCommand
			})
			got, err := Dial(p.addr).Status(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got.State != tc.want || got.HashrateTHs != 0 {
				t.Errorf("state %s at %v TH/s, want %s", got.State, got.HashrateTHs, tc.want)
			}
		})
	}
}

// zeroNumber sets the number after "key": to 0 in a JSON text.
func zeroNumber(b []byte, key string) []byte {
	i := bytes.Index(b, []byte(`"`+key+`":`))
	if i < 0 {
		return b
	}
	j := i + len(key) + 3
	for j < len(b) && b[j] == ' ' {
		j++
	}
	k := j
	for k < len(b) && strings.IndexByte("0123456789.-", b[k]) >= 0 {
		k++
	}
	return append(append(append([]byte(nil), b[:j]...), '0'), b[k:]...)
}

// TestAvalonSoft: Sleep and Wake on an Avalon send ascset softoff/softon stamped with
// the client's clock; the recorded replies say STATUS "I".
func TestAvalonSoft(t *testing.T) {
	p := startPeer(t, true, 0, func(r request) []byte {
		switch {
		case r.Command == "version":
			return fixture(t, "avalon/version-avalonq.json")
		case strings.Contains(r.Parameter, "softoff"):
			return fixture(t, "avalon/ascset-softoff-avalonq.json")
		case strings.Contains(r.Parameter, "softon"):
			return fixture(t, "avalon/ascset-softon-avalonq.json")
		}
		return invalidCommand
	})
	c := Dial(p.addr, WithClock(func() time.Time { return time.Unix(1753434816, 0) }))
	if err := c.Sleep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.Wake(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range p.requests() {
		if r.Command == "ascset" {
			got = append(got, r.Parameter)
		}
	}
	if strings.Join(got, " ") != "0,softoff,1:1753434816 0,softon,1:1753434816" {
		t.Errorf("ascset parameters %q", got)
	}
}
