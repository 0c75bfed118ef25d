package backtest

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
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
	Label   string // how the path was built, shown in every report
	starts  []int64
	usd     []float64
	sources []string // the published point that set each step; nil for a given path
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

// SourceAt names the published point that set the price in force at Unix time t, or
// "" when the path was given rather than built from published points.
func (p *PricePath) SourceAt(t int64) string {
	if p.sources == nil {
		return ""
	}
	i := max(sort.Search(len(p.starts), func(i int) bool { return p.starts[i] > t })-1, 0)
	return p.sources[i]
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

// The GPU-hour price paths built from the embedded published points.
const (
	// PricePathMarket is the default: what 8-GPU servers rented for (see MarketPricePath).
	PricePathMarket = "market"
	// PricePathList is one provider family's 1-GPU on-demand list prices (ListPricePath).
	PricePathList = "list"
)

// PricePathNames are the paths NamedPricePath builds, the default first.
func PricePathNames() []string { return []string{PricePathMarket, PricePathList} }

// NamedPricePath builds the path of a catalog GPU server model that name asks for:
// PricePathMarket ("" too) or PricePathList.
func NamedPricePath(name, modelID string) (*PricePath, error) {
	switch name {
	case PricePathMarket, "":
		return MarketPricePath(modelID)
	case PricePathList:
		return ListPricePath(modelID)
	}
	return nil, joule.Errorf(joule.EINVALID, "GPU price path %q: want %s", name, strings.Join(PricePathNames(), " or "))
}

// DefaultPricePath is the GPU-hour price path a backtest or a plan uses unless told
// otherwise: the market path (MarketPricePath).
func DefaultPricePath(modelID string) (*PricePath, error) { return MarketPricePath(modelID) }

// marketGPUs maps catalog GPU server models to the GPU labels of the published points
// their market path is built from. An unqualified label is the same GPU where the
// source did not name the form factor: the H100 contract series and indices are of the
// 8-GPU HGX (SXM) servers these models are.
var marketGPUs = map[string][]string{
	"h100-sxm":  {"H100-SXM", "H100"},
	"a100-80gb": {"A100-80GB-SXM", "A100-80GB"},
	"h200":      {"H200"},
	"b200":      {"B200"},
	"rtx-4090":  {"RTX-4090"},
}

// MarketWindowMonths is how long a published market price stays a competitor's offer
// in the market path.
const MarketWindowMonths = 6

// marketPoint says whether a published point is a price an 8-GPU server could rent at:
// a reservation, a marketplace floor or an index, or an on-demand price of an 8-GPU
// instance (named "8x", "HGX" or "instance") or of a marketplace. Points dated only to
// a year are too coarse for a path, and reservations of three years or more buy a
// commitment the plan does not model, so both are left out; so are spot prices and
// 1-GPU on-demand list prices.
func marketPoint(pt history.GPUPricePoint) bool {
	if pt.DatePrecision == "year" {
		return false
	}
	prov := strings.ToLower(pt.Provider)
	if strings.Contains(prov, "3-year") || strings.Contains(prov, "5-year") {
		return false
	}
	switch pt.Market {
	case "reserved-1y", "reserved-other", "marketplace-low", "index":
		return true
	case "on-demand":
		for _, s := range []string{"8x", "hgx", "instance", "marketplace"} {
			if strings.Contains(prov, s) {
				return true
			}
		}
	}
	return false
}

// MarketPricePath builds the market GPU-hour price path of a catalog model from the
// embedded published points (data/gpu_rental_price_points.csv): on each day, the lowest
// price among the market points (marketPoint) of the model's GPU published in the
// MarketWindowMonths up to that day, that is the cheapest offer a tenant could have
// found; where none is that recent, the last one is held. Each step keeps the point
// that set it (SourceAt). No public GPU rental price index covers these years, so the
// path is labelled with its rule and its points in every report.
func MarketPricePath(modelID string) (*PricePath, error) {
	gpus, ok := marketGPUs[modelID]
	if !ok {
		return nil, joule.Errorf(joule.EINVALID, "no market GPU price path for model %q; give --gpu-usd-hour or --gpu-price-csv", modelID)
	}
	all, err := history.GPUPricePoints()
	if err != nil {
		return nil, err
	}
	var points []history.GPUPricePoint // by date
	for _, pt := range all {
		if slices.Contains(gpus, pt.GPU) && marketPoint(pt) {
			points = append(points, pt)
		}
	}
	if len(points) == 0 {
		return nil, joule.Errorf(joule.EINTERNAL, "no market price points of %s", strings.Join(gpus, " or "))
	}
	p := marketSteps(points, MarketWindowMonths)
	p.Label = fmt.Sprintf("market: each day the lowest 8-GPU server price (8-GPU instance on-demand, reservations under 3 years, marketplace floors, indices) of %s published in the %d months before, else the last one held; %d published points %s..%s (data/gpu_rental_price_points.csv; not an index)",
		strings.Join(gpus, "/"), MarketWindowMonths, len(points), points[0].Date.Format(time.DateOnly), points[len(points)-1].Date.Format(time.DateOnly))
	return p, nil
}

// marketSteps lays out the window rule over points sorted by date: the price can only
// change on a day a point is published or leaves the window, so those days are the
// steps.
func marketSteps(points []history.GPUPricePoint, months int) *PricePath {
	var days []time.Time
	for _, pt := range points {
		days = append(days, pt.Date, pt.Date.AddDate(0, months, 0))
	}
	slices.SortFunc(days, func(a, b time.Time) int { return a.Compare(b) })
	days = slices.Compact(days)
	p := &PricePath{}
	for _, day := range days {
		best := -1
		for i, pt := range points {
			if pt.Date.After(day) {
				break
			}
			if day.Before(pt.Date.AddDate(0, months, 0)) && (best < 0 || pt.USDPerGPUHour < points[best].USDPerGPUHour) {
				best = i
			}
		}
		if best < 0 { // nothing recent: hold the last point
			for i, pt := range points {
				if !pt.Date.After(day) {
					best = i
				}
			}
		}
		pt := points[best]
		src := pricePointSource(pt)
		if n := len(p.usd); n > 0 && p.usd[n-1] == pt.USDPerGPUHour && p.sources[n-1] == src {
			continue
		}
		p.starts, p.usd, p.sources = append(p.starts, day.Unix()), append(p.usd, pt.USDPerGPUHour), append(p.sources, src)
	}
	return p
}

// pricePointSource names a published point as data/gpu_rental_price_points.csv has it.
func pricePointSource(pt history.GPUPricePoint) string {
	date := pt.Date.Format(time.DateOnly)
	switch pt.DatePrecision {
	case "month":
		date = pt.Date.Format("2006-01")
	case "year":
		date = pt.Date.Format("2006")
	}
	return fmt.Sprintf("%s %s %s $%.2f/GPU-hour, %s (data/gpu_rental_price_points.csv)", date, pt.Provider, pt.Market, pt.USDPerGPUHour, pt.Source)
}

// listFamilies maps catalog GPU server models to the published series a list-price
// path is built from: one provider family's on-demand list prices for that GPU.
var listFamilies = map[string]struct{ gpu, provider string }{
	"h100-sxm":  {"H100-SXM", "RunPod Secure Cloud"},
	"a100-80gb": {"A100-80GB-SXM", "RunPod Secure Cloud"},
	"h200":      {"H200", "RunPod Secure Cloud"},
	"b200":      {"B200", "RunPod Secure Cloud"},
	"rtx-4090":  {"RTX-4090", "RunPod"},
}

// ListPricePath builds the list-price path of a catalog model from the embedded
// published points: the 1-GPU on-demand list prices of one provider family, held
// between observed changes. A retail list price is not what a server rents for in
// bulk; the path is the labelled alternative to the market path.
func ListPricePath(modelID string) (*PricePath, error) {
	fam, ok := listFamilies[modelID]
	if !ok {
		return nil, joule.Errorf(joule.EINVALID, "no list GPU price path for model %q; give --gpu-usd-hour or --gpu-price-csv", modelID)
	}
	points, err := history.GPUPricePoints()
	if err != nil {
		return nil, err
	}
	p := &PricePath{}
	var first, last string
	for _, pt := range points {
		if pt.GPU == fam.gpu && pt.Market == "on-demand" && pt.DatePrecision == "day" && strings.HasPrefix(pt.Provider, fam.provider) {
			if n := len(p.starts); n > 0 && p.starts[n-1] == pt.Date.Unix() {
				continue
			}
			if first == "" {
				first = pt.Date.Format(time.DateOnly)
			}
			last = pt.Date.Format(time.DateOnly)
			p.starts, p.usd, p.sources = append(p.starts, pt.Date.Unix()), append(p.usd, pt.USDPerGPUHour), append(p.sources, pricePointSource(pt))
		}
	}
	if len(p.starts) == 0 {
		return nil, joule.Errorf(joule.EINTERNAL, "no %s on-demand points from %s", fam.gpu, fam.provider)
	}
	p.Label = fmt.Sprintf("list: %s 1-GPU on-demand list prices of %s, %d published points %s..%s, held between observed changes (data/gpu_rental_price_points.csv; a retail list price, not a market index)",
		fam.gpu, fam.provider, len(p.starts), first, last)
	return p, nil
}
