package cgminer

import "strings"

// textSections maps the item names of cgminer's text form to the section names of its
// JSON form, so that one reader serves both: each pool is "POOL=0,URL=…" in text and an
// element of "POOLS" in JSON.
var textSections = map[string]string{
	"POOL": "POOLS", "ASC": "DEVS", "PGA": "DEVS", "GPU": "DEVS",
}

// parseText decodes cgminer's text form: sections separated by '|', fields by ',',
// each field key=value; the first section is the status, each later one starts with its
// name ("SUMMARY," or "POOL=0,"). Values stay strings; Object's getters read numbers
// from them. A value may contain commas or raw newlines, as Msg does in
// avalon/ascset-setpool-text.txt: a part without '=' continues the value before it.
// A '|' inside a value cannot be told apart from a section break; the text form has no
// escaping, which is why JSON is the default.
func parseText(b []byte) Object {
	obj := Object{}
	for i, sec := range strings.Split(string(b), "|") {
		fields := splitTextFields(sec)
		if len(fields) == 0 {
			continue
		}
		item := Object{}
		name := "STATUS"
		for j, f := range fields {
			k, v, hasValue := strings.Cut(f, "=")
			if j == 0 && i > 0 {
				name = k
				if !hasValue {
					continue // "SUMMARY": a name, no value
				}
			}
			item[k] = v
		}
		if alias, ok := textSections[name]; ok {
			name = alias
		}
		list, _ := obj[name].([]any)
		obj[name] = append(list, map[string]any(item))
	}
	return obj
}

// splitTextFields splits a section at commas, joining a part without '=' to the field
// before it (the value held a comma). It works on offsets, so that a long run of
// commas costs linear time.
func splitTextFields(sec string) []string {
	var out []string
	start := -1 // where the current field begins
	for pos := 0; pos <= len(sec); {
		end := strings.IndexByte(sec[pos:], ',')
		if end < 0 {
			end = len(sec)
		} else {
			end += pos
		}
		part := sec[pos:end]
		switch {
		case start >= 0 && !strings.Contains(part, "="):
			// the value of the current field goes on
		case start < 0 && strings.TrimSpace(part) == "":
			// leading empty part
		default:
			if start >= 0 {
				out = append(out, sec[start:pos-1])
			}
			start = pos
		}
		pos = end + 1
	}
	if start >= 0 {
		out = append(out, sec[start:])
	}
	return out
}
