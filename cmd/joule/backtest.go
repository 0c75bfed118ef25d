package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/backtest"
	"github.com/joule-site/joule/dispatch"
	"github.com/joule-site/joule/history"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/manifest"
	"github.com/joule-site/joule/render"
)

// dispatchFlags are the policy settings backtests and plans share.
type dispatchFlags struct {
	band            float64
	minOn, minOff   time.Duration
	warmup          time.Duration
	poolFee         float64
	utilization     float64
	gpuUSDPerHour   float64
	gpuPriceCSV     string
	gpuModel        string
	site            string
	jsonOut, noProg bool
}

func (f *dispatchFlags) add(cmd *cobra.Command) {
	d := dispatch.DefaultHysteresis
	fl := cmd.Flags()
	fl.StringVar(&f.site, "site", "", "the site: a manifest file (examples/west-texas.yaml) or the name of a site in the store")
	fl.Float64Var(&f.band, "band-usd-mwh", d.BandUSDPerMWh, "strike band around each fleet's value, USD per MWh")
	fl.DurationVar(&f.minOn, "min-on", time.Duration(d.MinOnSec)*time.Second, "shortest time a fleet stays running")
	fl.DurationVar(&f.minOff, "min-off", time.Duration(d.MinOffSec)*time.Second, "shortest time a fleet stays stopped")
	fl.DurationVar(&f.warmup, "warmup", time.Duration(d.WarmupSec)*time.Second, "hashing lost each time miners start (the switching cost)")
	fl.Float64Var(&f.poolFee, "pool-fee", 0, "pool fee as a fraction of mining revenue")
	fl.Float64Var(&f.utilization, "utilization", 0.85, "fraction of GPU capacity that sells")
	fl.Float64Var(&f.gpuUSDPerHour, "gpu-usd-hour", 0, "a constant GPU-hour price instead of the default published-price path")
	fl.StringVar(&f.gpuPriceCSV, "gpu-price-csv", "", "a GPU-hour price path: CSV with date,usd_per_gpu_hour")
	fl.StringVar(&f.gpuModel, "gpu", "", "GPU server model for conversions (default: the site's own)")
	fl.BoolVar(&f.jsonOut, "json", false, "print the report as JSON")
	fl.BoolVar(&f.noProg, "no-progress", false, "hide the progress bar")
	_ = cmd.MarkFlagRequired("site")
}

// setup reads the policy settings and the site that every modelling command needs.
func (f *dispatchFlags) setup(ctx context.Context, g *globals) (dispatch.Hysteresis, *backtest.SiteSpec, func(string) (*joule.HardwareModel, bool), error) {
	h, err := f.hysteresis()
	if err != nil {
		return h, nil, nil, err
	}
	spec, lookup, err := f.loadSite(ctx, g)
	return h, spec, lookup, err
}

func (f *dispatchFlags) hysteresis() (dispatch.Hysteresis, error) {
	if f.minOn < 0 || f.minOff < 0 || f.warmup < 0 || f.band < 0 {
		return dispatch.Hysteresis{}, joule.Errorf(joule.EINVALID, "band, minimum times and warm-up must not be negative")
	}
	return dispatch.Hysteresis{BandUSDPerMWh: f.band, MinOnSec: int64(f.minOn / time.Second), MinOffSec: int64(f.minOff / time.Second), WarmupSec: int64(f.warmup / time.Second)}, nil
}

// loadSite reads --site: a manifest file with one site, or a site in the store.
func (f *dispatchFlags) loadSite(ctx context.Context, g *globals) (*backtest.SiteSpec, func(string) (*joule.HardwareModel, bool), error) {
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
		return nil, nil, err
	}
	byID := joule.ModelsByID(models)
	lookup := func(id string) (*joule.HardwareModel, bool) { m, ok := byID[id]; return m, ok }
	if site != nil {
		spec, err := backtest.NewSiteSpec(site.Site, site.Fleets, lookup)
		return spec, lookup, err
	}
	data, err := os.ReadFile(f.site)
	if err != nil {
		return nil, nil, joule.Errorf(joule.EINVALID, "--site: %v", err)
	}
	m, err := manifest.Parse(f.site, data, lookup)
	if err != nil {
		return nil, nil, err
	}
	if len(m.Sites) != 1 {
		return nil, nil, joule.Errorf(joule.EINVALID, "--site %s: the manifest declares %d sites; give a file with one", f.site, len(m.Sites))
	}
	for _, model := range m.Models {
		byID[model.ID] = model
	}
	var fleets []*joule.Fleet
	for _, fl := range m.Fleets {
		if fl.Site == m.Sites[0].Name {
			fleets = append(fleets, fl)
		}
	}
	spec, err := backtest.NewSiteSpec(m.Sites[0], fleets, lookup)
	return spec, lookup, err
}

// gpuPath is the GPU-hour price path the flags ask for.
func (f *dispatchFlags) gpuPath(model string) (*backtest.PricePath, error) {
	switch {
	case f.gpuPriceCSV != "" && f.gpuUSDPerHour != 0:
		return nil, joule.Errorf(joule.EINVALID, "give --gpu-usd-hour or --gpu-price-csv, not both")
	case f.gpuPriceCSV != "":
		file, err := os.Open(f.gpuPriceCSV)
		if err != nil {
			return nil, joule.Errorf(joule.EINVALID, "--gpu-price-csv: %v", err)
		}
		defer file.Close()
		return backtest.ReadPricePath(f.gpuPriceCSV, file)
	case f.gpuUSDPerHour < 0:
		return nil, joule.Errorf(joule.EINVALID, "--gpu-usd-hour must not be negative")
	case f.gpuUSDPerHour > 0:
		return backtest.ConstantPrice(f.gpuUSDPerHour), nil
	case model == "":
		return backtest.ConstantPrice(0), nil
	}
	return backtest.DefaultPricePath(model)
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
		f           dispatchFlags
		from, to    string
		out         string
		hybridShare float64
		node        string
		gpuLife     float64
	)
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
		RunE: func(cmd *cobra.Command, _ []string) error {
			start, err := time.Parse(time.DateOnly, from)
			if err != nil {
				return joule.Errorf(joule.EINVALID, "--from: want YYYY-MM-DD, got %q", from)
			}
			end, err := time.Parse(time.DateOnly, to)
			if err != nil {
				return joule.Errorf(joule.EINVALID, "--to: want YYYY-MM-DD, got %q", to)
			}
			h, spec, lookup, err := f.setup(cmd.Context(), g)
			if err != nil {
				return err
			}
			if node != "" {
				site := *spec.Site
				site.Energy = joule.EnergyPriceModel{Kind: joule.EnergyWholesale, Node: node, AdderUSDPerMWh: site.Energy.AdderUSDPerMWh}
				spec.Site = &site
			}
			gpu, _ := spec.GPUModel()
			if f.gpuModel != "" {
				m, ok := lookup(f.gpuModel)
				if !ok || m.Kind != joule.KindGPUServer {
					return joule.Errorf(joule.EINVALID, "--gpu: unknown GPU server model %q", f.gpuModel)
				}
				gpu = m
			}
			modelID := ""
			if gpu != nil {
				modelID = gpu.ID
			}
			path, err := f.gpuPath(modelID)
			if err != nil {
				return err
			}
			hist, err := history.Default()
			if err != nil {
				return err
			}
			progress, done := newProgress(f.noProg, "backtest")
			r, err := backtest.Run(backtest.Config{
				Site: spec, From: start, To: end, History: hist, PoolFee: f.poolFee, GPUPrice: path,
				Utilization: f.utilization, Hysteresis: h, GPU: gpu, HybridShare: hybridShare, GPULifeYears: gpuLife,
				Progress: progress,
			})
			done()
			if err != nil {
				return err
			}
			return writeReport(cmd.OutOrStdout(), f.jsonOut, out, r)
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&from, "from", "", "first day, YYYY-MM-DD")
	cmd.Flags().StringVar(&to, "to", "", "last day (inclusive), YYYY-MM-DD")
	cmd.Flags().StringVar(&out, "out", "", "directory for the report files (summary.json, timeseries.csv, charts, index.html)")
	cmd.Flags().StringVar(&node, "node", "", "price energy at this wholesale node instead of the site's (ERCOT:LZ_WEST hourly 2019 and 2023, ERCOT:HB_WEST five-minute 2024-01..2025-02); the site's adder is kept")
	cmd.Flags().Float64Var(&hybridShare, "hybrid-share", 0.5, "share of every miner fleet the hybrid strategy converts to GPU servers")
	cmd.Flags().Float64Var(&gpuLife, "gpu-life-years", 5, "GPU server life, for the conversions' depreciation")
	_ = cmd.MarkFlagRequired("from")
	_ = cmd.MarkFlagRequired("to")
	return cmd
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
