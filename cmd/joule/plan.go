package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/render"
	"github.com/joule-site/joule/reports"
)

func newPlanCmd(g *globals) *cobra.Command {
	var (
		f       dispatchFlags
		at, out string
		drift   []float64
	)
	req := reports.NewPivotRequest()
	cmd := &cobra.Command{
		Use:   "plan --site FILE|NAME --convert-mw MW --gpu MODEL --at YYYY-MM-DD [--years N] [--paths N] [--out DIR]",
		Short: "Monte Carlo: the distribution of NPV and payback of turning miners into GPU servers",
		Long: `plan converts --convert-mw of the site's least efficient miners into GPU servers on --at and
runs --paths futures through Joule's dispatch policy, hour by hour: BTC prices by block
bootstrap of history before --at with its drift removed (--btc-model, --btc-drift),
difficulty answering the hashprice as fitted to that history, halvings by height,
energy prices by sampling historical days of the site's market, GPU-hour prices
drifting from the market's on --at (the lowest 8-GPU server price published in the six
months before; --gpu-price-path list for 1-GPU list prices), utilization on a demand
curve around --utilization, and the conversion's costs (opex, network, conversion,
install lag). It prints the chance of a loss and P10/P50/P90 of NPV, payback and yearly
cash flow, with every input and its source; with --out it writes plan.json, npv.png,
cashflow.png and index.html.`,
		Example: "  joule plan --site examples/west-texas.yaml --convert-mw 20 --gpu h100-sxm --at 2024-06-01 --years 5 --paths 10000 --out plan/",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			if req.At, err = reports.ParseDay("at", at); err != nil {
				return err
			}
			if len(drift) != 2 {
				return joule.Errorf(joule.EINVALID, "--gpu-drift-range takes two numbers: low,high")
			}
			req.GPUDriftRange = [2]float64{drift[0], drift[1]}
			site, hist, err := f.prepare(cmd.Context(), g, &req.Hysteresis, &req.GPUPrice, req.Validate)
			if err != nil {
				return err
			}
			progress, done := newProgress(f.noProg, "plan")
			r, err := reports.Pivot(cmd.Context(), site, req, hist, progress)
			done()
			if err != nil {
				return err
			}
			if out != "" {
				files, err := render.WritePivot(out, r)
				if err != nil {
					return err
				}
				defer fmt.Fprintf(os.Stderr, "wrote %d files to %s (open %s/index.html)\n", len(files), out, out)
			}
			if f.jsonOut {
				return printJSON(cmd.OutOrStdout(), r)
			}
			return render.PrintPivot(cmd.OutOrStdout(), r)
		},
	}
	f.add(cmd, req.Hysteresis, &req.PoolFee, &req.Utilization, &req.GPUUSDPerHour, &req.GPU)
	fl := cmd.Flags()
	fl.StringVar(&at, "at", "", "conversion date, YYYY-MM-DD")
	fl.StringVar(&out, "out", "", "directory for the report files (plan.json, npv.png, cashflow.png, index.html)")
	fl.Float64Var(&req.ConvertMW, "convert-mw", req.ConvertMW, "facility MW of miners to convert")
	fl.IntVar(&req.Years, "years", req.Years, fmt.Sprintf("horizon in years (at most %d)", reports.MaxYears))
	fl.IntVar(&req.Paths, "paths", req.Paths, fmt.Sprintf("Monte Carlo paths (at most %d)", reports.MaxPaths))
	fl.Uint64Var(&req.Seed, "seed", req.Seed, "random seed (the same seed gives the same report)")
	fl.Float64Var(&req.DiscountRate, "discount-rate", req.DiscountRate, "annual discount rate")
	fl.Float64Var(&req.ASICResaleUSD, "asic-resale-usd", req.ASICResaleUSD, "resale value of each retired miner (default: its price × --asic-resale-fraction)")
	fl.StringVar(&req.BTCModel, "btc-model", req.BTCModel, "BTC price model: bootstrap (resampled history, its drift removed), bootstrap-drift (as history was) or gbm (history's volatility)")
	fl.Float64Var(&req.BTCDriftPerYear, "btc-drift", req.BTCDriftPerYear, "annual log drift of the BTC price, for bootstrap and gbm (assumption: none)")
	fl.StringVar(&req.GPUPricePath, "gpu-price-path", req.GPUPricePath, "published GPU-hour price path the site asks: market (8-GPU servers) or list (1-GPU list prices)")
	fl.Float64Var(&req.UtilizationSpread, "utilization-spread", req.UtilizationSpread, "each path's utilization at the market price is drawn from --utilization ± this (assumption)")
	fl.Float64Var(&req.DemandElasticity, "demand-elasticity", req.DemandElasticity, "ε of utilization × (market price ÷ price asked)^ε (assumption: unit elastic)")
	costFlags(cmd, &req.Costs, "months from conversion to first GPU revenue", "share of a new miner's price a retired one sells for")
	gpuPUEFlag(cmd, &req.GPUPUE)
	fl.BoolVar(&req.Hoard, "hoard", req.Hoard, "keep mined BTC (valued at each path's last price) instead of selling daily")
	fl.IntVar(&req.Workers, "workers", req.Workers, "goroutines (0: one per core)")
	fl.Float64SliceVar(&drift, "gpu-drift-range", req.GPUDriftRange[:], "annual log drift of the GPU-hour price sampled per path: low,high")
	_ = cmd.MarkFlagRequired("at")
	_ = cmd.MarkFlagRequired("convert-mw")
	return cmd
}
