package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/addrrange"
	"github.com/joule-site/joule/agent"
	"github.com/joule-site/joule/cgminer"
	"github.com/joule-site/joule/sim"
)

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
	// SimProcs is how many child processes ran the simulator (0: this process did).
	SimProcs int `json:"sim_procs"`
	// OneSocket: the simulator answered for every miner on one socket, not a socket each.
	OneSocket bool `json:"one_socket"`
	// AgentCPUS and SimCPUS are the CPU seconds (user and system) the agent's process and
	// the simulator's children used during the timed part; with the simulator in
	// process, AgentCPUS counts both and SimCPUS is 0.
	AgentCPUS float64 `json:"agent_cpu_s"`
	SimCPUS   float64 `json:"sim_cpu_s"`
	CPUs      int     `json:"cpus"`
	// The floor, measured in the same run before the curtail: as many bare loopback
	// round trips as there are devices (connect, a short request, its echo, close), at
	// the same concurrency, against an echo the simulator serves. RatioToLoopback is
	// Seconds over LoopbackSeconds: how many bare round trips' time each device cost.
	// A curtail needs at least two per device (the command and a read-back).
	LoopbackRoundTrips int     `json:"loopback_round_trips"`
	LoopbackSeconds    float64 `json:"loopback_seconds"`
	LoopbackP50MS      float64 `json:"loopback_p50_ms"`
	LoopbackP99MS      float64 `json:"loopback_p99_ms"`
	RatioToLoopback    float64 `json:"ratio_to_loopback"`
}

// simPerProc is the most devices one simulator child runs: each is a listening socket,
// and the open-file limit here is 20,000.
const simPerProc = 15000

func newBenchCmd(g *globals) *cobra.Command {
	bench := &cobra.Command{Use: "bench", Short: "Measure how fast this machine does a job"}
	var (
		devices, concurrency, procs    int
		listen, cpuProfile, memProfile string
		oneSocket                      bool
		ramp                           time.Duration
	)
	curtail := &cobra.Command{
		Use:   "curtail --devices N",
		Short: "Shed a simulated fleet: sleep every miner and verify it by telemetry",
		Long: `curtail starts N simulated miners on loopback, reads each once (as an agent does when
it discovers them; not timed), then sends each a sleep command through the agent's
executor (LuxOS logon and curtail over the cgminer API) and polls telemetry until every
miner shows itself asleep; it reports devices per second and latencies of that part,
and the CPU time the agent and the simulator took. Before the timed part it makes as
many bare loopback round trips as there are miners (connect, a short request, its
echo from the simulator's process, close) at the same concurrency, and reports the
curtail's time as a ratio to theirs: the floor this machine, busy or not, puts under
any exchange with the fleet, measured in the same run.

The simulator runs in a child process ('joule sim --control', re-executed from this
binary), so that the CPU time of each side is its own, and answers for every miner on
one socket bound to the loopback device, at a free port of each miner's address of
--listen (Linux). With --one-socket=false each miner listens on a socket of its own,
as separate machines would; the open-file limit then allows 15,000 miners a process,
and more children start as needed. --sim-procs 0 runs the simulator in this process.
The agent side needs no more than --concurrency sockets at once: the cgminer API takes
one request per connection, and a kept LuxOS session is an id, not a connection.`,
		Example: "  joule bench curtail --devices 10000 --json\n  joule bench curtail --devices 100000 --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			raiseFileLimit()
			if procs < 0 {
				return joule.Errorf(joule.EINVALID, "bench: --sim-procs %d: give 0 (this process) or more", procs)
			}
			if !oneSocket && procs > 0 {
				procs = max(procs, (devices+simPerProc-1)/simPerProc)
			}
			var fleet benchFleet
			var err error
			if procs == 0 {
				var f *sim.Fleet
				f, err = sim.StartFleet(sim.FleetConfig{Miners: devices, Range: listen, Miner: sim.MinerConfig{SleepRamp: ramp}, OneSocket: oneSocket, RandomPorts: oneSocket})
				if err == nil {
					var echo *sim.Echo
					if echo, err = sim.StartEcho("127.0.0.1:0"); err != nil {
						f.Close()
					} else {
						fleet = inProcess{f, echo}
					}
				}
			} else {
				fleet, err = startSimChildren(cmd.Context(), devices, procs, listen, ramp, oneSocket)
			}
			if err != nil {
				return joule.Errorf(joule.EINVALID, "bench: start %d simulated miners: %v", devices, err)
			}
			defer fleet.Close()
			before, err := fleet.PowerW()
			if err != nil {
				return err
			}
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
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
			}
			floor, floorLat, err := loopbackFloor(cmd.Context(), fleet.Echo(), devices, concurrency)
			if err != nil {
				return fmt.Errorf("bench: loopback floor: %w", err)
			}
			cpu0, simCPU0 := processCPU(), fleet.CPU()
			start := time.Now()
			results := ex.Run(cmd.Context(), cmds, nil)
			elapsed := time.Since(start)
			cpu1, simCPU1 := processCPU(), fleet.CPU()
			if cpuProfile != "" {
				pprof.StopCPUProfile()
			}
			if memProfile != "" {
				if err := writeHeapProfile(memProfile); err != nil {
					return err
				}
			}
			after, err := fleet.PowerW()
			if err != nil {
				return err
			}
			b := curtailBench{Devices: devices, Seconds: elapsed.Seconds(), PowerBeforeW: int64(before), PowerAfterW: int64(after),
				Concurrency: concurrency, SleepRampMS: ramp.Milliseconds(), SimProcs: procs, OneSocket: oneSocket,
				AgentCPUS: (cpu1 - cpu0).Seconds(), SimCPUS: (simCPU1 - simCPU0).Seconds(), CPUs: runtime.NumCPU()}
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
			b.Failed += devices - len(results) // never found
			b.LoopbackRoundTrips, b.LoopbackSeconds = devices, floor.Seconds()
			b.LoopbackP50MS, b.LoopbackP99MS = quantile(floorLat, 0.5), quantile(floorLat, 0.99)
			if floor > 0 {
				b.RatioToLoopback = elapsed.Seconds() / floor.Seconds()
			}
			b.DevicesPerS = float64(b.Verified) / elapsed.Seconds()
			b.P50AckMS, b.P99AckMS, b.P99VerifyMS = quantile(acks, 0.5), quantile(acks, 0.99), quantile(verifies, 0.99)
			if g.json {
				return printJSON(cmd.OutOrStdout(), b)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%d of %d miners asleep and verified in %.2f s (%.0f devices/s); ack p50 %.0f ms, p99 %.0f ms; verify p99 %.0f ms; fleet power %s → %s\n",
				b.Verified, b.Devices, b.Seconds, b.DevicesPerS, b.P50AckMS, b.P99AckMS, b.P99VerifyMS, joule.Watts(b.PowerBeforeW), joule.Watts(b.PowerAfterW))
			fmt.Fprintf(cmd.OutOrStdout(), "%d failed verification; %d bare loopback round trips took %.2f s (p50 %.2f ms, p99 %.2f ms): the curtail took %.1f× that\n",
				b.Failed, b.LoopbackRoundTrips, b.LoopbackSeconds, b.LoopbackP50MS, b.LoopbackP99MS, b.RatioToLoopback)
			fmt.Fprintf(cmd.OutOrStdout(), "CPU during the timed part: agent %.2f s, simulator %.2f s (%d processes) on %d CPUs\n",
				b.AgentCPUS, b.SimCPUS, b.SimProcs, b.CPUs)
			return nil
		},
	}
	curtail.Flags().IntVar(&devices, "devices", 1000, "simulated miners to shed")
	curtail.Flags().IntVar(&concurrency, "concurrency", agent.DefaultExecutor(nil).Concurrency, "commands in flight at once (default: the agent's)")
	curtail.Flags().IntVar(&procs, "sim-procs", 1, "simulator child processes (0: in this process); with --one-socket=false at least one per 15,000 miners")
	curtail.Flags().StringVar(&listen, "listen", "127.2.0.1-127.5.255.254", "loopback range for the simulated miners")
	curtail.Flags().DurationVar(&ramp, "sleep-ramp", time.Second, "how long a simulated miner takes to fall asleep")
	curtail.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the timed part (this process: the agent, and the simulator when in process)")
	curtail.Flags().BoolVar(&oneSocket, "one-socket", true, "the simulator answers for every miner on one socket (Linux); false: a socket per miner")
	curtail.Flags().StringVar(&memProfile, "memprofile", "", "write a heap profile (allocations since the start, and what is live) after the timed part")
	addJSONFlag(curtail, g)
	bench.AddCommand(curtail)
	return bench
}

// benchFleet is the simulated fleet a benchmark sheds, in this process or in children.
type benchFleet interface {
	Addresses() []string
	PowerW() (joule.Watts, error)
	CPU() time.Duration // CPU time the simulator used so far, when it runs in children
	Echo() string       // a bare request/reply peer served beside the devices
	Close() error
}

type inProcess struct {
	*sim.Fleet
	echo *sim.Echo
}

func (f inProcess) Echo() string { return f.echo.Addr() }
func (f inProcess) Close() error {
	f.echo.Close()
	return f.Fleet.Close()
}

func (f inProcess) PowerW() (joule.Watts, error) { return f.Fleet.PowerW(), nil }
func (inProcess) CPU() time.Duration             { return 0 }

// simChildren is a fleet run by `joule sim --control` children.
type simChildren struct {
	procs []*simChild
	addrs []string
	echo  string // the first child's
}

func (f *simChildren) Echo() string { return f.echo }

type simChild struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

// startSimChildren starts procs children with devices miners between them, each on its
// own share of the range, and waits until every one reports its miners listening.
func startSimChildren(ctx context.Context, devices, procs int, listen string, ramp time.Duration, oneSocket bool) (*simChildren, error) {
	r, err := addrrange.Parse(listen)
	if err != nil {
		return nil, err
	}
	if r.Len() < devices {
		return nil, fmt.Errorf("%d miners need as many addresses; %s has %d", devices, listen, r.Len())
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	f := &simChildren{}
	per := (devices + procs - 1) / procs
	type ready struct {
		i   int
		msg simReady
		err error
	}
	readyc := make(chan ready, procs)
	for i := 0; i*per < devices; i++ {
		n := min(per, devices-i*per)
		c := exec.CommandContext(ctx, exe, "sim", "--control", "--miners", strconv.Itoa(n),
			"--listen", r.Sub(i*per, n).String(), "--sleep-ramp", ramp.String(), "--one-socket="+strconv.FormatBool(oneSocket))
		c.Stderr = os.Stderr
		in, err := c.StdinPipe()
		if err != nil {
			f.Close()
			return nil, err
		}
		out, err := c.StdoutPipe()
		if err != nil {
			f.Close()
			return nil, err
		}
		if err := c.Start(); err != nil {
			f.Close()
			return nil, err
		}
		ch := &simChild{cmd: c, in: in, out: bufio.NewReaderSize(out, 1<<20)}
		f.procs = append(f.procs, ch)
		go func() {
			var msg simReady
			line, err := ch.out.ReadBytes('\n')
			if err == nil {
				err = json.Unmarshal(line, &msg)
			}
			if err == nil && !msg.Ready {
				err = errors.New("not ready")
			}
			readyc <- ready{i: i, msg: msg, err: err}
		}()
	}
	addrs := make([][]string, len(f.procs))
	timeout := time.After(2 * time.Minute)
	for range f.procs {
		select {
		case rd := <-readyc:
			if rd.err != nil {
				f.Close()
				return nil, fmt.Errorf("simulator child %d: %w", rd.i, rd.err)
			}
			addrs[rd.i] = rd.msg.Addresses
			if rd.i == 0 {
				f.echo = rd.msg.Echo
			}
		case <-timeout:
			f.Close()
			return nil, errors.New("simulator children not ready after 2 minutes")
		}
	}
	for _, a := range addrs {
		f.addrs = append(f.addrs, a...)
	}
	return f, nil
}

func (f *simChildren) Addresses() []string { return f.addrs }

// PowerW asks every child for its fleet's true power.
func (f *simChildren) PowerW() (joule.Watts, error) {
	var sum joule.Watts
	for i, c := range f.procs {
		if _, err := io.WriteString(c.in, "power\n"); err != nil {
			return 0, fmt.Errorf("simulator child %d: %w", i, err)
		}
		line, err := c.out.ReadBytes('\n')
		var msg struct {
			PowerW joule.Watts `json:"power_w"`
		}
		if err == nil {
			err = json.Unmarshal(line, &msg)
		}
		if err != nil {
			return 0, fmt.Errorf("simulator child %d: power: %w", i, err)
		}
		sum += msg.PowerW
	}
	return sum, nil
}

// CPU sums the children's CPU time so far, from /proc (0 where it cannot be read).
func (f *simChildren) CPU() time.Duration {
	var sum time.Duration
	for _, c := range f.procs {
		sum += procCPU(c.cmd.Process.Pid)
	}
	return sum
}

// Close closes every child's standard input, which ends it, and waits for it.
func (f *simChildren) Close() error {
	for _, c := range f.procs {
		c.in.Close()
	}
	var first error
	for _, c := range f.procs {
		if err := c.cmd.Wait(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// loopbackFloor makes n bare round trips to an echo at addr, at most concurrency at
// once, a connection each (as the cgminer API takes one request per connection), and
// returns how long they took together and each one's latency in milliseconds.
func loopbackFloor(ctx context.Context, addr string, n, concurrency int) (time.Duration, []float64, error) {
	lat := make([]float64, n)
	errs := make([]error, n)
	d := net.Dialer{KeepAlive: -1}
	req := []byte(`{"command":"version"}`)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range min(max(concurrency, 1), n) {
		wg.Go(func() {
			buf := make([]byte, len(req))
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				t0 := time.Now()
				errs[i] = func() error {
					cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
					defer cancel()
					conn, err := d.DialContext(cctx, "tcp", addr)
					if err != nil {
						return err
					}
					defer conn.Close()
					_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
					if _, err := conn.Write(req); err != nil {
						return err
					}
					_, err = io.ReadFull(conn, buf)
					return err
				}()
				lat[i] = float64(time.Since(t0)) / 1e6
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return 0, nil, err
		}
	}
	return elapsed, lat, nil
}

// writeHeapProfile writes the heap profile, after a collection so that it is current.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// processCPU is this process's CPU time so far, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU reads a process's CPU time from /proc/PID/stat (utime and stime, fields 14
// and 15, in clock ticks of 1/100 s on Linux).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')') // the command name may hold spaces
	if i < 0 {
		return 0
	}
	fields := strings.Fields(s[i+1:]) // fields[0] is field 3, the state
	if len(fields) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
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
