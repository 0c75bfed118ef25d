package econ

// kWhPerTHDayPerJPerTH is the energy one TH/s uses in a day at 1 J/TH:
// 1 J/s × 86400 s = 86.4 kJ = 0.024 kWh.
const kWhPerTHDayPerJPerTH = 0.024

// BreakevenUSDPerMWh is the energy price at which an ASIC of the given efficiency (J/TH)
// earns exactly its power bill: hashprice per TH/s per day, net of the pool fee, divided
// by the energy a TH/s uses in a day. Above this price, mining loses money.
//
// Reference: 17.5 J/TH (S21) at $55/PH/day with no pool fee ≈ $131/MWh.
func BreakevenUSDPerMWh(hashpriceUSDPerPHDay, efficiencyJPerTH, poolFee float64) float64 {
	if !(efficiencyJPerTH > 0) {
		return 0
	}
	usdPerTHDay := NetOfPoolFee(hashpriceUSDPerPHDay, poolFee) / 1000
	return usdPerTHDay / (kWhPerTHDayPerJPerTH * efficiencyJPerTH) * 1000
}

// The value of a megawatt-hour. Every figure below is per MWh of facility energy,
// what the site's meter counts and the energy price applies to (IT power × PUE), and
// counts the energy the machines consume: an ASIC at its power, a GPU server at
// nameplate for the GPU-hours that sell and at idle for the rest. The next-megawatt
// view, opportunity-cost asks and compare use these; the dispatch policy values each
// block of load by the same definition applied to the power it adds above the
// machines' idle draw (a test in dispatch holds it to these functions).

// MiningUSDPerFacilityMWh is what a facility MWh earns running ASICs of the given
// efficiency (J/TH) at a hashprice net of the pool fee: the breakeven energy price,
// which is per MWh of the machines' own power, spread over PUE.
func MiningUSDPerFacilityMWh(hashpriceNetUSDPerPHDay, efficiencyJPerTH, pue float64) float64 {
	if !(pue > 0) {
		return 0
	}
	return BreakevenUSDPerMWh(hashpriceNetUSDPerPHDay, efficiencyJPerTH, 0) / pue
}

// GPUUSDPerFacilityMWh is what a facility MWh earns running a GPU server leased at
// usdPerGPUHour: price × GPUs × utilization per hour, over the facility energy the
// server consumes in that hour, (utilization × powerKW + (1 − utilization) × idleKW)
// × PUE. Capex is sunk here; planning adds it separately.
func GPUUSDPerFacilityMWh(usdPerGPUHour float64, gpus int, utilization, powerKW, idleKW, pue float64) float64 {
	kW := (utilization*powerKW + (1-utilization)*max(idleKW, 0)) * pue
	if !(kW > 0) {
		return 0
	}
	return usdPerGPUHour * float64(gpus) * utilization / kW * 1000
}

// OpportunityCostUSDPerGPUHour is what one leased GPU-hour costs the site in mining
// it gives up: a leased server draws its nameplate power (serverKW × PUE at the
// facility), which would otherwise run ASICs earning miningUSDPerFacilityMWh
// (MiningUSDPerFacilityMWh), shared over the server's GPUs. Energy is bought either
// way, so it does not enter. An ask below it makes the megawatt worth less leased
// than mined.
func OpportunityCostUSDPerGPUHour(miningUSDPerFacilityMWh, serverKW, pue float64, gpus int) float64 {
	if gpus <= 0 || !(serverKW > 0) || !(pue > 0) || !(miningUSDPerFacilityMWh > 0) {
		return 0
	}
	return miningUSDPerFacilityMWh * serverKW * pue / 1000 / float64(gpus)
}
