package sim

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/addrrange"
	"github.com/joule-site/joule/gpuapi"
)

// FleetConfig describes a fleet of simulated devices.
type FleetConfig struct {
	Miners     int // how many miners to start
	GPUServers int // how many GPU servers to start
	// Range is the address range the devices take, one address each in order (miners
	// first), e.g. "127.0.0.2-127.0.9.254". When the devices outnumber the addresses,
	// each address takes several, on consecutive ports. Default "127.0.0.2-127.0.255.254".
	Range string
	// RandomPorts lets every device pick a free port instead of joule.MinerAPIPort or gpuapi.Port, for
	// tests that run beside others on the same addresses.
	RandomPorts bool
	// OneSocket answers for every miner on one listening socket instead of a socket
	// each, for fleets beyond the open-file limit: the socket takes the miners' port
	// (joule.MinerAPIPort, or a free one with RandomPorts) on every loopback address, bound to
	// the loopback device, and answers as the miner at the address a client connected
	// to. Each miner needs an address of its own. Linux only.
	OneSocket bool
	Miner     MinerConfig // template for every miner; its Addr is ignored
	GPU       GPUConfig   // template for every GPU server; its Addr is ignored
}

// Fleet is a set of running simulated devices.
type Fleet struct {
	miners []*Miner
	gpus   []*GPUServer

	// With FleetConfig.OneSocket: the socket, the miners by address, and the
	// goroutines that accept on it.
	ln        net.Listener
	byAddr    map[netip.Addr]*Miner
	acceptors sync.WaitGroup
}

// StartFleet starts the miners and GPU servers of cfg. On error, the devices already
// started are stopped.
func StartFleet(cfg FleetConfig) (*Fleet, error) {
	if cfg.Range == "" {
		cfg.Range = "127.0.0.2-127.0.255.254"
	}
	r, err := addrrange.Parse(cfg.Range)
	if err != nil {
		return nil, err
	}
	total := cfg.Miners + cfg.GPUServers
	if cfg.Miners < 0 || cfg.GPUServers < 0 {
		return nil, errors.New("sim: fleet sizes must not be negative")
	}
	perAddr := (total + r.Len() - 1) / r.Len()
	if perAddr > 1000 {
		return nil, fmt.Errorf("sim: %d devices do not fit %s at 1000 ports per address", total, r)
	}
	f := &Fleet{miners: make([]*Miner, 0, cfg.Miners), gpus: make([]*GPUServer, 0, cfg.GPUServers)}
	addr := func(i, base int) string {
		port := base + i%max(perAddr, 1)
		if cfg.RandomPorts {
			port = 0
		}
		return net.JoinHostPort(r.At(i/max(perAddr, 1)).String(), strconv.Itoa(port))
	}
	if cfg.OneSocket {
		if err := f.startOneSocket(cfg, r, perAddr); err != nil {
			return nil, err
		}
	} else {
		for i := range cfg.Miners {
			mc := cfg.Miner
			mc.Addr = addr(i, joule.MinerAPIPort)
			m, err := StartMiner(mc)
			if err != nil {
				f.Close()
				return nil, err
			}
			f.miners = append(f.miners, m)
		}
	}
	for i := range cfg.GPUServers {
		gc := cfg.GPU
		gc.Addr = addr(cfg.Miners+i, gpuapi.Port)
		g, err := StartGPUServer(gc)
		if err != nil {
			f.Close()
			return nil, err
		}
		f.gpus = append(f.gpus, g)
	}
	return f, nil
}

// startOneSocket makes the fleet's miners and answers for all of them on one socket.
func (f *Fleet) startOneSocket(cfg FleetConfig, r addrrange.Range, perAddr int) error {
	if perAddr > 1 {
		return fmt.Errorf("sim: %d devices on one socket need as many addresses; %s has %d", cfg.Miners+cfg.GPUServers, r, r.Len())
	}
	port := joule.MinerAPIPort
	if cfg.RandomPorts {
		port = 0
	}
	ln, err := listenLoopback(port)
	if err != nil {
		return fmt.Errorf("sim: fleet socket: %w", err)
	}
	port = ln.Addr().(*net.TCPAddr).Port
	f.ln, f.byAddr = ln, make(map[netip.Addr]*Miner, cfg.Miners)
	for i := range cfg.Miners {
		ip := r.At(i)
		m, err := newMiner(cfg.Miner, net.JoinHostPort(ip.String(), strconv.Itoa(port)))
		if err != nil {
			ln.Close()
			return err
		}
		f.miners = append(f.miners, m)
		f.byAddr[ip] = m
	}
	// A few goroutines accept, so that accepting keeps pace with a fleet being
	// commanded; each connection is answered on its own, one at a time per miner.
	for range 4 {
		f.acceptors.Go(f.accept)
	}
	return nil
}

// accept hands each connection on the fleet's socket to the miner at the address it
// was made to; one to an address without a miner is closed.
func (f *Fleet) accept() {
	for {
		conn, err := f.ln.Accept()
		if err != nil {
			return
		}
		m := f.byAddr[conn.LocalAddr().(*net.TCPAddr).AddrPort().Addr().Unmap()]
		if m == nil || m.ctx.Err() != nil {
			conn.Close()
			continue
		}
		m.wg.Go(func() { m.serveOne(conn) })
	}
}

// Miners returns the fleet's miners, in address order.
func (f *Fleet) Miners() []*Miner { return f.miners }

// GPUServers returns the fleet's GPU servers, in address order.
func (f *Fleet) GPUServers() []*GPUServer { return f.gpus }

// Addresses returns every device's address, host:port: miners first, then GPU servers.
func (f *Fleet) Addresses() []string {
	out := make([]string, 0, len(f.miners)+len(f.gpus))
	for _, m := range f.miners {
		out = append(out, m.Addr())
	}
	for _, g := range f.gpus {
		out = append(out, g.Addr())
	}
	return out
}

// MinerAddresses returns the miners' addresses, host:port, in address order.
func (f *Fleet) MinerAddresses() []string {
	out := make([]string, len(f.miners))
	for i, m := range f.miners {
		out[i] = m.Addr()
	}
	return out
}

// GPUAddresses returns the GPU servers' addresses, host:port, in address order.
func (f *Fleet) GPUAddresses() []string {
	out := make([]string, len(f.gpus))
	for i, g := range f.gpus {
		out[i] = g.Addr()
	}
	return out
}

// PowerW returns the power the whole fleet truly draws now: the sum over its devices,
// lies included. Tests compare it with what telemetry reports.
func (f *Fleet) PowerW() joule.Watts {
	var sum joule.Watts
	for _, m := range f.miners {
		sum += m.PowerW()
	}
	for _, g := range f.gpus {
		sum += g.PowerW()
	}
	return sum
}

// Close stops every device and returns the first error.
func (f *Fleet) Close() error {
	var first error
	if f.ln != nil {
		first = f.ln.Close()
		f.acceptors.Wait()
	}
	for _, m := range f.miners {
		if err := m.Close(); err != nil && first == nil {
			first = err
		}
	}
	for _, g := range f.gpus {
		if err := g.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
