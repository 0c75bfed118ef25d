// Command joule is the control plane of a power-constrained compute site: it prices
// every megawatt, declares sites and fleets, and serves the API.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
)

// Exit codes: 1 for an error in what the user asked (an EINVALID, ENOTFOUND, … error,
// usage mistakes included, see markUsageErrors), 2 for an internal failure.
const (
	exitUserError = 1
	exitInternal  = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "joule:", err)
		if joule.ErrorCode(err) == joule.EINTERNAL {
			os.Exit(exitInternal)
		}
		os.Exit(exitUserError)
	}
}

// globals are the flags every command takes.
type globals struct {
	db     string
	server string
	json   bool
	token  string // API token for the exchange on a server
	ca     string // PEM file of the certificate authority an https:// server's certificate is checked against
	as     string // account the local CLI acts as on the exchange
}

func newRootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "joule",
		Short: "Joule prices, dispatches and leases the power of mining and GPU sites",
		Long: `Joule is the control plane for sites that run Bitcoin miners and lease AI GPUs on
the same grid connection. It prices every megawatt on real market history, declares
sites and fleets, and serves the API.

Commands work on the local store (--db, default ./joule.db) or, with --server,
against a running 'joule serve'.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       buildVersion(debug.ReadBuildInfo()),
	}
	// --version without cobra's -v shorthand, printed as 'joule version' prints it.
	root.Flags().Bool("version", false, "print the version and commit this joule was built from")
	root.SetVersionTemplate("{{.Name}} {{.Version}}\n")
	dflt := os.Getenv("JOULE_DB")
	if dflt == "" {
		dflt = "./joule.db"
	}
	root.PersistentFlags().StringVar(&g.db, "db", dflt, "store: a SQLite file path (env JOULE_DB)")
	g.server = os.Getenv("JOULE_SERVER")
	root.PersistentFlags().Var(&serverFlag{list: &g.server}, "server", "URL of a joule server to talk to instead of the local store; the replicas of one, comma-separated or the flag repeated: requests go to the one that answers (env JOULE_SERVER)")
	root.PersistentFlags().StringVar(&g.token, "token", os.Getenv("JOULE_TOKEN"), "API token for the GPU exchange on a server (env JOULE_TOKEN)")
	root.PersistentFlags().StringVar(&g.ca, "ca", os.Getenv("JOULE_CA"), "PEM file of the certificate authority that signed an https:// --server's certificate (default: the system's; env JOULE_CA)")
	root.PersistentFlags().StringVar(&g.as, "as", "", "on the local store, act on the GPU exchange as this account (default: the operator)")
	root.AddCommand(
		newEconCmd(g),
		newCompareCmd(g),
		newApplyCmd(g),
		newModelsCmd(g),
		newSitesCmd(g),
		newServeCmd(g),
		newBacktestCmd(g),
		newPlanCmd(g),
		newMinerCmd(g),
		newGPUCmd(g),
		newMeterCmd(g),
		newSimCmd(),
		newBenchCmd(g),
		newDRCmd(g),
		newAlertsCmd(g),
		newAgentCmd(g),
		newNodeCmd(),
		newAuditCmd(g),
		newDevicesCmd(g),
		newTenantCmd(g),
		newAccountCmd(g),
		newTokenCmd(g),
		newProductsCmd(g),
		newListingCmd(g),
		newOrderCmd(g),
		newBookCmd(g),
		newLeaseCmd(g),
		newResellCmd(g),
		newInvoiceCmd(g),
		newStatementCmd(g),
		newPayoutCmd(g),
		newOwnerCmd(g),
		newDataCmd(g),
		newVersionCmd(),
	)
	markUsageErrors(root)
	addCompletions(root, g)
	return root
}

// addJSONFlag gives a read command its --json flag.
func addJSONFlag(cmd *cobra.Command, g *globals) {
	cmd.Flags().BoolVar(&g.json, "json", false, "print JSON (stable field names, see the README) instead of a table")
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printJSONLine prints v as JSON on one line: a stream of documents a reader takes
// one line at a time (--follow --json).
func printJSONLine(w io.Writer, v any) error { return json.NewEncoder(w).Encode(v) }

// serverFlag is --server: a URL, or several (comma-separated, or the flag repeated),
// kept as one comma-separated list; the first use replaces JOULE_SERVER's.
type serverFlag struct {
	list *string
	set  bool
}

func (f *serverFlag) String() string { return *f.list }
func (f *serverFlag) Type() string   { return "urls" }

func (f *serverFlag) Set(v string) error {
	if f.set && *f.list != "" {
		v = *f.list + "," + v
	}
	*f.list, f.set = v, true
	return nil
}
