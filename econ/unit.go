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

// GPUValueUSDPerMWh is what a megawatt-hour earns when it runs a leased GPU server:
// price per GPU-hour × GPUs × utilization, divided by the server's facility power
// (kW × PUE), in USD per MWh. Capex is sunk here; planning adds it separately.
func GPUValueUSDPerMWh(usdPerGPUHour float64, gpus int, utilization, serverKW, pue float64) float64 {
	if !(serverKW > 0) || !(pue > 0) {
		return 0
	}
	usdPerKWh := usdPerGPUHour * float64(gpus) * utilization / (serverKW * pue)
	return usdPerKWh * 1000
}

// OpportunityCostUSDPerGPUHour is what one GPU-hour of a server costs the site in
// mining it gives up: the server's facility power (kW × PUE) would otherwise run ASICs
// that earn miningUSDPerMWh (their hashprice revenue per MWh, as BreakevenUSDPerMWh
// gives it), shared over the server's GPUs. Energy is bought either way, so it does
// not enter. An ask below it makes the megawatt worth less leased than mined.
func OpportunityCostUSDPerGPUHour(miningUSDPerMWh, serverKW, pue float64, gpus int) float64 {
	if gpus <= 0 || !(serverKW > 0) || !(pue > 0) || !(miningUSDPerMWh > 0) {
		return 0
	}
	return miningUSDPerMWh * serverKW * pue / 1000 / float64(gpus)
}
