package manifest

import (
	"fmt"
	"slices"

	"github.com/joule-site/joule"
	"go.yaml.in/yaml/v3"
)

var (
	alertFields = func() []string {
		names := []string{"off", "webhooks"}
		for _, l := range joule.AlertRuleLimits {
			names = append(names, l.Name)
		}
		return names
	}()
	webhookFields = []string{"url", "secret_env"}
)

// alerts decodes a site's `alerts:` block: thresholds, each checked against its range
// where it is written, the rules turned off, and the webhooks. What it leaves out takes
// its default (joule.AlertRules.Threshold).
func (d *decoder) alerts(n *yaml.Node, path string, r *joule.AlertRules) {
	o, ok := d.object(n, path, "a set of alert rules", alertFields)
	if !ok {
		return
	}
	for _, l := range joule.AlertRuleLimits {
		if v, ok := d.number(o, l.Name); ok {
			*l.Field(r) = &v
			if v < l.Min || v > l.Max {
				d.errorf(o.lineOf(l.Name), o.field(l.Name), "must be from %v to %v, got %v", l.Min, l.Max, v)
			}
		}
	}
	for i, rn := range d.list(o, "off") {
		ipath := fmt.Sprintf("%s[%d]", o.field("off"), i)
		if !d.plain(rn, ipath) {
			continue
		}
		rule := joule.AlertRule(rn.Value)
		switch {
		case rn.Kind != yaml.ScalarNode || !rule.Valid():
			d.errorf(rn.Line, ipath, "must be a rule (%s), got %s", joinRules(), describe(rn))
		case slices.Contains(r.Off, rule):
			d.errorf(rn.Line, ipath, "%s is listed twice", rule)
		default:
			r.Off = append(r.Off, rule)
		}
	}
	hooks := d.list(o, "webhooks")
	if len(hooks) > joule.MaxWebhooks {
		d.errorf(o.lineOf("webhooks"), o.field("webhooks"), "%d webhooks, at most %d", len(hooks), joule.MaxWebhooks)
		return
	}
	for i, hn := range hooks {
		ipath := fmt.Sprintf("%s[%d]", o.field("webhooks"), i)
		ho, ok := d.object(hn, ipath, "a webhook", webhookFields)
		if !ok || !d.required(ho, "url") {
			continue
		}
		w := joule.Webhook{URL: d.str(ho, "url"), SecretEnv: d.str(ho, "secret_env")}
		if err := w.Validate(); err != nil {
			d.errorf(ho.line, ipath, "%s", joule.ErrorMessage(err))
			continue
		}
		r.Webhooks = append(r.Webhooks, w)
	}
}

func joinRules() string {
	s := ""
	for i, r := range joule.AlertRuleNames {
		if i > 0 {
			s += ", "
		}
		s += string(r)
	}
	return s
}

// pools decodes a fleet's `pools:` list of pool URLs.
func (d *decoder) pools(o *object, f *joule.Fleet) {
	items := d.list(o, "pools")
	if len(items) > joule.MaxFleetPools {
		d.errorf(o.lineOf("pools"), o.field("pools"), "%d pools, at most %d", len(items), joule.MaxFleetPools)
		return
	}
	for i, pn := range items {
		ipath := fmt.Sprintf("%s[%d]", o.field("pools"), i)
		if !d.plain(pn, ipath) {
			continue
		}
		if pn.Kind != yaml.ScalarNode {
			d.errorf(pn.Line, ipath, "must be a pool URL, got %s", describe(pn))
			continue
		}
		if err := joule.ValidPoolURL(pn.Value); err != nil {
			d.errorf(pn.Line, ipath, "%s", joule.ErrorMessage(err))
			continue
		}
		if slices.ContainsFunc(f.Pools, func(p string) bool { return joule.NormalPoolURL(p) == joule.NormalPoolURL(pn.Value) }) {
			d.errorf(pn.Line, ipath, "%s is listed twice", pn.Value)
			continue
		}
		f.Pools = append(f.Pools, pn.Value)
	}
}
