package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/history"
	jhttp "github.com/joule-site/joule/http"
)

// The market data commands: an operator's own CSVs of BTC price, difficulty, hashrate,
// fees and wholesale energy prices, stored beside the embedded series, which backtests,
// plans and econ then read through (importedHistory, storeHistory).

func newDataCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data",
		Short: "Import, list and delete your own market data (BTC price, difficulty, hashrate, fees, energy prices)",
		Long: `The embedded market series end in 2025 and 2026 and know a few ERCOT nodes. Import your
own, with where they come from, and backtests, plans and econ use them: an imported
daily value takes the place of the embedded one of its day, imported energy prices
make a node known (or replace the embedded ones interval by interval), and every
report notes the days it priced on an import, naming its source.

Daily kinds (btc-price: USD close; difficulty; hashrate: TH/s; fees: BTC paid to
miners that day) take a CSV with the header date,value and one row per UTC day
(YYYY-MM-DD). Energy kinds (energy: a node's real-time prices; energy-day-ahead: its
day-ahead prices; USD/MWh) take time,usd_per_mwh, with RFC 3339 times with an offset,
every 5 min, 15 min or 1 h (gaps allowed). A bad row is refused with its line number,
and nothing of the file is stored. An import replaces the series of its kind and name.`,
	}
	cmd.AddCommand(newDataImportCmd(g), newDataLsCmd(g), newDataRmCmd(g))
	return cmd
}

func newDataImportCmd(g *globals) *cobra.Command {
	var kind, name, source string
	cmd := &cobra.Command{
		Use:   "import --kind KIND [--name NODE] --source TEXT FILE.csv",
		Short: "Import a series from CSV, in place of the one of the same kind and name",
		Example: `  joule data import --kind energy --name ERCOT:HB_NORTH --source "ERCOT RTM SPPs, my export of 2026-03" hb_north.csv
  joule data import --kind btc-price --source "exchange daily closes" btc.csv`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			csv, err := os.ReadFile(args[0])
			if err != nil {
				return joule.Errorf(joule.EINVALID, "%v", err)
			}
			if len(csv) > jhttp.MaxDataImportBytes {
				return joule.Errorf(joule.EINVALID, "%s: %d bytes, at most %d: import it in parts, one per period", args[0], len(csv), jhttp.MaxDataImportBytes)
			}
			return withClient(cmd.Context(), g, func(c *jhttp.Client) error {
				info, err := c.ImportData(cmd.Context(), jhttp.DataImport{Kind: joule.DataKind(kind), Name: name, Source: source, CSV: string(csv)})
				if err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), info)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "imported %s %s: %d points, %s to %s, from %s\n", info.Kind, info.Name, info.Count,
					dataTime(info.Kind, info.First), dataTime(info.Kind, info.Last), info.Source)
				return nil
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&kind, "kind", "", "btc-price, difficulty, hashrate, fees, energy or energy-day-ahead")
	fl.StringVar(&name, "name", "", "the node, for energy kinds (as ERCOT:HB_NORTH)")
	fl.StringVar(&source, "source", "", "where the numbers come from (required): reports that use them name it")
	addJSONFlag(cmd, g)
	return cmd
}

func newDataLsCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List the imported series, with their spans and sources",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withClient(cmd.Context(), g, func(c *jhttp.Client) error {
				list, err := c.DataSeriesList(cmd.Context())
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"series": list})
				}
				if len(list) == 0 {
					fmt.Fprintln(cmd.OutOrStdout(), "no imported series (joule data import adds one)")
					return nil
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "KIND\tNAME\tPOINTS\tFIRST\tLAST\tIMPORTED\tSOURCE")
				for _, s := range list {
					fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", s.Kind, s.Name, s.Count, dataTime(s.Kind, s.First), dataTime(s.Kind, s.Last),
						s.ImportedAt.UTC().Format("2006-01-02 15:04Z"), s.Source)
				}
				return w.Flush()
			})
		},
	}
	addJSONFlag(cmd, g)
	return cmd
}

func newDataRmCmd(g *globals) *cobra.Command {
	var kind, name string
	cmd := &cobra.Command{
		Use:     "rm --kind KIND [--name NODE]",
		Short:   "Delete an imported series; the embedded data is used again where it has any",
		Example: "  joule data rm --kind energy --name ERCOT:HB_NORTH\n  joule data rm --kind btc-price",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k := joule.DataKind(kind)
			if err := joule.CheckDataName(k, name); err != nil {
				return err
			}
			return withClient(cmd.Context(), g, func(c *jhttp.Client) error {
				if err := c.DeleteData(cmd.Context(), k, name); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deleted %s %s\n", k, joule.DataName(k, name))
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&kind, "kind", "", "btc-price, difficulty, hashrate, fees, energy or energy-day-ahead")
	cmd.Flags().StringVar(&name, "name", "", "the node, for energy kinds")
	return cmd
}

// dataTime writes a point's time as its kind counts: a day, or a UTC time.
func dataTime(kind joule.DataKind, t time.Time) string {
	if kind.Daily() {
		return t.UTC().Format(time.DateOnly)
	}
	return t.UTC().Format(time.RFC3339)
}

// importedHistory is the embedded history overlaid with every series imported into
// the store (or the --server's): what a backtest or a plan run by the CLI reads.
func importedHistory(ctx context.Context, g *globals) (*history.History, error) {
	base, err := history.Default()
	if err != nil {
		return nil, err
	}
	var series []*joule.DataSeries
	err = withClient(ctx, g, func(c *jhttp.Client) error {
		list, err := c.DataSeriesList(ctx)
		if err != nil {
			return err
		}
		for _, info := range list {
			s, err := c.DataSeries(ctx, info.Kind, info.Name)
			if err != nil {
				return err
			}
			series = append(series, s)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("imported market data: %w", err)
	}
	if len(series) == 0 {
		return base, nil
	}
	return base.With(series...)
}

// storeHistory is the server's view of history: the embedded one overlaid with the
// store's imports, built again only when they changed (a listing, read on each use,
// says so), so that a report or an econ query after an import sees it.
type storeHistory struct {
	data joule.DataService

	mu   sync.Mutex
	key  string // the imports hist was built on
	hist *history.History
}

// History returns the overlaid history as the store's imports are now.
func (s *storeHistory) History(ctx context.Context) (*history.History, error) {
	base, err := history.Default()
	if err != nil {
		return nil, err
	}
	list, err := s.data.DataSeriesList(ctx)
	if err != nil {
		return nil, err
	}
	var key strings.Builder
	for _, info := range list {
		fmt.Fprintf(&key, "%s %s %s %d %s %s %q\n", info.Kind, info.Name, info.ImportedAt.Format(time.RFC3339Nano), info.Count,
			info.First.Format(time.RFC3339), info.Last.Format(time.RFC3339), info.Source)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hist != nil && s.key == key.String() {
		return s.hist, nil
	}
	if len(list) == 0 {
		s.key, s.hist = "", base
		return base, nil
	}
	series := make([]*joule.DataSeries, 0, len(list))
	for _, info := range list {
		ds, err := s.data.DataSeries(ctx, info.Kind, info.Name)
		if err != nil {
			return nil, err
		}
		series = append(series, ds)
	}
	hist, err := base.With(series...)
	if err != nil {
		return nil, err
	}
	s.key, s.hist = key.String(), hist
	return hist, nil
}
