package manifest

import (
	"slices"

	"github.com/joule-site/joule"
	"go.yaml.in/yaml/v3"
)

// modelFields are the fields of an entry under `models:`; sources may name any of them.
var modelFields = []string{
	"id", "kind", "name", "vendor",
	"hashrate_ths", "power_w", "idle_w",
	"gpus", "gpu_model", "gpu_memory_gb",
	"price_usd", "sources",
}

// Bounds that catch typos (a power in kW where W was meant is still fine; one in mW
// is not) and keep count × power far from overflowing Watts.
const (
	maxMachinePowerW = 1_000_000 // 1 MW: more than a whole rack of GPU servers
	maxGPUsPerServer = 1024
	maxGPUMemoryGB   = 1_000_000
)

// model decodes one entry of `models:`. It returns nil when the entry has a problem.
func (d *decoder) model(n *yaml.Node, path string) *joule.HardwareModel {
	before := len(d.problems)
	o, ok := d.object(n, path, "a model", modelFields)
	if !ok {
		return nil
	}
	m := &joule.HardwareModel{Builtin: false}

	if d.required(o, "id") {
		m.ID = d.str(o, "id")
		if m.ID != "" && !joule.ValidSlug(m.ID) {
			d.errorf(o.lineOf("id"), o.field("id"), "%q is not a valid id: use lower-case letters, digits, '.', '_' or '-', at most 63", m.ID)
		}
	}
	if d.required(o, "kind") {
		m.Kind = joule.HardwareKind(d.str(o, "kind"))
		switch m.Kind {
		case joule.KindASIC:
			d.required(o, "hashrate_ths")
			d.only(o, "gpus", string(joule.KindGPUServer), string(m.Kind))
			d.only(o, "gpu_model", string(joule.KindGPUServer), string(m.Kind))
			d.only(o, "gpu_memory_gb", string(joule.KindGPUServer), string(m.Kind))
		case joule.KindGPUServer:
			d.required(o, "gpus")
			d.only(o, "hashrate_ths", string(joule.KindASIC), string(m.Kind))
		case "":
		default:
			d.errorf(o.lineOf("kind"), o.field("kind"), "must be %s or %s, got %q", joule.KindASIC, joule.KindGPUServer, m.Kind)
		}
	}
	if d.required(o, "name") {
		m.Name = d.str(o, "name")
	}
	m.Vendor = d.str(o, "vendor")
	if h, ok := d.number(o, "hashrate_ths"); ok {
		if h <= 0 {
			d.errorf(o.lineOf("hashrate_ths"), o.field("hashrate_ths"), "must be positive, got %v", h)
		}
		m.HashrateTHs = h
	}
	if d.required(o, "power_w") {
		if w, ok := d.intIn(o, "power_w", 1, maxMachinePowerW); ok {
			m.PowerW = joule.Watts(w)
		}
	}
	if w, ok := d.intIn(o, "idle_w", 0, maxMachinePowerW); ok {
		m.IdleW = joule.Watts(w)
		if m.PowerW > 0 && m.IdleW > m.PowerW {
			d.errorf(o.lineOf("idle_w"), o.field("idle_w"), "must not exceed power_w (%d), got %d", m.PowerW, m.IdleW)
		}
	}
	if g, ok := d.intIn(o, "gpus", 1, maxGPUsPerServer); ok {
		m.GPUs = int(g)
	}
	m.GPUModel = d.str(o, "gpu_model")
	if g, ok := d.intIn(o, "gpu_memory_gb", 0, maxGPUMemoryGB); ok {
		m.GPUMemoryGB = int(g)
	}
	if p, ok := d.nonNegative(o, "price_usd"); ok {
		m.PriceUSD = p
	}
	m.Sources = d.sources(o)

	d.declare(m, o)
	if len(d.problems) > before {
		return nil
	}
	// The root type's own rules are the last word; a failure here means a rule above
	// is missing, but the user still gets a line.
	if err := m.Validate(); err != nil {
		d.errorf(o.line, path, "%s", joule.ErrorMessage(err))
		if dm := d.declared[m.ID]; dm != nil {
			dm.model = nil
		}
		return nil
	}
	return m
}

// sources decodes `sources:`, a mapping from a model field to where its value came from.
func (d *decoder) sources(o *object) map[string]string {
	v, ok := o.values["sources"]
	if !ok || isNull(v) {
		return nil
	}
	if v.Kind != yaml.MappingNode {
		d.errorf(o.lineOf("sources"), o.field("sources"), "must be a mapping from field to source, got %s", describe(v))
		return nil
	}
	// Every model field may have a source, so decode with all of them allowed.
	so, ok := d.object(v, o.field("sources"), "sources", slices.DeleteFunc(slices.Clone(modelFields), func(f string) bool {
		return f == "sources"
	}))
	if !ok {
		return nil
	}
	out := map[string]string{}
	for _, key := range modelFields {
		if _, ok := so.values[key]; !ok {
			continue
		}
		if s := d.str(so, key); s != "" {
			out[key] = s
		} else if so.values[key].Kind == yaml.ScalarNode {
			d.errorf(so.lineOf(key), so.field(key), "must say where the value came from, got nothing")
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// declare remembers a model of the file for the fleets that use it, and reports a
// second model with the same id.
func (d *decoder) declare(m *joule.HardwareModel, o *object) {
	if m.ID == "" {
		return
	}
	if d.declared == nil {
		d.declared = map[string]*declaredModel{}
	}
	line := o.lineOf("id")
	if first, dup := d.declared[m.ID]; dup {
		d.errorf(line, o.field("id"), "duplicate model %s (first on line %d)", m.ID, first.line)
		return
	}
	dm := &declaredModel{line: line}
	if m.Kind == joule.KindASIC || m.Kind == joule.KindGPUServer {
		// A model with other problems still has a kind, which is enough to check
		// the fleets that use it without piling up errors about them.
		dm.model = m
	}
	d.declared[m.ID] = dm
}
