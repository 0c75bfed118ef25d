package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/agent"
	"github.com/joule-site/joule/cgminer"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/sim"
)

func newAgentCmd(g *globals) *cobra.Command {
	var (
		site, scan  string
		poll        time.Duration
		concurrency int
		password    string
	)
	cmd := &cobra.Command{
		Use:   "agent --site NAME --server URL --scan RANGE",
		Short: "Run next to a site's miners: discover them, follow the server's plans, verify by telemetry",
		Long: `agent scans the address range for miners on the cgminer API (port 4028 unless a range
entry gives host:port), assigns those that answer to the site's miner fleets in address
order, and then, every --poll, fetches the site's plan, puts miners to sleep or wakes
them and sets their power, verifies each change by telemetry, and reports every
command, acknowledgement and verification to the server's audit log. If the server
goes away it keeps its last plan, and wakes nothing once that plan has expired.`,
		Example: "  joule agent --site west-texas --server http://127.0.0.1:8080 --scan 127.0.0.2-127.0.9.254",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if g.server == "" {
				return joule.Errorf(joule.EINVALID, "agent: --server is required (the joule serve it follows)")
			}
			raiseFileLimit()
			addrs, err := scanAddresses(scan)
			if err != nil {
				return err
			}
			client := jhttp.NewClient(strings.TrimRight(g.server, "/"))
			detail, err := client.Site(cmd.Context(), site)
			if err != nil {
				return err
			}
			var fleets []joule.FleetTarget
			for _, f := range detail.Fleets {
				if f.Kind == joule.KindASIC {
					fleets = append(fleets, joule.FleetTarget{Fleet: f.Name, Kind: f.Kind, Machines: f.Count})
				}
			}
			opts := []cgminer.Option{cgminer.WithTimeout(3 * time.Second), cgminer.WithKeepSession()}
			if password != "" {
				opts = append(opts, cgminer.WithPassword(password))
			}
			ex := agent.DefaultExecutor(&cgminer.Driver{Options: opts})
			ex.Concurrency = concurrency
			log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
			a := &agent.Agent{Site: site, Server: client, Executor: ex, Log: log, Now: time.Now}
			devs := a.Discover(cmd.Context(), addrs, fleets)
			fmt.Fprintf(cmd.OutOrStdout(), "agent for %s: %d of %d addresses answered; following %s every %s\n", site, len(devs), len(addrs), g.server, poll)
			a.Run(cmd.Context(), poll)
			return nil
		},
	}
	cmd.Flags().StringVar(&site, "site", "", "the site this agent runs")
	cmd.Flags().StringVar(&scan, "scan", "", "address ranges to scan, comma-separated (A-B, A/N, A or host:port)")
	cmd.Flags().DurationVar(&poll, "poll", 5*time.Second, "how often to fetch the plan and bring the miners to it")
	cmd.Flags().IntVar(&concurrency, "concurrency", 256, "commands in flight at once")
	cmd.Flags().StringVar(&password, "miner-password", os.Getenv("JOULE_MINER_PASSWORD"), "admin password for firmware that needs one (Whatsminer; env JOULE_MINER_PASSWORD)")
	_ = cmd.MarkFlagRequired("site")
	_ = cmd.MarkFlagRequired("scan")
	return cmd
}

// scanAddresses expands comma-separated ranges into host:port addresses.
func scanAddresses(spec string) ([]string, error) {
	var out []string
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if host, port, err := net.SplitHostPort(part); err == nil {
			if _, err := strconv.Atoi(port); err != nil {
				return nil, joule.Errorf(joule.EINVALID, "--scan %q: bad port", part)
			}
			out = append(out, net.JoinHostPort(host, port))
			continue
		}
		r, err := sim.ParseRange(part)
		if err != nil {
			return nil, joule.Errorf(joule.EINVALID, "--scan: %v", err)
		}
		for i := range r.Len() {
			out = append(out, net.JoinHostPort(r.At(i).String(), strconv.Itoa(sim.MinerPort)))
		}
	}
	if len(out) == 0 {
		return nil, joule.Errorf(joule.EINVALID, "--scan: no addresses")
	}
	return out, nil
}
