package cgminer

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// maxDepth bounds the nesting of a reply. Real replies nest three or four levels
// (multi-command replies one more); anything deeper is garbage, and the bound keeps the
// recursive repair from exhausting the stack on hostile input.
const maxDepth = 64

// errTruncated says the reply ended inside a value: the miner closed the connection early.
var errTruncated = errors.New("reply is truncated")

// repairJSON rewrites a reply that a strict JSON parser rejects into valid JSON. It is
// a small recursive-descent scanner that copies the reply token by token and fixes only
// the faults that recorded firmware replies show (fixtures under testdata/):
//
//   - A missing comma between two elements or two members. The Bitmain stats bug sends
//     `..."Type":"Antminer L3+"}{"STATS":0,...` (cgminer/stats-antminer-l3plus.json,
//     vnish/stats-s9-vnish-3.8.6.json, hiveon/stats-s9-hiveon.json). A comma is inserted
//     wherever a value starts where a comma belongs.
//   - Bare nan, inf, -inf (any case, also Infinity) where a number belongs, as cgminer
//     prints a float that is not a number with printf (Avalon "MHS av":nan). They become
//     null: the value is unknown.
//   - An invalid escape inside a string, such as \' in Whatsminer's
//     "Firmware Version":"\'20200917.22.REL\'" (whatsminer-v2/summary-m20s-old-firmware.json).
//     The backslash is dropped.
//   - Raw control characters inside a string (cgminer copies messages verbatim; the text
//     replies in avalon/ascset-setpool-text.txt carry raw newlines). They are escaped.
//   - Bytes after the end of the top-level value, such as the `"}` after the final brace
//     in cgminer/version-antminer-s9k-trailing-garbage.json. They are dropped.
//   - A comma right before a closing brace or bracket. It is dropped.
//   - A number that JSON does not allow but strconv reads (01, 1., .5, +1). It is
//     rewritten in JSON form.
//
// Anything else (a reply cut short, bytes that are not JSON at all) is an error.
func repairJSON(in []byte) ([]byte, error) {
	r := &repairer{in: in, out: make([]byte, 0, len(in)+16)}
	if err := r.value(0); err != nil {
		return nil, err
	}
	return r.out, nil
}

type repairer struct {
	in  []byte
	pos int
	out []byte
}

func (r *repairer) skipSpace() {
	for r.pos < len(r.in) {
		switch r.in[r.pos] {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, or false at the end of input.
func (r *repairer) peek() (byte, bool) {
	r.skipSpace()
	if r.pos >= len(r.in) {
		return 0, false
	}
	return r.in[r.pos], true
}

func (r *repairer) errorf(format string, args ...any) error {
	return fmt.Errorf("malformed reply at byte %d: %s", r.pos, fmt.Sprintf(format, args...))
}

func startsValue(c byte) bool {
	return c == '{' || c == '[' || c == '"' || c == '-' || c == '+' || c == '.' ||
		(c >= '0' && c <= '9') || isLetter(c)
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

func (r *repairer) value(depth int) error {
	c, ok := r.peek()
	if !ok {
		return errTruncated
	}
	switch {
	case c == '{' || c == '[':
		if depth >= maxDepth {
			return r.errorf("nested deeper than %d", maxDepth)
		}
		return r.container(depth + 1)
	case c == '"':
		return r.str()
	case c == '-' && r.pos+1 < len(r.in) && isLetter(r.in[r.pos+1]):
		r.pos++ // -inf, -Infinity
		return r.word(true)
	case isLetter(c):
		return r.word(false)
	case startsValue(c):
		return r.number()
	default:
		return r.errorf("unexpected %q", c)
	}
}

// container copies an object or an array, inserting missing commas and dropping
// trailing ones.
func (r *repairer) container(depth int) error {
	open := r.in[r.pos]
	closing := byte('}')
	if open == '[' {
		closing = ']'
	}
	r.out = append(r.out, open)
	r.pos++
	first := true
	for {
		c, ok := r.peek()
		if !ok {
			return errTruncated
		}
		if c == ',' && !first {
			r.pos++
			if c, ok = r.peek(); !ok {
				return errTruncated
			}
			if c == closing { // trailing comma: drop it
				continue
			}
			r.out = append(r.out, ',')
		} else if c == closing {
			r.out = append(r.out, closing)
			r.pos++
			return nil
		} else if !first {
			if !startsValue(c) {
				return r.errorf("unexpected %q in %c%c", c, open, closing)
			}
			r.out = append(r.out, ',') // the missing comma (the `}{` bug)
		}
		first = false
		if open == '{' {
			if c, _ := r.peek(); c != '"' {
				return r.errorf("object key must be a string")
			}
			if err := r.str(); err != nil {
				return err
			}
			if c, ok := r.peek(); !ok {
				return errTruncated
			} else if c != ':' {
				return r.errorf("missing ':' after object key")
			}
			r.out = append(r.out, ':')
			r.pos++
		}
		if err := r.value(depth); err != nil {
			return err
		}
	}
}

// str copies a string, dropping invalid escapes and escaping raw control characters.
func (r *repairer) str() error {
	r.out = append(r.out, '"')
	r.pos++
	for r.pos < len(r.in) {
		c := r.in[r.pos]
		r.pos++
		switch {
		case c == '"':
			r.out = append(r.out, '"')
			return nil
		case c == '\\':
			if r.pos >= len(r.in) {
				return errTruncated
			}
			e := r.in[r.pos]
			switch {
			case strings.IndexByte(`"\/bfnrt`, e) >= 0:
				r.out = append(r.out, '\\', e)
				r.pos++
			case e == 'u' && r.pos+5 <= len(r.in) && isHex4(r.in[r.pos+1:r.pos+5]):
				r.out = append(r.out, r.in[r.pos-1:r.pos+5]...)
				r.pos += 5
			default: // invalid escape such as \': keep the character, drop the backslash
			}
		case c < 0x20:
			r.out = append(r.out, fmt.Sprintf(`\u%04x`, c)...)
		default:
			r.out = append(r.out, c)
		}
	}
	return errTruncated
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// word copies true, false and null, and turns nan and inf into null.
func (r *repairer) word(negative bool) error {
	start := r.pos
	for r.pos < len(r.in) && isLetter(r.in[r.pos]) {
		r.pos++
	}
	switch w := strings.ToLower(string(r.in[start:r.pos])); {
	case (w == "true" || w == "false" || w == "null") && !negative:
		r.out = append(r.out, w...)
	case w == "nan" || w == "inf" || w == "infinity":
		r.out = append(r.out, "null"...)
	default:
		if len(w) > 16 {
			w = w[:16] + "…"
		}
		return r.errorf("unexpected word %q", w)
	}
	return nil
}

// number copies a number, rewriting forms JSON does not allow.
func (r *repairer) number() error {
	start := r.pos
	for r.pos < len(r.in) && strings.IndexByte("+-.0123456789eE", r.in[r.pos]) >= 0 {
		r.pos++
	}
	lit := string(r.in[start:r.pos])
	if validNumber(lit) {
		r.out = append(r.out, lit...)
		return nil
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return r.errorf("bad number %q", lit)
	}
	r.out = strconv.AppendFloat(r.out, f, 'g', -1, 64)
	return nil
}

// validNumber reports whether s is a number as JSON writes it.
func validNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	return i == len(s)
}
