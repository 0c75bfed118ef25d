package econ

import (
	"math"
	"slices"
)

// DaysPerMonth is the average Gregorian month (365.2425 / 12), used to turn daily
// margins into monthly cash flows.
const DaysPerMonth = 365.2425 / 12

// StraightLineDepreciationPerYear spreads capex less salvage evenly over a life in years.
func StraightLineDepreciationPerYear(capexUSD, salvageUSD, lifeYears float64) float64 {
	if !(lifeYears > 0) {
		return 0
	}
	return (capexUSD - salvageUSD) / lifeYears
}

// PaybackMonths is the number of months of a steady monthly margin that repay capex.
// ok is false when the margin never repays it.
func PaybackMonths(capexUSD, marginUSDPerMonth float64) (months float64, ok bool) {
	if capexUSD <= 0 {
		return 0, true
	}
	if !(marginUSDPerMonth > 0) {
		return 0, false
	}
	return capexUSD / marginUSDPerMonth, true
}

// NPV is the net present value of an investment: −capex now, then monthly cash flows
// at the end of each month, discounted at an annual rate compounded monthly
// ((1+r)^(1/12) per month).
func NPV(capexUSD float64, monthlyCashFlowsUSD []float64, annualRate float64) float64 {
	monthly := math.Pow(1+annualRate, 1.0/12)
	npv, discount := -capexUSD, 1.0
	for _, cf := range monthlyCashFlowsUSD {
		discount /= monthly
		npv += cf * discount
	}
	return npv
}

// SteadyNPV is NPV with the same margin every month for a life in years, the last
// partial month counted in proportion. Capex is recovered only through margin.
func SteadyNPV(capexUSD, marginUSDPerMonth, lifeYears, annualRate float64) float64 {
	months := lifeYears * 12
	full := int(months)
	flows := make([]float64, full, full+1)
	for i := range flows {
		flows[i] = marginUSDPerMonth
	}
	if frac := months - float64(full); frac > 0 {
		flows = append(flows, marginUSDPerMonth*frac)
	}
	return NPV(capexUSD, flows, annualRate)
}

// OperatingFlows is a steady monthly margin as end-of-month cash flows for an
// operation that starts startMonths after the outlay and runs lifeMonths: each month
// carries the margin in proportion to the part of it the operation runs, so a
// fractional lag or life is counted exactly, and the months of the lag carry nothing.
func OperatingFlows(marginUSDPerMonth, startMonths, lifeMonths float64) []float64 {
	end := startMonths + lifeMonths
	flows := make([]float64, int(math.Ceil(end)))
	for i := range flows {
		if run := math.Min(float64(i+1), end) - math.Max(float64(i), startMonths); run > 0 {
			flows[i] = marginUSDPerMonth * run
		}
	}
	return flows
}

// IRR is the internal rate of return of an outlay now and monthly cash flows at the
// end of each month: the annual rate, compounded monthly as in NPV, at which their NPV
// is zero. ok is false when there is none to speak of: no outlay, or flows that never
// turn positive. With one outlay and flows that do not change sign (a steady margin),
// NPV falls as the rate rises, so the root is unique; it is found by bisection on the
// monthly rate, between −50% a month (an annual −99.98%) and whatever rate it takes:
// an outlay repaid ten times in the first month has an IRR of 10¹² − 1.
func IRR(capexUSD float64, monthlyCashFlowsUSD []float64) (annual float64, ok bool) {
	if !(capexUSD > 0) || !slices.ContainsFunc(monthlyCashFlowsUSD, func(cf float64) bool { return cf > 0 }) {
		return 0, false
	}
	npv := func(monthlyRate float64) float64 {
		v, discount := -capexUSD, 1.0
		for _, cf := range monthlyCashFlowsUSD {
			discount /= 1 + monthlyRate
			v += cf * discount
		}
		return v
	}
	lo, hi := -0.5, 1.0
	if npv(lo) <= 0 {
		return 0, false // loses more than 99.98% a year
	}
	for npv(hi) > 0 {
		if hi *= 2; hi > 1e9 {
			return 0, false
		}
	}
	for range 200 {
		mid := (lo + hi) / 2
		if npv(mid) > 0 {
			lo = mid
		} else {
			hi = mid
		}
	}
	return math.Pow(1+(lo+hi)/2, 12) - 1, true
}
