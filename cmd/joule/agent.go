package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/addrrange"
	"github.com/joule-site/joule/agent"
	"github.com/joule-site/joule/cgminer"
	"github.com/joule-site/joule/gpuapi"
	"github.com/joule-site/joule/gpunode"
	"github.com/joule-site/joule/meter"
	"github.com/joule-site/joule/redfish"
	"github.com/joule-site/joule/spool"
)

func newAgentCmd(g *globals) *cobra.Command {
	var (
		site, scan  string
		scanGPU     string
		poll        time.Duration
		concurrency int
		password    string
		meterURL    string
		spoolPath   string
		gpuToken    string
		gpuCA       string
		rfUser      string
		rfPassword  string
		rfHTTP      bool
	)
	cmd := &cobra.Command{
		Use:   "agent --site NAME --server URL --token TOKEN --scan RANGE [--scan-gpu RANGE]",
		Short: "Run next to a site's miners and GPU servers: discover them, follow the server's plans, verify by telemetry",
		Long: `agent scans the address range for miners on the cgminer API (port 4028 unless a range
entry gives host:port) and --scan-gpu for GPU servers on their control API (port 8080),
assigns those that answer to the site's miner and GPU server fleets in address order,
and then, every --poll, fetches the site's plan, puts miners to sleep or wakes them and
sets their power, switches GPU servers between serving, idle and off, verifies each
change by telemetry, and reports every command, acknowledgement and verification to the
server's audit log, and a census of the devices by fleet and state. If the server goes
away it keeps its last plan, and wakes nothing once that plan has expired.

GPU servers that run 'joule node' need its shared token: --gpu-token (env
JOULE_NODE_TOKEN), and --gpu-ca when the nodes serve TLS. With --redfish-user the
--scan-gpu addresses are the servers' BMCs instead, spoken to over Redfish: the agent
powers them on and off and caps their power there; Redfish has no idle state, so a plan
that idles such a server fails that command and powers nothing off in its place.

It authenticates with --token (env JOULE_TOKEN), the token of the site's agent account,
which an operator creates with 'joule account create NAME --role agent --site SITE':
that token reads the site's plan and reports its census and audit, and nothing else.

With --meter it reads the site's power meter over Modbus TCP (see 'joule meter status')
around every step with commands and checks that power moved as much as the devices
report: a miner that says it sleeps but still draws shows as a mismatch in the audit
log and the census.

Every command is audited before it is sent: the step's command rows are posted to the
server or, when it cannot take them, appended to the --spool file and flushed to disk;
when neither works the step sends no command and the log says why. What the step saw
after (acknowledgements, verifications, the census line) follows the same way, and each
step first sends what the spool holds, then empties it. Rows carry keys, so a row sent
twice (the agent killed between sending the spool and emptying it) is stored once. The
spool defaults to $XDG_STATE_HOME/joule/agent-SITE.spool (~/.local/state/joule/... when
XDG_STATE_HOME is unset; ./joule-agent-SITE.spool without a home directory); one agent
uses a spool at a time.`,
		Example: "  joule agent --site west-texas --server http://127.0.0.1:8080 --scan 127.0.0.2-127.0.9.254 --scan-gpu 127.0.7.210-127.0.7.225",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if g.server == "" {
				return joule.Errorf(joule.EINVALID, "agent: --server is required (the joule serve it follows)")
			}
			raiseFileLimit()
			addrs, err := scanAddresses("--scan", scan, joule.MinerAPIPort)
			if err != nil {
				return err
			}
			var gpuAddrs []string
			if scanGPU != "" {
				port := gpuapi.Port
				if rfUser != "" {
					port = 443 // Redfish services listen on https's port (DSP0266)
					if rfHTTP {
						port = 80
					}
				}
				if gpuAddrs, err = scanAddresses("--scan-gpu", scanGPU, port); err != nil {
					return err
				}
			}
			if spoolPath == "" {
				spoolPath = defaultSpool(site)
			}
			sp, err := spool.Open(spoolPath)
			if err != nil {
				return joule.Errorf(joule.EINVALID, "agent: --spool %s: %v", spoolPath, err)
			}
			defer sp.Close()
			client, err := g.remoteClient() // an agent's token: 'joule account create NAME --role agent --site SITE'
			if err != nil {
				return err
			}
			detail, err := client.Site(cmd.Context(), site)
			if err != nil {
				return err
			}
			var fleets []joule.FleetTarget
			pools := map[string][]string{}
			for _, f := range detail.Fleets {
				fleets = append(fleets, joule.FleetTarget{Fleet: f.Name, Kind: f.Kind, Machines: f.Count})
				if len(f.Pools) > 0 {
					pools[f.Name] = f.Pools
				}
			}
			opts := []cgminer.Option{cgminer.WithTimeout(3 * time.Second), cgminer.WithKeepSession()}
			if password != "" {
				opts = append(opts, cgminer.WithPassword(password))
			}
			var mt *meter.Meter
			if meterURL != "" {
				cfg, err := meter.ParseURL(meterURL)
				if err != nil {
					return joule.Errorf(joule.EINVALID, "agent: --meter: %v", err)
				}
				if mt, err = meter.Open(cfg); err != nil {
					return joule.Errorf(joule.EINVALID, "agent: --meter: %v", err)
				}
				defer mt.Close()
			}
			ex := agent.DefaultExecutor(&cgminer.Driver{Options: opts})
			ex.Concurrency = concurrency
			log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
			gd, err := gpuDriver(gpuToken, gpuCA, rfUser, rfPassword, rfHTTP)
			if err != nil {
				return err
			}
			a := &agent.Agent{Site: site, Server: client, Executor: ex, Log: log, Now: time.Now,
				GPU: agent.DefaultGPUExecutor(gd), Spool: sp, Pools: pools}
			if mt != nil {
				a.Meter = mt
			}
			devs := a.Discover(cmd.Context(), addrs, fleets)
			gpus := a.DiscoverGPU(cmd.Context(), gpuAddrs, fleets)
			fmt.Fprintf(cmd.OutOrStdout(), "agent for %s: %d miners of %d addresses and %d GPU servers of %d answered; following %s every %s\n",
				site, len(devs), len(addrs), len(gpus), len(gpuAddrs), g.server, poll)
			a.Run(cmd.Context(), poll)
			return nil
		},
	}
	cmd.Flags().StringVar(&site, "site", "", "the site this agent runs")
	cmd.Flags().StringVar(&scan, "scan", "", "address ranges to scan for miners, comma-separated (A-B, A/N, A or host:port; port 4028)")
	cmd.Flags().StringVar(&scanGPU, "scan-gpu", "", "address ranges to scan for GPU servers, comma-separated (as --scan; port 8080)")
	cmd.Flags().DurationVar(&poll, "poll", 5*time.Second, "how often to fetch the plan and bring the miners to it")
	cmd.Flags().IntVar(&concurrency, "concurrency", 256, "commands in flight at once")
	cmd.Flags().StringVar(&password, "miner-password", os.Getenv("JOULE_MINER_PASSWORD"), "admin password for firmware that needs one (Whatsminer; env JOULE_MINER_PASSWORD)")
	cmd.Flags().StringVar(&meterURL, "meter", "", "the site's power meter, modbus://HOST[:PORT]?register=N&type=float32&scale=1 (see joule meter status)")
	cmd.Flags().StringVar(&spoolPath, "spool", "", "file that keeps audit rows the server cannot take, flushed to disk before commands go out (default $XDG_STATE_HOME/joule/agent-SITE.spool)")
	cmd.Flags().StringVar(&gpuToken, "gpu-token", os.Getenv("JOULE_NODE_TOKEN"), "the GPU servers' shared token, as each joule node's --node-token (env JOULE_NODE_TOKEN)")
	cmd.Flags().StringVar(&gpuCA, "gpu-ca", "", "PEM file of the CA that signed the joule nodes' --tls-cert (or the BMCs' certificates with --redfish-user): speak https to the GPU servers")
	cmd.Flags().StringVar(&rfUser, "redfish-user", os.Getenv("JOULE_REDFISH_USER"), "the --scan-gpu addresses are BMCs speaking Redfish (port 443): power servers on and off and cap them with this user (env JOULE_REDFISH_USER)")
	cmd.Flags().StringVar(&rfPassword, "redfish-password", os.Getenv("JOULE_REDFISH_PASSWORD"), "the Redfish user's password (env JOULE_REDFISH_PASSWORD)")
	cmd.Flags().BoolVar(&rfHTTP, "redfish-http", false, "speak plain http to the BMCs (port 80), on a management network that has no TLS")
	_ = cmd.MarkFlagRequired("site")
	_ = cmd.MarkFlagRequired("scan")
	return cmd
}

// gpuDriver is the GPU servers' client: the power API with their token, or Redfish
// with rfUser's credentials; over TLS checked with caFile when given.
func gpuDriver(token, caFile, rfUser, rfPassword string, rfHTTP bool) (agent.Driver, error) {
	var cfg *tls.Config
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, joule.Errorf(joule.EINVALID, "agent: --gpu-ca: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, joule.Errorf(joule.EINVALID, "agent: --gpu-ca %s holds no PEM certificate", caFile)
		}
		cfg = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	if rfUser != "" {
		d := redfish.NewDriver(rfUser, rfPassword)
		switch {
		case rfHTTP && cfg != nil:
			return nil, joule.Errorf(joule.EINVALID, "agent: --redfish-http and --gpu-ca do not go together")
		case rfHTTP:
			d.UsePlainHTTP()
		case cfg != nil:
			d.UseTLS(cfg)
		}
		return d, nil
	}
	d := gpunode.NewDriver()
	d.Token = token
	if cfg != nil {
		d.UseTLS(cfg)
	}
	return d, nil
}

// defaultSpool is where the agent of site keeps its spool without --spool: in the
// user's state directory ($XDG_STATE_HOME, else ~/.local/state), under joule/; in the
// working directory when there is no home. The file is named for the site, so agents of
// two sites on one machine keep two.
func defaultSpool(site string) string {
	name := "agent-" + strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' {
			return '_'
		}
		return r
	}, site) + ".spool"
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		if home, err := os.UserHomeDir(); err == nil {
			dir = filepath.Join(home, ".local", "state")
		}
	}
	if dir == "" {
		return "joule-" + name
	}
	return filepath.Join(dir, "joule", name)
}

// scanAddresses expands comma-separated ranges into host:port addresses, port being
// the port of entries that name none; flag names the flag in errors.
func scanAddresses(flag, spec string, port int) ([]string, error) {
	var out []string
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if host, port, err := net.SplitHostPort(part); err == nil {
			if _, err := strconv.Atoi(port); err != nil {
				return nil, joule.Errorf(joule.EINVALID, "%s %q: bad port", flag, part)
			}
			out = append(out, net.JoinHostPort(host, port))
			continue
		}
		r, err := addrrange.Parse(part)
		if err != nil {
			return nil, joule.Errorf(joule.EINVALID, "%s: %v", flag, err)
		}
		for i := range r.Len() {
			out = append(out, net.JoinHostPort(r.At(i).String(), strconv.Itoa(port)))
		}
	}
	if len(out) == 0 {
		return nil, joule.Errorf(joule.EINVALID, "%s: no addresses", flag)
	}
	return out, nil
}
