package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/joule-site/joule"
)

// The simulated miner speaks the cgminer JSON API as LuxOS extends it, so that the
// client's LuxOS path (logon, curtail, profiles, power) runs against it: it answers
// version, summary, pools, stats, devs, power, config, profiles, switchpool (a pool's
// number), addpool ("URL,USER,PASSWORD"), logon, logoff,
// session, curtail ("SESSION_ID,sleep" or "SESSION_ID,wakeup") and profileset
// ("SESSION_ID,NAME", or "SESSION_ID,BOARD,NAME"), and multi-commands such as
// "version+summary+pools". Replies end with a NUL, as real firmware's do. Requests in
// cgminer's text form are understood but answered in JSON. The status codes of the
// LuxOS write commands are the simulator's own.

const (
	simVersion     = "2025.4.8-joule-sim"
	simDescription = "LUXminer " + simVersion
	maxRequest     = 64 << 10
)

// accept serves connections one at a time, as cgminer's API thread does: a client
// that connects while another is served waits in the listen queue.
func (m *Miner) accept() {
	for {
		conn, err := m.ln.Accept()
		if err != nil {
			return
		}
		m.serveOne(conn)
	}
}

// serveOne answers a connection once no other is being answered.
func (m *Miner) serveOne(conn net.Conn) {
	m.serving.Lock()
	defer m.serving.Unlock()
	m.serve(conn)
}

// serve answers one request on one connection, as its fault dictates.
func (m *Miner) serve(conn net.Conn) {
	defer conn.Close()
	stop := context.AfterFunc(m.ctx, func() { conn.Close() })
	defer stop()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	command, parameter, ok := readRequest(conn)
	if !ok || m.rebooting() {
		return // a restarting miner's API is down: the connection closes unanswered
	}
	if command == faultCommand { // answered whatever the fault, so that any fault can be cleared
		_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		_, _ = conn.Write(append(m.setFaultCommand(parameter).appendTo(nil), 0))
		return
	}
	m.mu.Lock()
	fault := m.fault
	m.mu.Unlock()
	switch fault {
	case FaultNoAnswer:
		_ = conn.SetReadDeadline(time.Time{})
		_, _ = io.Copy(io.Discard, conn) // until the client gives up or the miner stops
		return
	case FaultSlow:
		t := time.NewTimer(m.cfg.SlowDelay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-m.ctx.Done():
			return
		}
	case FaultGarbage:
		_, _ = conn.Write([]byte("\xff\xfe}}not json{{\x00"))
		return
	}
	reply := append(m.handle(command, parameter), 0)
	if fault == FaultCloseEarly {
		reply = reply[:len(reply)/2]
	}
	_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, _ = conn.Write(reply)
}

// faultCommand is the simulator's own command (no firmware has it) that sets a miner's
// fault at run time, by name (Fault.String): {"command":"sim_fault","parameter":"overheat"}.
const faultCommand = "sim_fault"

// setFaultCommand answers faultCommand.
func (m *Miner) setFaultCommand(name string) apiReply {
	f, err := ParseFault(name)
	if err != nil {
		return m.status("E", 14, err.Error())
	}
	m.SetFault(f)
	return m.status("S", 900, "Fault "+f.String())
}

// readRequest reads a JSON request ({"command":…,"parameter":…}) until it is complete,
// or a text request ("summary", "switchpool|1") in one read.
func readRequest(conn net.Conn) (command, parameter string, ok bool) {
	var tmp [512]byte
	buf := tmp[:0]
	for len(buf) < maxRequest {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // grow
		}
		n, err := conn.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		b := bytes.TrimSpace(bytes.TrimRight(buf, "\x00"))
		if len(b) > 0 && b[0] != '{' {
			command, parameter, _ = strings.Cut(string(b), "|")
			return command, parameter, true
		}
		var req struct {
			Command   string          `json:"command"`
			Cmd       string          `json:"cmd"`
			Parameter json.RawMessage `json:"parameter"`
		}
		if json.Unmarshal(b, &req) == nil { // complete
			if req.Command == "" {
				req.Command = req.Cmd
			}
			// A string parameter is taken unquoted, anything else (a number, an object)
			// as its JSON text.
			if json.Unmarshal(req.Parameter, &parameter) != nil && string(req.Parameter) != "null" {
				parameter = string(req.Parameter)
			}
			return req.Command, parameter, true
		}
		if err != nil {
			return "", "", false
		}
	}
	return "", "", false
}

// apiStatus is the STATUS object of a reply.
type apiStatus struct {
	STATUS      string
	When        int64
	Code        int
	Msg         string
	Description string
}

// apiReply is a reply to one command: its status and at most one section of objects
// (a slice of structs or maps) under the section's name.
type apiReply struct {
	status  apiStatus
	section string
	items   any
}

// appendTo writes the reply as LuxOS does: {"STATUS":[…],"SECTION":[…],"id":1}.
func (r apiReply) appendTo(b []byte) []byte {
	b = append(b, `{"STATUS":[`...)
	b = appendJSON(b, r.status)
	b = append(b, ']')
	if r.section != "" {
		b = append(b, `,"`+r.section+`":`...)
		b = appendJSON(b, r.items)
	}
	return append(b, `,"id":1}`...)
}

func appendJSON(b []byte, v any) []byte {
	j, err := json.Marshal(v)
	if err != nil {
		panic(err) // only structs and maps of strings and numbers are marshalled here
	}
	return append(b, j...)
}

// handle builds the reply to a command, or to each part of a multi-command.
func (m *Miner) handle(command, parameter string) []byte {
	if !strings.Contains(command, "+") {
		return m.reply(command, parameter).appendTo(nil)
	}
	b := []byte{'{'}
	for part := range strings.SplitSeq(command, "+") {
		r := m.reply(part, "")
		if r.status.STATUS != "S" {
			return r.appendTo(nil) // cgminer refuses the whole request
		}
		b = append(b, `"`+part+`":[`...)
		b = append(r.appendTo(b), "],"...)
	}
	return append(b, `"id":1}`...)
}

func (m *Miner) status(kind string, code int, msg string) apiReply {
	return apiReply{status: apiStatus{STATUS: kind, When: m.cfg.Clock.Now().Unix(), Code: code, Msg: msg, Description: simDescription}}
}

// ok is a successful reply with a section; items is a slice.
func (m *Miner) ok(code int, msg, section string, items any) apiReply {
	r := m.status("S", code, msg)
	r.section, r.items = section, items
	return r
}

// The objects of the sections an agent reads on every verification.
type (
	powerItem struct {
		PSU   bool
		Watts joule.Watts
	}
	configItem struct {
		CurtailMode string
		Profile     string
		Model       string
		OS          string
	}
	sessionItem struct{ SessionID string }
)

// reply answers one command.
func (m *Miner) reply(command, parameter string) apiReply {
	now := m.cfg.Clock.Now()
	rep := m.reported()
	elapsed := int64(now.Sub(m.uptimeStart()) / time.Second)
	ghs := rep.HashrateTHs * 1000
	switch command {
	case "version":
		return m.ok(22, "LUXminer versions", "VERSION", []map[string]any{{
			"API": "3.7", "LUXminer": simVersion, "Miner": "joule-sim", "Type": m.cfg.Model}})
	case "summary":
		return m.ok(11, "Summary", "SUMMARY", []map[string]any{{
			"Elapsed": elapsed, "GHS 5s": ghs, "GHS 1m": ghs, "GHS av": ghs, "Accepted": 0, "Rejected": 0, "Hardware Errors": 0}})
	case "pools":
		m.mu.Lock()
		pools, active := slices.Clone(m.pools), m.active
		m.mu.Unlock()
		list := make([]map[string]any, len(pools))
		for i, p := range pools {
			list[i] = map[string]any{"POOL": i, "URL": p.URL, "User": p.User, "Status": "Alive", "Priority": i,
				"Stratum Active": i == active && rep.State != joule.StateSleeping}
		}
		return m.ok(7, fmt.Sprintf("%d Pool(s)", len(list)), "POOLS", list)
	case "stats":
		return m.ok(70, "CGMiner stats", "STATS", []map[string]any{m.stats(rep, elapsed, ghs)})
	case "switchpool", "addpool":
		// LuxOS takes them in a session (its ID first); cgminer without one.
		if first, _, ok := strings.Cut(parameter, ","); ok && (command == "switchpool" || !strings.Contains(first, "://")) {
			return m.sessionCommand(command, parameter)
		}
		if command == "addpool" {
			return m.addPoolReply(parameter)
		}
		n, err := strconv.Atoi(parameter)
		url, ok := m.switchPool(n)
		m.receive("switchpool", parameter, err == nil && ok)
		if err != nil || !ok {
			return m.status("E", 26, "Invalid pool id "+parameter)
		}
		return m.status("S", 27, fmt.Sprintf("Switching to pool %d:'%s'", n, url))
	case "devs":
		var boards []map[string]any
		for i := range 3 {
			boards = append(boards, map[string]any{"ASC": i, "Name": "SIM", "ID": i, "Enabled": "Y",
				"Status": "Alive", "MHS 5s": ghs * 1000 / 3, "Temperature": 40 + 25*rep.HashrateTHs/max(m.cfg.HashrateTHs, 1)})
		}
		return m.ok(9, "3 ASC(s)", "DEVS", boards)
	case "power":
		return m.ok(311, "Power usage", "POWER", []powerItem{{Watts: rep.PowerW}})
	case "config":
		mode := "None"
		if m.toldAsleep() {
			mode = "Sleep"
		}
		return m.ok(33, "LUXminer config", "CONFIG", []configItem{{CurtailMode: mode, Profile: rep.Profile, Model: m.cfg.Model, OS: "joule-sim"}})
	case "profiles":
		var list []map[string]any
		for _, p := range m.cfg.Profiles {
			list = append(list, map[string]any{"Profile Name": p.Name,
				"Watts":    int64(math.Round(float64(m.cfg.PowerW) * p.PowerFraction)),
				"Hashrate": math.Round(m.cfg.HashrateTHs*p.HashFraction()*10) / 10})
		}
		return m.ok(344, "Profiles", "PROFILES", list)
	}
	return m.sessionCommand(command, parameter)
}

// simBoards and simChipsPerBoard are the hash boards of a simulated miner, as an
// S21's three boards of 108 chips.
const (
	simBoards        = 3
	simChipsPerBoard = 108
)

// stats is the miner's stats object, with the Antminer keys LuxOS reports on an
// Antminer (cgminer/testdata/luxminer/stats-s19kpro.json): per board its sensor
// (tempN) and hottest chip (temp2_N), the chips found and answering (chain_acnN,
// chain_acsN), hardware errors (chain_hwN), the fans, and the expected rate. Boards
// warm from 35 °C asleep to 60 °C (chips 70 °C) hashing; the fans spin from 1,500 to
// 5,000 RPM with them.
func (m *Miner) stats(rep Reading, elapsed int64, ghs float64) map[string]any {
	ideal, level := 0.0, 0.0
	for _, p := range m.cfg.Profiles {
		if p.Name == rep.Profile {
			ideal = m.cfg.HashrateTHs * p.HashFraction()
		}
	}
	if ideal > 0 {
		level = min(max(rep.HashrateTHs/ideal, 0), 1)
	}
	o := map[string]any{"STATS": 0, "ID": "SIM0", "Elapsed": elapsed, "GHS 5s": ghs, "GHS av": ghs, "Type": m.cfg.Model,
		"fan_num": 4, "temp_num": simBoards, "rate_unit": "GH", "miner_count": simBoards,
		"total_rateideal": math.Round(ideal*1000*100) / 100}
	chip := "o"
	if rep.State == joule.StateSleeping {
		chip = "x" // chips off, as bmminer shows a sleeping S19 (bmminer/stats-s19-sleeping.json)
	}
	acs := " " + strings.Repeat(chip, simChipsPerBoard)
	fault := m.Fault()
	hot := 0.0
	if fault == FaultOverheat {
		hot = OverheatC
	}
	// After the "update" of FaultReplyShape the chip temperatures and hardware errors
	// go by other names and the fans come as one list.
	chipKey, hwKey := "temp2_", "chain_hw"
	if fault == FaultReplyShape {
		chipKey, hwKey = "temp_chip_", "chain_hw_errors"
	}
	for b := 1; b <= simBoards; b++ {
		n := fmt.Sprint(b)
		o["temp"+n] = math.Round(35 + 25*level + float64(b) + hot)
		o[chipKey+n] = math.Round(35 + 35*level + float64(b) + hot)
		o["chain_acn"+n] = simChipsPerBoard
		o["chain_acs"+n] = acs
		o[hwKey+n] = 0
	}
	fan := int(math.Round(1500 + 3500*level))
	if fault == FaultReplyShape {
		o["fans"] = []int{fan, fan, fan, fan}
		return o
	}
	for f := 1; f <= 4; f++ {
		o["fan"+fmt.Sprint(f)] = fan
	}
	return o
}

// session answers LuxOS's session commands and the write commands that need one.
func (m *Miner) sessionCommand(command, parameter string) apiReply {
	params := strings.Split(parameter, ",")
	m.mu.Lock()
	current := m.session
	m.mu.Unlock()
	valid := parameter != "" && params[0] == current && current != ""
	switch command {
	case "logon":
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.session != "" {
			return m.status("E", 402, "Another session is active")
		}
		m.sessions++
		m.session = sessionID(m.sessions)
		return m.ok(300, "Session created", "SESSION", []sessionItem{{m.session}})
	case "session":
		return m.ok(301, "Session", "SESSION", []sessionItem{{current}})
	case "logoff", "curtail", "profileset", "rebootdevice", "addpool", "switchpool":
	default:
		return m.status("E", 14, "Invalid command")
	}
	action, arg := writeAction(command, params)
	if !valid {
		if action != "" {
			m.receive(action, arg, false)
		}
		return m.status("E", 403, "Invalid session id")
	}
	switch {
	case command == "logoff":
		m.mu.Lock()
		m.session = ""
		m.mu.Unlock()
		return m.status("S", 302, "Session logged off")
	case action == "sleep":
		m.receive(action, arg, true)
		m.Sleep()
		return m.status("S", 346, "Curtail sleep")
	case action == "wake":
		m.receive(action, arg, true)
		m.Wake()
		return m.status("S", 346, "Curtail wakeup")
	case action == "reboot":
		m.receive(action, arg, true)
		m.Reboot()
		return m.status("S", 347, "Rebooting")
	case action == "addpool":
		if len(params) < 3 || params[1] == "" {
			m.receive(action, arg, false)
			return m.status("E", 25, "Invalid addpool stratum")
		}
		n, ok := m.addPool(params[1], params[2])
		m.receive(action, arg, ok)
		if !ok {
			return m.status("E", 25, "Too many pools")
		}
		return m.status("S", 55, fmt.Sprintf("Added pool %d: '%s'", n, params[1]))
	case action == "pool":
		n, err := strconv.Atoi(arg)
		if _, ok := m.switchPool(n); err != nil || !ok {
			m.receive(action, arg, false)
			return m.status("E", 26, "Invalid pool id")
		}
		m.receive(action, arg, true)
		return m.status("S", 27, fmt.Sprintf("Switching to pool %d", n))
	case action == "power":
		if err := m.SetProfile(arg); err != nil {
			m.receive(action, arg, false)
			return m.status("E", 345, "Invalid profile")
		}
		m.receive(action, arg, true)
		return m.status("S", 345, "Profile set")
	}
	return m.status("E", 14, "Invalid command")
}

// writeAction names what a write command asks ("sleep", "wake", "power" and the
// profile), or "" for one that asks nothing of the machine (logoff, a malformed curtail).
func writeAction(command string, params []string) (action, arg string) {
	switch {
	case command == "curtail" && len(params) == 2 && params[1] == "sleep":
		return "sleep", ""
	case command == "curtail" && len(params) == 2 && params[1] == "wakeup":
		return "wake", ""
	case command == "profileset" && len(params) >= 2:
		return "power", params[len(params)-1]
	case command == "rebootdevice":
		return "reboot", ""
	case command == "addpool" && len(params) >= 2:
		return "addpool", params[1]
	case command == "switchpool" && len(params) == 2:
		return "pool", params[1]
	}
	return "", ""
}

func (m *Miner) toldAsleep() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return !m.told.awake
}

func sessionID(n int) string { return fmt.Sprintf("sim%06d", n) }

// addPoolReply answers cgminer's addpool ("URL,USER,PASSWORD").
func (m *Miner) addPoolReply(parameter string) apiReply {
	parts := strings.Split(parameter, ",")
	if len(parts) != 3 || !strings.Contains(parts[0], "://") {
		m.receive("addpool", parameter, false)
		return m.status("E", 25, "Invalid addpool details")
	}
	n, ok := m.addPool(parts[0], parts[1])
	m.receive("addpool", parameter, ok)
	if !ok {
		return m.status("E", 25, "Too many pools")
	}
	return m.status("S", 55, fmt.Sprintf("Added pool %d: '%s'", n, parts[0]))
}
