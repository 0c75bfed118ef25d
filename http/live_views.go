package http

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/econ"
)

// Overview is every site's power now and the market's tickers: the dashboard's first
// page.
type Overview struct {
	Now    time.Time      `json:"now"`
	Demo   bool           `json:"demo"`
	Market MarketTickers  `json:"market"`
	Sites  []SiteOverview `json:"sites"`
}

// MarketTickers are the market's numbers now. GPUUSDPerGPUHour is the newest clearing
// price on the exchange (of GPUProduct), 0 before the first fill.
type MarketTickers struct {
	BTCUSD                float64 `json:"btc_usd"`
	BTCFresh              bool    `json:"btc_fresh"`
	HashpriceUSDPerPHDay  float64 `json:"hashprice_usd_per_ph_day"`
	HashpriceFresh        bool    `json:"hashprice_fresh"`
	GPUUSDPerGPUHour      float64 `json:"gpu_usd_per_gpu_hour"`
	GPUProduct            string  `json:"gpu_product,omitempty"`
	GPUOpenUSDPerGPUHour  float64 `json:"gpu_open_market_usd_per_gpu_hour"`
	GPUOpenMarketUtilized float64 `json:"gpu_open_market_utilization"`
}

// SiteOverview is one site now: its newest plan, its energy price and what its agent
// last measured.
type SiteOverview struct {
	Name            string          `json:"name"`
	CapW            joule.Watts     `json:"cap_w"`
	EnergyUSDPerMWh float64         `json:"energy_usd_per_mwh"`
	EnergyFresh     bool            `json:"energy_fresh"`
	Plan            *joule.SitePlan `json:"plan"`
	MeasuredW       *joule.Watts    `json:"measured_w"` // what the devices last reported, summed
	MeasuredAt      *time.Time      `json:"measured_at"`
	// MeteredW is the site meter's newest reading, when the agent reads one and it
	// answered; MeterMismatch says its last check found the devices' telemetry wrong.
	MeteredW      *joule.Watts `json:"metered_w"`
	MeteredAt     *time.Time   `json:"metered_at"`
	MeterMismatch bool         `json:"meter_mismatch"`
}

func (s *Server) handleOverview(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := s.now()
	o := Overview{Now: now, Demo: s.Demo != nil, Sites: []SiteOverview{}}
	if s.Prices != nil {
		o.Market.BTCUSD, o.Market.BTCFresh = s.Prices.BTCUSD(now)
		o.Market.HashpriceUSDPerPHDay, o.Market.HashpriceFresh = s.Prices.Hashprice(now)
		o.Market.GPUOpenUSDPerGPUHour, o.Market.GPUOpenMarketUtilized = s.Prices.GPU(now)
	}
	o.Market.GPUUSDPerGPUHour, o.Market.GPUProduct = s.clearingPrice(ctx)
	sites, err := s.Sites.Sites(ctx)
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	for _, site := range sites {
		so := SiteOverview{Name: site.Name, CapW: site.PowerCapW}
		if s.Prices != nil {
			so.EnergyUSDPerMWh, so.EnergyFresh = s.Prices.Energy(site, now)
		}
		switch p, err := s.Live.LatestPlan(ctx, site.Name); {
		case err == nil:
			so.Plan = p
		case joule.ErrorCode(err) != joule.ENOTFOUND:
			writeError(w, r, s.Logger, err)
			return
		}
		if rep := s.census(ctx, site.Name); rep != nil {
			var sum joule.Watts
			for _, f := range rep.Fleets {
				sum += f.PowerW
			}
			at := rep.At
			so.MeasuredW, so.MeasuredAt = &sum, &at
			if m := rep.Meter; m != nil && m.Err == "" {
				w, at := m.PowerW, m.At
				so.MeteredW, so.MeteredAt = &w, &at
				so.MeterMismatch = m.Check != nil && m.Check.Mismatch
			}
		}
		o.Sites = append(o.Sites, so)
	}
	writeJSON(w, http.StatusOK, o)
}

// census is the site's newest census, or nil when the server runs no live operations
// or no agent has reported one (the overview shows no measured power then).
func (s *Server) census(ctx context.Context, site string) *joule.DeviceReport {
	if s.Ops == nil {
		return nil
	}
	rep, err := s.Ops.Devices(ctx, site)
	if err != nil {
		if joule.ErrorCode(err) != joule.ENOTFOUND {
			s.Logger.Error("overview: census", "site", site, "err", err)
		}
		return nil
	}
	return rep
}

// clearingPrice is the newest fill's price on the exchange, in USD per GPU-hour, and
// its product.
func (s *Server) clearingPrice(ctx context.Context) (float64, string) {
	if s.Leasing == nil {
		return 0, ""
	}
	op, err := s.Leasing.Principal(ctx, "")
	if err != nil {
		return 0, ""
	}
	products, err := s.Leasing.Products(ctx, op)
	if err != nil {
		return 0, ""
	}
	var newest time.Time
	var price float64
	var product string
	for _, p := range products {
		b, err := s.Leasing.Book(ctx, op, p.ID, time.Time{}, 1)
		if err != nil || len(b.RecentFills) == 0 {
			continue
		}
		if f := b.RecentFills[0]; f.At.After(newest) {
			newest, price, product = f.At, f.PriceMicroUSDPerGPUHour.USD(), p.ID
		}
	}
	return price, product
}

// handlePlans returns a site's plans since a time, oldest first: the power chart.
func (s *Server) handlePlans(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var since time.Time
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			writeError(w, r, s.Logger, joule.Errorf(joule.EINVALID, "since %q: use RFC 3339, e.g. 2024-08-20T12:00:00Z", v))
			return
		}
		since = t
	}
	limit := 720
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 5000 {
			writeError(w, r, s.Logger, joule.Errorf(joule.EINVALID, "limit %q: a whole number from 1 to 5000", v))
			return
		}
		limit = n
	}
	site, ok := s.pathSite(w, r)
	if !ok {
		return
	}
	plans, err := s.Live.Plans(r.Context(), site.Name, since, limit)
	s.reply(w, r, http.StatusOK, map[string]any{"plans": plans}, err)
}

// NextMW is what the site's next megawatt is worth now (econ.NextMW): mining on its
// most efficient miners, or leasing on its GPU servers at the open-market price and
// utilization.
type NextMW struct {
	At              time.Time `json:"at"`
	EnergyUSDPerMWh float64   `json:"energy_usd_per_mwh"`
	EnergyFresh     bool      `json:"energy_fresh"`
	econ.NextMWAnswer
}

func (s *Server) handleNextMW(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rs, err := s.siteLoader().Load(ctx, r.PathValue("name"))
	if err != nil {
		writeError(w, r, s.Logger, err)
		return
	}
	site := rs.Site
	if s.Prices == nil {
		writeError(w, r, s.Logger, joule.Errorf(joule.ENOTFOUND, "this server runs no live market"))
		return
	}
	now := s.now()
	in := econ.NextMWInput{Site: rs}
	in.EnergyUSDPerMWh, in.EnergyKnown = s.Prices.Energy(site, now)
	in.HashpriceNetUSDPerPHDay, in.HashpriceKnown = s.Prices.Hashprice(now)
	in.GPUUSDPerHour, in.GPUUtilization = s.Prices.GPU(now)
	writeJSON(w, http.StatusOK, NextMW{At: now, EnergyUSDPerMWh: in.EnergyUSDPerMWh, EnergyFresh: in.EnergyKnown, NextMWAnswer: econ.NextMW(in)})
}

// Demo describes the demo a server runs (joule serve --demo): its clock, and the
// tokens the pages act with. Only a demo hands tokens out.
type Demo struct {
	Speed         float64      `json:"speed"`
	Start         time.Time    `json:"start"`
	OperatorToken string       `json:"operator_token"`
	Tenants       []DemoTenant `json:"tenants"`
}

// DemoTenant is one of the demo's tenants.
type DemoTenant struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Token string `json:"token"`
}

func (s *Server) handleDemo(w http.ResponseWriter, r *http.Request) {
	if s.Demo == nil {
		writeError(w, r, s.Logger, joule.Errorf(joule.ENOTFOUND, "this server runs no demo (joule serve --demo)"))
		return
	}
	d := *s.Demo
	if d.Tenants == nil {
		d.Tenants = []DemoTenant{} // a demo without tenants lists none, not null
	}
	writeJSON(w, http.StatusOK, d)
}
