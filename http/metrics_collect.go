package http

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/joule-site/joule"
)

// The metrics gathered at scrape time. Power is facility watts, as plans and the
// census count it; prices are what the live feeds say now.
var (
	siteCapDesc = prometheus.NewDesc("joule_site_power_cap_watts",
		"The site's power cap (its manifest), facility watts.", []string{"site"}, nil)
	sitePlannedDesc = prometheus.NewDesc("joule_site_power_planned_watts",
		"Facility power the site's newest plan expects drawn.", []string{"site"}, nil)
	siteUseDesc = prometheus.NewDesc("joule_site_power_planned_by_use_watts",
		"The newest plan's facility power by use: mining, firm_gpu, interruptible_gpu, open_gpu, idle, and curtailed (flexible load planned off, not drawn).",
		[]string{"site", "use"}, nil)
	siteMeasuredDesc = prometheus.NewDesc("joule_site_power_measured_watts",
		"Power the site's devices last reported of themselves (the agent's census).", []string{"site"}, nil)
	siteMeteredDesc = prometheus.NewDesc("joule_site_power_metered_watts",
		"Power the site meter last read, when the agent reads one and it answered.", []string{"site"}, nil)
	planAgeDesc = prometheus.NewDesc("joule_site_plan_age_seconds",
		"Time since the site's newest plan was made.", []string{"site"}, nil)
	devicesDesc = prometheus.NewDesc("joule_devices",
		"Devices of each fleet by state in the agent's newest census (running, sleeping, ramping, off, unknown).",
		[]string{"site", "fleet", "state"}, nil)
	energyDesc = prometheus.NewDesc("joule_energy_price_usd_per_mwh",
		"The site's energy price now, USD per MWh.", []string{"site"}, nil)
	hashpriceDesc = prometheus.NewDesc("joule_hashprice_usd_per_ph_day",
		"Hashprice now, net of the pool fee, USD per PH/s per day.", nil, nil)
	btcDesc = prometheus.NewDesc("joule_btc_price_usd",
		"The bitcoin price now, US dollars.", nil, nil)
	feedFreshDesc = prometheus.NewDesc("joule_feed_fresh",
		"1 when the feed's reading is fresh enough to act on, 0 when stale (the dispatch loop then plans a safe state).",
		[]string{"feed", "site"}, nil)
	ordersDesc = prometheus.NewDesc("joule_exchange_orders",
		"Orders resting in the exchange's book, by status (open, partially_filled).", []string{"status"}, nil)
	leasesDesc = prometheus.NewDesc("joule_exchange_leases",
		"Leases that hold GPUs this hour or later, by status (active, preempted).", []string{"status"}, nil)
	gpusLeasedDesc = prometheus.NewDesc("joule_exchange_gpus_leased",
		"GPUs that leases hold now.", nil, nil)
	creditHeldDesc = prometheus.NewDesc("joule_exchange_credit_held_micro_usd",
		"Tenants' credit set aside for their orders, micro-USD.", nil, nil)
	creditAvailableDesc = prometheus.NewDesc("joule_exchange_credit_available_micro_usd",
		"Tenants' credit still to spend, micro-USD.", nil, nil)
	leaderDesc = prometheus.NewDesc("joule_leader",
		"1 when this replica leads (runs the dispatch loop and the exchange, and writes), 0 when it follows.", nil, nil)
	leaderEpochDesc = prometheus.NewDesc("joule_leader_epoch",
		"The current term's epoch as this replica last read it.", nil, nil)
	alertsDesc = prometheus.NewDesc("joule_alerts_firing",
		"Open alerts of the site by rule and state: firing, or acknowledged and still firing (at most 1000 of each counted).",
		[]string{"site", "rule", "state"}, nil)
)

// siteCollector reads the server's services when Prometheus scrapes: the numbers are
// those of the store and the feeds at that moment, never a copy that could drift.
type siteCollector struct{ s *Server }

// Describe sends every metric the collector may send.
func (c *siteCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{siteCapDesc, sitePlannedDesc, siteUseDesc, siteMeasuredDesc, siteMeteredDesc,
		planAgeDesc, devicesDesc, energyDesc, hashpriceDesc, btcDesc, feedFreshDesc, ordersDesc, leasesDesc,
		gpusLeasedDesc, creditHeldDesc, creditAvailableDesc, leaderDesc, leaderEpochDesc, alertsDesc} {
		ch <- d
	}
}

// Collect sends the metrics of every site, the market and the exchange. A store read
// that fails leaves its metrics out of this scrape and is logged: a gap in a graph
// says more than a zero.
func (c *siteCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), collectTimeout)
	defer cancel()
	c.market(ch)
	l := c.s.leadership()
	gauge(ch, leaderDesc, boolValue(l.Role == joule.ReplicaLeader))
	gauge(ch, leaderEpochDesc, float64(l.Epoch))
	if l.Role == joule.ReplicaLeader { // a follower's exchange is not the matcher's: the leader's metrics say
		c.exchange(ch)
	}
	if c.s.Sites == nil || c.s.Live == nil { // a server of the exchange alone
		return
	}
	sites, err := c.s.Sites.Sites(ctx)
	if err != nil {
		c.s.Logger.Error("metrics: sites", "err", err)
		return
	}
	for _, site := range sites {
		c.site(ctx, ch, site)
	}
}

// gauge sends one gauge; the descriptions are fixed, so a mismatch of labels is a bug
// caught by the tests.
func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// site sends one site's cap, plan, census and energy price.
func (c *siteCollector) site(ctx context.Context, ch chan<- prometheus.Metric, site *joule.Site) {
	name := site.Name
	gauge(ch, siteCapDesc, float64(site.PowerCapW), name)
	if c.s.Prices != nil {
		usd, fresh := c.s.Prices.Energy(site, c.s.now())
		gauge(ch, energyDesc, usd, name)
		gauge(ch, feedFreshDesc, boolValue(fresh), "energy", name)
	}
	switch p, err := c.s.Live.LatestPlan(ctx, name); {
	case err == nil:
		c.plan(ch, p)
	case joule.ErrorCode(err) != joule.ENOTFOUND:
		c.s.Logger.Error("metrics: plan", "site", name, "err", err)
	}
	c.alerts(ctx, ch, name)
	rep := c.s.census(ctx, name)
	if rep == nil {
		return
	}
	var measured joule.Watts
	for _, f := range rep.Fleets {
		measured += f.PowerW
		for state, n := range map[joule.DeviceState]int{joule.StateRunning: f.Running, joule.StateSleeping: f.Sleeping,
			joule.StateRamping: f.Ramping, joule.StateOff: f.Off, joule.StateUnknown: f.Unknown} {
			gauge(ch, devicesDesc, float64(n), name, f.Fleet, string(state))
		}
	}
	gauge(ch, siteMeasuredDesc, float64(measured), name)
	if m := rep.Meter; m != nil && m.Err == "" {
		gauge(ch, siteMeteredDesc, float64(m.PowerW), name)
	}
}

// alerts sends the site's open alerts by rule and state, zero for the rules that have
// none, so that an alerting rule on the metric sees each series.
func (c *siteCollector) alerts(ctx context.Context, ch chan<- prometheus.Metric, site string) {
	if c.s.Alerts == nil {
		return
	}
	for _, st := range []joule.AlertState{joule.AlertFiring, joule.AlertAcknowledged} {
		list, err := c.s.Alerts.Alerts(ctx, joule.AlertQuery{Site: site, State: st})
		if err != nil {
			c.s.Logger.Error("metrics: alerts", "site", site, "err", err)
			return
		}
		n := map[joule.AlertRule]int{}
		for _, a := range list {
			n[a.Rule]++
		}
		for _, rule := range joule.AlertRuleNames {
			gauge(ch, alertsDesc, float64(n[rule]), site, string(rule), string(st))
		}
	}
}

// plan sends what the site's newest plan expects, and how old it is.
func (c *siteCollector) plan(ch chan<- prometheus.Metric, p *joule.SitePlan) {
	gauge(ch, sitePlannedDesc, float64(p.DrawW), p.Site)
	gauge(ch, planAgeDesc, max(0, c.s.now().Sub(p.At).Seconds()), p.Site)
	for use, w := range map[string]joule.Watts{"mining": p.Use.MiningW, "firm_gpu": p.Use.FirmGPUW,
		"interruptible_gpu": p.Use.InterruptibleGPUW, "open_gpu": p.Use.OpenGPUW, "idle": p.Use.IdleW,
		"curtailed": p.Use.CurtailedW} {
		gauge(ch, siteUseDesc, float64(w), p.Site, use)
	}
}

// market sends the prices every site shares, and whether their feeds are fresh.
func (c *siteCollector) market(ch chan<- prometheus.Metric) {
	if c.s.Prices == nil {
		return
	}
	now := c.s.now()
	hashprice, fresh := c.s.Prices.Hashprice(now)
	gauge(ch, hashpriceDesc, hashprice)
	gauge(ch, feedFreshDesc, boolValue(fresh), "hashprice", "")
	btc, fresh := c.s.Prices.BTCUSD(now)
	gauge(ch, btcDesc, btc)
	gauge(ch, feedFreshDesc, boolValue(fresh), "btc_usd", "")
}

// exchange sends the book, the leases and the credit, when the server runs an exchange
// that summarizes itself.
func (c *siteCollector) exchange(ch chan<- prometheus.Metric) {
	x, ok := c.s.Leasing.(ExchangeStats)
	if !ok {
		return
	}
	st := x.Stats(c.s.now())
	for _, status := range []joule.OrderStatus{joule.OrderOpen, joule.OrderPartiallyFilled} {
		gauge(ch, ordersDesc, float64(st.RestingOrders[status]), string(status))
	}
	for _, status := range []joule.LeaseStatus{joule.LeaseActive, joule.LeasePreempted} {
		gauge(ch, leasesDesc, float64(st.Leases[status]), string(status))
	}
	gauge(ch, gpusLeasedDesc, float64(st.GPUsLeased))
	gauge(ch, creditHeldDesc, float64(st.CreditHeld))
	gauge(ch, creditAvailableDesc, float64(st.CreditAvailable))
}
