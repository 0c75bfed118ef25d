package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/backtest"
	"github.com/joule-site/joule/dispatch"
	"github.com/joule-site/joule/forecast"
	"github.com/joule-site/joule/history"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/render"
	"github.com/joule-site/joule/reports"
)

// dispatchFlags are the flags backtests and plans share besides their requests'
// fields: the site, the dispatch policy's settings, a GPU price file and the output.
type dispatchFlags struct {
	band            float64
	minOn, minOff   time.Duration
	warmup          time.Duration
	gpuPriceCSV     string
	site            string
	jsonOut, noProg bool
}

// add defines the shared flags on cmd, binding those that set a request's fields
// (pool_fee, utilization, gpu_usd_hour, gpu) to them; each flag's default is the
// field's as the request starts, h the dispatch policy's.
func (f *dispatchFlags) add(cmd *cobra.Command, h dispatch.Hysteresis, poolFee, utilization, gpuUSDPerHour *float64, gpuModel *string) {
	fl := cmd.Flags()
	fl.StringVar(&f.site, "site", "", "the site: a manifest file (examples/west-texas.yaml) or the name of a site in the store")
	fl.Float64Var(&f.band, "band-usd-mwh", h.BandUSDPerMWh, "strike band around each fleet's value, USD per MWh")
	fl.DurationVar(&f.minOn, "min-on", time.Duration(h.MinOnSec)*time.Second, "shortest time a fleet stays running")
	fl.DurationVar(&f.minOff, "min-off", time.Duration(h.MinOffSec)*time.Second, "shortest time a fleet stays stopped")
	fl.DurationVar(&f.warmup, "warmup", time.Duration(h.WarmupSec)*time.Second, "hashing lost each time miners start (the switching cost)")
	fl.Float64Var(poolFee, "pool-fee", *poolFee, "pool fee as a fraction of mining revenue")
	fl.Float64Var(utilization, "utilization", *utilization, "fraction of GPU capacity that sells")
	fl.Float64Var(gpuUSDPerHour, "gpu-usd-hour", *gpuUSDPerHour, "a constant GPU-hour price instead of the default published-price path")
	fl.StringVar(&f.gpuPriceCSV, "gpu-price-csv", "", "a GPU-hour price path: CSV with date,usd_per_gpu_hour")
	fl.StringVar(gpuModel, "gpu", *gpuModel, "GPU server model for conversions (default: the site's own)")
	fl.BoolVar(&f.jsonOut, "json", false, "print the report as JSON")
	fl.BoolVar(&f.noProg, "no-progress", false, "hide the progress bar")
	_ = cmd.MarkFlagRequired("site")
}

// hysteresis is the dispatch policy the flags set; the request validates it.
func (f *dispatchFlags) hysteresis() dispatch.Hysteresis {
	return dispatch.Hysteresis{BandUSDPerMWh: f.band, MinOnSec: int64(f.minOn / time.Second), MinOffSec: int64(f.minOff / time.Second), WarmupSec: int64(f.warmup / time.Second)}
}

// gpuPricePath reads --gpu-price-csv, or returns nil when it is not given.
func (f *dispatchFlags) gpuPricePath() (*backtest.PricePath, error) {
	if f.gpuPriceCSV == "" {
		return nil, nil
	}
	file, err := os.Open(f.gpuPriceCSV)
	if err != nil {
		return nil, joule.Errorf(joule.EINVALID, "--gpu-price-csv: %v", err)
	}
	defer file.Close()
	return backtest.ReadPricePath(f.gpuPriceCSV, file)
}

// prepare fills what the flags give every report request (the policy's hysteresis into
// h, the GPU price path into price), validates the request, and reads the site and the
// history the report runs on.
func (f *dispatchFlags) prepare(ctx context.Context, g *globals, h *dispatch.Hysteresis, price **backtest.PricePath, validate func() error) (*reports.Site, *history.History, error) {
	*h = f.hysteresis()
	var err error
	if *price, err = f.gpuPricePath(); err != nil {
		return nil, nil, err
	}
	if err := validate(); err != nil {
		return nil, nil, err
	}
	site, err := f.loadSite(ctx, g)
	if err != nil {
		return nil, nil, err
	}
	hist, err := importedHistory(ctx, g)
	return site, hist, err
}

// loadSite reads --site: a manifest file with one site, or a site in the store.
func (f *dispatchFlags) loadSite(ctx context.Context, g *globals) (*reports.Site, error) {
	var models []*joule.HardwareModel
	var site *jhttp.SiteDetail
	err := withClient(ctx, g, func(c *jhttp.Client) error {
		var err error
		if models, err = c.AllModels(ctx); err != nil {
			return err
		}
		if _, statErr := os.Stat(f.site); statErr == nil {
			return nil
		}
		site, err = c.Site(ctx, f.site)
		return err
	})
	if err != nil {
		return nil, err
	}
	if site != nil {
		return reports.ResolveSite(site.Site, site.Fleets, models)
	}
	data, err := os.ReadFile(f.site)
	if err != nil {
		return nil, joule.Errorf(joule.EINVALID, "--site: %v", err)
	}
	return reports.SiteFromManifest(f.site, data, models)
}

// newProgress returns a progress callback drawing a bar on standard error, or nil when
// standard error is not a terminal or the user asked for none.
func newProgress(hide bool, what string) (func(done, total int), func()) {
	if hide || !term.IsTerminal(int(os.Stderr.Fd())) {
		return nil, func() {}
	}
	var bar *progressbar.ProgressBar
	update := func(done, total int) {
		if bar == nil {
			bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(os.Stderr), progressbar.OptionSetDescription(what),
				progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionClearOnFinish(), progressbar.OptionThrottle(100*time.Millisecond))
		}
		_ = bar.Set(done)
	}
	return update, func() {
		if bar != nil {
			_ = bar.Finish()
		}
	}
}

func newBacktestCmd(g *globals) *cobra.Command {
	var (
		f        dispatchFlags
		from, to string
		out      string
	)
	req := reports.NewBacktestRequest()
	cmd := &cobra.Command{
		Use:   "backtest --site FILE|NAME --from YYYY-MM-DD --to YYYY-MM-DD [--out DIR]",
		Short: "Replay real history: what the site would have earned under each way of running it",
		Long: `backtest replays the site hour by hour over real history (daily BTC price, difficulty and
fees; the site's wholesale energy prices) through always-mine, the strike-price rule,
Joule's policy, all-GPU and hybrid conversions, and the hindsight-optimal bound.
Days are the energy market's local days. With --out it writes summary.json,
timeseries.csv, power.png, margin.png and index.html.`,
		Example: "  joule backtest --site examples/west-texas.yaml --from 2023-01-01 --to 2023-12-31 --out report/",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			if req.From, err = reports.ParseDay("from", from); err != nil {
				return err
			}
			if req.To, err = reports.ParseDay("to", to); err != nil {
				return err
			}
			site, hist, err := f.prepare(cmd.Context(), g, &req.Hysteresis, &req.GPUPrice, req.Validate)
			if err != nil {
				return err
			}
			progress, done := newProgress(f.noProg, "backtest")
			r, err := reports.Backtest(cmd.Context(), site, req, hist, progress)
			done()
			if err != nil {
				return err
			}
			return writeReport(cmd.OutOrStdout(), f.jsonOut, out, r)
		},
	}
	f.add(cmd, req.Hysteresis, &req.PoolFee, &req.Utilization, &req.GPUUSDPerHour, &req.GPU)
	cmd.Flags().StringVar(&from, "from", "", "first day, YYYY-MM-DD")
	cmd.Flags().StringVar(&to, "to", "", "last day (inclusive), YYYY-MM-DD")
	cmd.Flags().StringVar(&out, "out", "", "directory for the report files (summary.json, timeseries.csv, charts, index.html)")
	cmd.Flags().StringVar(&req.Node, "node", "", "price energy at this wholesale node instead of the site's (ERCOT:LZ_WEST hourly 2019 and 2023, ERCOT:HB_WEST five-minute 2024-01..2025-02); the site's adder is kept")
	cmd.Flags().Float64Var(&req.HybridShare, "hybrid-share", req.HybridShare, "share of every miner fleet the hybrid strategy converts to GPU servers")
	cmd.Flags().Float64Var(&req.GPULifeYears, "gpu-life-years", req.GPULifeYears, "GPU server life, for the conversions' depreciation")
	costFlags(cmd, &req.Costs, "", "")
	gpuPUEFlag(cmd, &req.GPUPUE)
	cmd.Flags().StringVar(&req.GPUPricePath, "gpu-price-path", backtest.PricePathMarket, "published GPU-hour price path the conversions sell at: market (8-GPU servers) or list (1-GPU list prices)")
	cmd.Flags().StringVar(&req.Forecast, "forecast", forecast.Default().Name(), "what plans decide each interval's energy price on: "+forecastHelp())
	_ = cmd.MarkFlagRequired("from")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

// forecastHelp describes each forecaster for a flag's help.
func forecastHelp() string {
	var parts []string
	for _, name := range forecast.Names() {
		f, _ := forecast.ByName(name)
		parts = append(parts, name+" ("+f.Description()+")")
	}
	return strings.Join(parts, "; ")
}

func writeReport(w io.Writer, asJSON bool, out string, r *backtest.Report) error {
	if out != "" {
		files, err := render.WriteBacktest(out, r)
		if err != nil {
			return err
		}
		defer fmt.Fprintf(os.Stderr, "wrote %d files to %s (open %s/index.html)\n", len(files), out, out)
	}
	if asJSON {
		return printJSON(w, r)
	}
	return render.PrintBacktest(w, r)
}
