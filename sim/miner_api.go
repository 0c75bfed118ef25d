package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"strings"
	"time"

	"github.com/joule-site/joule"
)

// The simulated miner speaks the cgminer JSON API as LuxOS extends it, so that the
// client's LuxOS path (logon, curtail, profiles, power) runs against it: it answers
// version, summary, pools, stats, devs, power, config, profiles, logon, logoff,
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

func (m *Miner) accept() {
	for {
		conn, err := m.ln.Accept()
		if err != nil {
			return
		}
		m.wg.Go(func() { m.serve(conn) })
	}
}

// serve answers one request on one connection, as its fault dictates.
func (m *Miner) serve(conn net.Conn) {
	defer conn.Close()
	stop := context.AfterFunc(m.ctx, func() { conn.Close() })
	defer stop()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	command, parameter, ok := readRequest(conn)
	if !ok {
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

// readRequest reads a JSON request ({"command":…,"parameter":…}) until it is complete,
// or a text request ("summary", "switchpool|1") in one read.
func readRequest(conn net.Conn) (command, parameter string, ok bool) {
	var buf []byte
	tmp := make([]byte, 1024)
	for len(buf) < maxRequest {
		n, err := conn.Read(tmp)
		buf = append(buf, tmp[:n]...)
		b := bytes.TrimSpace(bytes.TrimRight(buf, "\x00"))
		if len(b) > 0 && b[0] != '{' {
			command, parameter, _ = strings.Cut(string(b), "|")
			return command, parameter, true
		}
		if json.Valid(b) {
			var req struct {
				Command   string `json:"command"`
				Cmd       string `json:"cmd"`
				Parameter any    `json:"parameter"`
			}
			if json.Unmarshal(b, &req) != nil {
				return "", "", false
			}
			if req.Command == "" {
				req.Command = req.Cmd
			}
			switch p := req.Parameter.(type) {
			case string:
				parameter = p
			case nil:
			default:
				parameter = string(mustJSON(p))
			}
			return req.Command, parameter, true
		}
		if err != nil {
			return "", "", false
		}
	}
	return "", "", false
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps of strings and numbers are marshalled here
	}
	return b
}

// handle builds the reply to a command, or to each part of a multi-command.
func (m *Miner) handle(command, parameter string) []byte {
	if !strings.Contains(command, "+") {
		return mustJSON(m.reply(command, parameter))
	}
	out := map[string]any{"id": 1}
	for part := range strings.SplitSeq(command, "+") {
		r := m.reply(part, "")
		if s := r["STATUS"].([]map[string]any); s[0]["STATUS"] != "S" {
			return mustJSON(r) // cgminer refuses the whole request
		}
		out[part] = []any{r}
	}
	return mustJSON(out)
}

func (m *Miner) status(kind string, code int, msg string) map[string]any {
	return map[string]any{"STATUS": []map[string]any{{
		"STATUS": kind, "When": m.cfg.Clock.Now().Unix(), "Code": code, "Msg": msg, "Description": simDescription,
	}}, "id": 1}
}

func (m *Miner) ok(code int, msg, section string, items ...map[string]any) map[string]any {
	r := m.status("S", code, msg)
	if section != "" {
		r[section] = items
	}
	return r
}

// reply answers one command.
func (m *Miner) reply(command, parameter string) map[string]any {
	now := m.cfg.Clock.Now()
	rep := m.reported()
	elapsed := int64(now.Sub(m.started) / time.Second)
	ghs := rep.HashrateTHs * 1000
	switch command {
	case "version":
		return m.ok(22, "LUXminer versions", "VERSION", map[string]any{
			"API": "3.7", "LUXminer": simVersion, "Miner": "joule-sim", "Type": m.cfg.Model})
	case "summary":
		return m.ok(11, "Summary", "SUMMARY", map[string]any{
			"Elapsed": elapsed, "GHS 5s": ghs, "GHS 1m": ghs, "GHS av": ghs, "Accepted": 0, "Rejected": 0, "Hardware Errors": 0})
	case "pools":
		return m.ok(7, "1 Pool(s)", "POOLS", map[string]any{
			"POOL": 0, "URL": m.cfg.PoolURL, "User": m.cfg.PoolUser, "Status": "Alive", "Priority": 0,
			"Stratum Active": rep.State != joule.StateSleeping})
	case "stats":
		return m.ok(70, "CGMiner stats", "STATS", map[string]any{
			"STATS": 0, "ID": "SIM0", "Elapsed": elapsed, "GHS 5s": ghs, "GHS av": ghs, "Type": m.cfg.Model})
	case "devs":
		var boards []map[string]any
		for i := range 3 {
			boards = append(boards, map[string]any{"ASC": i, "Name": "SIM", "ID": i, "Enabled": "Y",
				"Status": "Alive", "MHS 5s": ghs * 1000 / 3, "Temperature": 40 + 25*rep.HashrateTHs/max(m.cfg.HashrateTHs, 1)})
		}
		return m.ok(9, "3 ASC(s)", "DEVS", boards...)
	case "power":
		return m.ok(311, "Power usage", "POWER", map[string]any{"PSU": false, "Watts": rep.PowerW})
	case "config":
		mode := "None"
		if m.toldAsleep() {
			mode = "Sleep"
		}
		return m.ok(33, "LUXminer config", "CONFIG", map[string]any{
			"CurtailMode": mode, "Profile": rep.Profile, "Model": m.cfg.Model, "OS": "joule-sim"})
	case "profiles":
		var list []map[string]any
		for _, p := range m.cfg.Profiles {
			list = append(list, map[string]any{"Profile Name": p.Name,
				"Watts":    int64(math.Round(float64(m.cfg.PowerW) * p.PowerFraction)),
				"Hashrate": math.Round(m.cfg.HashrateTHs*p.HashFraction()*10) / 10})
		}
		return m.ok(344, "Profiles", "PROFILES", list...)
	}
	return m.sessionCommand(command, parameter)
}

// session answers LuxOS's session commands and the write commands that need one.
func (m *Miner) sessionCommand(command, parameter string) map[string]any {
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
		return m.ok(300, "Session created", "SESSION", map[string]any{"SessionID": m.session})
	case "session":
		return m.ok(301, "Session", "SESSION", map[string]any{"SessionID": current})
	case "logoff", "curtail", "profileset":
		if !valid {
			return m.status("E", 403, "Invalid session id")
		}
	default:
		return m.status("E", 14, "Invalid command")
	}
	switch {
	case command == "logoff":
		m.mu.Lock()
		m.session = ""
		m.mu.Unlock()
		return m.status("S", 302, "Session logged off")
	case command == "curtail" && len(params) == 2 && params[1] == "sleep":
		m.Sleep()
		return m.status("S", 346, "Curtail sleep")
	case command == "curtail" && len(params) == 2 && params[1] == "wakeup":
		m.Wake()
		return m.status("S", 346, "Curtail wakeup")
	case command == "profileset" && len(params) >= 2:
		if err := m.SetProfile(params[len(params)-1]); err != nil {
			return m.status("E", 345, "Invalid profile")
		}
		return m.status("S", 345, "Profile set")
	}
	return m.status("E", 14, "Invalid command")
}

func (m *Miner) toldAsleep() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return !m.told.awake
}

func sessionID(n int) string { return fmt.Sprintf("sim%06d", n) }
