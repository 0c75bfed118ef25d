// Package node is the server of `joule node`, the daemon that runs on each GPU server
// and serves the GPU servers' power API (package gpuapi) there, as the simulator
// (sim.GPUServer) serves it for simulated servers: the agent drives both through the
// same client (gpunode), and one contract test runs against both.
//
// What it serves comes from the server itself, through interfaces that cmd/joule
// wires: the GPUs' readings and power limits from NVML (package nvml), the power state
// from the node's Slurm state (package slurm) or, without Slurm, kept by the daemon
// alone (LocalStates, reported as state_source "local").
//
// It does not pretend: a server without GPUs it can read (no NVIDIA driver, a GPU
// lost) reports gpu_error, no GPU and power_known false; a power limit is set only
// when the daemon was started with a Limiter (`--allow-power-limit`), and refused with
// 403 otherwise. Power at the wall is the GPUs' board power plus a fixed host draw
// (Config.HostW, 0 unless configured): NVML reads the GPUs, not the server's supply.
//
// Every request must carry the node's shared token (gpuapi.TokenHeader); one without
// it gets 401 and changes nothing.
package node
