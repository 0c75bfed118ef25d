package econ

import "math"

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
