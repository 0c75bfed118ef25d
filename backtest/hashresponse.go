package backtest

import (
	"fmt"
	"math"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/econ"
	"github.com/joule-site/joule/history"
)

// How the network's hashrate answers the hashprice in a plan: miners add machines when
// mining pays more than it has lately and stop adding (or switch off) when it pays
// less, some time later. The plan's difficulty (≈ hashrate × 600 / 2^32) grows each day
// by
//
//	g = a + b × dev(d − lag),   dev = log hashprice − its mean over the year before,
//
// plus the resampled day's historical change less its mean, the noise. a, b and the lag
// are fitted to the embedded history before the conversion date.
const (
	// hashDevWindowDays is the trailing window the hashprice deviation is measured from.
	hashDevWindowDays = 365
	// hashGrowthDays is the horizon the fitted growth is measured over: the mean daily
	// log difficulty change of the next hashGrowthDays days (two difficulty epochs).
	hashGrowthDays = 28
	// hashFitYears is how much history before the conversion date the fit reads.
	hashFitYears = 8
)

// hashLags are the lags, in days, the fit tries.
var hashLags = []int{7, 14, 30, 60, 90, 120, 150, 180, 240}

// HashResponse is the fitted response of the network's difficulty to the hashprice.
type HashResponse struct {
	InterceptPerDay float64   `json:"intercept_per_day"` // a: mean daily log difficulty growth at dev 0
	Coefficient     float64   `json:"coefficient"`       // b: daily log growth per unit of log hashprice deviation
	LagDays         int       `json:"lag_days"`
	R2              float64   `json:"r2"`
	Observations    int       `json:"observations"`
	From            time.Time `json:"from"` // first and last day whose growth was regressed
	To              time.Time `json:"to"`
}

// String says the fit in words, with its numbers.
func (r HashResponse) String() string {
	return fmt.Sprintf("log difficulty growth over the next %d days, per day, = %.5f + %.5f × (log hashprice − its trailing %d-day mean) %d days before (R² %.2f, %d days %s..%s, least squares; the lag of the best R² among %v days): a hashprice 10%% above its year's mean adds %+.1f%% a year to the hashrate growth",
		hashGrowthDays, r.InterceptPerDay, r.Coefficient, hashDevWindowDays, r.LagDays, r.R2, r.Observations,
		r.From.Format(time.DateOnly), r.To.Format(time.DateOnly), hashLags, r.Coefficient*math.Log(1.1)*daysPerYear*100)
}

// hashSeries is the daily log gross hashprice and log difficulty of a span of history,
// NaN where a series is missing.
type hashSeries struct {
	first       time.Time
	logHP, logD []float64
}

func readHashSeries(h *history.History, from, to time.Time) hashSeries {
	s := hashSeries{first: from}
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		day := h.Day(d)
		hp, ld := math.NaN(), math.NaN()
		if day.Err() == nil && day.PriceUSD > 0 && day.Difficulty > 0 {
			if v := econ.ComputeHashprice(day.Market()).USDPerPHDay; v > 0 {
				hp = math.Log(v)
			}
			ld = math.Log(day.Difficulty)
		}
		s.logHP, s.logD = append(s.logHP, hp), append(s.logD, ld)
	}
	return s
}

// deviations returns each day's log hashprice less its mean over the hashDevWindowDays
// ending that day (NaN without a whole window).
func deviations(logHP []float64) []float64 {
	dev := make([]float64, len(logHP))
	var sum float64
	bad := 0
	for i, v := range logHP {
		if math.IsNaN(v) {
			bad++
		} else {
			sum += v
		}
		if j := i - hashDevWindowDays; j >= 0 {
			if math.IsNaN(logHP[j]) {
				bad--
			} else {
				sum -= logHP[j]
			}
		}
		dev[i] = math.NaN()
		if i >= hashDevWindowDays-1 && bad == 0 && !math.IsNaN(v) {
			dev[i] = v - sum/hashDevWindowDays
		}
	}
	return dev
}

// FitHashResponse fits the difficulty's response to the hashprice on the hashFitYears
// of history before at, by least squares at each lag of hashLags, keeping the lag of
// the best R². Only days whose growth horizon ends before at are regressed.
func FitHashResponse(h *history.History, at time.Time) (HashResponse, error) {
	at = at.UTC().Truncate(24 * time.Hour)
	s := readHashSeries(h, at.AddDate(-hashFitYears, 0, 0), at)
	dev := deviations(s.logHP)
	best := HashResponse{R2: -1}
	for _, lag := range hashLags {
		var n, sx, sy, sxx, sxy, syy float64
		first, last := -1, -1
		for t := lag; t+hashGrowthDays < len(s.logD); t++ {
			x := dev[t-lag]
			y := (s.logD[t+hashGrowthDays] - s.logD[t]) / hashGrowthDays
			if math.IsNaN(x) || math.IsNaN(y) {
				continue
			}
			if first < 0 {
				first = t
			}
			last = t
			n++
			sx, sy, sxx, sxy, syy = sx+x, sy+y, sxx+x*x, sxy+x*y, syy+y*y
		}
		if n < minBootstrapDays {
			continue
		}
		vx, vy, cxy := sxx-sx*sx/n, syy-sy*sy/n, sxy-sx*sy/n
		if !(vx > 0 && vy > 0) {
			continue
		}
		b := cxy / vx
		r := HashResponse{Coefficient: b, InterceptPerDay: (sy - b*sx) / n, LagDays: lag, R2: cxy * cxy / (vx * vy), Observations: int(n),
			From: s.first.AddDate(0, 0, first), To: s.first.AddDate(0, 0, last)}
		if r.R2 > best.R2 {
			best = r
		}
	}
	if best.R2 < 0 {
		return best, joule.Errorf(joule.EINVALID, "plan: too little history before %s to fit the hashrate's response to the hashprice", at.Format(time.DateOnly))
	}
	return best, nil
}
