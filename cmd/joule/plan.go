package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/backtest"
	"github.com/joule-site/joule/history"
	"github.com/joule-site/joule/render"
)

func newPlanCmd(g *globals) *cobra.Command {
	var (
		f            dispatchFlags
		at, out      string
		convertMW    float64
		years, paths int
		seed         uint64
		discount     float64
		resale       float64
		hoard        bool
		btcModel     string
		workers      int
		util, drift  []float64
	)
	cmd := &cobra.Command{
		Use:   "plan --site FILE|NAME --convert-mw MW --gpu MODEL --at YYYY-MM-DD [--years N] [--paths N] [--out DIR]",
		Short: "Monte Carlo: the distribution of NPV and payback of turning miners into GPU servers",
		Long: `plan converts --convert-mw of the site's least efficient miners into GPU servers on --at and
runs --paths futures through Joule's dispatch policy, hour by hour: BTC price and
difficulty by block bootstrap of history before --at, halvings by height, energy prices
by sampling historical days of the site's market, GPU-hour prices drifting from today's,
and utilization. It reports P10/P50/P90 of NPV, payback and yearly cash flow; with --out
it writes plan.json, npv.png, cashflow.png and index.html.`,
		Example: "  joule plan --site examples/west-texas.yaml --convert-mw 20 --gpu h100-sxm --at 2024-06-01 --years 5 --paths 10000 --out plan/",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			when, err := time.Parse(time.DateOnly, at)
			if err != nil {
				return joule.Errorf(joule.EINVALID, "--at: want YYYY-MM-DD, got %q", at)
			}
			if len(util) != 2 || len(drift) != 2 {
				return joule.Errorf(joule.EINVALID, "--utilization-range and --gpu-drift-range take two numbers: low,high")
			}
			h, spec, lookup, err := f.setup(cmd.Context(), g)
			if err != nil {
				return err
			}
			if f.gpuModel == "" {
				return joule.Errorf(joule.EINVALID, "--gpu is required: the server model to buy")
			}
			gpu, ok := lookup(f.gpuModel)
			if !ok || gpu.Kind != joule.KindGPUServer {
				return joule.Errorf(joule.EINVALID, "--gpu: unknown GPU server model %q", f.gpuModel)
			}
			price := f.gpuUSDPerHour
			if price == 0 {
				path, err := f.gpuPath(gpu.ID)
				if err != nil {
					return err
				}
				price, _ = path.At(when.Unix())
			}
			hist, err := history.Default()
			if err != nil {
				return err
			}
			progress, done := newProgress(f.noProg, "plan")
			r, err := backtest.RunPlan(backtest.PlanConfig{
				Site: spec, ConvertMW: convertMW, GPU: gpu, At: when, Years: years, Paths: paths, Seed: seed,
				History: hist, PoolFee: f.poolFee, DiscountRate: discount, GPUUSDPerHour: price,
				Utilization: [2]float64{util[0], util[1]}, GPUPriceDriftPerYear: [2]float64{drift[0], drift[1]},
				ASICResaleUSD: resale, Hoard: hoard, BTCModel: btcModel, Hysteresis: h, Workers: workers, Progress: progress,
			})
			done()
			if err != nil {
				return err
			}
			if out != "" {
				files, err := render.WritePlan(out, r)
				if err != nil {
					return err
				}
				defer fmt.Fprintf(os.Stderr, "wrote %d files to %s (open %s/index.html)\n", len(files), out, out)
			}
			if f.jsonOut {
				return printJSON(cmd.OutOrStdout(), r)
			}
			return render.PrintPlan(cmd.OutOrStdout(), r)
		},
	}
	f.add(cmd)
	fl := cmd.Flags()
	fl.StringVar(&at, "at", "", "conversion date, YYYY-MM-DD")
	fl.StringVar(&out, "out", "", "directory for the report files (plan.json, npv.png, cashflow.png, index.html)")
	fl.Float64Var(&convertMW, "convert-mw", 0, "facility MW of miners to convert")
	fl.IntVar(&years, "years", 5, "horizon in years")
	fl.IntVar(&paths, "paths", 10000, "Monte Carlo paths")
	fl.Uint64Var(&seed, "seed", 1, "random seed (the same seed gives the same report)")
	fl.Float64Var(&discount, "discount-rate", 0.12, "annual discount rate")
	fl.Float64Var(&resale, "asic-resale-usd", 0, "resale value of each retired miner")
	fl.StringVar(&btcModel, "btc-model", "bootstrap", "BTC price model: bootstrap (resampled history) or gbm (log returns fitted to the same history)")
	fl.BoolVar(&hoard, "hoard", false, "keep mined BTC (valued at each path's last price) instead of selling daily")
	fl.IntVar(&workers, "workers", 0, "goroutines (0: one per core)")
	fl.Float64SliceVar(&util, "utilization-range", []float64{0.6, 0.95}, "GPU utilization sampled per path: low,high")
	fl.Float64SliceVar(&drift, "gpu-drift-range", []float64{-0.35, 0.05}, "annual log drift of the GPU-hour price sampled per path: low,high")
	_ = cmd.MarkFlagRequired("at")
	_ = cmd.MarkFlagRequired("convert-mw")
	return cmd
}
