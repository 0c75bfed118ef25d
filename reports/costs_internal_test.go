package reports

import (
	"testing"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/econ"
)

// A plan takes each cost from the request where it was set, else from the site's
// manifest, else the default; the discount rate likewise.
func TestSiteCostsPrecedence(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	site := joule.SiteCosts{ConversionUSDPerMW: f(2_500_000), InstallLagMonths: f(9), DiscountRate: f(0.08)}
	req := NewPivotRequest()
	req.Costs.InstallLagMonths = 3 // a flag
	c, rate := siteCosts(req, site)
	d := econ.DefaultCosts()
	if c.ConversionUSDPerMW != 2_500_000 || c.InstallLagMonths != 3 || c.GPUOpexUSDPerServerHour != d.GPUOpexUSDPerServerHour || rate != 0.08 {
		t.Errorf("costs %+v, rate %v", c, rate)
	}
	req.DiscountRate = 0.15
	if _, rate := siteCosts(req, site); rate != 0.15 {
		t.Errorf("a given discount rate %v lost to the site's", rate)
	}
	if c, rate := siteCosts(NewPivotRequest(), joule.SiteCosts{}); c != d || rate != DefaultDiscountRate {
		t.Errorf("no site costs: %+v, %v", c, rate)
	}
}
