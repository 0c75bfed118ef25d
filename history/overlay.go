package history

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/joule-site/joule"
)

// imports are the series an operator imported, as a History overlays them: each daily
// kind's values take precedence day by day over the embedded ones, and an energy
// node's prices interval by interval.
type imports struct {
	price, difficulty, hashrate, fees daily
	source                            map[joule.DataKind]string // a daily kind's provenance
	energy                            map[energyKey]*EnergySeries
	energySource                      map[energyKey]string
}

// noImports is what a history without imports reads through.
var noImports = &imports{}

// energyKey names a node's real-time or day-ahead prices.
type energyKey struct {
	node     string
	dayAhead bool
}

// With returns a history in which the imported series overlay h's: a daily value
// imported for a day replaces the embedded one (and Day notes it, naming the source),
// days past the embedded data are priced on imports alone, and an imported node's
// prices are known to Nodes, Energy and DayAhead, merged with the embedded ones where
// the node has some, imported winning interval by interval. A series of a kind and
// name that h overlays already replaces it. h is not changed: it is shared. An energy
// series on a step other than the embedded one of its node is EINVALID.
func (h *History) With(series ...*joule.DataSeries) (*History, error) {
	imp := &imports{source: map[joule.DataKind]string{}, energy: map[energyKey]*EnergySeries{}, energySource: map[energyKey]string{}}
	if h.imports != nil {
		*imp = *h.imports
		imp.source, imp.energy, imp.energySource = maps.Clone(imp.source), maps.Clone(imp.energy), maps.Clone(imp.energySource)
	}
	for _, s := range series {
		if err := s.Validate(); err != nil {
			return nil, err
		}
		if s.Kind.Daily() {
			*imp.daily(s.Kind) = dailyFrom(s.Points)
			imp.source[s.Kind] = s.Source
			continue
		}
		key := energyKey{s.Name, s.Kind == joule.DataEnergyDayAhead}
		e, err := importedEnergy(s)
		if err != nil {
			return nil, err
		}
		if embeddedEnergy(key.node, key.dayAhead) {
			if want := embeddedStep(key.node, key.dayAhead); want != e.Step {
				return nil, joule.Errorf(joule.EINVALID, "%s %s: the imported prices are every %s, the embedded ones every %s: import them at %s",
					s.Kind, s.Name, FormatStep(e.Step), FormatStep(want), FormatStep(want))
			}
		}
		imp.energy[key], imp.energySource[key] = e, s.Source
	}
	root := h
	if h.embedded != nil {
		root = h.embedded
	}
	out := &History{
		price: h.price, priceNext: h.priceNext, difficulty: h.difficulty, hashrateTH: h.hashrateTH,
		fees: h.fees, fees4: h.fees4, subsidyBTC: h.subsidyBTC, height: h.height,
		fsys: h.fsys, energy: map[string]*EnergySeries{}, energyErrs: map[string]error{},
		imports: imp, embedded: root,
	}
	out.coverage = out.spans()
	return out, nil
}

// daily is the imported series of a daily kind.
func (imp *imports) daily(kind joule.DataKind) *daily {
	switch kind {
	case joule.DataBTCPrice:
		return &imp.price
	case joule.DataDifficulty:
		return &imp.difficulty
	case joule.DataHashrate:
		return &imp.hashrate
	}
	return &imp.fees
}

// extend widens an embedded series' coverage to the imported kind's and says so.
func (imp *imports) extend(c *Coverage, kind joule.DataKind) {
	d := imp.daily(kind)
	if len(d.vals) == 0 {
		return
	}
	span := d.span()
	if span.First.Before(c.First) {
		c.First = span.First
	}
	if span.Last.After(c.Last) {
		c.Last = span.Last
	}
	c.Note += fmt.Sprintf("; %s imported for %s..%s (%s)", kind, span.First.Format(time.DateOnly), span.Last.Format(time.DateOnly), imp.source[kind])
}

// dailyFrom lays points at UTC midnights (joule.DataSeries.Validate) out densely.
func dailyFrom(points []joule.DataPoint) daily {
	var s daily
	for _, p := range points {
		t := p.Time.UTC()
		if len(s.vals) == 0 {
			s.first = t
		}
		for i := int(t.Sub(s.first) / day); len(s.vals) < i; {
			s.vals, s.has = append(s.vals, 0), append(s.has, false)
		}
		s.vals, s.has = append(s.vals, p.Value), append(s.has, true)
	}
	return s
}

// layered is an embedded daily series read through its import.
type layered struct{ base, top *daily }

// overlaid returns the embedded difficulty or hashrate series read through its import.
func (h *History) overlaid(kind joule.DataKind) layered {
	imp := h.imports
	if imp == nil {
		imp = noImports
	}
	if kind == joule.DataDifficulty {
		return layered{&h.difficulty, &imp.difficulty}
	}
	return layered{&h.hashrateTH, &imp.hashrate}
}

// at returns the day's value, the import's where it has one.
func (l layered) at(t time.Time) (v float64, imported, ok bool) {
	if v, ok := l.top.at(t); ok {
		return v, true, true
	}
	v, ok = l.base.at(t)
	return v, false, ok
}

func (l layered) last() time.Time {
	if len(l.top.vals) > 0 && l.top.last().After(l.base.last()) {
		return l.top.last()
	}
	return l.base.last()
}

// carry returns the latest value on or before t, looking back at most maxDays days,
// as daily.carry does over both series.
func (l layered) carry(t time.Time, maxDays int) (from time.Time, v float64, imported, ok bool) {
	if t.After(l.last()) {
		return time.Time{}, 0, false, false
	}
	for k := 0; k <= maxDays; k++ {
		d := t.AddDate(0, 0, -k)
		if v, imported, ok := l.at(d); ok {
			return d, v, imported, true
		}
	}
	return time.Time{}, 0, false, false
}

// importedEnergy lays an imported energy series out on its step: the shortest
// distance between its points (an hour for one point), which must be one of
// ImportSteps with every point starting a step. Its days are UTC days.
func importedEnergy(s *joule.DataSeries) (*EnergySeries, error) {
	step := time.Hour
	for i := 1; i < len(s.Points); i++ {
		if d := s.Points[i].Time.Sub(s.Points[i-1].Time); i == 1 || d < step {
			step = d
		}
	}
	if !slices.Contains(ImportSteps, step) {
		return nil, joule.Errorf(joule.EINVALID, "%s %s: prices %s apart: the step must be 5 min, 15 min or 1 h", s.Kind, s.Name, FormatStep(step))
	}
	e := &EnergySeries{Node: s.Name, Location: time.UTC, Step: step}
	for _, p := range s.Points {
		if !p.Time.Truncate(step).Equal(p.Time) {
			return nil, joule.Errorf(joule.EINVALID, "%s %s: %s does not start a %s interval: the step must be 5 min, 15 min or 1 h",
				s.Kind, s.Name, p.Time.UTC().Format(time.RFC3339), FormatStep(step))
		}
		e.set(p.Time.UTC(), p.Value)
	}
	return e, nil
}

// embeddedEnergy reports whether a node has embedded real-time or day-ahead prices.
func embeddedEnergy(node string, dayAhead bool) bool {
	for _, e := range energyFiles {
		if e.node == node && e.dayAhead == dayAhead {
			return true
		}
	}
	return false
}

// embeddedStep is the step of a node's embedded prices, known without reading them.
func embeddedStep(node string, dayAhead bool) time.Duration {
	for _, e := range energyFiles {
		if e.node == node && e.dayAhead == dayAhead && e.format == ercotSCED {
			return 5 * time.Minute
		}
	}
	return time.Hour
}

// overlaidSeries is series for a history with imports: the embedded prices (read
// and cached once by the embedded history), merged with the node's imported ones.
func (h *History) overlaidSeries(node string, dayAhead bool) (*EnergySeries, error) {
	key := energyKey{node, dayAhead}
	imported := h.imports.energy[key]
	if imported == nil {
		return h.embedded.series(node, dayAhead)
	}
	if !embeddedEnergy(node, dayAhead) {
		return imported, nil
	}
	name := fmt.Sprintf("%s %v", node, dayAhead)
	h.energyMu.Lock()
	defer h.energyMu.Unlock()
	if s, ok := h.energy[name]; ok {
		return s, nil
	}
	base, err := h.embedded.series(node, dayAhead)
	if err != nil {
		return nil, err
	}
	s := overlayEnergy(base, imported)
	h.energy[name] = s
	return s, nil
}

// overlayEnergy returns base's intervals with top's in place of base's where top has
// a price, over both spans; both have one step, and top's intervals start base's.
// The market's local time is base's.
func overlayEnergy(base, top *EnergySeries) *EnergySeries {
	first := base.First
	if top.First.Before(first) {
		first = top.First
	}
	last := base.Last()
	if top.Last().After(last) {
		last = top.Last()
	}
	n := int(last.Sub(first)/base.Step) + 1
	out := &EnergySeries{Node: base.Node, Location: base.Location, Step: base.Step, First: first, vals: make([]float64, n), has: make([]bool, n)}
	for _, s := range []*EnergySeries{base, top} {
		off := int(s.First.Sub(first) / s.Step)
		for i, ok := range s.has {
			if ok {
				out.vals[off+i], out.has[off+i] = s.vals[i], true
			}
		}
	}
	return out
}
