package manifest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/joule-site/joule"
	"go.yaml.in/yaml/v3"
)

var fleetFields = []string{"name", "model", "count", "owner", "unit_price_usd", "pools", "tags"}

// maxFleetCount bounds the machines of one fleet: a typo guard (ten million is more than
// any site holds) that keeps count × power far from overflowing Watts.
const maxFleetCount = 10_000_000

// fleetGroup is a list of fleets in a site, and the kind of model it takes.
type fleetGroup struct {
	key  string
	kind joule.HardwareKind
}

var fleetGroups = []fleetGroup{
	{key: "fleets", kind: joule.KindASIC},
	{key: "gpu_servers", kind: joule.KindGPUServer},
}

// fleets decodes a site's `fleets:` (ASIC miners) and then its `gpu_servers:`. Fleet
// names are unique across both lists.
func (d *decoder) fleets(site *object, siteName string) []*joule.Fleet {
	lines := map[string]int{} // first line of each fleet name
	var out []*joule.Fleet
	for _, g := range fleetGroups {
		for i, n := range d.list(site, g.key) {
			path := fmt.Sprintf("%s[%d]", site.field(g.key), i)
			if f := d.fleet(n, path, siteName, g, lines); f != nil {
				out = append(out, f)
			}
		}
	}
	return out
}

// fleet decodes one fleet; it returns nil when the fleet has a problem.
func (d *decoder) fleet(n *yaml.Node, path, siteName string, g fleetGroup, lines map[string]int) *joule.Fleet {
	before := len(d.problems)
	o, ok := d.object(n, path, "a fleet", fleetFields)
	if !ok {
		return nil
	}
	f := &joule.Fleet{Site: siteName}
	if d.required(o, "name") {
		f.Name = d.str(o, "name")
		switch first, dup := lines[f.Name]; {
		case f.Name == "":
		case !joule.ValidSlug(f.Name):
			d.errorf(o.lineOf("name"), o.field("name"), "%q is not a valid fleet name: use lower-case letters, digits, '.', '_' or '-', at most 63", f.Name)
		case dup:
			d.errorf(o.lineOf("name"), o.field("name"), "duplicate fleet %s in this site (first on line %d)", f.Name, first)
		default:
			lines[f.Name] = o.lineOf("name")
		}
	}
	if d.required(o, "model") {
		f.Model = d.str(o, "model")
		if f.Model != "" {
			f.Kind = d.resolve(f.Model, o.lineOf("model"), o.field("model"), g)
		}
	}
	if d.required(o, "count") {
		if c, ok := d.intIn(o, "count", 1, maxFleetCount); ok {
			f.Count = int(c)
		}
	}
	f.Owner = d.str(o, "owner")
	if p, ok := d.nonNegative(o, "unit_price_usd"); ok {
		f.UnitPriceUSD = p
	}
	if g.kind == joule.KindGPUServer && o.has("pools") {
		d.errorf(o.lineOf("pools"), o.field("pools"), "only for miner fleets (fleets:), not GPU servers")
	} else {
		d.pools(o, f)
	}

	f.Tags = d.tagRanges(o, path)
	if len(d.problems) > before {
		return nil
	}
	if err := f.Validate(); err != nil {
		d.errorf(o.line, path, "%s", joule.ErrorMessage(err))
		return nil
	}
	return f
}

// resolve returns the kind of a fleet's model, declared in the file or known, and
// checks that the fleet's list takes that kind. It returns "" after recording a problem,
// or silently for a declared model whose own problems were reported already.
func (d *decoder) resolve(id string, line int, path string, g fleetGroup) joule.HardwareKind {
	var m *joule.HardwareModel
	if dm, ok := d.declared[id]; ok {
		if dm.model == nil {
			return ""
		}
		m = dm.model
	} else if d.known != nil {
		if km, ok := d.known(id); ok && km != nil {
			m = km
		}
	}
	if m == nil {
		d.errorf(line, path, "unknown model %q; %s", id, d.modelHint(id, g.kind))
		return ""
	}
	if m.Kind != g.kind {
		other := "fleets"
		if g.key == "fleets" {
			other = "gpu_servers"
		}
		if m.Kind == joule.KindASIC || m.Kind == joule.KindGPUServer {
			d.errorf(line, path, "%s is %s; list it under %s, not %s", id, article(m.Kind), other, g.key)
		} else {
			d.errorf(line, path, "%s has kind %q; %s takes %s models", id, m.Kind, g.key, g.kind)
		}
		return ""
	}
	return m.Kind
}

func article(k joule.HardwareKind) string {
	if k == joule.KindASIC {
		return "an asic"
	}
	return "a " + string(k)
}

// modelHint says what to do about an unknown model id: the id it likely misspells, or
// the models of the right kind the file declares.
func (d *decoder) modelHint(id string, kind joule.HardwareKind) string {
	const hint = "declare it under models: or use a catalog id"
	if len(d.problems) >= maxProblems {
		return hint // it will not be shown; spare a huge file the search
	}
	// The lookup cannot list its ids, but it can confirm a normalized spelling.
	if d.known != nil {
		norm := strings.NewReplacer(" ", "-", "_", "-").Replace(strings.ToLower(strings.TrimSpace(id)))
		if norm != id {
			if km, ok := d.known(norm); ok && km != nil {
				return fmt.Sprintf("did you mean %s?", norm)
			}
		}
	}
	var ids []string
	for mid, dm := range d.declared {
		if dm.model != nil && dm.model.Kind == kind {
			ids = append(ids, mid)
		}
	}
	slices.Sort(ids)
	if s := closest(id, ids); s != "" {
		return fmt.Sprintf("did you mean %s?", s)
	}
	if len(ids) > 5 {
		ids = append(ids[:5], "...")
	}
	if len(ids) > 0 {
		return fmt.Sprintf("%s (this file declares %s models %s)", hint, kind, strings.Join(ids, ", "))
	}
	return hint
}

var tagRangeFields = []string{"range", "set"}

// tagRanges decodes a fleet's `tags:`, a list of address ranges with the tags each
// device in them carries:
//
//	tags:
//	  - range: 10.0.1.1-10.0.1.100
//	    set: {rack: A12, row: "3"}
func (d *decoder) tagRanges(fleet *object, path string) []joule.TagRange {
	var out []joule.TagRange
	for i, n := range d.list(fleet, "tags") {
		p := fmt.Sprintf("%s.tags[%d]", path, i)
		o, ok := d.object(n, p, "a tag range", tagRangeFields)
		if !ok || !d.required(o, "range") || !d.required(o, "set") {
			continue
		}
		tr := joule.TagRange{Range: d.str(o, "range"), Tags: map[string]string{}}
		if _, err := joule.ExpandTagRanges(joule.MinerAPIPort, []joule.TagRange{tr}); err != nil {
			d.errorf(o.lineOf("range"), o.field("range"), "%q is not an address or a range of them, as 10.0.1.1-10.0.1.100 (at most %d)", tr.Range, joule.MaxActionDevices)
			continue
		}
		set := o.values["set"]
		if set.Kind != yaml.MappingNode {
			d.errorf(o.lineOf("set"), o.field("set"), "must be a mapping of tag keys to values, got %s", describe(set))
			continue
		}
		for j := 0; j+1 < len(set.Content); j += 2 {
			k, v := set.Content[j], set.Content[j+1]
			if k.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode || isNull(v) {
				d.errorf(k.Line, o.field("set"), "a tag is key: value, both plain text")
				continue
			}
			tr.Tags[k.Value] = v.Value
		}
		if err := joule.CheckTags(tr.Tags); err != nil {
			d.errorf(o.lineOf("set"), o.field("set"), "%s", joule.ErrorMessage(err))
			continue
		}
		out = append(out, tr)
	}
	return out
}
