package manifest

import (
	"fmt"
	"strings"
	"time"

	"github.com/joule-site/joule"
	"go.yaml.in/yaml/v3"
)

var (
	siteFields   = []string{"name", "location", "power_cap_mw", "pue", "market_node", "energy", "costs", "alerts", "fleets", "gpu_servers"}
	energyFields = []string{"kind", "node", "adder_usd_per_mwh", "usd_per_mwh", "timezone", "default_usd_per_mwh", "periods"}
	periodFields = []string{"name", "start_hour", "end_hour", "weekdays", "months", "usd_per_mwh"}
	costFields   = func() []string {
		var names []string
		for _, f := range joule.SiteCostFields {
			names = append(names, f.Name)
		}
		return names
	}()
)

// maxPowerCapMW bounds a site's cap: a typo guard (100 GW is more than any grid
// connection) that also keeps the cap far from overflowing Watts.
const maxPowerCapMW = 100_000

// site decodes one entry of `sites:` and its fleets. It returns a nil site when the
// entry is not a mapping; the caller reports other problems through d.err.
func (d *decoder) site(n *yaml.Node, path string) (*joule.Site, []*joule.Fleet) {
	before := len(d.problems)
	o, ok := d.object(n, path, "a site", siteFields)
	if !ok {
		return nil, nil
	}
	s := &joule.Site{PUE: 1}

	if d.required(o, "name") {
		s.Name = d.str(o, "name")
		if s.Name != "" && !joule.ValidSlug(s.Name) {
			d.errorf(o.lineOf("name"), o.field("name"), "%q is not a valid site name: use lower-case letters, digits, '.', '_' or '-', at most 63", s.Name)
		}
		if s.Name != "" {
			if d.siteLines == nil {
				d.siteLines = map[string]int{}
			}
			if first, dup := d.siteLines[s.Name]; dup {
				d.errorf(o.lineOf("name"), o.field("name"), "duplicate site %s (first on line %d)", s.Name, first)
			} else {
				d.siteLines[s.Name] = o.lineOf("name")
			}
		}
	}
	s.Location = d.str(o, "location")
	s.MarketNode = d.str(o, "market_node")
	if d.required(o, "power_cap_mw") {
		if mw, ok := d.number(o, "power_cap_mw"); ok {
			s.PowerCapW = joule.WattsFromMW(mw)
			switch {
			case mw <= 0:
				d.errorf(o.lineOf("power_cap_mw"), o.field("power_cap_mw"), "must be positive, got %v", mw)
			case mw > maxPowerCapMW:
				d.errorf(o.lineOf("power_cap_mw"), o.field("power_cap_mw"), "must be at most %d MW, got %v", maxPowerCapMW, mw)
			case s.PowerCapW <= 0:
				d.errorf(o.lineOf("power_cap_mw"), o.field("power_cap_mw"), "must be at least one watt (0.000001 MW), got %v", mw)
			}
		}
	}
	if pue, ok := d.number(o, "pue"); ok {
		s.PUE = pue
		if pue < 1 || pue > 3 {
			d.errorf(o.lineOf("pue"), o.field("pue"), "must be between 1 and 3 (facility power / IT power), got %v", pue)
		}
	}
	if d.required(o, "energy") {
		if e := d.energy(o.values["energy"], o.field("energy"), s.MarketNode); e != nil {
			s.Energy = *e
		}
	}
	if n, ok := o.values["costs"]; ok {
		d.costs(n, o.field("costs"), &s.Costs)
	}
	if n, ok := o.values["alerts"]; ok {
		d.alerts(n, o.field("alerts"), &s.Alerts)
	}
	fleets := d.fleets(o, s.Name)

	if len(d.problems) == before {
		if err := s.Validate(); err != nil {
			d.errorf(o.line, path, "%s", joule.ErrorMessage(err))
		}
	}
	return s, fleets
}

// costs decodes a site's `costs:` block: each field a number, checked against its
// range where it is written.
func (d *decoder) costs(n *yaml.Node, path string, c *joule.SiteCosts) {
	o, ok := d.object(n, path, "a set of costs", costFields)
	if !ok {
		return
	}
	for _, f := range joule.SiteCostFields {
		if v, ok := d.number(o, f.Name); ok {
			*f.Of(c) = &v
			if err := f.Check(v); err != nil {
				d.errorf(o.lineOf(f.Name), o.field(f.Name), "must be from %v to %v, got %v", f.Min, f.Max, v)
			}
		}
	}
}

// energy decodes a site's energy price. A wholesale price without a node is priced at
// the site's market node.
func (d *decoder) energy(n *yaml.Node, path, marketNode string) *joule.EnergyPriceModel {
	o, ok := d.object(n, path, "an energy price", energyFields)
	if !ok || !d.required(o, "kind") {
		return nil
	}
	e := &joule.EnergyPriceModel{Kind: joule.EnergyPriceKind(d.str(o, "kind"))}
	kind := string(e.Kind)
	switch e.Kind {
	case joule.EnergyFixed:
		for _, f := range []string{"node", "adder_usd_per_mwh", "timezone", "default_usd_per_mwh", "periods"} {
			d.only(o, f, onlyFor(f), kind)
		}
		if d.required(o, "usd_per_mwh") {
			e.FixedUSDPerMWh, _ = d.nonNegative(o, "usd_per_mwh")
		}
	case joule.EnergyTimeOfUse:
		for _, f := range []string{"node", "adder_usd_per_mwh", "usd_per_mwh"} {
			d.only(o, f, onlyFor(f), kind)
		}
		e.Timezone = d.str(o, "timezone")
		if e.Timezone != "" {
			if _, err := time.LoadLocation(e.Timezone); err != nil {
				d.errorf(o.lineOf("timezone"), o.field("timezone"), "unknown time zone %q; use an IANA name such as America/Chicago", e.Timezone)
			}
		}
		if d.required(o, "default_usd_per_mwh") {
			e.DefaultUSDPerMWh, _ = d.nonNegative(o, "default_usd_per_mwh")
		}
		if d.required(o, "periods") {
			periods := d.list(o, "periods")
			if len(periods) == 0 && o.values["periods"].Kind == yaml.SequenceNode {
				d.errorf(o.lineOf("periods"), o.field("periods"), "a tou tariff needs at least one period")
			}
			for i, pn := range periods {
				if p := d.period(pn, fmt.Sprintf("%s[%d]", o.field("periods"), i)); p != nil {
					e.Periods = append(e.Periods, *p)
				}
			}
		}
	case joule.EnergyWholesale:
		for _, f := range []string{"usd_per_mwh", "timezone", "default_usd_per_mwh", "periods"} {
			d.only(o, f, onlyFor(f), kind)
		}
		e.Node = d.str(o, "node")
		if e.Node == "" {
			e.Node = marketNode
		}
		if e.Node == "" {
			d.errorf(o.lineOf("node"), o.field("node"), "required for kind wholesale (or set the site's market_node), e.g. ERCOT:LZ_WEST")
		}
		// An adder may be negative: a rebate or a share of curtailment credits.
		e.AdderUSDPerMWh, _ = d.number(o, "adder_usd_per_mwh")
	default:
		d.errorf(o.lineOf("kind"), o.field("kind"), "must be %s, %s or %s, got %q",
			joule.EnergyFixed, joule.EnergyTimeOfUse, joule.EnergyWholesale, e.Kind)
	}
	return e
}

// onlyFor names the energy kind an energy field belongs to.
func onlyFor(field string) string {
	switch field {
	case "node", "adder_usd_per_mwh":
		return string(joule.EnergyWholesale)
	case "usd_per_mwh":
		return string(joule.EnergyFixed)
	}
	return string(joule.EnergyTimeOfUse)
}

// period decodes one band of a time-of-use tariff.
func (d *decoder) period(n *yaml.Node, path string) *joule.TOUPeriod {
	before := len(d.problems)
	o, ok := d.object(n, path, "a tariff period", periodFields)
	if !ok {
		return nil
	}
	p := &joule.TOUPeriod{}
	if d.required(o, "name") {
		p.Name = d.str(o, "name")
	}
	if d.required(o, "start_hour") {
		if h, ok := d.intIn(o, "start_hour", 0, 23); ok {
			p.StartHour = int(h)
		}
	}
	if d.required(o, "end_hour") {
		if h, ok := d.intIn(o, "end_hour", 0, 24); ok {
			p.EndHour = int(h)
			if o.has("start_hour") && p.EndHour == p.StartHour {
				d.errorf(o.lineOf("end_hour"), o.field("end_hour"), "must differ from start_hour (%d)", p.StartHour)
			}
		}
	}
	for i, wn := range d.list(o, "weekdays") {
		ipath := fmt.Sprintf("%s[%d]", o.field("weekdays"), i)
		wd, ok := weekday(wn)
		if !ok {
			if d.plain(wn, ipath) {
				d.errorf(wn.Line, ipath, "must be a weekday (mon, tue, ... sun), got %s", describe(wn))
			}
			continue
		}
		p.Weekdays = append(p.Weekdays, wd)
	}
	for i, mn := range d.list(o, "months") {
		ipath := fmt.Sprintf("%s[%d]", o.field("months"), i)
		if !d.plain(mn, ipath) {
			continue
		}
		if m, ok := d.integerNode(mn, mn.Line, ipath); ok && d.inRange(mn.Line, ipath, m, 1, 12) {
			p.Months = append(p.Months, time.Month(m))
		}
	}
	if d.required(o, "usd_per_mwh") {
		p.USDPerMWh, _ = d.nonNegative(o, "usd_per_mwh")
	}
	if len(d.problems) > before {
		return nil
	}
	return p
}

// weekday reads a day name: "mon" or "Monday", in any case.
func weekday(n *yaml.Node) (time.Weekday, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		return 0, false
	}
	name := strings.ToLower(n.Value)
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		full := strings.ToLower(wd.String())
		if name == full || name == full[:3] {
			return wd, true
		}
	}
	return 0, false
}
