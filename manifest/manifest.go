// Package manifest parses and validates the declarative YAML that `joule apply -f`
// takes: hardware models, sites with their power cap and energy price, and the ASIC
// and GPU-server fleets each site runs. The embedded hardware catalog is a manifest
// with only models.
//
// Parsing does no I/O. Every problem is reported with the file, line and field path it
// concerns, all of them at once (up to a limit), as one *joule.Error with code
// EINVALID:
//
//	west-texas.yaml:14: sites[0].fleets[1].count: must be a positive integer, got -3
//	west-texas.yaml:22: sites[0].gpu_servers[0].model: unknown model "h100"; declare it under models: or use a catalog id
package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/joule-site/joule"
	"go.yaml.in/yaml/v3"
)

// Parse decodes and validates a manifest. filename is used only in error messages.
// known resolves fleet models that the file itself does not declare; nil means none.
//
// Models, sites and fleets come back in file order; a site's fleets are its `fleets:`
// (kind asic) followed by its `gpu_servers:` (kind gpu_server). Parse never panics; any
// error it returns is a *joule.Error with code EINVALID.
func Parse(filename string, data []byte, known joule.ModelLookup) (*joule.Manifest, error) {
	if filename == "" {
		filename = "manifest"
	}
	d := &decoder{filename: filename, known: known}
	root, err := d.parseYAML(data)
	if err != nil {
		return nil, err
	}
	m := d.manifest(root)
	if err := d.err(); err != nil {
		return nil, err
	}
	return m, nil
}

// parseYAML decodes the single YAML document in data into a node tree. Syntax errors
// come back at once: nothing can be checked in a document that does not parse.
func (d *decoder) parseYAML(data []byte) (root *yaml.Node, err error) {
	// The yaml library reports invalid UTF-8 without a line; find it here.
	if !utf8.Valid(data) {
		line := 1
		for len(data) > 0 {
			r, size := utf8.DecodeRune(data)
			if r == utf8.RuneError && size <= 1 {
				break
			}
			if r == '\n' {
				line++
			}
			data = data[size:]
		}
		return nil, d.fatal(line, "", "the file is not valid UTF-8 text")
	}
	// The yaml library is well tested, but a manifest is outside input: a panic in it
	// must not take the server or CLI down with it.
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, d.fatal(0, "", "malformed YAML")
		}
	}()

	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, d.fatal(0, "", "the file is empty; a manifest declares models: and/or sites:")
		}
		return nil, d.yamlError(data, err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, d.yamlError(data, err)
	default:
		return nil, d.fatal(next.Line, "", "a manifest is one YAML document; found a second one (---)")
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, d.fatal(0, "", "the file is empty; a manifest declares models: and/or sites:")
	}
	return doc.Content[0], nil
}

// yamlError turns a syntax error of the yaml library into a user error. The library's
// line often points at the start of the enclosing block rather than at the mistake, so
// the line reported is the first at which the text stops parsing.
func (d *decoder) yamlError(data []byte, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		msg = m[1]
	}
	line := firstBadLine(data)
	if line > 0 && strings.Contains(leadingSpace(lineText(data, line)), "\t") {
		msg += " (indent with spaces: YAML does not allow tabs there)"
	}
	return d.fatal(line, "", "malformed YAML: %s", msg)
}

// lineText returns line n of data, counting from 1.
func lineText(data []byte, n int) string {
	lines := strings.SplitN(string(data), "\n", n+1)
	if n > len(lines) {
		return ""
	}
	return lines[n-1]
}

func leadingSpace(s string) string {
	return s[:len(s)-len(strings.TrimLeft(s, " \t"))]
}

// yamlLineRE strips the library's own line from its message: "line 7: ...".
var yamlLineRE = regexp.MustCompile(`^line \d+: (.*)$`)

// firstBadLine returns the smallest n such that the first n lines of data do not parse,
// found by bisection, or 0 when there is none. A mistake inside a flow collection or a
// quoted string is reported at the line where that collection or string opens.
func firstBadLine(data []byte) int {
	var ends []int // ends[i] is the end of line i+1, past its newline
	for i, c := range data {
		if c == '\n' {
			ends = append(ends, i+1)
		}
	}
	if len(ends) == 0 || ends[len(ends)-1] != len(data) {
		ends = append(ends, len(data))
	}
	n := sort.Search(len(ends), func(i int) bool { return !parses(data[:ends[i]]) })
	if n == len(ends) {
		return 0
	}
	return n + 1
}

// parses reports whether every YAML document in data is well formed.
func parses(data []byte) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		switch err := dec.Decode(&n); {
		case errors.Is(err, io.EOF):
			return true
		case err != nil:
			return false
		}
	}
}

// manifest decodes the top level. Models are decoded first, wherever they stand in
// the file, so that fleets can refer to them.
func (d *decoder) manifest(root *yaml.Node) *joule.Manifest {
	if isNull(root) {
		d.errorf(root.Line, "", "the file is empty; a manifest declares models: and/or sites:")
		return nil
	}
	top, ok := d.object(root, "", "a manifest", []string{"models", "sites"})
	if !ok {
		return nil
	}
	m := &joule.Manifest{}
	models := d.list(top, "models")
	for i, n := range models {
		if hm := d.model(n, fmt.Sprintf("models[%d]", i)); hm != nil {
			m.Models = append(m.Models, hm)
		}
	}
	sites := d.list(top, "sites")
	for i, n := range sites {
		s, fleets := d.site(n, fmt.Sprintf("sites[%d]", i))
		if s != nil {
			m.Sites = append(m.Sites, s)
			m.Fleets = append(m.Fleets, fleets...)
		}
	}
	if len(models) == 0 && len(sites) == 0 && len(d.problems) == 0 {
		d.errorf(root.Line, "", "declares no models and no sites; a manifest needs at least one of them")
	}
	return m
}
