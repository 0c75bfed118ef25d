package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/agent"
	"github.com/joule-site/joule/cgminer"
	"github.com/joule-site/joule/sim"
)

func newMinerCmd(g *globals) *cobra.Command {
	miner := &cobra.Command{Use: "miner", Short: "Talk to one miner on the cgminer API (TCP 4028)"}
	var timeout time.Duration
	status := &cobra.Command{
		Use:     "status ADDR",
		Short:   "Read a miner's telemetry: firmware, hashrate, power when reported, pools, uptime",
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
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintf(w, "Address\t%s\nFirmware\t%s\nModel\t%s\nState\t%s\nHashrate\t%.2f TH/s\n", t.Address, t.Firmware, t.Model, t.State, t.HashrateTHs)
			if t.PowerKnown {
				fmt.Fprintf(w, "Power\t%s\n", t.PowerW)
			} else {
				fmt.Fprintf(w, "Power\tnot reported by this firmware\n")
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
		},
	}
	status.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "how long to wait for the miner")
	addJSONFlag(status, g)
	miner.AddCommand(status)
	return miner
}

func newSimCmd() *cobra.Command {
	var cfg sim.FleetConfig
	var listen string
	cmd := &cobra.Command{
		Use:   "sim --miners N --gpu-servers M --listen RANGE",
		Short: "Run simulated miners and GPU servers on loopback addresses until interrupted",
		Long: `sim starts simulated miners (the cgminer API on port 4028, LuxOS-style curtail and
profiles, power that follows state: sleep in about 1 s, wake in 30 s) and GPU servers
(a JSON API on port 8080), one per address of the range, for tests, benchmarks and demos.`,
		Example: "  joule sim --miners 2000 --gpu-servers 16 --listen 127.0.0.2-127.0.9.254",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			raiseFileLimit()
			cfg.Range = listen
			fleet, err := sim.StartFleet(cfg)
			if err != nil {
				return joule.Errorf(joule.EINVALID, "sim: %v", err)
			}
			defer fleet.Close()
			addrs := fleet.Addresses()
			fmt.Fprintf(cmd.OutOrStdout(), "simulating %d miners and %d GPU servers (%s … %s), drawing %s; Ctrl-C stops\n",
				cfg.Miners, cfg.GPUServers, first(addrs), last(addrs), fleet.PowerW())
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			<-ctx.Done()
			return nil
		},
	}
	cmd.Flags().IntVar(&cfg.Miners, "miners", 100, "simulated miners")
	cmd.Flags().IntVar(&cfg.GPUServers, "gpu-servers", 0, "simulated 8-GPU servers")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.2-127.0.9.254", "loopback address range, one device per address")
	return cmd
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

// curtailBench is what `joule bench curtail` reports.
type curtailBench struct {
	Devices      int     `json:"devices"`
	Acked        int     `json:"acked"`
	Verified     int     `json:"verified"`
	Failed       int     `json:"failed"`
	Seconds      float64 `json:"seconds"`        // from the first command until the last verification
	DevicesPerS  float64 `json:"devices_per_s"`  // verified devices per second
	P50AckMS     float64 `json:"p50_ack_ms"`     // command sent → acknowledged
	P99AckMS     float64 `json:"p99_ack_ms"`     //
	P99VerifyMS  float64 `json:"p99_verify_ms"`  // command sent → telemetry shows it asleep
	PowerBeforeW int64   `json:"power_before_w"` // the simulated fleet's true power
	PowerAfterW  int64   `json:"power_after_w"`
	Concurrency  int     `json:"concurrency"`
	SleepRampMS  int64   `json:"sleep_ramp_ms"` // how long a simulated miner takes to fall asleep
}

func newBenchCmd(g *globals) *cobra.Command {
	bench := &cobra.Command{Use: "bench", Short: "Measure how fast this machine does a job"}
	var (
		devices, concurrency int
		listen               string
		ramp                 time.Duration
	)
	curtail := &cobra.Command{
		Use:   "curtail --devices N",
		Short: "Shed a simulated fleet: sleep every miner and verify it by telemetry",
		Long: `curtail starts N simulated miners on loopback, reads each once (as an agent does when
it discovers them; not timed), then sends each a sleep command through the agent's
executor (LuxOS logon and curtail over the cgminer API) and polls telemetry until every
miner shows itself asleep; it reports devices per second and latencies of that part.`,
		Example: "  joule bench curtail --devices 10000 --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			raiseFileLimit()
			fleet, err := sim.StartFleet(sim.FleetConfig{Miners: devices, Range: listen, Miner: sim.MinerConfig{SleepRamp: ramp}})
			if err != nil {
				return joule.Errorf(joule.EINVALID, "bench: start %d simulated miners: %v", devices, err)
			}
			defer fleet.Close()
			before := fleet.PowerW()
			ex := agent.DefaultExecutor(&cgminer.Driver{Options: []cgminer.Option{cgminer.WithTimeout(5 * time.Second), cgminer.WithKeepSession()}})
			ex.Concurrency, ex.PollInterval, ex.VerifyTimeout = concurrency, 100*time.Millisecond, 60*time.Second
			// As a running agent would have, read every miner once first (untimed): that is
			// when the driver learns each one's firmware.
			ag := &agent.Agent{Executor: ex, Now: time.Now}
			found := ag.Discover(cmd.Context(), fleet.Addresses(), []joule.FleetTarget{{Fleet: "bench", Kind: joule.KindASIC, Machines: devices}})
			cmds := make([]agent.Command, 0, devices)
			for _, d := range found {
				cmds = append(cmds, agent.Command{Address: d.Address, Action: agent.ActionSleep})
			}
			start := time.Now()
			results := ex.Run(cmd.Context(), cmds, nil)
			elapsed := time.Since(start)
			b := curtailBench{Devices: devices, Seconds: elapsed.Seconds(), PowerBeforeW: int64(before), PowerAfterW: int64(fleet.PowerW()),
				Concurrency: concurrency, SleepRampMS: ramp.Milliseconds()}
			var acks, verifies []float64
			for _, r := range results {
				if r.Acked {
					b.Acked++
					acks = append(acks, float64(r.AckAfter)/1e6)
				}
				if r.Verified {
					b.Verified++
					verifies = append(verifies, float64(r.VerifyAt)/1e6)
				} else {
					b.Failed++
				}
			}
			b.DevicesPerS = float64(b.Verified) / elapsed.Seconds()
			b.P50AckMS, b.P99AckMS, b.P99VerifyMS = quantile(acks, 0.5), quantile(acks, 0.99), quantile(verifies, 0.99)
			if g.json {
				return printJSON(cmd.OutOrStdout(), b)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d of %d miners asleep and verified in %.2f s (%.0f devices/s); ack p50 %.0f ms, p99 %.0f ms; verify p99 %.0f ms; fleet power %s → %s\n",
				b.Verified, b.Devices, b.Seconds, b.DevicesPerS, b.P50AckMS, b.P99AckMS, b.P99VerifyMS, joule.Watts(b.PowerBeforeW), joule.Watts(b.PowerAfterW))
			return nil
		},
	}
	curtail.Flags().IntVar(&devices, "devices", 1000, "simulated miners to shed")
	curtail.Flags().IntVar(&concurrency, "concurrency", 512, "commands in flight at once")
	curtail.Flags().StringVar(&listen, "listen", "127.2.0.1-127.2.255.254", "loopback range for the simulated miners")
	curtail.Flags().DurationVar(&ramp, "sleep-ramp", time.Second, "how long a simulated miner takes to fall asleep")
	addJSONFlag(curtail, g)
	bench.AddCommand(curtail)
	return bench
}

// quantile returns the q-quantile of xs (nearest rank), or 0 for none.
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(i, 0)]
}
