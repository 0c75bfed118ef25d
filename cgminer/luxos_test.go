package cgminer

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/joule-site/joule"
)

// luxPeer plays the LuxOS side of logon and curtail as luxos-tooling and pyasic
// describe it: one session at a time, write commands carry the session id first.
// Reads replay the recorded S19k Pro replies.
type luxPeer struct {
	mu       sync.Mutex
	session  string // the open session, "" when none
	sessions int
	curtail  string // last curtail action
	profile  string
	replay   func(request) []byte
}

func luxStatus(code int, msg string, extra string) []byte {
	status := "S"
	if code >= 400 || code == CodeInvalidCommand {
		status = "E"
	}
	return fmt.Appendf(nil, `{"STATUS":[{"STATUS":"%s","When":1760242394,"Code":%d,"Msg":"%s","Description":"LUXminer 2025.4.8.220305-57b389c7"}]%s,"id":1}`,
		status, code, msg, extra)
}

func (l *luxPeer) handle(r request) []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	params := strings.Split(r.Parameter, ",")
	switch r.Command {
	case "logon":
		if l.session != "" {
			return luxStatus(CodeSessionActive, "Another session is active", "")
		}
		l.sessions++
		l.session = fmt.Sprintf("sess%d", l.sessions)
		return luxStatus(300, "Session created", `,"SESSION":[{"SessionID":"`+l.session+`"}]`)
	case "session":
		return luxStatus(301, "Session", `,"SESSION":[{"SessionID":"`+l.session+`"}]`)
	case "logoff":
		if params[0] != l.session {
			return luxStatus(403, "Invalid session id", "")
		}
		l.session = ""
		return luxStatus(302, "Session logged off", "")
	case "curtail", "profileset":
		if len(params) != 2 || params[0] == "" || params[0] != l.session {
			return luxStatus(403, "Invalid session id", "")
		}
		if r.Command == "profileset" {
			l.profile = params[1]
			return luxStatus(345, "Profile set", "")
		}
		if params[1] != CurtailSleep && params[1] != CurtailWakeup {
			return luxStatus(CodeInvalidCommand, "Invalid command", "")
		}
		l.curtail = params[1]
		return luxStatus(346, "Curtail "+params[1], "")
	}
	return l.replay(r)
}

func newLuxPeer(t *testing.T) (*luxPeer, *peer) {
	t.Helper()
	l := &luxPeer{replay: replay(t, map[string]string{
		"version":  "luxminer/version-s19kpro.json",
		"summary":  "luxminer/summary-s19kpro.json",
		"profiles": "luxminer/profiles-s19kpro.json",
	}, false)}
	return l, startPeer(t, true, 0, l.handle)
}

func TestLuxOSCurtail(t *testing.T) {
	l, p := newLuxPeer(t)
	c := Dial(p.addr)
	ctx := context.Background()
	for _, step := range []struct {
		do   func() error
		want string
	}{
		{func() error { return c.Sleep(ctx) }, CurtailSleep},
		{func() error { return c.Wake(ctx) }, CurtailWakeup},
		{func() error { return c.Curtail(ctx, CurtailSleep) }, CurtailSleep},
	} {
		if err := step.do(); err != nil {
			t.Fatal(err)
		}
		l.mu.Lock()
		curtail, open := l.curtail, l.session
		l.mu.Unlock()
		if curtail != step.want || open != "" {
			t.Errorf("curtail %q, session left open %q; want %q and logged off", curtail, open, step.want)
		}
	}
	var sent []string
	for _, r := range p.requests() {
		if r.Command == "curtail" {
			sent = append(sent, r.Parameter)
		}
	}
	if strings.Join(sent, " ") != "sess1,sleep sess2,wakeup sess3,sleep" {
		t.Errorf("curtail parameters %q", sent)
	}
	if err := c.Curtail(ctx, "nap"); joule.ErrorCode(err) != joule.EINVALID {
		t.Errorf("curtail nap: %v", err)
	}
}

// TestLuxOSSessionActive: a session someone else holds is reused, not logged off.
func TestLuxOSSessionActive(t *testing.T) {
	l, p := newLuxPeer(t)
	c := Dial(p.addr)
	id, err := c.Logon(context.Background())
	if err != nil || id != "sess1" {
		t.Fatalf("logon %q %v", id, err)
	}
	if err := c.SetProfile(context.Background(), "240MHz"); err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.profile != "240MHz" || l.session != "sess1" || l.sessions != 1 {
		t.Errorf("profile %q session %q after %d logons", l.profile, l.session, l.sessions)
	}
}

func TestLuxOSProfiles(t *testing.T) {
	_, p := newLuxPeer(t)
	profiles, err := Dial(p.addr).Profiles(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(profiles) == 0 {
		t.Fatal("no profiles")
	}
	want := Profile{Name: "190MHz", PowerW: 784, HashrateTHs: 39.2, FrequencyMHz: 190, VoltageV: 11.88, Step: -16}
	if profiles[0] != want {
		t.Errorf("first profile %+v, want %+v", profiles[0], want)
	}
}

// The recorded LuxOS profiles give the powers the miner can be set to, ascending and
// each once, from the first profile's 784 W; firmware whose API takes no power setting
// (Braiins OS over the recorded replies) says so with EINVALID.
func TestPowerSettings(t *testing.T) {
	_, p := newLuxPeer(t)
	settings, err := Dial(p.addr).PowerSettings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(settings) < 2 || settings[0] != 784 || !slices.IsSorted(settings) || len(slices.Compact(slices.Clone(settings))) != len(settings) {
		t.Errorf("settings %v: want ascending, distinct, from 784 W", settings)
	}
	bos := startPeer(t, true, 0, replay(t, map[string]string{
		"version": "bosminer/version-bos-s9.json", "summary": "bosminer/summary-bos-s9.json",
	}, false))
	if settings, err := Dial(bos.addr).PowerSettings(context.Background()); joule.ErrorCode(err) != joule.EINVALID || settings != nil {
		t.Errorf("BOSminer: settings %v, %v; want none, and EINVALID", settings, err)
	}
}

// TestSleepUnsupported: firmware without a sleep command says so with EINVALID.
func TestSleepUnsupported(t *testing.T) {
	p := startPeer(t, true, 0, replay(t, map[string]string{
		"version": "bosminer/version-bos-s9.json", "summary": "bosminer/summary-bos-s9.json",
	}, false))
	err := Dial(p.addr).Sleep(context.Background())
	if joule.ErrorCode(err) != joule.EINVALID {
		t.Errorf("Sleep on BOSminer: %v", err)
	}
}

// TestPowerStateRecorded reads the recorded S19k Pro power and config replies through
// PowerState, as one "power+config" reply: in plain JSON (decoded straight into the
// few fields it needs) and with a quirk that only the generic, repairing parser takes.
// Both give the same reading.
func TestPowerStateRecorded(t *testing.T) {
	power := string(fixture(t, "luxminer/power-s19kpro.json"))
	config := string(fixture(t, "luxminer/config-s19kpro.json"))
	asleep := strings.Replace(config, `"CurtailMode": "None"`, `"CurtailMode": "Sleep"`, 1)
	if asleep == config {
		t.Fatal("the recorded config has no CurtailMode None")
	}
	powerErr := string(luxStatus(CodeInvalidCommand, "Invalid command", ""))
	quirk := func(s string) string { // NaN is not JSON: the repair turns it into null
		return strings.Replace(s, `"ASC Count": 3,`, `"ASC Count": 3, "Odd": nan,`, 1)
	}
	for _, tc := range []struct {
		name, power, config string
		state               joule.DeviceState
		watts               joule.Watts
		known               bool
	}{
		{"running", power, config, joule.StateRunning, 1051, true},
		{"asleep", power, asleep, joule.StateSleeping, 1051, true},
		{"running, repaired", power, quirk(config), joule.StateRunning, 1051, true},
		{"asleep, repaired", power, quirk(asleep), joule.StateSleeping, 1051, true},
		{"power refused", powerErr, asleep, joule.StateSleeping, 0, false},
		{"power refused, repaired", powerErr, quirk(asleep), joule.StateSleeping, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reply := []byte(`{"power":[` + tc.power + `],"config":[` + tc.config + `],"id":1}`)
			versions := replay(t, map[string]string{"version": "luxminer/version-s19kpro.json"}, false)
			p := startPeer(t, true, 0, func(r request) []byte {
				if r.Command == "power+config" {
					return reply
				}
				return versions(r)
			})
			c := Dial(p.addr)
			if fw, err := c.Firmware(t.Context()); err != nil || fw != FirmwareLuxOS {
				t.Fatalf("firmware %q, %v", fw, err)
			}
			tel, err := c.PowerState(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if tel.State != tc.state || tel.PowerW != tc.watts || tel.PowerKnown != tc.known || tel.Firmware != FirmwareLuxOS {
				t.Errorf("got %s, %d W (known %v), firmware %q; want %s, %d W (known %v)",
					tel.State, tel.PowerW, tel.PowerKnown, tel.Firmware, tc.state, tc.watts, tc.known)
			}
			for _, r := range p.requests() {
				if r.Command != "version" && r.Command != "power+config" {
					t.Errorf("PowerState sent %q: it fell back to a full read", r.Command)
				}
			}
		})
	}
}
