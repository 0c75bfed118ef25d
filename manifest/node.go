package manifest

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/joule-site/joule"
	"go.yaml.in/yaml/v3"
)

// maxProblems is how many problems one error lists; the rest are counted.
const maxProblems = 20

// decoder walks a manifest's YAML tree. It keeps going after a problem, so that one
// run reports every problem it can, each with its line and field path.
type decoder struct {
	filename string
	known    joule.ModelLookup
	problems []problem

	// declared holds the models of the file by id, nil for one too broken to use, so
	// that a fleet of a broken model is not reported a second time as unknown.
	declared map[string]*declaredModel
	// siteLines holds the line of each site name seen, to report duplicates.
	siteLines map[string]int
}

type declaredModel struct {
	model *joule.HardwareModel
	line  int
}

// problem is one thing wrong with the file: a line (0 when unknown) and a message
// that starts with the field path.
type problem struct {
	line int
	msg  string
}

// errorf records a problem at line; path is the field it concerns, "" for the file.
func (d *decoder) errorf(line int, path, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if path != "" {
		msg = path + ": " + msg
	}
	d.problems = append(d.problems, problem{line: line, msg: msg})
}

// fatal records a problem and returns the error at once, for a file that cannot be read
// any further.
func (d *decoder) fatal(line int, path, format string, args ...any) error {
	d.errorf(line, path, format, args...)
	return d.err()
}

// err returns every recorded problem as one *joule.Error, one problem a line in line
// order, or nil when there is none.
func (d *decoder) err() error {
	if len(d.problems) == 0 {
		return nil
	}
	ps := slices.Clone(d.problems)
	slices.SortStableFunc(ps, func(a, b problem) int { return cmp.Compare(a.line, b.line) })
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('\n')
		}
		if i == maxProblems {
			fmt.Fprintf(&b, "%s: ... and %d more problems", d.filename, len(ps)-maxProblems)
			break
		}
		b.WriteString(d.filename)
		if p.line > 0 {
			fmt.Fprintf(&b, ":%d", p.line)
		}
		b.WriteString(": ")
		b.WriteString(p.msg)
	}
	return joule.Errorf(joule.EINVALID, "%s", b.String())
}

// object is a YAML mapping whose keys were checked against the fields its type has.
type object struct {
	path   string
	line   int
	keys   map[string]*yaml.Node
	values map[string]*yaml.Node
	// misspelled holds the fields that an unknown key was taken for a typo of, whose
	// absence need not be reported a second time.
	misspelled map[string]bool
}

// field returns the path of one of the object's fields.
func (o *object) field(key string) string { return join(o.path, key) }

// lineOf returns the line of a field's key, or of the object when the field is absent.
func (o *object) lineOf(key string) int {
	if k, ok := o.keys[key]; ok {
		return k.Line
	}
	return o.line
}

// has reports whether a field is present with a value other than null.
func (o *object) has(key string) bool {
	v, ok := o.values[key]
	return ok && !isNull(v)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// object checks that n is a mapping whose keys are among fields, each once. what names
// the type in messages ("a site"). ok is false when n is not a mapping at all.
func (d *decoder) object(n *yaml.Node, path, what string, fields []string) (o *object, ok bool) {
	if !d.plain(n, path) {
		return nil, false
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n.Line, path, "must be %s (a mapping of fields), got %s", what, describe(n))
		return nil, false
	}
	o = &object{path: path, line: n.Line, keys: map[string]*yaml.Node{}, values: map[string]*yaml.Node{}, misspelled: map[string]bool{}}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case k.Kind != yaml.ScalarNode:
			d.errorf(k.Line, path, "field names must be plain words, got %s", describe(k))
			continue
		case k.ShortTag() == "!!merge":
			d.errorf(k.Line, join(path, k.Value), "merge keys are not supported; write the fields out")
			continue
		case !slices.Contains(fields, k.Value):
			if s := closest(k.Value, fields); s != "" {
				d.errorf(k.Line, join(path, k.Value), "unknown field; did you mean %s?", s)
				o.misspelled[s] = true
			} else {
				d.errorf(k.Line, join(path, k.Value), "unknown field; %s has %s", what, strings.Join(fields, ", "))
			}
			continue
		}
		if first, dup := o.keys[k.Value]; dup {
			d.errorf(k.Line, join(path, k.Value), "set twice (first on line %d)", first.Line)
			continue
		}
		if !d.plain(v, join(path, k.Value)) {
			continue
		}
		o.keys[k.Value], o.values[k.Value] = k, v
	}
	return o, true
}

// plain reports whether n can be decoded: anchors are harmless, but aliases are not
// supported, which also keeps a small file from expanding into a huge one.
func (d *decoder) plain(n *yaml.Node, path string) bool {
	if n.Kind == yaml.AliasNode {
		d.errorf(n.Line, path, "aliases (*%s) are not supported; write the value out", n.Value)
		return false
	}
	return true
}

// required records a problem and returns false when a field is absent or null.
func (d *decoder) required(o *object, key string) bool {
	if o.has(key) {
		return true
	}
	if _, present := o.keys[key]; !present && o.misspelled[key] {
		return false
	}
	d.errorf(o.lineOf(key), o.field(key), "required")
	return false
}

// only records a problem when a field is present that is meaningless for the object's
// kind: hashrate on a GPU server, periods on a fixed price.
func (d *decoder) only(o *object, key, kind, got string) {
	if o.has(key) {
		d.errorf(o.lineOf(key), o.field(key), "only for kind %s, not %s", kind, got)
	}
}

// str returns a text field, "" when absent or null. Any scalar is text: `name: 2024`
// names something "2024".
func (d *decoder) str(o *object, key string) string {
	v, ok := o.values[key]
	if !ok || isNull(v) {
		return ""
	}
	if v.Kind != yaml.ScalarNode {
		d.errorf(o.lineOf(key), o.field(key), "must be text, got %s", describe(v))
		return ""
	}
	return v.Value
}

// number returns a field that must be a finite number; ok is false when it is absent
// or wrong, which has been recorded.
func (d *decoder) number(o *object, key string) (f float64, ok bool) {
	v, present := o.values[key]
	if !present || isNull(v) {
		return 0, false
	}
	return d.numberNode(v, o.lineOf(key), o.field(key))
}

func (d *decoder) numberNode(v *yaml.Node, line int, path string) (float64, bool) {
	var f float64
	if v.Kind != yaml.ScalarNode || (v.ShortTag() != "!!int" && v.ShortTag() != "!!float") || v.Decode(&f) != nil {
		d.errorf(line, path, "must be a number, got %s", describe(v))
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		d.errorf(line, path, "must be a finite number, got %s", describe(v))
		return 0, false
	}
	return f, true
}

// maxExactInt is the largest integer a float64 holds exactly.
const maxExactInt = 1 << 53

// integer returns a field that must be a whole number; 6000.0 and 6e3 are whole.
func (d *decoder) integer(o *object, key string) (int64, bool) {
	v, present := o.values[key]
	if !present || isNull(v) {
		return 0, false
	}
	return d.integerNode(v, o.lineOf(key), o.field(key))
}

func (d *decoder) integerNode(v *yaml.Node, line int, path string) (int64, bool) {
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!int" {
		var i int64
		if v.Decode(&i) == nil {
			return i, true
		}
	}
	f, ok := d.numberNode(v, line, path)
	if !ok {
		return 0, false
	}
	if f != math.Trunc(f) || math.Abs(f) > maxExactInt {
		d.errorf(line, path, "must be a whole number, got %s", describe(v))
		return 0, false
	}
	return int64(f), true
}

// intIn returns an integer field that must lie in [lo, hi].
func (d *decoder) intIn(o *object, key string, lo, hi int64) (int64, bool) {
	i, ok := d.integer(o, key)
	if !ok {
		return 0, false
	}
	return i, d.inRange(o.lineOf(key), o.field(key), i, lo, hi)
}

func (d *decoder) inRange(line int, path string, i, lo, hi int64) bool {
	switch {
	case i < lo && lo == 1:
		d.errorf(line, path, "must be a positive integer, got %d", i)
	case i < lo && lo == 0:
		d.errorf(line, path, "must not be negative, got %d", i)
	case i < lo || i > hi:
		d.errorf(line, path, "must be between %d and %d, got %d", lo, hi, i)
	default:
		return true
	}
	return false
}

// nonNegative returns a number field that must not be below zero.
func (d *decoder) nonNegative(o *object, key string) (float64, bool) {
	f, ok := d.number(o, key)
	if ok && f < 0 {
		d.errorf(o.lineOf(key), o.field(key), "must not be negative, got %v", f)
		return 0, false
	}
	return f, ok
}

// list returns the items of a list field, nil when absent or null.
func (d *decoder) list(o *object, key string) []*yaml.Node {
	v, ok := o.values[key]
	if !ok || isNull(v) {
		return nil
	}
	if v.Kind != yaml.SequenceNode {
		d.errorf(o.lineOf(key), o.field(key), "must be a list, got %s", describe(v))
		return nil
	}
	return v.Content
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what a node holds, for "got ..." in messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		v := n.Value
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		switch n.ShortTag() {
		case "!!null":
			return "nothing"
		case "!!str":
			return fmt.Sprintf("text %q", v)
		}
		return v
	}
	return "nothing"
}

// closest returns the candidate that s most likely misspells, or "".
func closest(s string, candidates []string) string {
	best, bestDist := "", 3
	ls := strings.ToLower(s)
	for _, c := range candidates {
		dist := editDistance(ls, strings.ToLower(c))
		if dist < bestDist && (dist <= 1 || len(c) > 4) {
			best, bestDist = c, dist
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return math.MaxInt // names are short; do not spend time on junk
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
