package history

import (
	"encoding/csv"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strconv"
	"time"

	"github.com/joule-site/joule/data"
)

// GPUPricePoint is one published GPU rental price: one figure one source gave at one
// date. It is not an index; see data/SOURCES.md.
type GPUPricePoint struct {
	Date          time.Time // as precise as the source: a bare year is January 1
	DatePrecision string    // "day", "month" or "year"
	GPU           string    // "H100-SXM", "A100-80GB-SXM", "H200", "B200", "RTX-4090", …
	Market        string    // "on-demand", "spot", "reserved-1y", …
	Provider      string
	USDPerGPUHour float64
	Source        string
}

// GPUPricePoints returns the embedded published price points ordered by date.
func GPUPricePoints() ([]GPUPricePoint, error) { return readGPUPrices(data.FS) }

func readGPUPrices(fsys fs.FS) ([]GPUPricePoint, error) {
	const name = "gpu_rental_price_points.csv"
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	col := func(c string) int { return slices.Index(header, c) }
	iDate, iGPU, iMarket, iProv, iUSD, iSrc := col("date"), col("gpu"), col("market"), col("provider_or_index"), col("usd_per_gpu_hour"), col("source_title")
	if min(iDate, iGPU, iMarket, iProv, iUSD, iSrc) < 0 {
		return nil, fmt.Errorf("read %s: unexpected header %v", name, header)
	}
	var out []GPUPricePoint
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		p := GPUPricePoint{GPU: rec[iGPU], Market: rec[iMarket], Provider: rec[iProv], Source: rec[iSrc]}
		for _, layout := range []struct{ layout, precision string }{{time.DateOnly, "day"}, {"2006-01", "month"}, {"2006", "year"}} {
			if t, err := time.Parse(layout.layout, rec[iDate]); err == nil {
				p.Date, p.DatePrecision = t, layout.precision
				break
			}
		}
		if p.DatePrecision == "" {
			return nil, fmt.Errorf("%s:%d: date %q", name, line, rec[iDate])
		}
		if p.USDPerGPUHour, err = strconv.ParseFloat(rec[iUSD], 64); err != nil {
			return nil, fmt.Errorf("%s:%d: usd_per_gpu_hour %q", name, line, rec[iUSD])
		}
		out = append(out, p)
	}
	slices.SortStableFunc(out, func(a, b GPUPricePoint) int { return a.Date.Compare(b.Date) })
	return out, nil
}
