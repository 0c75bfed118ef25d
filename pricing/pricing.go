// Package pricing answers the questions an operator asks of a day of history: what was
// hashprice, where is each ASIC's breakeven, and should these megawatts mine or lease
// GPUs. It joins the embedded market history, the hardware models and econ; the CLI
// and the HTTP API both answer through it, so they always agree.
package pricing

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/econ"
	"github.com/joule-site/joule/history"
)

// Pricer answers econ and compare queries.
type Pricer struct {
	History *history.History
	Models  joule.ModelLister
	// Source, when set, returns the history each query is priced on in place of
	// History: the embedded one overlaid with the operator's imports, as they are now.
	Source func(context.Context) (*history.History, error)
}

// history is the history a query is priced on.
func (p *Pricer) history(ctx context.Context) (*history.History, error) {
	if p.Source != nil {
		return p.Source(ctx)
	}
	return p.History, nil
}

// DayQuery selects a day of history and how to read it.
type DayQuery struct {
	// Date is the day; zero: the newest day on which every series has a value
	// (history.History.Latest), which the report notes.
	Date time.Time
	// PoolFee is the pool's share of mining revenue, a fraction in [0, 1).
	PoolFee float64
	// FeesPerBlockBTC, when set, replaces the day's fees per block (for days the fee
	// data does not cover); the report notes it.
	FeesPerBlockBTC *float64
}

// Breakeven is one ASIC model's economics on a day.
type Breakeven struct {
	Model              string  `json:"model"`
	Name               string  `json:"name"`
	HashrateTHs        float64 `json:"hashrate_ths"`
	PowerW             int64   `json:"power_w"`
	EfficiencyJPerTH   float64 `json:"efficiency_j_per_th"`
	BreakevenUSDPerMWh float64 `json:"breakeven_usd_per_mwh"`
	RevenueUSDPerDay   float64 `json:"revenue_usd_per_day"` // one machine, net of pool fee
}

// DayReport is hashprice on a day and the breakeven energy price of every ASIC model.
type DayReport struct {
	Date                    string      `json:"date"`
	BTCPriceUSD             float64     `json:"btc_price_usd"`
	Difficulty              float64     `json:"difficulty"`
	Height                  int64       `json:"height"`
	NetworkHashrateEHs      float64     `json:"network_hashrate_ehs"`
	SubsidyBTC              float64     `json:"subsidy_btc"`
	FeesPerBlockBTC         float64     `json:"fees_per_block_btc"`
	FeeShare                float64     `json:"fee_share"`
	HashpriceBTCPerPHDay    float64     `json:"hashprice_btc_per_ph_day"`
	HashpriceUSDPerPHDay    float64     `json:"hashprice_usd_per_ph_day"` // gross of pool fee
	PoolFee                 float64     `json:"pool_fee"`
	HashpriceNetUSDPerPHDay float64     `json:"hashprice_net_usd_per_ph_day"`
	Breakevens              []Breakeven `json:"breakevens"`
	Notes                   []string    `json:"notes"`
}

// Day prices one day of history.
func (p *Pricer) Day(ctx context.Context, q DayQuery) (*DayReport, error) {
	r, _, err := p.day(ctx, q)
	return r, err
}

func (p *Pricer) day(ctx context.Context, q DayQuery) (*DayReport, econ.Hashprice, error) {
	if !(q.PoolFee >= 0 && q.PoolFee < 1) {
		return nil, econ.Hashprice{}, joule.Errorf(joule.EINVALID, "pool fee must be a fraction in [0, 1), got %v", q.PoolFee)
	}
	h, err := p.history(ctx)
	if err != nil {
		return nil, econ.Hashprice{}, err
	}
	latest := q.Date.IsZero()
	if latest {
		q.Date = h.Latest()
	}
	d := h.Day(q.Date)
	if latest {
		d.Notes = append([]string{fmt.Sprintf("date: %s, the newest day with every series (none was given)", d.Date.Format(time.DateOnly))}, d.Notes...)
	}
	if q.FeesPerBlockBTC != nil {
		if f := *q.FeesPerBlockBTC; !(f >= 0) || math.IsInf(f, 0) {
			return nil, econ.Hashprice{}, joule.Errorf(joule.EINVALID, "fees per block must not be negative, got %v", f)
		}
		d.Missing = slices.DeleteFunc(d.Missing, func(s string) bool { return s == history.SeriesFees })
		if d.Blocks <= 0 {
			d.Blocks = econ.BlocksPerDay
		}
		d.FeesBTC = *q.FeesPerBlockBTC * d.Blocks
		d.Notes = append(d.Notes, "fees: given by the user")
	}
	if err := d.Err(); err != nil {
		return nil, econ.Hashprice{}, remedy(err, d, h)
	}
	hp := econ.ComputeHashprice(d.Market())
	r := &DayReport{
		Date:                    d.Date.Format(time.DateOnly),
		BTCPriceUSD:             d.PriceUSD,
		Difficulty:              d.Difficulty,
		Height:                  d.Height,
		NetworkHashrateEHs:      econ.NetworkHashrate(d.Difficulty) / 1e18,
		SubsidyBTC:              hp.SubsidyBTC,
		FeesPerBlockBTC:         hp.FeesPerBlockBTC,
		FeeShare:                hp.FeeShare,
		HashpriceBTCPerPHDay:    hp.BTCPerPHDay,
		HashpriceUSDPerPHDay:    hp.USDPerPHDay,
		PoolFee:                 q.PoolFee,
		HashpriceNetUSDPerPHDay: econ.NetOfPoolFee(hp.USDPerPHDay, q.PoolFee),
		Breakevens:              []Breakeven{},
		Notes:                   append([]string{}, d.Notes...),
	}
	models, err := p.Models.AllModels(ctx)
	if err != nil {
		return nil, econ.Hashprice{}, err
	}
	for _, m := range models {
		if m.Kind != joule.KindASIC {
			continue
		}
		r.Breakevens = append(r.Breakevens, Breakeven{
			Model:              m.ID,
			Name:               m.Name,
			HashrateTHs:        m.HashrateTHs,
			PowerW:             int64(m.PowerW),
			EfficiencyJPerTH:   m.EfficiencyJPerTH(),
			BreakevenUSDPerMWh: econ.BreakevenUSDPerMWh(hp.USDPerPHDay, m.EfficiencyJPerTH(), q.PoolFee),
			RevenueUSDPerDay:   m.HashrateTHs * r.HashpriceNetUSDPerPHDay / 1000,
		})
	}
	slices.SortFunc(r.Breakevens, func(a, b Breakeven) int { return -cmp.Compare(a.BreakevenUSDPerMWh, b.BreakevenUSDPerMWh) })
	return r, hp, nil
}

// Model returns the model with the given id among all models, or ENOTFOUND naming
// the ids of the wanted kind.
func (p *Pricer) Model(ctx context.Context, id string, kind joule.HardwareKind) (*joule.HardwareModel, error) {
	models, err := p.Models.AllModels(ctx)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, m := range models {
		if m.Kind != kind {
			continue
		}
		if m.ID == id {
			return m, nil
		}
		ids = append(ids, m.ID)
	}
	return nil, joule.Errorf(joule.ENOTFOUND, "unknown %s model %q (known: %s)", kind, id, strings.Join(ids, ", "))
}

// remedy adds to the error of a day that lacks a series what the user can do about
// it: supply the fees themselves, or pick a day the data covers.
func remedy(err error, d history.Day, h *history.History) error {
	var do []string
	if slices.Contains(d.Missing, history.SeriesFees) {
		do = append(do, "give the day's fees per block in BTC (--fees-btc-per-block, fees_btc_per_block in the API)")
	}
	if slices.ContainsFunc(d.Missing, func(s string) bool { return s != history.SeriesFees }) {
		do = append(do, fmt.Sprintf("pick a day the data covers (the newest with every series is %s)", h.Latest().Format(time.DateOnly)))
	}
	return joule.Errorf(joule.EINVALID, "%s: %s", joule.ErrorMessage(err), strings.Join(do, ", or "))
}
