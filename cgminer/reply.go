package cgminer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Status is the STATUS entry of a reply, which says whether the command worked.
type Status struct {
	// Status is "S" (success), "I" (info, also a success: Avalon ascset), "W"
	// (warning), "E" (error) or "F" (fatal).
	Status      string `json:"STATUS"`
	When        int64  `json:"When"` // the miner's clock, Unix seconds
	Code        int    `json:"Code"`
	Msg         string `json:"Msg"` // empty when Msg is an object (see Reply.Sections)
	Description string `json:"Description"`
}

// OK reports whether the status is a success: "S" or "I".
func (s Status) OK() bool { return s.Status == "S" || s.Status == "I" }

// Reply is one decoded reply of a miner.
type Reply struct {
	Status Status
	// Sections holds every top-level array of objects but STATUS, under the key the
	// firmware used: "SUMMARY", "POOLS", "STATS", "VERSION", "POWER", "SESSION", …
	// Whatsminer replies whose Msg is an object (get_token, status) have it as "Msg".
	Sections map[string][]Object
	// Raw is the whole reply as decoded, numbers as json.Number. It marshals back to
	// valid JSON.
	Raw Object
}

// Section returns the objects of one section, or nil.
func (r *Reply) Section(name string) []Object { return r.Sections[name] }

// First returns the first object of a section, or nil.
func (r *Reply) First(name string) Object {
	if s := r.Sections[name]; len(s) > 0 {
		return s[0]
	}
	return nil
}

// ParseReply decodes one reply of the cgminer API family. It accepts the JSON form
// with the quirks real firmware has (see repairJSON), with or without the trailing
// NUL, and the cgminer text form (STATUS=S,When=…|SUMMARY,Elapsed=…|) that firmware
// sends to a request in text form. A reply whose STATUS is an error still parses; see
// Client.Command for the error.
func ParseReply(b []byte) (*Reply, error) {
	obj, err := decode(b)
	if err != nil {
		return nil, err
	}
	return newReply(obj), nil
}

// ParseMulti decodes the reply to a multi-command request such as "summary+pools":
// {"summary":[{STATUS…,SUMMARY…}],"pools":[{…}],"id":1}. It returns one Reply per
// command, keyed by the command's name.
func ParseMulti(b []byte) (map[string]*Reply, error) {
	obj, err := decode(b)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*Reply)
	for k, v := range obj {
		list, ok := v.([]any)
		if !ok || len(list) == 0 {
			continue
		}
		if m, ok := list[0].(map[string]any); ok {
			out[k] = newReply(m)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("multi-command reply holds no replies")
	}
	return out, nil
}

// trimReply cuts a reply at its first NUL and trims surrounding white space.
func trimReply(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return bytes.TrimSpace(b)
}

// decode turns a reply into its top-level object.
func decode(b []byte) (Object, error) {
	b = trimReply(b)
	switch {
	case len(b) == 0:
		return nil, errors.New("empty reply")
	case b[0] != '{' && bytes.HasPrefix(b, []byte("STATUS=")):
		return parseText(b), nil
	case !json.Valid(b):
		fixed, err := repairJSON(b)
		if err != nil {
			return nil, err
		}
		b = fixed
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("malformed reply: %w", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("malformed reply: not a JSON object")
	}
	return obj, nil
}

// newReply finds the status and the sections of a decoded reply. STATUS is usually an
// array of one object; Whatsminer puts a string there ("STATUS":"S") with When, Code,
// Msg and Description beside it (whatsminer-v2/get_token-api1.1.json,
// whatsminer-v2/status-api1.4-btmineroff-true.json).
func newReply(obj Object) *Reply {
	r := &Reply{Raw: obj, Sections: make(map[string][]Object)}
	switch s := obj["STATUS"].(type) {
	case []any:
		if len(s) > 0 {
			if m, ok := s[0].(map[string]any); ok {
				r.Status = statusOf(m)
			}
		}
	case string:
		r.Status = statusOf(obj)
		if m, ok := obj["Msg"].(map[string]any); ok {
			r.Sections["Msg"] = []Object{m}
		}
	}
	for k, v := range obj {
		list, ok := v.([]any)
		if !ok || k == "STATUS" {
			continue
		}
		var objs []Object
		for _, e := range list {
			if m, ok := e.(map[string]any); ok {
				objs = append(objs, m)
			}
		}
		if objs != nil {
			r.Sections[k] = objs
		}
	}
	return r
}

func statusOf(o Object) Status {
	s := Status{Status: o.String("STATUS"), Msg: o.String("Msg"), Description: o.String("Description")}
	when, _ := o.Int("When")
	code, _ := o.Int("Code")
	s.When, s.Code = when, int(code)
	return s
}
