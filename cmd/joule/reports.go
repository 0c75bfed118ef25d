package main

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/joule-site/joule"
	jhttp "github.com/joule-site/joule/http"
)

// commandReports runs the backtest and plan commands for the dashboard, on the
// server's store, with the query's parameters as their flags: the page gets the
// reports, validation and errors the CLI gives.
type commandReports struct {
	db       string
	maxPaths int // bounds a plan the page asks for
}

// reportFlags are the flags a page may set, per report kind, and the charts each
// report draws.
var reportFlags = map[string][]string{
	jhttp.ReportBacktest: {"from", "to", "node", "gpu", "gpu_usd_hour", "pool_fee", "utilization", "hybrid_share", "gpu_life_years"},
	jhttp.ReportPlan:     {"convert_mw", "gpu", "at", "years", "paths", "seed", "discount_rate", "gpu_usd_hour", "btc_model", "hoard", "pool_fee", "asic_resale_usd"},
}

var reportCharts = map[string][]string{
	jhttp.ReportBacktest: {"power", "margin"},
	jhttp.ReportPlan:     {"npv", "cashflow"},
}

func (c commandReports) Report(ctx context.Context, kind, site string, q url.Values) (*jhttp.Report, error) {
	allowed, ok := reportFlags[kind]
	if !ok {
		return nil, joule.Errorf(joule.EINVALID, "no report %q", kind)
	}
	if !joule.ValidSlug(site) {
		return nil, joule.Errorf(joule.EINVALID, "site %q: not a site name", site)
	}
	dir, err := os.MkdirTemp("", "joule-report-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	args := []string{kind, "--db", c.db, "--site", site, "--json", "--no-progress", "--out", dir}
	for key, vals := range q {
		if !slices.Contains(allowed, key) {
			return nil, joule.Errorf(joule.EINVALID, "%s: unknown parameter %q (known: %s)", kind, key, strings.Join(allowed, ", "))
		}
		if key == "paths" && c.maxPaths > 0 {
			if n, err := strconv.Atoi(vals[0]); err == nil && n > c.maxPaths {
				return nil, joule.Errorf(joule.EINVALID, "paths %d: at most %d from the dashboard (run joule plan for more)", n, c.maxPaths)
			}
		}
		args = append(args, "--"+strings.ReplaceAll(key, "_", "-")+"="+vals[0])
	}
	if kind == jhttp.ReportPlan && !q.Has("paths") {
		args = append(args, "--paths="+strconv.Itoa(min(c.maxPaths, 1000)))
	}
	var out bytes.Buffer
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&bytes.Buffer{})
	if err := root.ExecuteContext(ctx); err != nil {
		return nil, err
	}
	rep := &jhttp.Report{JSON: bytes.TrimSpace(out.Bytes()), Charts: map[string][]byte{}}
	for _, name := range reportCharts[kind] {
		png, err := os.ReadFile(filepath.Join(dir, name+".png"))
		if err != nil {
			return nil, err
		}
		rep.Charts[name] = png
	}
	return rep, nil
}
