package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/gpuapi"
	"github.com/joule-site/joule/node"
	"github.com/joule-site/joule/nvml"
	"github.com/joule-site/joule/slurm"
)

// minNodeToken is the shortest shared token joule node takes: 16 characters, an
// assumption (about 95 bits from a random base64 string), long enough that it cannot
// be guessed over the network.
const minNodeToken = 16

// nodeOptions are joule node's flags.
type nodeOptions struct {
	listen, token       string
	tlsCert, tlsKey     string
	allowLimit          bool
	slurmConf, slurmBin string
	nodeName            string
	hostW               int64
	library             string
	check, json         bool
}

func newNodeCmd() *cobra.Command {
	var o nodeOptions
	cmd := &cobra.Command{
		Use:   "node --node-token TOKEN [--slurm-conf PATH --node-name NAME] [--allow-power-limit]",
		Short: "Run on a GPU server: serve its GPUs (NVML) and power state (Slurm) on the GPU power API the agent drives",
		Long: `node serves this GPU server on the GPU servers' power API (port 8080), the API the agent
drives and the simulator serves: GET /telemetry reads the GPUs through NVML (power,
power limit, utilization, memory, temperature, energy counter, per GPU and summed);
POST /power moves the server between on, idle and off; POST /power-limit caps its
draw.

The power state is the node's Slurm state with --slurm-conf and --node-name (default:
this host's short name): idle drains the node (no new job starts, running jobs go on),
off powers it down through Slurm's power saving (SuspendProgram), on resumes it. Without
--slurm-conf the daemon keeps the state itself, changes nothing on the machine, and
says so in telemetry (state_source "local").

Power limits are set through NVML only with --allow-power-limit (it needs root, and
changes the GPUs' limits until the driver reloads); without it they are refused. A cap
at the wall is shared equally among the GPUs after --host-w, the host's own draw.

Every request needs the shared token (--node-token, env JOULE_NODE_TOKEN) as
"Authorization: Bearer TOKEN": give the agent the same with --gpu-token. With
--tls-cert and --tls-key the API is served over TLS (the agent's --gpu-ca).

Without NVIDIA's driver it says so at start, in /telemetry (gpu_error, power unknown)
and in --check, which prints what the daemon finds and exits.`,
		Example: "  joule node --check\n  joule node --node-token \"$JOULE_NODE_TOKEN\" --slurm-conf /etc/slurm/slurm.conf --allow-power-limit --host-w 4600",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.check {
				return nodeCheck(cmd.Context(), cmd.OutOrStdout(), o)
			}
			return runNode(cmd.Context(), cmd.OutOrStdout(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", ":"+strconv.Itoa(gpuapi.Port), "address to serve the power API on")
	f.StringVar(&o.token, "node-token", os.Getenv("JOULE_NODE_TOKEN"), "the shared token every request must carry, at least 16 characters (env JOULE_NODE_TOKEN)")
	f.StringVar(&o.tlsCert, "tls-cert", "", "PEM certificate to serve the API over TLS (with --tls-key)")
	f.StringVar(&o.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	f.BoolVar(&o.allowLimit, "allow-power-limit", false, "set GPU power limits through NVML when asked (needs root); refused without it")
	f.StringVar(&o.slurmConf, "slurm-conf", "", "slurm.conf of the cluster this server is a node of: power states follow the node's Slurm state")
	f.StringVar(&o.slurmBin, "slurm-bin", "", "directory of Slurm's clients (default: PATH)")
	f.StringVar(&o.nodeName, "node-name", "", "this server's Slurm node name (default: the host's short name)")
	f.Int64Var(&o.hostW, "host-w", 0, "watts the server draws beyond its GPUs' board power, added to report power at the wall (default 0: board power only)")
	f.StringVar(&o.library, "nvml", nvml.DefaultLibrary, "the NVML library to load")
	f.BoolVar(&o.check, "check", false, "print what the daemon finds (GPUs, power limits, power state, token) and exit")
	f.BoolVar(&o.json, "json", false, "with --check, print JSON")
	return cmd
}

// nodeParts are what the daemon serves from, opened from its flags.
type nodeParts struct {
	cfg    node.Config
	reader *nvml.Reader // nil without NVML
	gpus   []nvml.GPU   // the first reading
	noGPU  error        // why there is no reading
	slurm  string       // Slurm's word for the node's state, with Slurm
	close  func()
}

// nvmlGPUs reads NVML as the power API reports GPUs.
type nvmlGPUs struct{ r *nvml.Reader }

func (g nvmlGPUs) Read() ([]gpuapi.GPU, error) {
	gpus, err := g.r.Read()
	return nvml.APIGPUs(gpus), err
}

func openNode(ctx context.Context, o nodeOptions) (*nodeParts, error) {
	if o.hostW < 0 {
		return nil, joule.Errorf(joule.EINVALID, "node: --host-w %d is negative", o.hostW)
	}
	p := &nodeParts{close: func() {}}
	p.cfg = node.Config{Token: o.token, HostW: joule.Watts(o.hostW), States: &node.LocalStates{}, StateSource: "local",
		Log: slog.New(slog.NewJSONHandler(os.Stderr, nil))}
	r, err := nvml.OpenLibrary(o.library)
	if err != nil {
		p.noGPU = err
		p.cfg.NoGPU = err.Error()
		if !errors.Is(err, nvml.ErrNoDriver) {
			p.cfg.NoGPU = "NVML: " + err.Error()
		}
	} else {
		p.reader, p.close = r, func() { r.Close() }
		p.cfg.GPUs = nvmlGPUs{r}
		if p.gpus, err = r.Read(); err != nil {
			p.noGPU = err
		} else if len(p.gpus) == 0 {
			p.noGPU = errors.New("NVML found no GPU")
		}
		if o.allowLimit {
			p.cfg.Limiter = nvml.NewLimiter(r) // the one place a real GPU's limit may be set
		}
	}
	if o.slurmConf != "" {
		name := o.nodeName
		if name == "" {
			h, err := os.Hostname()
			if err != nil {
				p.close()
				return nil, joule.Errorf(joule.EINVALID, "node: no --node-name and no host name: %v", err)
			}
			name, _, _ = strings.Cut(h, ".")
		}
		e, err := slurm.New(slurm.Config{Conf: o.slurmConf, BinDir: o.slurmBin})
		if err != nil {
			p.close()
			return nil, err
		}
		power, err := e.NodePower(name)
		if err != nil {
			p.close()
			return nil, err
		}
		n, err := e.Node(ctx, name)
		if err != nil {
			p.close()
			return nil, fmt.Errorf("node: Slurm node %s: %w", name, err)
		}
		p.slurm = name + " is " + n.Raw
		p.cfg.States, p.cfg.StateSource = power, "slurm"
	}
	return p, nil
}

// nodeCheckReport is --check --json's output.
type nodeCheckReport struct {
	NVMLLibrary   string       `json:"nvml_library"`
	DriverVersion string       `json:"driver_version,omitempty"`
	GPUError      string       `json:"gpu_error,omitempty"` // why there are no GPU readings
	GPUs          []gpuapi.GPU `json:"gpus"`
	PowerLimits   string       `json:"power_limits"` // "allowed" or "refused"
	StateSource   string       `json:"state_source"` // "slurm" or "local"
	SlurmNode     string       `json:"slurm_node,omitempty"`
	Token         string       `json:"token"` // "set", "short" or "missing"
}

// nodeCheck prints what the daemon would serve from.
func nodeCheck(ctx context.Context, w io.Writer, o nodeOptions) error {
	p, err := openNode(ctx, o)
	if err != nil {
		return err
	}
	defer p.close()
	if o.json {
		r := nodeCheckReport{NVMLLibrary: o.library, GPUs: nvml.APIGPUs(p.gpus), PowerLimits: "refused",
			StateSource: p.cfg.StateSource, SlurmNode: p.slurm, Token: "set"}
		if p.reader != nil {
			r.DriverVersion = p.reader.DriverVersion()
		}
		if p.noGPU != nil {
			r.GPUError = p.noGPU.Error()
		}
		if p.cfg.Limiter != nil {
			r.PowerLimits = "allowed"
		}
		switch {
		case o.token == "":
			r.Token = "missing"
		case len(o.token) < minNodeToken:
			r.Token = "short"
		}
		return printJSON(w, r)
	}
	fmt.Fprintf(w, "NVML:         ")
	if p.reader == nil {
		fmt.Fprintf(w, "%v\n", p.noGPU)
		fmt.Fprintf(w, "GPUs:         none: /telemetry reports gpu_error and power unknown, never zeros as readings\n")
	} else {
		fmt.Fprintf(w, "driver %s (%s)\n", p.reader.DriverVersion(), o.library)
		if p.noGPU != nil {
			fmt.Fprintf(w, "GPUs:         %v: /telemetry reports gpu_error and power unknown\n", p.noGPU)
		} else {
			fmt.Fprintf(w, "GPUs:         %d\n", len(p.gpus))
		}
		for _, g := range p.gpus {
			power := "power unknown"
			if g.PowerKnown {
				power = fmt.Sprintf("%d W", g.PowerW)
			}
			energy := "no energy counter"
			if g.EnergyKnown {
				energy = fmt.Sprintf("%d J since the driver loaded", g.EnergyJ)
			}
			fmt.Fprintf(w, "  GPU %d %s %s: %s of %d W limit, %d%% busy, %d of %d MiB, %.0f °C, %s\n",
				g.Index, g.UUID, g.Name, power, g.PowerLimitW, g.UtilizationPct, g.MemoryUsedB>>20, g.MemoryTotalB>>20, g.TempC, energy)
		}
	}
	switch {
	case p.cfg.Limiter == nil && o.allowLimit:
		fmt.Fprintf(w, "power limits: refused: no NVML to set them through\n")
	case p.cfg.Limiter == nil:
		fmt.Fprintf(w, "power limits: refused (start with --allow-power-limit to set them through NVML)\n")
	default:
		fmt.Fprintf(w, "power limits: set through NVML when asked (--allow-power-limit)\n")
		for _, g := range p.gpus {
			lo, hi, def, err := p.cfg.Limiter.Constraints(g.Index)
			if err != nil {
				fmt.Fprintf(w, "  GPU %d: %v\n", g.Index, err)
				continue
			}
			fmt.Fprintf(w, "  GPU %d: %d to %d W, default %d W\n", g.Index, lo, hi, def)
		}
	}
	if p.cfg.StateSource == "slurm" {
		fmt.Fprintf(w, "power state:  Slurm (node %s)\n", p.slurm)
	} else {
		fmt.Fprintf(w, "power state:  local (no --slurm-conf): on, idle and off are recorded and change nothing on this machine\n")
	}
	switch {
	case o.token == "":
		fmt.Fprintf(w, "token:        missing: serving needs --node-token or JOULE_NODE_TOKEN\n")
	case len(o.token) < minNodeToken:
		fmt.Fprintf(w, "token:        too short (%d characters; at least %d)\n", len(o.token), minNodeToken)
	default:
		fmt.Fprintf(w, "token:        set (%d characters)\n", len(o.token))
	}
	return nil
}

// runNode serves the power API until ctx ends.
func runNode(ctx context.Context, w io.Writer, o nodeOptions) error {
	switch {
	case o.token == "":
		return joule.Errorf(joule.EINVALID, "node: --node-token (or JOULE_NODE_TOKEN) is required: the power API must not be open to anyone")
	case len(o.token) < minNodeToken:
		return joule.Errorf(joule.EINVALID, "node: --node-token is %d characters; use at least %d", len(o.token), minNodeToken)
	case (o.tlsCert == "") != (o.tlsKey == ""):
		return joule.Errorf(joule.EINVALID, "node: --tls-cert and --tls-key go together")
	}
	p, err := openNode(ctx, o)
	if err != nil {
		return err
	}
	defer p.close()
	srv, err := node.New(p.cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return joule.Errorf(joule.EINVALID, "node: --listen %s: %v", o.listen, err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	scheme := "http"
	if o.tlsCert != "" {
		scheme = "https"
	}
	gpus := fmt.Sprintf("%d GPUs", len(p.gpus))
	if p.noGPU != nil {
		gpus = "no GPU readings (" + p.noGPU.Error() + ")"
	}
	limits := "power limits refused (no --allow-power-limit)"
	if p.cfg.Limiter != nil {
		limits = "power limits set through NVML"
	}
	states := "power state kept locally (no --slurm-conf)"
	if p.cfg.StateSource == "slurm" {
		states = "power state from Slurm node " + p.slurm
	}
	fmt.Fprintf(w, "joule node on %s://%s: %s; %s; %s\n", scheme, ln.Addr(), gpus, limits, states)
	done := make(chan error, 1)
	go func() {
		if o.tlsCert != "" {
			done <- hs.ServeTLS(ln, o.tlsCert, o.tlsKey)
		} else {
			done <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return err
	}
	return nil
}
