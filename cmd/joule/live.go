package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/cgminer"
	"github.com/joule-site/joule/gpunode"
	"github.com/joule-site/joule/sim"
)

func newMinerCmd(g *globals) *cobra.Command {
	miner := &cobra.Command{Use: "miner", Short: "Talk to one miner on the cgminer API (TCP 4028)"}
	var timeout time.Duration
	status := &cobra.Command{
		Use:     "status ADDR",
		Short:   "Read a miner's telemetry: firmware, hashrate, power, temperatures, fans, chips, pools, uptime",
		Example: "  joule miner status 10.0.0.17 --json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			t, err := cgminer.Dial(args[0], cgminer.WithTimeout(timeout)).Status(ctx)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), t)
			}
			return writeMinerStatus(cmd.OutOrStdout(), t)
		},
	}
	status.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "how long to wait for the miner")
	addJSONFlag(status, g)
	miner.AddCommand(status)
	return miner
}

// writeMinerStatus prints a miner's reading as a table, one line a field; a field the
// firmware does not report says so rather than showing a zero.
func writeMinerStatus(out io.Writer, t *joule.Telemetry) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fw := t.Firmware
	if fw == "" {
		fw = "not recognised"
	}
	if t.FirmwareVersion != "" {
		fw += " " + t.FirmwareVersion
	}
	model := t.Model
	if model == "" {
		model = "not reported"
	}
	fmt.Fprintf(w, "Address\t%s\nFirmware\t%s\nModel\t%s\nState\t%s\n", t.Address, fw, model, t.State)
	hash := fmt.Sprintf("%.2f TH/s", t.HashrateTHs)
	if t.ExpectedHashrateTHs > 0 {
		hash += fmt.Sprintf(" (expected %.2f, %.0f%%)", t.ExpectedHashrateTHs, 100*t.HashrateTHs/t.ExpectedHashrateTHs)
	}
	fmt.Fprintf(w, "Hashrate\t%s\n", hash)
	switch {
	case t.PowerKnown && t.PowerLimitW > 0:
		fmt.Fprintf(w, "Power\t%s (limit %s)\n", t.PowerW, t.PowerLimitW)
	case t.PowerKnown:
		fmt.Fprintf(w, "Power\t%s\n", t.PowerW)
	default:
		fmt.Fprintf(w, "Power\tnot reported by this firmware\n")
	}
	fmt.Fprintf(w, "Board temperatures\t%s\n", temps(t.TempC, t.BoardTempsC))
	fmt.Fprintf(w, "Chip temperatures\t%s\n", temps(t.ChipTempC, t.ChipTempsC))
	if len(t.FansRPM) > 0 {
		rpm := make([]string, len(t.FansRPM))
		for i, f := range t.FansRPM {
			rpm[i] = strconv.Itoa(f)
		}
		fmt.Fprintf(w, "Fans\t%s RPM\n", strings.Join(rpm, " "))
	} else {
		fmt.Fprintf(w, "Fans\tnot reported\n")
	}
	if t.Chips > 0 {
		fmt.Fprintf(w, "Chips\t%d, %d not answering\n", t.Chips, t.ChipsDown)
	}
	if t.HardwareErrorsKnown {
		fmt.Fprintf(w, "Hardware errors\t%d\n", t.HardwareErrors)
	}
	fmt.Fprintf(w, "Uptime\t%s\n", time.Duration(t.UptimeS)*time.Second)
	for _, p := range t.Pools {
		active := ""
		if p.Active {
			active = " (active)"
		}
		fmt.Fprintf(w, "Pool %d\t%s %s %s%s\n", p.Priority, p.URL, p.User, p.Status, active)
	}
	return w.Flush()
}

// temps writes the hottest of a set of temperatures and each board's, in °C.
func temps(hottest float64, boards []float64) string {
	if hottest == 0 && len(boards) == 0 {
		return "not reported"
	}
	s := fmt.Sprintf("%.1f °C hottest", hottest)
	if len(boards) > 0 {
		per := make([]string, len(boards))
		for i, b := range boards {
			per[i] = strconv.FormatFloat(b, 'f', -1, 64)
		}
		s += "; per board " + strings.Join(per, " ")
	}
	return s
}

func newGPUCmd(g *globals) *cobra.Command {
	gpu := &cobra.Command{Use: "gpu", Short: "Talk to one GPU server on its power API (HTTP, port 8080)"}
	var timeout time.Duration
	status := &cobra.Command{
		Use:     "status ADDR",
		Short:   "Read a GPU server's telemetry: state, power and its limit, utilization, memory, temperature",
		Example: "  joule gpu status 10.0.1.5 --json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			d := gpunode.NewDriver()
			d.Timeout = timeout
			t, err := d.Status(ctx, args[0])
			if err != nil {
				return joule.Errorf(joule.EINVALID, "gpu status %s: %v", args[0], err)
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), t)
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintf(w, "Address\t%s\nState\t%s\nPower\t%s (limit %s)\nUtilization\t%.0f%%\nMemory used\t%.1f GiB per GPU\nTemperature\t%.0f °C\n",
				t.Address, t.State, t.PowerW, t.PowerLimitW, t.GPUUtilization*100, float64(t.GPUMemoryUsedB)/(1<<30), t.TempC)
			return w.Flush()
		},
	}
	status.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "how long to wait for the server")
	addJSONFlag(status, g)
	gpu.AddCommand(status)
	return gpu
}

func newSimCmd() *cobra.Command {
	var cfg sim.FleetConfig
	var listen, meterAddr string
	var control bool
	cmd := &cobra.Command{
		Use:   "sim --miners N --gpu-servers M --listen RANGE",
		Short: "Run simulated miners and GPU servers on loopback addresses until interrupted",
		Long: `sim starts simulated miners (the cgminer API on port 4028, LuxOS-style curtail and
profiles, power that follows state: sleep in about 1 s, wake in 30 s) and GPU servers
(a JSON API on port 8080), one per address of the range, miners first, for tests,
benchmarks and demos. With --one-socket one socket answers for every miner, at a free
port on each miner's address (Linux): a fleet beyond the open-file limit of a socket
per miner. With --meter it also runs a site meter: a Modbus TCP server that reports
the fleet's true power (what the devices draw, whatever they report of themselves),
for 'joule meter status' and the agent.

With --control it is a child of another process (joule bench curtail runs it):
when every device listens it prints one JSON line on standard output, {"ready":true,
"miners":N,"gpu_servers":M,"power_w":W,"addresses":[…],"echo":ADDR} (and "meter":URL
with --meter; echo is a bare request/reply peer on loopback), then answers each line "power" on standard input with {"power_w":W}, the
fleet's true power, and exits when standard input closes.`,
		Example: "  joule sim --miners 2000 --gpu-servers 16 --listen 127.0.0.2-127.0.9.254\n" +
			"  joule sim --miners 100 --meter 127.0.0.1:5020",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			raiseFileLimit()
			cfg.Range, cfg.RandomPorts = listen, cfg.OneSocket
			fleet, err := sim.StartFleet(cfg)
			if err != nil {
				return joule.Errorf(joule.EINVALID, "sim: %v", err)
			}
			defer fleet.Close()
			var meterURL string
			if meterAddr != "" {
				m, err := sim.StartMeter(meterAddr, fleet.PowerW)
				if err != nil {
					return joule.Errorf(joule.EINVALID, "sim --meter: %v", err)
				}
				defer m.Close()
				meterURL = m.URL()
			}
			if control {
				return simControl(cmd.InOrStdin(), cmd.OutOrStdout(), fleet, meterURL)
			}
			metered := ""
			if meterURL != "" {
				metered = ", metered at " + meterURL
			}
			fmt.Fprintf(cmd.OutOrStdout(), "simulating %d miners (%s … %s) and %d GPU servers (%s … %s), drawing %s%s; Ctrl-C stops\n",
				cfg.Miners, first(fleet.MinerAddresses()), last(fleet.MinerAddresses()),
				cfg.GPUServers, first(fleet.GPUAddresses()), last(fleet.GPUAddresses()), fleet.PowerW(), metered)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			<-ctx.Done()
			return nil
		},
	}
	cmd.Flags().IntVar(&cfg.Miners, "miners", 100, "simulated miners")
	cmd.Flags().IntVar(&cfg.GPUServers, "gpu-servers", 0, "simulated 8-GPU servers")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.2-127.0.9.254", "loopback address range, one device per address")
	cmd.Flags().DurationVar(&cfg.Miner.SleepRamp, "sleep-ramp", time.Second, "how long a simulated miner takes to fall asleep")
	cmd.Flags().DurationVar(&cfg.Miner.WakeRamp, "wake-ramp", 30*time.Second, "how long a simulated miner takes to wake")
	cmd.Flags().BoolVar(&cfg.OneSocket, "one-socket", false, "answer for every miner on one socket (a free port on every loopback address, Linux) instead of a socket each")
	cmd.Flags().StringVar(&meterAddr, "meter", "", "also run a site meter (Modbus TCP) on this host:port that reports the fleet's true power; port 0 picks a free one")
	cmd.Flags().BoolVar(&control, "control", false, "run as a child: report readiness and power as JSON lines (see above)")
	cmd.Flags().StringVar(&cfg.GPU.Token, "gpu-token", "", "the GPU servers require this shared token, as joule node does (the agent's --gpu-token)")
	cmd.Flags().StringVar(&cfg.GPU.RedfishUser, "redfish-user", "", "the GPU servers' BMCs also answer Redfish under /redfish/v1 with this HTTP Basic user")
	cmd.Flags().StringVar(&cfg.GPU.RedfishPassword, "redfish-password", "", "the Redfish user's password")
	return cmd
}

// simReady is the line a `joule sim --control` child prints when its devices listen.
type simReady struct {
	Ready      bool        `json:"ready"`
	Miners     int         `json:"miners"`
	GPUServers int         `json:"gpu_servers"`
	PowerW     joule.Watts `json:"power_w"`
	Addresses  []string    `json:"addresses"`       // miners, then GPU servers
	Meter      string      `json:"meter,omitempty"` // the site meter's modbus:// URL, with --meter
	// Echo is a bare loopback request/reply peer the child serves beside its devices
	// (host:port): the floor `joule bench curtail` measures round trips against.
	Echo string `json:"echo,omitempty"`
}

// simControl reports readiness, with the URL of the fleet's meter when it has one, then
// the fleet's true power on each "power" line, until in closes.
func simControl(in io.Reader, out io.Writer, fleet *sim.Fleet, meterURL string) error {
	echo, err := sim.StartEcho("127.0.0.1:0")
	if err != nil {
		return err
	}
	defer echo.Close()
	enc := json.NewEncoder(out)
	if err := enc.Encode(simReady{Ready: true, Miners: len(fleet.Miners()), GPUServers: len(fleet.GPUServers()),
		PowerW: fleet.PowerW(), Addresses: fleet.Addresses(), Meter: meterURL, Echo: echo.Addr()}); err != nil {
		return err
	}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		switch strings.TrimSpace(sc.Text()) {
		case "power":
			if err := enc.Encode(map[string]joule.Watts{"power_w": fleet.PowerW()}); err != nil {
				return err
			}
		case "":
		default:
			if err := enc.Encode(map[string]string{"error": "unknown command " + strconv.Quote(sc.Text())}); err != nil {
				return err
			}
		}
	}
	return sc.Err()
}

func first(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return s[0]
}

func last(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return s[len(s)-1]
}

// raiseFileLimit lifts the open-file limit to its hard maximum: a fleet is a listener
// per device, and commanding it a connection per device in flight.
func raiseFileLimit() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}
