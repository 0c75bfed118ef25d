package backtest

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/history"
)

// PricePath is a GPU-hour price over time: a step function that holds each price
// until the next one.
type PricePath struct {
	Label  string // how the path was built, shown in every report
	starts []int64
	usd    []float64
}

// ConstantPrice is one price for every hour.
func ConstantPrice(usd float64) *PricePath {
	return &PricePath{Label: fmt.Sprintf("constant $%.2f per GPU-hour (given)", usd), starts: []int64{math.MinInt64}, usd: []float64{usd}}
}

// At returns the price in force at Unix time t. Before the first point it returns the
// first price, and early reports that it did so.
func (p *PricePath) At(t int64) (usd float64, early bool) {
	i := sort.Search(len(p.starts), func(i int) bool { return p.starts[i] > t }) - 1
	if i < 0 {
		return p.usd[0], true
	}
	return p.usd[i], false
}

// First returns the time of the first point.
func (p *PricePath) First() time.Time { return time.Unix(p.starts[0], 0).UTC() }

// ReadPricePath reads a CSV of date (YYYY-MM-DD) and usd_per_gpu_hour columns.
func ReadPricePath(name string, r io.Reader) (*PricePath, error) {
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, joule.Errorf(joule.EINVALID, "%s: %v", name, err)
	}
	if len(rows) < 2 || len(rows[0]) < 2 {
		return nil, joule.Errorf(joule.EINVALID, "%s: want a header (date,usd_per_gpu_hour) and at least one row", name)
	}
	p := &PricePath{Label: "user-given path from " + name}
	for i, row := range rows[1:] {
		t, err := time.Parse(time.DateOnly, strings.TrimSpace(row[0]))
		if err != nil {
			return nil, joule.Errorf(joule.EINVALID, "%s:%d: date %q: want YYYY-MM-DD", name, i+2, row[0])
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(row[1]), 64)
		if err != nil || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, joule.Errorf(joule.EINVALID, "%s:%d: price %q: want a non-negative number", name, i+2, row[1])
		}
		if n := len(p.starts); n > 0 && t.Unix() <= p.starts[n-1] {
			return nil, joule.Errorf(joule.EINVALID, "%s:%d: dates must increase", name, i+2)
		}
		p.starts, p.usd = append(p.starts, t.Unix()), append(p.usd, v)
	}
	return p, nil
}

// defaultFamilies maps catalog GPU server models to the published series a default
// path is built from: one provider family's on-demand list prices for that GPU.
var defaultFamilies = map[string]struct{ gpu, provider string }{
	"h100-sxm":  {"H100-SXM", "RunPod Secure Cloud"},
	"a100-80gb": {"A100-80GB-SXM", "RunPod Secure Cloud"},
	"h200":      {"H200", "RunPod Secure Cloud"},
	"b200":      {"B200", "RunPod Secure Cloud"},
	"rtx-4090":  {"RTX-4090", "RunPod"},
}

// DefaultPricePath builds the default GPU-hour price path of a catalog model from the
// embedded published price points: the on-demand list prices of one provider family,
// held between observed changes. No public GPU rental price time series exists, so the
// path is labelled as such in every report.
func DefaultPricePath(modelID string) (*PricePath, error) {
	fam, ok := defaultFamilies[modelID]
	if !ok {
		return nil, joule.Errorf(joule.EINVALID, "no default GPU price path for model %q; give --gpu-usd-hour or --gpu-price-csv", modelID)
	}
	points, err := history.GPUPricePoints()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.WriteString("date,usd_per_gpu_hour\n")
	var dates []string
	for _, pt := range points {
		if pt.GPU == fam.gpu && pt.Market == "on-demand" && pt.DatePrecision == "day" && strings.HasPrefix(pt.Provider, fam.provider) {
			d := pt.Date.Format(time.DateOnly)
			if len(dates) > 0 && dates[len(dates)-1] == d {
				continue
			}
			dates = append(dates, d)
			fmt.Fprintf(&buf, "%s,%g\n", d, pt.USDPerGPUHour)
		}
	}
	if len(dates) == 0 {
		return nil, joule.Errorf(joule.EINTERNAL, "no %s on-demand points from %s", fam.gpu, fam.provider)
	}
	p, err := ReadPricePath("gpu_rental_price_points.csv", &buf)
	if err != nil {
		return nil, err
	}
	p.Label = fmt.Sprintf("%s on-demand list prices of %s, %d published points %s..%s, held between observed changes (data/gpu_rental_price_points.csv; not a market index)",
		fam.gpu, fam.provider, len(dates), dates[0], dates[len(dates)-1])
	return p, nil
}
